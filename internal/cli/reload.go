package cli

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/tnccs"
)

// liveConfig is imchost run's configuration in force. A reload (SIGHUP;
// with [wasm] watch, a changed file) reads the file again with the same
// command line and hands each part to its owner: the IMC host its [wasm],
// [[imc]], limits and boot event log (agentHost.apply), the PB-TNC client
// its PDP, TLS settings and limits (client, picked up by the next
// attestation), the logger its level. The keys a running process cannot
// take (config.Restart) are named in one [CFG] line.
type liveConfig struct {
	path     string
	flags    *runFlags
	creds    *ptlsCreds
	log      hclog.Logger // root: its level is [log] level's
	clog     hclog.Logger // "cfg"
	host     *agentHost
	reloadMu sync.Mutex // one reload at a time

	mu     sync.Mutex
	cfg    *config.Config
	client tnccs.ClientConfig
	gen    uint64 // counts the reloads that changed something
}

// newAgent wires imchost run's IMC side for cfg (loaded with f's
// overrides; ccfg built from it): the agentHost on plat, loaded now, and
// the liveConfig a reload goes through. The host's watcher reloads through
// it too.
func newAgent(ctx context.Context, f *runFlags, cfg *config.Config, creds *ptlsCreds, ccfg tnccs.ClientConfig, plat capability.Platform, log hclog.Logger) (*liveConfig, error) {
	var live *liveConfig
	ah := &agentHost{cfg: cfg.Host(), ilog: log.Named("imc"), m: f.ops.m,
		release: f.interval > 0 && !f.ops.keepLoaded,
		load: func(ctx context.Context, hc *host.Config) (*host.Host, error) {
			return startHost(ctx, hc, plat, log, func() { live.reload(context.Background()) }, true)
		},
	}
	live = newLiveConfig(cfg, f, creds, ccfg, log, ah)
	return live, ah.start(ctx)
}

// newLiveConfig starts from cfg, already loaded with f's overrides, and
// the client configuration built from it.
func newLiveConfig(cfg *config.Config, f *runFlags, creds *ptlsCreds, ccfg tnccs.ClientConfig, log hclog.Logger, h *agentHost) *liveConfig {
	return &liveConfig{path: cfg.Path, flags: f, creds: creds, log: log, clog: log.Named("cfg"), host: h, cfg: cfg, client: ccfg}
}

// current returns the configuration in force, the client configuration
// built from it, and the count of reloads that changed either (a changed
// count: a new client; a reload of an unchanged file, as a released agent
// with [wasm] watch makes before each attestation, keeps the count and so
// a kept PB-TNC session).
func (l *liveConfig) current() (*config.Config, tnccs.ClientConfig, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg, l.client, l.gen
}

// reload reads the file again and hands the parts out. A file that does not
// load, or whose [pdp] or [log] is refused, changes nothing: the running
// configuration stays whole, and the error is logged and returned. A
// module refused by the host keeps its running version (the host logs
// it); the rest of the configuration takes effect.
func (l *liveConfig) reload(ctx context.Context) error {
	l.reloadMu.Lock()
	defer l.reloadMu.Unlock()
	keep := func(err error) error {
		l.clog.Error(fmt.Sprintf("reloading '%s' failed, keeping the running configuration: %v", l.path, err))
		return err
	}
	nc, err := config.Load(l.path, l.flags.overrides())
	if err != nil {
		return keep(err)
	}
	level, err := l.flags.level(&nc.Log)
	if err != nil {
		return keep(err)
	}
	ccfg, err := clientConfig(nc, l.creds, l.flags.insecure, l.log)
	if err != nil {
		return keep(err)
	}
	l.mu.Lock()
	old := l.cfg
	if !reflect.DeepEqual(old, nc) || !sameClient(l.client, ccfg) {
		l.cfg, l.client = nc, ccfg
		l.gen++ // a new client for the next attestation (a kept PB-TNC session ends)
	}
	l.mu.Unlock()
	l.log.SetLevel(level)
	if keys := config.Restart(old, nc); len(keys) > 0 {
		l.clog.Warn(fmt.Sprintf("'%s': %s changed, which takes effect when imchost restarts", l.path, strings.Join(keys, ", ")))
	}
	return l.host.apply(ctx, nc.Host())
}

// sameClient reports whether a and b dial the same PDP the same way: the
// address, the limits, and the TLS and SASL material (the files' contents,
// read again at each reload).
func sameClient(a, b tnccs.ClientConfig) bool {
	p, q := a.PTTLS, b.PTTLS
	return a.Addr == b.Addr && a.Limits == b.Limits && p.ServerName == q.ServerName &&
		p.InsecureSkipVerify == q.InsecureSkipVerify && p.Username == q.Username && p.Password == q.Password &&
		bytes.Equal(p.CAPEM, q.CAPEM) && bytes.Equal(p.CertPEM, q.CertPEM) && bytes.Equal(p.KeyPEM, q.KeyPEM)
}
