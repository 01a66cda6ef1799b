package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/imchost/imchost/internal/metrics"
	"github.com/imchost/imchost/pdp"
)

func cmdPDP(e *env, args []string) int {
	return dispatch(e, "pdp", args, []command{{"serve", "", cmdPDPServe}, {"bench", "", cmdPDPBench}, {"software", "", cmdPDPSoftware}})
}

func cmdPDPServe(e *env, args []string) int {
	var lf logFlags
	var users stringList
	fs := newFlags(e, "pdp serve", "pdp serve [--listen ADDR] (--cert FILE --key FILE | --self-signed DIR) [flags]")
	listen := fs.String("listen", ":271", "PT-TLS listen address")
	certFile := fs.String("cert", "", "server certificate chain, PEM")
	keyFile := fs.String("key", "", "server private key, PEM")
	selfSigned := fs.String("self-signed", "", "make a self-signed certificate for --host names and write its ca.pem into this directory")
	hosts := fs.String("host", "localhost,127.0.0.1", "names and addresses of the self-signed certificate, comma separated")
	db := fs.String("db", "", "database of products, devices, AKs and measurements: a SQLite file, or postgres://USER@HOST/NAME for replicas sharing one (default: SQLite in memory, forgotten on exit)")
	fs.Var(&users, "user", "SASL PLAIN user NAME:PASSWORD (repeatable)")
	clientCA := fs.String("client-ca", "", "PEM CA certificates that authenticate TLS client certificates")
	akCA := fs.String("ak-ca", "", "PEM CA certificates that AK certificates may chain to")
	policyFile := fs.String("policy", "", "TOML policy file (fields of pdp.Policy; unset fields keep the defaults: learn on first contact, attestation required)")
	referral := fs.String("referral", "", "send a PB-PDP-Referral naming HOST:PORT")
	maxMsg := fs.Int("max-message-size", 0, "largest PA-TNC message the IMVs send (default 2097104)")
	maxConns := fs.Int("max-conns", 0, "concurrent client connections (default 64)")
	idle := fs.Duration("idle-timeout", 0, "close a silent client after this long (default 60s)")
	retryIdle := fs.Duration("retry-idle", 0, "keep a decided connection open this long for a re-assessment in the session (the client's CRETRY, our SRETRY); 0: close after the decision as before")
	retryAfter := fs.Duration("retry-after", 0, "with --retry-idle: ask a client still connected this long after its decision to re-assess (SRETRY)")
	maxRetries := fs.Int("max-retries", 0, "re-assessments one connection may have, CRETRY and SRETRY together (default 16; -1: none)")
	handshake := fs.Duration("handshake-timeout", 0, "bound of the TLS handshake and PT-TLS negotiation, SASL included (default 5s)")
	perSource := fs.Int("max-conns-per-source", 0, "connections from one IP address (default 16; -1: no limit, for a load balancer that hides client addresses)")
	proxyFrom := fs.String("proxy-protocol", "", "addresses or CIDR prefixes of load balancers that send a PROXY protocol header (v1 or v2) naming the client, comma separated")
	grace := fs.Duration("shutdown-grace", 30*time.Second, "on SIGTERM, how long running attestations may take to finish")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on ADDR (e.g. 127.0.0.1:9272) at /metrics")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run into FILE (go tool pprof)")
	lf.register(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr(e, "pdp serve", fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if err := checkFormat(lf.format); err != nil {
		return usageErr(e, "pdp serve", err.Error())
	}
	proxies, err := parsePrefixes(*proxyFrom)
	if err != nil {
		return usageErr(e, "pdp serve", "--proxy-protocol: "+err.Error())
	}
	log, err := lf.logger(e.stderr, nil)
	if err != nil {
		return fail(e, err)
	}
	cfg := pdp.Config{Addr: *listen, DBPath: *db, Policy: strictDefaultPolicy(), Logger: log,
		MaxMessageSize: *maxMsg, MaxConns: *maxConns, IdleTimeout: *idle,
		HandshakeTimeout: *handshake, MaxConnsPerSource: *perSource, ProxyFrom: proxies,
		RetryIdle: *retryIdle, RetryAfter: *retryAfter, MaxRetries: *maxRetries}
	if *retryAfter > 0 && *retryAfter >= *retryIdle {
		return usageErr(e, "pdp serve", fmt.Sprintf("--retry-after %s needs a longer --retry-idle (now %s): the connection must still be open", *retryAfter, *retryIdle))
	}
	switch {
	case *selfSigned != "" && *certFile != "":
		return usageErr(e, "pdp serve", "--self-signed and --cert exclude each other")
	case *selfSigned != "":
		cert, _, err := pdp.SelfSignedCertificate(365*24*time.Hour, strings.Split(*hosts, ",")...)
		if err != nil {
			return fail(e, err)
		}
		if err := os.MkdirAll(*selfSigned, 0o755); err != nil {
			return fail(e, fmt.Errorf("--self-signed: %w", err))
		}
		ca := filepath.Join(*selfSigned, "ca.pem")
		if err := os.WriteFile(ca, pdp.CAPEM(cert), 0o644); err != nil {
			return fail(e, err)
		}
		log.Named("pdp").Info(fmt.Sprintf("self-signed certificate for %s; clients trust %s", *hosts, ca))
		cfg.Certificates = []tls.Certificate{cert}
	case *certFile != "" && *keyFile != "":
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fail(e, fmt.Errorf("server certificate: %w", err))
		}
		cfg.Certificates = []tls.Certificate{cert}
	default:
		return usageErr(e, "pdp serve", "a certificate is needed: --cert FILE --key FILE, or --self-signed DIR")
	}
	for _, u := range users {
		name, pass, ok := strings.Cut(u, ":")
		if !ok || name == "" {
			return usageErr(e, "pdp serve", fmt.Sprintf("--user %q: want NAME:PASSWORD", u))
		}
		if cfg.Users == nil {
			cfg.Users = map[string]string{}
		}
		cfg.Users[name] = pass
	}
	if *clientCA != "" {
		if cfg.ClientCAs, err = loadPool(*clientCA); err != nil {
			return fail(e, err)
		}
	}
	if cfg.Policy, err = loadPolicy(*policyFile, *akCA); err != nil {
		return fail(e, err)
	}
	if *referral != "" {
		h, p, err := net.SplitHostPort(*referral)
		port, perr := strconv.ParseUint(p, 10, 16)
		if err != nil || perr != nil || h == "" {
			return usageErr(e, "pdp serve", fmt.Sprintf("--referral %q: want HOST:PORT", *referral))
		}
		cfg.Referral = &pdp.Referral{Host: h, Port: uint16(port)}
	}
	if *db == "" {
		log.Named("pdp").Warn("no --db: the learned measurements live in memory and are lost on exit")
	}
	plog := log.Named("pdp")
	var pm *metrics.PDP
	var srv *pdp.Server
	if *metricsAddr != "" {
		reg := metrics.NewRegistry()
		pm = metrics.NewPDP(reg, func() int { return srv.Active() })
		cfg.OnRefused = func(remote, reason string) { pm.Refused.WithLabelValues(reason).Inc() }
		cfg.OnOutcome = func(o pdp.Outcome) {
			pm.Attestations.WithLabelValues(verdictLabel(o)).Inc()
			if o.Decided && !o.Start.IsZero() {
				pm.Duration.Observe(o.End.Sub(o.Start).Seconds())
			}
		}
		ms, err := metrics.Listen(*metricsAddr, reg, func(s string) { plog.Warn("metrics: " + s) })
		if err != nil {
			return fail(e, err)
		}
		defer ms.Close()
		plog.Info(fmt.Sprintf("metrics on http://%s/metrics", ms.Addr()))
	}
	if srv, err = pdp.New(cfg); err != nil {
		return fail(e, err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail(e, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fail(e, err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	plog.Info(fmt.Sprintf("listening on %s", srv.Addr()))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				// The policy file again, with the command line's AK CAs.
				p, err := loadPolicy(*policyFile, *akCA)
				if err == nil {
					err = srv.SetPolicy(p)
				}
				if err != nil {
					plog.Error("SIGHUP: policy not reloaded, the old one stays", "error", err)
					if pm != nil {
						pm.Reloads.WithLabelValues("error").Inc()
					}
				} else if pm != nil {
					pm.Reloads.WithLabelValues("ok").Inc()
				}
				continue
			}
			plog.Info(fmt.Sprintf("shutting down: no new clients, %d running may take up to %s", srv.Active(), *grace))
			ctx, cancel := context.WithTimeout(context.Background(), *grace)
			srv.Shutdown(ctx)
			cancel()
			<-done
			plog.Info("stopped")
			return exitOK
		case err := <-done:
			srv.Close()
			if err != nil {
				return fail(e, err)
			}
			return exitOK
		}
	}
}

// loadPolicy is pdp serve's policy: the strict defaults, then the TOML
// file's settings if one is given, then the AK CAs of --ak-ca.
func loadPolicy(path, akCA string) (pdp.Policy, error) {
	p := strictDefaultPolicy()
	if path != "" {
		md, err := toml.DecodeFile(path, &p)
		if err != nil {
			return p, fmt.Errorf("policy: %w", err)
		}
		if un := md.Undecoded(); len(un) > 0 {
			return p, fmt.Errorf("policy %s: unknown key %q", path, un[0].String())
		}
	}
	if akCA != "" {
		pool, err := loadPool(akCA)
		if err != nil {
			return p, err
		}
		p.AKCAs = pool
	}
	return p, nil
}

// verdictLabel is an outcome's metrics label.
func verdictLabel(o pdp.Outcome) string {
	switch {
	case !o.Decided:
		return metrics.VerdictNoDecision
	case o.Verdict.Access == pdp.AccessAllowed:
		return metrics.VerdictAllowed
	case o.Verdict.Access == pdp.Quarantined:
		return metrics.VerdictIsolate
	}
	return metrics.VerdictNoAccess
}

// loadPool reads PEM CA certificates.
func loadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}

// usageErr reports a bad command line.
func usageErr(e *env, cmd, msg string) int {
	fmt.Fprintf(e.stderr, "imchost %s: %s\n", cmd, msg)
	return exitUsage
}

// strictDefaultPolicy is the policy of `imchost pdp serve` and the demo:
// strongSwan's learn-on-first-contact defaults, except that a client
// must finish the attestation to be allowed (strongSwan lets the other
// IMVs decide when the Attestation IMC says nothing;
// allow_missing_attestation = true in a --policy file restores that).
func strictDefaultPolicy() pdp.Policy {
	p := pdp.DefaultPolicy()
	p.AllowMissingAttestation = false
	return p
}

// parsePrefixes parses a comma-separated list of IP addresses and CIDR
// prefixes (an address is its own /32 or /128).
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
