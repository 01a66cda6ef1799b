package metrics

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestListenServesClientMetrics scrapes a real listener on loopback: the
// client's series exist from the start, count what was recorded and come
// in the Prometheus text format with the Go and process collectors.
func TestListenServesClientMetrics(t *testing.T) {
	reg := NewRegistry()
	c := NewClient(reg)
	s, err := Listen("127.0.0.1:0", reg, func(m string) { t.Log(m) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Attestations.WithLabelValues(ResultAllowed).Inc()
	c.Duration.Observe(0.2)
	c.LastSuccess.Set(1700000000)

	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`imchost_attestations_total{result="allowed"} 1`,
		`imchost_attestations_total{result="local_error"} 0`,
		`imchost_attestation_duration_seconds_bucket{le="0.25"} 1`,
		`imchost_attestation_duration_seconds_count 1`,
		`imchost_last_success_timestamp_seconds 1.7e+09`,
		`imchost_module_loads_total{result="ok"} 0`,
		"# TYPE imchost_tpm_errors_total counter",
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if r, err := http.Get("http://" + s.Addr() + "/other"); err != nil || r.StatusCode != 404 {
		t.Errorf("/other: %v %v", r.StatusCode, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr() + "/metrics"); err == nil {
		t.Error("still serving after Close")
	}
}
