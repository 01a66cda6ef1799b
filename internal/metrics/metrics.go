// Package metrics is the Prometheus side of imchost: an opt-in HTTP
// listener for /metrics (imchost run --metrics ADDR, imchost pdp serve
// --metrics ADDR) and the client's metrics. It uses the Prometheus
// project's own client library (client_golang) for the text exposition
// format and its collectors rather than a hand-written writer: the format's
// escaping, histogram and content-negotiation rules are its to keep right.
//
// Nothing here is registered globally: each program makes a Registry, so
// tests and the demo can run several side by side.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every imchost metric.
const Namespace = "imchost"

// NewRegistry returns a registry with the Go runtime's and the process's
// standard collectors (go_*, process_*: memory, CPU, open files), which a
// fleet dashboard expects next to a program's own metrics.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Server serves one registry's /metrics over plain HTTP.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// Listen starts serving reg on addr ("127.0.0.1:9271", ":9271";
// port 0 picks one): GET /metrics in the Prometheus text format. Errors
// while writing a scrape go to errorLog (nil: dropped).
func Listen(addr string, reg *prometheus.Registry, errorLog func(string)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	opts := promhttp.HandlerOpts{MaxRequestsInFlight: 4, Timeout: 10 * time.Second}
	if errorLog != nil {
		opts.ErrorLog = printer(errorLog)
	}
	mux.Handle("/metrics", promhttp.HandlerFor(reg, opts))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "imchost: metrics at /metrics")
	})
	s := &Server{ln: ln, done: make(chan struct{}), srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the listener and waits up to a second for scrapes in
// progress.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.done
	return err
}

// printer adapts a line logger to promhttp's Logger.
type printer func(string)

func (p printer) Println(v ...any) { p(fmt.Sprint(v...)) }

// DurationBuckets are the attestation duration histogram's upper bounds
// in seconds: a warm attestation on loopback takes ~0.1 s, one across a
// WAN to a busy PDP seconds, a stuck one runs into --timeout (2 m).
var DurationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// Client holds the metrics of imchost run.
type Client struct {
	// Attestations counts finished attestations by result: "allowed",
	// "isolate", "no_access", "no_decision" (the PDP ended without a
	// recommendation), "local_error" (a fault on this endpoint: config,
	// module, TPM, event log) and "error" (connection or protocol).
	Attestations *prometheus.CounterVec
	// LastSuccess is the Unix time of the last attestation the PDP allowed.
	LastSuccess prometheus.Gauge
	// LastAttempt is the Unix time of the last attestation, whatever its end.
	LastAttempt prometheus.Gauge
	// Duration observes each attestation's wall time, dial to verdict.
	Duration prometheus.Histogram
	// TPMErrors counts failed TPM operations (opening it, reading the AK
	// or PCRs, quoting).
	TPMErrors prometheus.Counter
	// Reloads counts module (re)loads by result: "ok" or "error".
	Reloads *prometheus.CounterVec
	// Refusals counts modules the host refused (pin, grants, ABI, init).
	Refusals prometheus.Counter
}

// Attestation results, the values of Client.Attestations' "result" label.
const (
	ResultAllowed    = "allowed"
	ResultIsolate    = "isolate"
	ResultNoAccess   = "no_access"
	ResultNoDecision = "no_decision"
	ResultLocalError = "local_error"
	ResultError      = "error"
)

// NewClient makes the client's metrics and registers them with reg.
func NewClient(reg prometheus.Registerer) *Client {
	c := &Client{
		Attestations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "attestations_total",
			Help: "Attestations by result (allowed, isolate, no_access, no_decision, local_error, error).",
		}, []string{"result"}),
		LastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "last_success_timestamp_seconds",
			Help: "Unix time of the last attestation the PDP allowed (0: none yet).",
		}),
		LastAttempt: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "last_attestation_timestamp_seconds",
			Help: "Unix time of the last attestation, whatever its result.",
		}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "attestation_duration_seconds",
			Help: "Wall time of one attestation, from loading the modules to the verdict.", Buckets: DurationBuckets,
		}),
		TPMErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "tpm_errors_total",
			Help: "Failed TPM operations (open, AK, PCR read, quote).",
		}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "module_loads_total",
			Help: "Loads and reloads of the IMC modules by result (ok, error).",
		}, []string{"result"}),
		Refusals: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "module_refusals_total",
			Help: "IMC modules refused (pin, signature, grants, ABI, initialization).",
		}),
	}
	for _, r := range []string{ResultAllowed, ResultIsolate, ResultNoAccess, ResultNoDecision, ResultLocalError, ResultError} {
		c.Attestations.WithLabelValues(r) // every series exists from the start, at 0
	}
	c.Reloads.WithLabelValues("ok")
	c.Reloads.WithLabelValues("error")
	reg.MustRegister(c.Attestations, c.LastSuccess, c.LastAttempt, c.Duration, c.TPMErrors, c.Reloads, c.Refusals)
	return c
}
