// Package loadgen drives a PDP with a fleet of simulated endpoints, for
// `imchost pdp bench` and the fleet tests. Each endpoint has its own
// Attestation Key (a P-256 key held in memory that signs TPMS_ATTEST quotes
// over the PDP's D-H nonce exactly as TPM2_Quote would), its own boot log and
// PCRs, device ID and OS facts, and runs the real path: TLS, PT-TLS,
// PB-TNC and PA-TNC messages built with sdk/patnc.
//
// A run has two phases: every endpoint attests once at the same time (first
// contact: the PDP learns the device, its AK and its boot measurements),
// then every endpoint re-attests back to back until the duration is over
// (the steady state of a fleet). Both phases report attestations per second
// and latency percentiles. The whole fleet dials from one address: a PDP
// under test needs --max-conns-per-source -1 for more than 16 endpoints.
package loadgen

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pttls"
)

// MaxEndpoints bounds a run's fleet.
const MaxEndpoints = 4096

// Config is one load run.
type Config struct {
	// Addrs are the PDPs' "host:port"; endpoint i attests against
	// Addrs[i % len(Addrs)] (replicas behind a round-robin balancer).
	Addrs []string
	// ServerName is the name the PDP certificates carry.
	ServerName string
	// RootCAs verifies the PDP certificates.
	RootCAs *x509.CertPool
	// Username and Password authenticate with SASL PLAIN when asked.
	Username, Password string
	// Endpoints is the number of concurrent endpoints (1..MaxEndpoints).
	Endpoints int
	// Events is each endpoint's boot log length (default 100).
	Events int
	// Duration is the steady-state phase's length (default 10 s).
	Duration time.Duration
	// Timeout bounds one attestation (default 60 s).
	Timeout time.Duration
	// Progress, when set, receives one line per phase.
	Progress io.Writer
}

// Phase is what one phase measured.
type Phase struct {
	// Attestations is how many finished with Access Allowed.
	Attestations int
	// Failed is how many ended otherwise (error, not allowed).
	Failed int
	// Elapsed is the phase's wall time.
	Elapsed time.Duration
	// Rate is allowed attestations per second.
	Rate float64
	// P50, P90, P99 and Max are latency percentiles of the allowed
	// attestations (dial to verdict).
	P50, P90, P99, Max time.Duration
	// FirstError is the first failure's text, if any.
	FirstError string
}

// Report is a run's result.
type Report struct {
	Endpoints int
	Replicas  int
	First     Phase // first contact, every endpoint once
	Repeat    Phase // steady state
}

// String renders the report as two lines.
func (r *Report) String() string {
	line := func(name string, p Phase) string {
		s := fmt.Sprintf("%-13s %6d ok %4d failed in %6.2fs: %8.1f attestations/s  p50 %s  p90 %s  p99 %s  max %s",
			name, p.Attestations, p.Failed, p.Elapsed.Seconds(), p.Rate, ms(p.P50), ms(p.P90), ms(p.P99), ms(p.Max))
		if p.FirstError != "" {
			s += "\n  first failure: " + p.FirstError
		}
		return s
	}
	return fmt.Sprintf("%d endpoints, %d PDP(s)\n%s\n%s\n", r.Endpoints, r.Replicas,
		line("first contact", r.First), line("repeat", r.Repeat))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d.Microseconds())/1000) }

// Run makes the endpoints and runs both phases.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	switch {
	case len(cfg.Addrs) == 0:
		return nil, errors.New("loadgen: no PDP address")
	case cfg.Endpoints < 1 || cfg.Endpoints > MaxEndpoints:
		return nil, fmt.Errorf("loadgen: %d endpoints, want 1..%d", cfg.Endpoints, MaxEndpoints)
	}
	if cfg.Events <= 0 {
		cfg.Events = 100
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	eps := make([]*Endpoint, cfg.Endpoints)
	clients := make([]*tnccs.Client, cfg.Endpoints)
	for i := range eps {
		e, err := NewEndpoint(i, cfg.Events)
		if err != nil {
			return nil, fmt.Errorf("loadgen: endpoint %d: %w", i, err)
		}
		eps[i] = e
		cc := tnccs.ClientConfig{Addr: cfg.Addrs[i%len(cfg.Addrs)],
			PTTLS: pttls.ClientConfig{ServerName: cfg.ServerName, RootCAs: cfg.RootCAs,
				Username: cfg.Username, Password: cfg.Password, Timeout: cfg.Timeout}}
		clients[i] = tnccs.NewClient(cc, e)
	}
	rep := &Report{Endpoints: cfg.Endpoints, Replicas: len(cfg.Addrs)}

	// First contact: everyone once, at the same time.
	rec := newRecorder()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.add(attestOnce(ctx, clients[i], eps[i], cfg.Timeout))
		}()
	}
	wg.Wait()
	rep.First = rec.phase(time.Since(start))
	progress(cfg.Progress, "first contact", rep)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}

	// Steady state: back to back until the duration is over; attestations
	// started before the end count when they finish.
	rec = newRecorder()
	end := time.Now().Add(cfg.Duration)
	start = time.Now()
	for i := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) && ctx.Err() == nil {
				rec.add(attestOnce(ctx, clients[i], eps[i], cfg.Timeout))
			}
		}()
	}
	wg.Wait()
	rep.Repeat = rec.phase(time.Since(start))
	progress(cfg.Progress, "repeat", rep)
	return rep, ctx.Err()
}

func progress(w io.Writer, what string, r *Report) {
	if w == nil {
		return
	}
	p := r.First
	if what == "repeat" {
		p = r.Repeat
	}
	fmt.Fprintf(w, "%d endpoints: %s done: %d ok, %d failed, %.1f/s\n", r.Endpoints, what, p.Attestations, p.Failed, p.Rate)
}

// result is one attestation's end.
type result struct {
	latency time.Duration
	err     error
}

func attestOnce(ctx context.Context, c *tnccs.Client, e *Endpoint, timeout time.Duration) result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t0 := time.Now()
	res, err := c.Assess(ctx)
	lat := time.Since(t0)
	switch {
	case err != nil:
		return result{lat, err}
	case !res.Decided:
		return result{lat, errors.New("no decision")}
	case res.Recommendation != 1: // Access Allowed
		var why []string
		for _, r := range res.Reasons {
			why = append(why, r.Text)
		}
		return result{lat, fmt.Errorf("device %s: recommendation %d, assessment %d: %q", e.KeyID,
			res.Recommendation, res.AssessmentResult, why)}
	}
	return result{lat, nil}
}

// recorder collects one phase's results.
type recorder struct {
	mu     sync.Mutex
	ok     []time.Duration
	failed int
	first  error
}

func newRecorder() *recorder { return &recorder{} }

func (r *recorder) add(x result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if x.err != nil {
		r.failed++
		if r.first == nil {
			r.first = x.err
		}
		return
	}
	r.ok = append(r.ok, x.latency)
}

func (r *recorder) phase(elapsed time.Duration) Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Phase{Attestations: len(r.ok), Failed: r.failed, Elapsed: elapsed}
	if r.first != nil {
		p.FirstError = r.first.Error()
	}
	if elapsed > 0 {
		p.Rate = float64(len(r.ok)) / elapsed.Seconds()
	}
	if len(r.ok) > 0 {
		s := append([]time.Duration(nil), r.ok...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		pct := func(q float64) time.Duration {
			i := int(q*float64(len(s))+0.5) - 1
			return s[max(0, min(len(s)-1, i))]
		}
		p.P50, p.P90, p.P99, p.Max = pct(0.50), pct(0.90), pct(0.99), s[len(s)-1]
	}
	return p
}
