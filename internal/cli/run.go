package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/tnccs"
)

// runFlags are imchost run's flags; the names follow strongSwan's
// pt-tls-client where they overlap.
type runFlags struct {
	logFlags
	config, connect, ca, serverName string
	key, client, secret             string
	certs                           stringList // -x/--cert, repeatable
	keyType, certID, keyID          string     // -t, -X, -K
	mutual                          bool       // -m
	optionsFrom                     string     // -+: expanded before parsing
	secretFile                      string
	tpm, eventlog, root, wasmDir    string
	port                            int
	interval, timeout               time.Duration
	insecure, noReferral, stats     bool
	keepSession                     bool         // --keep-session (or [pdp] keep_session)
	ops                             opsFlags     // --output, --metrics, --keep-loaded
	prof                            profileFlags // --cpuprofile, --trace
}

func (f *runFlags) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	BoolVar(*bool, string, bool, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	Var(flag.Value, string, string)
}) {
	fs.StringVar(&f.config, "config", "", "config.toml to use (default ./config.toml, else /etc/imchost/config.toml)")
	fs.StringVar(&f.connect, "connect", "", "PDP host name or address ([pdp] host)")
	fs.StringVar(&f.connect, "c", "", "PDP host name or address ([pdp] host)")
	fs.IntVar(&f.port, "port", 0, "PDP PT-TLS port ([pdp] port, else 271)")
	fs.IntVar(&f.port, "p", 0, "PDP PT-TLS port ([pdp] port, else 271)")
	fs.StringVar(&f.ca, "ca", "", "PEM CA certificate that issued the PDP's certificate ([pdp] ca)")
	fs.StringVar(&f.serverName, "server-name", "", "name the PDP certificate must carry (default: the host)")
	const certUsage = "a `FILE` of PEM certificates to trust, repeatable (the PDP's CA among them); with --key, the one matching it is also the client certificate (pt-tls-client's -x)"
	fs.Var(&f.certs, "cert", certUsage)
	fs.Var(&f.certs, "x", certUsage)
	const keyUsage = "client private key, PEM `FILE`; its certificate comes from --cert or [pdp] cert ([pdp] key)"
	stringFlag(fs, &f.key, keyUsage, "key", "k")
	const keyTypeUsage = "`TYPE` the --key must be: rsa or ecdsa; anything else is any (pt-tls-client's -t; default any)"
	stringFlag(fs, &f.keyType, keyTypeUsage, "key-type", "t")
	const p11Usage = "pt-tls-client's PKCS#11 certificate `HEX` key ID: not supported, give --cert FILE"
	stringFlag(fs, &f.certID, p11Usage, "certid", "X")
	const p11KeyUsage = "pt-tls-client's PKCS#11 private key `HEX` key ID: not supported, give --key FILE"
	stringFlag(fs, &f.keyID, p11KeyUsage, "keyid", "K")
	const mutualUsage = "pt-tls-client's mutual PB-TNC: accepted and ignored (imchost measures itself only)"
	boolFlag(fs, &f.mutual, mutualUsage, "mutual", "m")
	const optUsage = "read more arguments from `FILE` (pt-tls-client's --optionsfrom)"
	stringFlag(fs, &f.optionsFrom, optUsage, "optionsfrom", "options", "+")
	const clientUsage = "SASL PLAIN user `NAME` ([pdp] client)"
	stringFlag(fs, &f.client, clientUsage, "client", "i")
	const secretUsage = "SASL PLAIN `PASSWORD` ([pdp] secret; visible to other users in ps: prefer --secret-file or $IMCHOST_SECRET)"
	stringFlag(fs, &f.secret, secretUsage, "secret", "s")
	fs.StringVar(&f.secretFile, "secret-file", "", "read the SASL PLAIN password from this file, readable by its owner only ([pdp] secret_file)")
	fs.StringVar(&f.tpm, "tpm", "", "TPM: /dev/tpmrm0, tcp:HOST:PORT (swtpm), mssim:HOST:PORT or none ([tpm] device)")
	fs.StringVar(&f.eventlog, "eventlog", "", "boot event log file ([tpm] eventlog)")
	fs.StringVar(&f.root, "root", "/", "file-system root the IMCs' system facts are read from")
	fs.StringVar(&f.wasmDir, "wasm-dir", "", "load each [[imc]] module by its file name from this directory")
	fs.DurationVar(&f.interval, "interval", 0, "attest again every interval (0: once); errors back off")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "bound of one attestation")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the PDP certificate (testing only)")
	fs.BoolVar(&f.noReferral, "no-referral", false, "with --interval: ignore PB-PDP-Referral and keep the configured PDP")
	fs.BoolVar(&f.keepSession, "keep-session", false, "with --interval: keep the PB-TNC session open, answer the PDP's SRETRY and re-assess with CRETRY ([pdp] keep_session)")
	fs.BoolVar(&f.stats, "stats", false, "at exit, print the process's CPU time and peak RSS to stderr")
	f.prof.register(fs)
}

// stringFlag defines one string flag under several names (a long name of
// ours and pt-tls-client's short or long one), all setting *p.
func stringFlag(fs interface {
	StringVar(*string, string, string, string)
}, p *string, usage string, names ...string) {
	for _, n := range names {
		fs.StringVar(p, n, "", usage)
	}
}

// boolFlag is stringFlag for a boolean flag (default false).
func boolFlag(fs interface {
	BoolVar(*bool, string, bool, string)
}, p *bool, usage string, names ...string) {
	for _, n := range names {
		fs.BoolVar(p, n, false, usage)
	}
}

// overrides are the flags that override config.toml (config.Apply).
func (f *runFlags) overrides() config.Overrides {
	return config.Overrides{
		Connect: f.connect, Port: f.port, CA: f.ca, ServerName: f.serverName, Key: f.key, Client: f.client,
		Secret: f.secret, SecretFile: f.secretFile, SecretEnv: os.Getenv(secretEnv),
		TPM: f.tpm, EventLog: f.eventlog, WasmDir: f.wasmDir,
	}
}

// clientConfig builds the PB-TNC client configuration from [pdp] and
// [tnccs].
// creds are the -x/--cert files and -t/--key-type of a pt-tls-client
// command line (nil: none).
func clientConfig(cfg *config.Config, creds *ptlsCreds, insecure bool, log hclog.Logger) (tnccs.ClientConfig, error) {
	if creds == nil {
		creds = &ptlsCreds{}
	}
	p := cfg.PDP
	if p.Host == "" {
		return tnccs.ClientConfig{}, errors.New("no PDP: set [pdp] host or pass --connect HOST")
	}
	if p.Port <= 0 || p.Port > 65535 {
		return tnccs.ClientConfig{}, fmt.Errorf("PDP port %d out of range", p.Port)
	}
	c := tnccs.ClientConfig{Addr: net.JoinHostPort(p.Host, strconv.Itoa(p.Port))}
	c.Logger = log
	c.Limits = cfg.Limits()
	c.PTTLS.ServerName = p.ServerName
	c.PTTLS.InsecureSkipVerify = insecure
	c.PTTLS.Username, c.PTTLS.Password = p.Client, p.Secret
	if p.SecretFile != "" {
		if p.Secret != "" {
			return c, errors.New("[pdp] secret and secret_file are both set: keep one")
		}
		var err error
		if c.PTTLS.Password, err = readSecret(p.SecretFile); err != nil {
			return c, err
		}
	}
	if p.CA != "" {
		b, err := os.ReadFile(p.CA)
		if err != nil {
			return c, fmt.Errorf("PDP CA certificate: %w", err)
		}
		c.PTTLS.CAPEM = b
	}
	var certPEMs [][]byte
	for _, f := range creds.certs {
		b, err := pemCertificates(f)
		if err != nil {
			return c, err
		}
		certPEMs = append(certPEMs, b)
		c.PTTLS.CAPEM = append(append(c.PTTLS.CAPEM, '\n'), b...)
	}
	if p.Key == "" && p.Cert != "" {
		return c, errors.New("a client certificate needs both [pdp] cert and key (or --key FILE)")
	}
	if p.Key != "" {
		if p.Cert == "" && len(certPEMs) == 0 {
			return c, errors.New("a client key needs its certificate: --cert FILE or [pdp] cert")
		}
		keyPEM, err := readPrivate(p.Key)
		if err != nil {
			return c, fmt.Errorf("client key: %w", err)
		}
		pair, certPEM, err := creds.clientPair(p.Cert, certPEMs, p.Key, keyPEM)
		if err != nil {
			return c, err
		}
		c.PTTLS.Certificate, c.PTTLS.CertPEM, c.PTTLS.KeyPEM = &pair, certPEM, keyPEM
	}
	return c, nil
}

func cmdRun(e *env, args []string) int {
	var f runFlags
	fs := newFlags(e, "run", "run [--config FILE] [-c HOST] [-p PORT] [--ca FILE] [flags]")
	f.register(fs)
	f.logFlags.register(fs)
	f.ops.register(fs)
	args, err := expandPTLSArgs(fs, args)
	if err != nil {
		return usageErr(e, "run", err.Error())
	}
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "imchost run: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if code, ok := f.checkUsage(e, fs); !ok {
		return code
	}
	if err := f.ops.check(); err != nil {
		return usageErr(e, "run", err.Error())
	}
	f.ops.interval = f.interval > 0
	if f.stats {
		defer printStats(e.stderr) // last: after the host and the TPM closed
	}
	stopProf, err := f.prof.start()
	defer stopProf()
	if err != nil {
		return fail(e, err)
	}
	cfg, err := loadConfig(f.config, f.overrides())
	if err != nil {
		return fail(e, err)
	}
	if f.key != "" && len(f.certs) == 0 && cfg.PDP.Cert == "" {
		return usageErr(e, "run", "--key FILE needs its certificate: --cert FILE (repeatable, as pt-tls-client's -x)")
	}
	log, err := f.logger(e.stderr, &cfg.Log)
	if err != nil {
		return fail(e, err)
	}
	if f.mutual {
		log.Named("tnc").Warn("--mutual: imchost takes no measurements of the PDP (mutual PB-TNC); ignored")
	}
	creds := &ptlsCreds{certs: f.certs, keyType: f.keyType}
	ccfg, err := clientConfig(cfg, creds, f.insecure, log)
	if err != nil {
		return fail(e, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // a signal always ends the process (see exitGrace)
		<-ctx.Done()
		if context.Cause(ctx) != context.Canceled { // a signal, not the return below
			time.Sleep(exitGrace)
			hardExit(e, fmt.Sprintf("still running %s after the signal", exitGrace))
		}
	}()

	tpm, err := openTPM(cfg.TPM.Device, log)
	if err != nil {
		return fail(e, err)
	}
	if tpm != nil {
		defer tpm.Close()
	}
	plat := capability.NewTPMPlatform(tpm, capability.TPMPlatformOptions{
		Root: f.root, EventLogPath: cfg.TPM.EventLog, Logger: log.Named("pts")})
	if err := f.ops.start(log); err != nil {
		return fail(e, err)
	}
	defer f.ops.stop()
	live, err := newAgent(ctx, &f, cfg, creds, ccfg, plat, log)
	if err != nil {
		return fail(e, err)
	}
	ah := live.host
	defer ah.Close(context.Background())
	if bad := preflight(ctx, cfg, tpm); len(bad) > 0 {
		for _, fd := range bad {
			fmt.Fprintf(e.stderr, "%s: %s: %v\n  fix: %s\n", e.name(), fd.what, fd.err, fd.fix)
		}
		return exitError
	}

	if f.interval > 0 {
		if cfg.Wasm.Watch {
			if err := ah.watch(); err != nil {
				log.Named("wasm").Warn(fmt.Sprintf("not watching the modules: %v", err))
			}
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					log.Named("wasm").Info("SIGHUP: reloading the configuration and the modules")
					live.reload(ctx)
				}
			}
		}()
	}
	return attestLoop(ctx, e, &f, live, ah, log)
}

// attestLoop attests once, or every f.interval until ctx ends. Errors back
// off from 2 s doubling up to the interval. With a PB-PDP-Referral the next
// attestation goes to the referred PDP, and back to the configured one when
// that fails. Each attestation takes the configuration in force: after a
// reload, the new PDP, TLS settings and limits.
func attestLoop(ctx context.Context, e *env, f *runFlags, live *liveConfig, h *agentHost, log hclog.Logger) int {
	tlog := log.Named("tnc")
	cfg, ccfg, gen := live.current()
	configured := ccfg
	client := tnccs.NewClient(ccfg, h)
	backoff := 2 * time.Second
	code := exitOK
	// A released agent has no watcher: with [wasm] watch, the files are
	// read again before each attestation.
	reread := h.release && cfg.Wasm.Watch
	ks := &keptSession{log: tlog}
	defer ks.close()
	var due time.Time // with a kept session: when our next assessment is due
	for n := 0; ; n++ {
		if n > 0 && reread {
			live.reload(ctx)
		}
		if c, cc, g := live.current(); g != gen {
			cfg, gen = c, g
			ccfg, configured = cc, cc
			client = tnccs.NewClient(ccfg, h)
			ks.close()
		}
		ks.keep = f.interval > 0 && (f.keepSession || cfg.PDP.KeepSession)
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, f.timeout)
		watchdog := time.AfterFunc(f.timeout+exitGrace, func() {
			hardExit(e, fmt.Sprintf("the attestation still runs %s after --timeout %s", exitGrace, f.timeout))
		})
		var v *verdict
		var err error
		if ks.keep {
			v, err = ks.attest(actx, client, h)
		} else {
			ks.close()
			v, err = attest(actx, client, h)
		}
		watchdog.Stop()
		cancel()
		took, names := time.Since(start), h.Names()
		var load time.Duration
		if ks.open() {
			load = h.loaded() // the session's IMC instances live on
		} else {
			load = h.idle(ctx) // a released agent gives its modules back here
		}
		var wait time.Duration
		switch {
		case err != nil && ctx.Err() != nil:
			fmt.Fprintln(e.stderr, "imchost: interrupted")
			return exitError
		case errors.Is(err, errSessionClosed):
			// The PDP closed the kept session while it was idle: no
			// assessment was due; the next one, on time, opens a new session.
			wait = time.Until(due)
		case err != nil:
			code = exitError
			f.ops.failure(e.stdout, e.stderr, start, took, load, ccfg.Addr, pdpSilent(ctx, err, f.timeout))
			wait = min(backoff, max(f.interval, backoff))
			backoff = min(2*backoff, max(f.interval, 2*time.Second))
			if ccfg.Addr != configured.Addr {
				tlog.Info(fmt.Sprintf("falling back to the configured PDP %s", configured.Addr))
				ccfg = configured
				client = tnccs.NewClient(ccfg, h)
				ks.close()
			}
		default:
			f.ops.verdict(e.stdout, start, took, load, ccfg.Addr, v, names)
			code = v.exitCode()
			backoff, wait = 2*time.Second, f.interval
			if v.res.RetryBy == "server" && !due.IsZero() {
				wait = time.Until(due) // the PDP's re-assessment leaves our timer as it was
			}
			to := referralAddr(v.res.PDPReferral)
			if to != "" && f.interval > 0 && !f.noReferral && to != ccfg.Addr && !cfg.PDP.Referrals.Allows(v.res.PDPReferral.Host(), v.res.PDPReferral.Port) {
				tlog.Warn(fmt.Sprintf("not following the PDP referral to %s: [pdp] referrals does not allow it", logfmt.Escape(to)))
				to = ""
			}
			if to != "" && f.interval > 0 && !f.noReferral && to != ccfg.Addr {
				tlog.Info(fmt.Sprintf("next assessment goes to the referred PDP %s", to))
				if r := v.res.PDPReferral; r.FQDN != "" {
					ccfg.PTTLS.ServerName = r.FQDN
				}
				ccfg.Addr = to
				client = tnccs.NewClient(ccfg, h)
				ks.close()
			}
		}
		if f.interval <= 0 {
			return code
		}
		due = time.Now().Add(wait)
		if ks.open() {
			// Between assessments the PDP may ask for one (SRETRY) or end
			// the session; else ours is due, with a CRETRY.
			if _, err := ks.sess.Wait(ctx, due); err != nil {
				return code
			}
			continue
		}
		select {
		case <-ctx.Done():
			return code
		case <-time.After(wait):
		}
	}
}

// errSessionClosed: the PDP ended a kept session while it was idle.
var errSessionClosed = errors.New("the PDP closed the PB-TNC session")

// keptSession is imchost run's PB-TNC session kept open between
// assessments (--keep-session): re-assessments with CRETRY on the
// interval, the PDP's SRETRY answered, a new PT-TLS session when the PDP
// ends it.
type keptSession struct {
	keep bool
	sess *tnccs.Session
	log  hclog.Logger
}

func (k *keptSession) open() bool { return k.sess != nil }

// close ends the session, if one is open.
func (k *keptSession) close() {
	if k.sess == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	k.sess.Close(ctx)
	k.sess = nil
}

// attest runs the next assessment: on the open session (CRETRY, or the
// PDP's SRETRY that Wait saw), else on a new one.
func (k *keptSession) attest(ctx context.Context, c *tnccs.Client, h interface {
	Reports(tnccs.ConnID) []host.IMCReport
}) (*verdict, error) {
	if se := k.sess; se != nil {
		id := se.ConnID()
		n0 := len(h.Reports(id))
		res, err := se.Reassess(ctx)
		if err == nil {
			return &verdict{res: res, reports: h.Reports(id)[n0:]}, nil
		}
		k.sess = nil
		se.Close(ctx)
		if !errors.Is(err, tnccs.ErrSessionEnded) {
			return nil, err
		}
		if res != nil && res.RetryBy == "server" {
			k.log.Info(fmt.Sprintf("PDP closed the PB-TNC session of Connection ID %d, the next assessment opens a new PT-TLS session", id))
			return nil, errSessionClosed
		}
		k.log.Info(fmt.Sprintf("PDP refused the re-assessment of Connection ID %d (%v), falling back to a new PT-TLS session", id, err))
	}
	se, res, err := c.Open(ctx)
	if err != nil {
		return nil, err
	}
	k.sess = se
	return &verdict{res: res, reports: h.Reports(res.ConnID)}, nil
}

// exitGrace is how long `imchost run` may take to stop after --timeout or
// a signal. Every wait of the host is bounded (module calls, host
// functions, TPM commands, the PDP connection) and ends with the
// attestation's context; should one still hold the process, hardExit ends
// it, so that --timeout and SIGINT/SIGTERM keep their word.
const exitGrace = 5 * time.Second

// hardExit ends the process with exitError, saying why; the message is
// written from another goroutine so that a blocked stderr cannot hold it.
func hardExit(e *env, why string) {
	done := make(chan struct{})
	go func() {
		fmt.Fprintf(e.stderr, "imchost: %s; exiting\n", why)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	os.Exit(exitError)
}

// printStats writes one line with the process's CPU time (user and
// system) and peak resident set. The peak is /proc/self/status's
// VmHWM, the high-water mark of this program's own memory: getrusage's
// ru_maxrss would not do, because Linux carries the parent's high-water
// mark into a child started with vfork and exec (as Go's os/exec starts
// them), so a parent larger than imchost would be reported instead.
func printStats(w io.Writer) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	hwm := "unknown"
	if st, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				hwm = strings.TrimSpace(v)
			}
		}
	}
	fmt.Fprintf(w, "imchost: stats: cpu %s, peak rss %s\n", cpu.Round(100*time.Microsecond), hwm)
}
