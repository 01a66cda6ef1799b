package metrics

import "github.com/prometheus/client_golang/prometheus"

// PDPSubsystem prefixes the PDP's metrics (imchost_pdp_...).
const PDPSubsystem = "pdp"

// PDP verdicts, the values of PDP.Attestations' "verdict" label: the
// access recommendation sent, or "no_decision" for a connection that ended
// before one (protocol error, vanished client).
const (
	VerdictAllowed    = "allowed"
	VerdictIsolate    = "isolate"
	VerdictNoAccess   = "no_access"
	VerdictNoDecision = "no_decision"
)

// PDP holds the metrics of imchost pdp serve.
type PDP struct {
	// Attestations counts finished PB-TNC connections by verdict.
	Attestations *prometheus.CounterVec
	// Duration observes each decided connection's wall time, first
	// PB-TNC batch to verdict.
	Duration prometheus.Histogram
	// Refused counts connections refused or closed for another by reason:
	// "per_source" (too many from one address), "evicted" (idle, closed
	// to admit a new one), "shutdown" (the PDP was stopping).
	Refused *prometheus.CounterVec
	// Reloads counts policy reloads (SIGHUP) by result: "ok" or "error".
	Reloads *prometheus.CounterVec
}

// NewPDP makes the PDP's metrics and registers them with reg; active is
// read at each scrape for the imchost_pdp_active_sessions gauge.
func NewPDP(reg prometheus.Registerer, active func() int) *PDP {
	p := &PDP{
		Attestations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: PDPSubsystem, Name: "attestations_total",
			Help: "Finished client connections by verdict (allowed, isolate, no_access, no_decision).",
		}, []string{"verdict"}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: PDPSubsystem, Name: "attestation_duration_seconds",
			Help: "Wall time of one decided connection, first PB-TNC batch to verdict.", Buckets: DurationBuckets,
		}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: PDPSubsystem, Name: "refused_connections_total",
			Help: "Connections refused or closed to admit another, by reason (per_source, evicted, shutdown).",
		}, []string{"reason"}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: PDPSubsystem, Name: "policy_reloads_total",
			Help: "Policy reloads (SIGHUP) by result (ok, error).",
		}, []string{"result"}),
	}
	for _, v := range []string{VerdictAllowed, VerdictIsolate, VerdictNoAccess, VerdictNoDecision} {
		p.Attestations.WithLabelValues(v)
	}
	for _, r := range []string{"per_source", "evicted", "shutdown"} {
		p.Refused.WithLabelValues(r)
	}
	p.Reloads.WithLabelValues("ok")
	p.Reloads.WithLabelValues("error")
	activeGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: PDPSubsystem, Name: "active_sessions",
		Help: "Client connections running now.",
	}, func() float64 { return float64(active()) })
	reg.MustRegister(p.Attestations, p.Duration, p.Refused, p.Reloads, activeGauge)
	return p
}
