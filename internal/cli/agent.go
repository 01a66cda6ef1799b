package cli

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/metrics"
	"github.com/imchost/imchost/tnccs"
)

// agentHost is the IMC side of imchost run: a host.Host that, in --interval
// mode, exists only while an attestation runs. Between attestations the
// compiled modules, their wazero runtimes and the Go heap they held are
// given back (an idle agent spends most of its life waiting), and the next
// attestation loads the modules again from the compilation cache
// (BENCHMARKS.md: idle RSS and the time it costs). IMC IDs stay those of
// the first load, so a PDP sees the same IMC IDs every time.
type agentHost struct {
	mu      sync.Mutex
	h       *host.Host
	cfg     *host.Config                                                    // the host's part of the configuration in force
	load    func(ctx context.Context, cfg *host.Config) (*host.Host, error) // startHost, strict
	release bool                                                            // give the host back between attestations
	ids     map[string]uint32                                               // IMC name → ID of the first load
	names   map[uint32]string
	ilog    hclog.Logger
	m       *metrics.Client // nil without --metrics
	// loadTime is how long the last load took (0 when the host was kept).
	loadTime time.Duration
}

// localError is a fault of this endpoint found while loading for an
// attestation (a module refused, the config unreadable): exit 1 and
// "local_error", not a PDP's decision.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// start loads the host for the first time.
func (a *agentHost) start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.loadLocked(ctx)
}

// loadLocked loads the host from a.cfg, pinning the IDs of IMCs seen
// before.
func (a *agentHost) loadLocked(ctx context.Context) error {
	if a.h != nil {
		return nil
	}
	cfg := a.cfg
	if a.ids != nil {
		seen := map[string]bool{}
		for i := range cfg.IMCs {
			m := &cfg.IMCs[i]
			seen[m.Name] = true
			if id, ok := a.ids[m.Name]; ok && m.ID == 0 {
				m.ID = id
			}
		}
		for name, id := range a.ids {
			if !seen[name] {
				a.ilog.Info(fmt.Sprintf("IMC %d \"%s\" unloaded", id, name))
				delete(a.ids, name)
			}
		}
	}
	t0 := time.Now()
	h, err := a.load(ctx, cfg)
	if a.m != nil {
		if err != nil {
			a.m.Reloads.WithLabelValues("error").Inc()
			a.m.Refusals.Inc()
		} else {
			a.m.Reloads.WithLabelValues("ok").Inc()
		}
	}
	if err != nil {
		return &localError{err}
	}
	a.loadTime = time.Since(t0)
	a.h = h
	if a.ids == nil {
		a.ids = map[string]uint32{}
	}
	a.names = map[uint32]string{}
	for _, m := range h.List() {
		a.ids[m.Name] = m.ID
		a.names[m.ID] = m.Name
	}
	return nil
}

// Open implements tnccs.IMCs: the connection's instances, from the host
// loaded now if it was released.
func (a *agentHost) Open(ctx context.Context, id tnccs.ConnID, send tnccs.SendFunc) (tnccs.IMCConn, error) {
	a.mu.Lock()
	err := a.loadLocked(ctx)
	h := a.h
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return h.Open(ctx, id, send)
}

// Reports returns the IMCs' reports of connection id (before idle).
func (a *agentHost) Reports(id tnccs.ConnID) []host.IMCReport {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.h == nil {
		return nil
	}
	return a.h.Reports(id)
}

// Names maps the loaded IMC IDs to their names.
func (a *agentHost) Names() map[uint32]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.h == nil {
		return a.names
	}
	names := map[uint32]string{} // after a SIGHUP reload too
	for _, m := range a.h.List() {
		names[m.ID] = m.Name
	}
	return names
}

// idle is called after an attestation's verdict was taken: a releasing
// agent closes the host (every instance of the finished connection is
// gone by then) and returns the freed heap to the system. It reports how
// long the last load took and resets it.
func (a *agentHost) idle(ctx context.Context) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	took := a.loadTime
	a.loadTime = 0
	if !a.release || a.h == nil {
		return took
	}
	a.h.Close(ctx)
	a.h = nil
	debug.FreeOSMemory()
	trimText()
	return took
}

// loaded is idle for an agent whose host stays loaded (a kept PB-TNC
// session's IMC instances live on): it only reports and resets how long
// the last load took.
func (a *agentHost) loaded() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	took := a.loadTime
	a.loadTime = 0
	return took
}

// apply hands the host a new configuration (a reload): a loaded, kept
// host reloads now (host.Reload: the new modules off to the side, the old
// ones until their last instance ends); a released one loads it next time.
func (a *agentHost) apply(ctx context.Context, cfg *host.Config) error {
	a.mu.Lock()
	a.cfg = cfg
	h := a.h
	if a.release || h == nil {
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	err := h.Reload(ctx, cfg) // logs its own errors and keeps what runs
	if a.m != nil {
		if err != nil {
			a.m.Reloads.WithLabelValues("error").Inc()
		} else {
			a.m.Reloads.WithLabelValues("ok").Inc()
		}
	}
	return err
}

// watch starts the host's file watcher when the host is kept loaded.
func (a *agentHost) watch() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.release || a.h == nil || !a.cfg.Wasm.Watch {
		return nil
	}
	return a.h.Watch()
}

// Close closes a host still loaded.
func (a *agentHost) Close(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.h != nil {
		a.h.Close(ctx)
		a.h = nil
	}
}
