package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/internal/logfmt"
	"github.com/imchost/imchost/internal/metrics"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tpmhost"
)

// opsFlags are how imchost run reports to whoever operates it: the
// summary's format, Prometheus metrics, and whether an idle --interval
// agent keeps its modules loaded.
type opsFlags struct {
	output     string // text | json
	metrics    string // listen address, "" = off
	keepLoaded bool
	interval   bool // --interval mode: timestamps on result lines
	m          *metrics.Client
	srv        *metrics.Server
	now        func() time.Time
}

func (o *opsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.output, "output", "text", "the summary: text (one line per IMC, then overall) or json (one object per attestation)")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on this address, e.g. 127.0.0.1:9271 (GET /metrics)")
	fs.BoolVar(&o.keepLoaded, "keep-loaded", false, "with --interval: keep the modules compiled and loaded between attestations (default: released while idle, reloaded from the cache)")
}

// check refuses a bad --output value (a usage error).
func (o *opsFlags) check() error {
	switch o.output {
	case "text", "json":
		return nil
	}
	return fmt.Errorf("--output %s: want text or json", o.output)
}

// start opens the metrics listener when --metrics is set.
func (o *opsFlags) start(log hclog.Logger) error {
	if o.now == nil {
		o.now = time.Now
	}
	if o.metrics == "" {
		return nil
	}
	reg := metrics.NewRegistry()
	o.m = metrics.NewClient(reg)
	mlog := log.Named("tnc")
	srv, err := metrics.Listen(o.metrics, reg, func(s string) { mlog.Warn("metrics: " + s) })
	if err != nil {
		return err
	}
	o.srv = srv
	mlog.Info(fmt.Sprintf("Prometheus metrics on http://%s/metrics", srv.Addr()))
	return nil
}

// stop closes the metrics listener.
func (o *opsFlags) stop() {
	if o.srv != nil {
		o.srv.Close()
	}
}

// resultOf names a verdict for the metrics and the JSON summary.
func resultOf(v *verdict) string {
	switch {
	case !v.res.Decided:
		return metrics.ResultNoDecision
	case v.allowed():
		return metrics.ResultAllowed
	case v.res.Recommendation == pb.RecommendationQuarantined:
		return metrics.ResultIsolate
	}
	return metrics.ResultNoAccess
}

// jsonIMC is one IMC's line of the JSON summary.
type jsonIMC struct {
	ID          uint32 `json:"id"`
	Name        string `json:"name"`
	IMV         uint32 `json:"imv"`
	Result      string `json:"result"`
	Remediation string `json:"remediation,omitempty"`
	Language    string `json:"language,omitempty"`
}

// jsonText is a reason or remediation text with its language.
type jsonText struct {
	Text string `json:"text"`
	Lang string `json:"lang,omitempty"`
}

// jsonSummary is one attestation in --output json.
type jsonSummary struct {
	Time           string     `json:"time"`
	PDP            string     `json:"pdp"`
	Result         string     `json:"result"`
	ExitCode       int        `json:"exit_code"`
	Assessment     string     `json:"assessment,omitempty"`
	Recommendation string     `json:"recommendation,omitempty"`
	IMCs           []jsonIMC  `json:"imcs,omitempty"`
	Reasons        []jsonText `json:"reasons,omitempty"`
	Remediation    *jsonText  `json:"remediation,omitempty"`
	RemediationURI string     `json:"remediation_uri,omitempty"`
	PBErrors       []string   `json:"pb_errors,omitempty"`
	Error          string     `json:"error,omitempty"`
	DurationMS     float64    `json:"duration_ms"`
	LoadMS         float64    `json:"load_ms,omitempty"` // loading the modules for this attestation
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// verdict reports a finished attestation: the summary on w (text, with a
// timestamp on every line in --interval mode, or one JSON object) and the
// metrics.
func (o *opsFlags) verdict(w io.Writer, start time.Time, took, load time.Duration, addr string, v *verdict, names map[uint32]string) {
	res := resultOf(v)
	o.record(start, took, res)
	if o.output == "json" {
		s := o.summary(start, took, load, addr, res, v.exitCode())
		for _, r := range v.reports {
			name := r.IMC
			if name == "" {
				name = names[r.IMCID]
			}
			s.IMCs = append(s.IMCs, jsonIMC{ID: r.IMCID, Name: name, IMV: r.Validator,
				Result: pb.AssessmentResult(r.Result).String(), Remediation: r.Remediation, Language: r.Language})
		}
		if v.res.Decided {
			s.Assessment, s.Recommendation = v.res.AssessmentResult.String(), v.res.Recommendation.String()
		}
		for _, r := range v.res.Reasons {
			s.Reasons = append(s.Reasons, jsonText{Text: r.Text, Lang: r.Lang})
		}
		if rem := v.res.Remediation; rem != nil {
			if rem.URI != "" {
				s.RemediationURI = rem.URI
			} else {
				s.Remediation = &jsonText{Text: rem.Text, Lang: rem.Lang}
			}
		}
		for _, e := range v.res.Errors {
			s.PBErrors = append(s.PBErrors, fmt.Sprint(e))
		}
		writeJSON(w, s)
		return
	}
	if !o.interval {
		printVerdict(w, v, names)
		return
	}
	var b bytes.Buffer
	printVerdict(&b, v, names)
	stampLines(w, o.now(), b.String())
}

// failure reports an attestation that ended without a verdict: the
// message on errw (stamped in --interval mode) or a JSON object on w,
// and the metrics. local marks a fault of this endpoint.
func (o *opsFlags) failure(w, errw io.Writer, start time.Time, took, load time.Duration, addr string, err error) {
	var le *localError
	local := errors.As(err, &le)
	res := metrics.ResultError
	if local {
		res = metrics.ResultLocalError
	}
	o.record(start, took, res)
	var te *tpmhost.TPMError
	if o.m != nil && errors.As(err, &te) {
		o.m.TPMErrors.Inc()
	}
	// An error can quote the peer (a certificate's names, a PDP's bytes).
	msg := fmt.Sprintf("imchost: attestation with %s failed: %s", addr, logfmt.Escape(err.Error()))
	if local {
		msg = fmt.Sprintf("imchost: no attestation, a local fault: %s", logfmt.Escape(err.Error()))
	}
	if o.output == "json" {
		s := o.summary(start, took, load, addr, res, exitError)
		s.Error = err.Error()
		writeJSON(w, s)
	}
	if o.interval {
		stampLines(errw, o.now(), msg)
	} else {
		fmt.Fprintln(errw, msg)
	}
}

func (o *opsFlags) summary(start time.Time, took, load time.Duration, addr, res string, code int) *jsonSummary {
	return &jsonSummary{Time: start.UTC().Format(time.RFC3339Nano), PDP: addr, Result: res, ExitCode: code,
		DurationMS: ms(took), LoadMS: ms(load)}
}

// record counts an attestation in the metrics.
func (o *opsFlags) record(start time.Time, took time.Duration, res string) {
	if o.m == nil {
		return
	}
	o.m.Attestations.WithLabelValues(res).Inc()
	o.m.Duration.Observe(took.Seconds())
	now := float64(start.Add(took).UnixNano()) / 1e9
	o.m.LastAttempt.Set(now)
	if res == metrics.ResultAllowed {
		o.m.LastSuccess.Set(now)
	}
}

// writeJSON writes v as one line.
func writeJSON(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	w.Write(append(b, '\n'))
}

// stampLines writes text with the time before every line, so that an
// --interval agent's output read later (a journal, a file) says when each
// verdict came.
func stampLines(w io.Writer, t time.Time, text string) {
	stamp := t.Format("2006-01-02T15:04:05Z07:00") + " "
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(stamp + l + "\n")
	}
	io.WriteString(w, b.String())
}

// pdpSilent rewords an attestation that ran out of time: what waited was
// the PDP, within the --timeout the operator gave.
func pdpSilent(ctx context.Context, err error, timeout time.Duration) error {
	var le *localError
	if errors.As(err, &le) || ctx.Err() != nil {
		return err // a load that ran out of time, or a signal: said as it is
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "deadline exceeded") ||
		strings.Contains(err.Error(), "i/o timeout") {
		return fmt.Errorf("the PDP did not answer within %s (--timeout): %w", timeout, err)
	}
	return err
}
