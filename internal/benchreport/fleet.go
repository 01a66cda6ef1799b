package main

import (
	"encoding/json"
	"fmt"
	"math"
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
	// ReplicaCPU is the budget asked for the budget setups (CPUs per
	// replica); BudgetError why they ran without one.
	ReplicaCPU  float64 `json:"replica_cpu"`
	BudgetError string  `json:"budget_error"`
	Points      []struct {
		Setup      string        `json:"setup"`
		Replicas   int           `json:"replicas"`
		PDPCPU     time.Duration `json:"pdp_cpu"`
		GenCPU     time.Duration `json:"generator_cpu"`
		DBCPU      time.Duration `json:"db_cpu"`
		CPUBudget  float64       `json:"cpu_budget"`
		Throttling *struct {
			Periods   int64 `json:"periods"`
			Throttled int64 `json:"throttled_periods"`
		} `json:"throttling"`
		Report struct {
			Endpoints int        `json:"Endpoints"`
			First     fleetPhase `json:"First"`
			Repeat    fleetPhase `json:"Repeat"`
		} `json:"report"`
	} `json:"points"`
}

type fleetPhase struct {
	Attestations       int
	Failed             int
	Elapsed            time.Duration
	Rate               float64
	P50, P90, P99, Max time.Duration
}

// fleetSetup names a point's setup in the table.
func fleetSetup(setup string, replicas int, budget float64) string {
	switch {
	case strings.HasPrefix(setup, "budget-") && budget > 0:
		return fmt.Sprintf("postgres, %d × %.2g CPU", replicas, budget)
	case strings.HasPrefix(setup, "budget-"):
		return fmt.Sprintf("postgres, %d × no budget", replicas)
	case replicas > 1:
		return fmt.Sprintf("%s (%d replicas)", setup, replicas)
	}
	return setup
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
	fmt.Fprintf(&b, "Reproduce: `make fleet-bench` (`%s`).\n", r.Command)
	fmt.Fprintf(&b, "`imchost pdp serve` processes (SQLite; PostgreSQL; one and two replicas on one PostgreSQL, each held to a CPU\n")
	fmt.Fprintf(&b, "budget, endpoints alternating between them), each fleet size on a fresh database, driven by\n")
	fmt.Fprintf(&b, "internal/loadgen (what `imchost pdp bench` runs): every endpoint its own P-256 AK signing TPMS_ATTEST quotes,\n")
	fmt.Fprintf(&b, "a %d-event boot log, device ID and OS facts, over TLS 1.3/PT-TLS/PB-TNC on loopback; the generator shares the\n", r.Events)
	fmt.Fprintf(&b, "machine with the PDPs. First contact: every endpoint once at the same time (registration); repeat: back to back\n")
	fmt.Fprintf(&b, "for %s. Latency is dial to verdict. *PDP CPU/att.* is the PDP processes' CPU time (user+system) over all\n", r.Duration)
	fmt.Fprintf(&b, "attestations of the row: the PDP's cost, independent of how much of the shared CPU it got; *PDP CPU share* is\n")
	fmt.Fprintf(&b, "that over the row's wall time, *generator / DB share* the same for the load generator and the PostgreSQL server.\n")
	fmt.Fprintf(&b, "*postgres, N × B CPU*: N replicas, each held to B CPUs (below the table).\n\n")
	fmt.Fprintf(&b, "| setup | endpoints | first contact /s | repeat /s | p50 | p90 | p99 | max | failed | PDP CPU/att. | PDP CPU share | generator / DB share |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	msf := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
	for _, p := range r.Points {
		f, rp := p.Report.First, p.Report.Repeat
		n := f.Attestations + rp.Attestations + f.Failed + rp.Failed
		per, share, others := "–", "–", "–"
		if n > 0 {
			per = fmt.Sprintf("%.2f ms", float64(p.PDPCPU.Microseconds())/1000/float64(n))
		}
		if wall := f.Elapsed + rp.Elapsed; wall > 0 {
			share = fmt.Sprintf("%.2f cores", p.PDPCPU.Seconds()/wall.Seconds())
			db := "–"
			if p.DBCPU > 0 {
				db = fmt.Sprintf("%.2f", p.DBCPU.Seconds()/wall.Seconds())
			}
			others = fmt.Sprintf("%.2f / %s", p.GenCPU.Seconds()/wall.Seconds(), db)
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %s | %s | %s | %s | %d | %s | %s | %s |\n", fleetSetup(p.Setup, p.Replicas, p.CPUBudget),
			p.Report.Endpoints, f.Rate, rp.Rate, msf(rp.P50), msf(rp.P90), msf(rp.P99), msf(rp.Max), f.Failed+rp.Failed, per, share, others)
	}
	b.WriteString(replicaGain(&r))
	b.WriteString(fleetGoals(&r))
	if notes, err := os.ReadFile(notesPath); err == nil {
		fmt.Fprintf(&b, "\n%s", notes)
	}
	fmt.Fprintf(&b, "\n%s\n", fleetEnd)
	return b.String(), nil
}

// replicaGain is the paragraph comparing one and two budgeted replicas at
// each fleet size both were measured at; "" without budget setups. With
// each rate it gives the share of CFS periods in which the replicas used
// up their quota: a low share for two replicas means the budget did not
// hold them back, the rest of the machine did.
func replicaGain(r *fleetResults) string {
	type meas struct {
		rate      float64
		throttled float64 // share of periods, -1 unknown
	}
	one, two := map[int]meas{}, map[int]meas{}
	var sizes []int
	budget := 0.0
	for _, p := range r.Points {
		m := meas{rate: p.Report.Repeat.Rate, throttled: -1}
		if th := p.Throttling; th != nil && th.Periods > 0 {
			m.throttled = float64(th.Throttled) / float64(th.Periods)
		}
		switch p.Setup {
		case "budget-1":
			one[p.Report.Endpoints] = m
			sizes = append(sizes, p.Report.Endpoints)
		case "budget-2":
			two[p.Report.Endpoints] = m
		default:
			continue
		}
		budget = max(budget, p.CPUBudget)
	}
	pct := func(m meas) string {
		if m.throttled < 0 {
			return "?"
		}
		return fmt.Sprintf("%.0f %%", 100*m.throttled)
	}
	var gains []string
	loose := false
	for _, n := range sizes {
		m2, ok := two[n]
		m1 := one[n]
		if !ok || m1.rate == 0 {
			continue
		}
		g := fmt.Sprintf("%d endpoints %.0f → %.0f/s (×%.2f", n, m1.rate, m2.rate, m2.rate/m1.rate)
		if budget > 0 {
			g += fmt.Sprintf("; throttled in %s → %s of the periods", pct(m1), pct(m2))
			loose = loose || (m2.throttled >= 0 && m2.throttled < 0.5)
		}
		gains = append(gains, g+")")
	}
	if len(gains) == 0 {
		return ""
	}
	var b strings.Builder
	if budget == 0 {
		fmt.Fprintf(&b, "\n**A second replica: not measured with a CPU budget** (%s): both replicas and the generator shared the\n", r.BudgetError)
		fmt.Fprintf(&b, "machine's cores, so these rows cannot show a gain. Repeat attestations/s, one → two replicas: %s.\n", strings.Join(gains, "; "))
		return b.String()
	}
	fmt.Fprintf(&b, "\n**A second replica, each held to %.2g CPU** (its own cgroup v1 group: CFS quota %.0f ms per 100 ms, GOMAXPROCS=%d;\n",
		budget, budget*100, int(math.Ceil(budget)))
	fmt.Fprintf(&b, "the generator and PostgreSQL unbudgeted on the rest of the machine). Repeat attestations/s, one → two replicas:\n")
	fmt.Fprintf(&b, "%s.\n", strings.Join(gains, "; "))
	if loose {
		fmt.Fprintf(&b, "Where two replicas used up their quota in fewer than half of the periods, their budget was not what held them\n")
		fmt.Fprintf(&b, "back: the rest of the machine was (the generator, the database or other load); that gain understates a second\n")
		fmt.Fprintf(&b, "replica's.\n")
	}
	return b.String()
}

// nearLinear is the least gain from a second replica that counts as
// near-linear (the goal of issue 24).
const nearLinear = 1.8

// fleetGoals is the table of issue 24's goals as met or not met by the
// points measured; "" when none of them was measured.
func fleetGoals(r *fleetResults) string {
	find := func(setup string, n int) (fleetPhase, bool) {
		for _, p := range r.Points {
			if p.Setup == setup && p.Report.Endpoints == n {
				return p.Report.Repeat, true
			}
		}
		return fleetPhase{}, false
	}
	verdict := func(met bool) string {
		if met {
			return "**met**"
		}
		return "**not met**"
	}
	var rows []string
	if ph, ok := find("sqlite", 64); ok {
		rows = append(rows, fmt.Sprintf("| sustained attestations/s, 64 endpoints, SQLite | ≥ 200 | %.0f/s | %s |", ph.Rate, verdict(ph.Rate >= 200)))
	}
	for _, setup := range []string{"sqlite", "postgres"} {
		if ph, ok := find(setup, 256); ok {
			rows = append(rows, fmt.Sprintf("| p99 latency, 256 endpoints, %s | ≤ 1 s | %.0f ms (p50 %.0f, p90 %.0f) | %s |", setup,
				float64(ph.P99.Microseconds())/1000, float64(ph.P50.Microseconds())/1000, float64(ph.P90.Microseconds())/1000, verdict(ph.P99 <= time.Second)))
		}
	}
	var gains []string
	budgeted, short, shortLoose := false, false, true
	for _, p := range r.Points {
		if p.Setup != "budget-1" {
			continue
		}
		two, ok := find("budget-2", p.Report.Endpoints)
		if !ok || p.Report.Repeat.Rate == 0 {
			continue
		}
		budgeted = p.CPUBudget > 0
		g := two.Rate / p.Report.Repeat.Rate
		if g < nearLinear {
			// Short of near-linear: was the pair held back by its budget?
			short = true
			for _, q := range r.Points {
				if q.Setup == "budget-2" && q.Report.Endpoints == p.Report.Endpoints && q.Throttling != nil &&
					q.Throttling.Periods > 0 && 2*q.Throttling.Throttled >= q.Throttling.Periods {
					shortLoose = false
				}
			}
		}
		gains = append(gains, fmt.Sprintf("×%.2f at %d", g, p.Report.Endpoints))
	}
	if len(gains) > 0 {
		v := verdict(budgeted && !short)
		switch {
		case !budgeted:
			v = "**not shown** (no CPU budget)"
		case short && shortLoose:
			v = "**not shown** (two replicas were not held back by their budget: the rest of the machine was the limit)"
		}
		rows = append(rows, fmt.Sprintf("| gain from a second replica on PostgreSQL, equal CPU per replica | near-linear (≥ ×%.1f at every size) | %s | %s |",
			nearLinear, strings.Join(gains, ", "), v))
	}
	if len(rows) == 0 {
		return ""
	}
	return "\n| goal (issue 24) | target | measured (repeat phase) | |\n|---|---|---|---|\n" + strings.Join(rows, "\n") + "\n"
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
