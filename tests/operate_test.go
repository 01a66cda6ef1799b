package tests

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// summary is one line of imchost run --output json.
type summary struct {
	Time           string  `json:"time"`
	PDP            string  `json:"pdp"`
	Result         string  `json:"result"`
	ExitCode       int     `json:"exit_code"`
	Assessment     string  `json:"assessment"`
	Recommendation string  `json:"recommendation"`
	Error          string  `json:"error"`
	DurationMS     float64 `json:"duration_ms"`
	LoadMS         float64 `json:"load_ms"`
	IMCs           []struct {
		ID     uint32 `json:"id"`
		Name   string `json:"name"`
		Result string `json:"result"`
	} `json:"imcs"`
}

func summaries(t *testing.T, out string) []summary {
	var s []summary
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var x summary
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Errorf("not a JSON summary: %q: %v", l, err)
			continue
		}
		s = append(s, x)
	}
	return s
}

// scrape returns the value of one metric sample of the text exposition.
func scrape(t *testing.T, addr, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in\n%s", sample, b)
	return 0
}

// TestCLIOperate: imchost run --interval as a fleet operates it — one JSON
// object per attestation (time, PDP, per-IMC results, recommendation,
// durations, the load time of modules released while idle), Prometheus
// metrics counting them on --metrics, a PDP that stops answering reported
// as such with its own result, and the modules loaded again for every
// attestation while the IMC IDs stay.
func TestCLIOperate(t *testing.T) {
	e := newCLIEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := startCLI(ctx, t, e.runArgs(e.pdp.addr, e.pdp.caPEM, e.tpm.inst.Spec, fixtureRoot(t, false),
		"--interval", "1s", "--output", "json", "--metrics", "127.0.0.1:0")...)
	p.await("three summaries", func() bool { return strings.Count(p.stdout.String(), "\n") >= 3 })
	var addr string
	p.await("the metrics address", func() bool {
		m := regexp.MustCompile(`Prometheus metrics on http://(\S+)/metrics`).FindStringSubmatch(p.stderr.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	s := summaries(t, p.stdout.String())
	if len(s) < 3 {
		t.Fatalf("%d summaries", len(s))
	}
	for i, x := range s[:3] {
		if _, err := time.Parse(time.RFC3339Nano, x.Time); err != nil {
			t.Errorf("summary %d: time %q: %v", i, x.Time, err)
		}
		if x.PDP != "127.0.0.1:"+portOf(e.pdp.addr) || x.Result != "allowed" || x.ExitCode != 0 ||
			x.Recommendation != "Access Allowed" || x.Assessment != "compliant" || x.DurationMS <= 0 {
			t.Errorf("summary %d: %+v", i, x)
		}
		if len(x.IMCs) != 2 || x.IMCs[0].ID != 1 || x.IMCs[0].Name != "OS" || x.IMCs[1].ID != 2 ||
			x.IMCs[1].Name != "Attestation" || x.IMCs[1].Result != "compliant" {
			t.Errorf("summary %d: IMCs %+v", i, x.IMCs)
		}
		if i > 0 && x.LoadMS <= 0 { // released after the first, loaded again for each
			t.Errorf("summary %d: no load time: the modules were not loaded again", i)
		}
	}
	if n := scrape(t, addr, `imchost_attestations_total{result="allowed"}`); n < 3 {
		t.Errorf("attestations allowed: %v, want at least 3", n)
	}
	if n := scrape(t, addr, `imchost_module_loads_total{result="ok"}`); n < 3 {
		t.Errorf("module loads: %v, want at least 3 (one per attestation)", n)
	}
	if v := scrape(t, addr, "imchost_last_success_timestamp_seconds"); time.Since(time.Unix(int64(v), 0)) > time.Minute {
		t.Errorf("last success %v is not recent", v)
	}

	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0 (the last verdict allowed)", code)
	}

	// A PDP that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	args := e.runArgs(silent.Addr().String(), e.pdp.caPEM, e.tpm.inst.Spec, fixtureRoot(t, false), "--output", "json")
	for i, a := range args {
		if a == "--timeout" {
			args[i+1] = "3s"
		}
	}
	out := runCLI(t, exitError, args...)
	if !strings.Contains(out, "the PDP did not answer within 3s") {
		t.Errorf("a silent PDP:\n%s", out)
	}
	if s := summaries(t, out); len(s) != 1 || s[0].Result != "error" || s[0].ExitCode != 1 || !strings.Contains(s[0].Error, "did not answer within 3s") {
		t.Errorf("the silent PDP's summary: %+v", s)
	}
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
