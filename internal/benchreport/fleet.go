package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// The fleet section sits between these markers, so that `make fleet-bench`
// can replace it in a BENCHMARKS.md that `make bench` wrote.
const (
	fleetBegin = "<!-- fleet: written by make fleet-bench (internal/fleetbench, internal/benchreport -fleet) -->"
	fleetEnd   = "<!-- /fleet -->"
)

// fleetResults is internal/fleetbench's output.
type fleetResults struct {
	When     time.Time `json:"when"`
	CPU      string    `json:"cpu"`
	Cores    int       `json:"cores"`
	Load     string    `json:"load"`
	Duration string    `json:"duration"`
	Events   int       `json:"events"`
	Command  string    `json:"command"`
	Points   []struct {
		Setup    string        `json:"setup"`
		Replicas int           `json:"replicas"`
		PDPCPU   time.Duration `json:"pdp_cpu"`
		GenCPU   time.Duration `json:"generator_cpu"`
		Report   struct {
			Endpoints int        `json:"Endpoints"`
			First     fleetPhase `json:"First"`
			Repeat    fleetPhase `json:"Repeat"`
		} `json:"report"`
	} `json:"points"`
}

type fleetPhase struct {
	Attestations  int
	Failed        int
	Elapsed       time.Duration
	Rate          float64
	P50, P99, Max time.Duration
}

// fleetSection renders the curve from path; "" when there is no file.
func fleetSection(path, notesPath string) (string, error) {
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var r fleetResults
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n## Fleet: the PDP under load (issue 24)\n\n", fleetBegin)
	fmt.Fprintf(&b, "Measured %s on %s (%d cores; load average at the start: %s).\n",
		r.When.Format("2006-01-02 15:04 UTC"), r.CPU, r.Cores, r.Load)
	fmt.Fprintf(&b, "Reproduce: `make fleet-bench` (`%s`). `imchost pdp serve` processes (SQLite; PostgreSQL; two replicas on one\n", r.Command)
	fmt.Fprintf(&b, "PostgreSQL, endpoints alternating between them), each fleet size on a fresh database, driven by\n")
	fmt.Fprintf(&b, "internal/loadgen (what `imchost pdp bench` runs): every endpoint its own P-256 AK signing TPMS_ATTEST quotes,\n")
	fmt.Fprintf(&b, "a %d-event boot log, device ID and OS facts, over TLS 1.3/PT-TLS/PB-TNC on loopback; the generator shares the\n", r.Events)
	fmt.Fprintf(&b, "machine with the PDPs. First contact: every endpoint once at the same time (registration); repeat: back to back\n")
	fmt.Fprintf(&b, "for %s. Latency is dial to verdict. *PDP CPU/att.* is the PDP processes' CPU time (user+system) over all\n", r.Duration)
	fmt.Fprintf(&b, "attestations of the row: the PDP's cost, independent of how much of the shared CPU it got.\n\n")
	fmt.Fprintf(&b, "| setup | endpoints | first contact /s | repeat /s | p50 | p99 | max | failed | PDP CPU/att. | PDP CPU share |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	msf := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
	for _, p := range r.Points {
		f, rp := p.Report.First, p.Report.Repeat
		n := f.Attestations + rp.Attestations + f.Failed + rp.Failed
		per, share := "–", "–"
		if n > 0 {
			per = fmt.Sprintf("%.2f ms", float64(p.PDPCPU.Microseconds())/1000/float64(n))
		}
		if wall := f.Elapsed + rp.Elapsed; wall > 0 {
			share = fmt.Sprintf("%.2f cores", p.PDPCPU.Seconds()/wall.Seconds())
		}
		setup := p.Setup
		if p.Replicas > 1 {
			setup = fmt.Sprintf("%s (%d replicas)", p.Setup, p.Replicas)
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %s | %s | %s | %d | %s | %s |\n", setup, p.Report.Endpoints,
			f.Rate, rp.Rate, msf(rp.P50), msf(rp.P99), msf(rp.Max), f.Failed+rp.Failed, per, share)
	}
	if notes, err := os.ReadFile(notesPath); err == nil {
		fmt.Fprintf(&b, "\n%s", notes)
	}
	fmt.Fprintf(&b, "\n%s\n", fleetEnd)
	return b.String(), nil
}

// replaceFleet puts section into the report at path: in place of the old
// section, or at the end.
func replaceFleet(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(old)
	if i := strings.Index(s, fleetBegin); i >= 0 {
		if j := strings.Index(s[i:], fleetEnd); j >= 0 {
			s = s[:i] + strings.TrimSuffix(section, "\n") + s[i+j+len(fleetEnd):]
			return os.WriteFile(path, []byte(s), 0o644)
		}
	}
	return os.WriteFile(path, []byte(strings.TrimRight(s, "\n")+"\n\n"+section), 0o644)
}
