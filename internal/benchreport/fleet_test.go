package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFleetSectionReplicaGain: budgeted one- and two-replica points give
// the gain paragraph (rates, ratio, throttling) and their table labels;
// budget setups that ran without a budget say so instead.
func TestFleetSectionReplicaGain(t *testing.T) {
	dir := t.TempDir()
	point := func(setup string, replicas, n int, rate float64, budget string) string {
		return fmt.Sprintf(`{"setup":%q,"replicas":%d,"pdp_cpu":1000000000,"generator_cpu":500000000,"db_cpu":250000000,%s`+
			`"report":{"Endpoints":%d,"First":{"Elapsed":1000000000,"Rate":50},"Repeat":{"Attestations":100,"Elapsed":1000000000,"Rate":%g}}}`,
			setup, replicas, budget, n, rate)
	}
	budgeted := `"cpu_budget":0.5,"throttling":{"periods":100,"throttled_periods":40},`
	write := func(name, extra string, points ...string) string {
		p := filepath.Join(dir, name)
		body := `{"cores":2,"duration":"10s","events":100,"command":"x",` + extra + `"points":[` + strings.Join(points, ",") + `]}`
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	p := write("budget.json", `"replica_cpu":0.5,`,
		point("sqlite", 1, 64, 300, ""),
		point("budget-1", 1, 64, 100, budgeted), point("budget-2", 2, 64, 190, budgeted),
		point("budget-1", 1, 256, 110, budgeted), point("budget-2", 2, 256, 200, budgeted))
	sec, err := fleetSection(p, filepath.Join(dir, "none.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| postgres, 1 × 0.5 CPU | 64 |", "| postgres, 2 × 0.5 CPU | 256 |", "| sqlite | 64 |",
		"**A second replica, each held to 0.5 CPU**", "CFS quota 50 ms per 100 ms, GOMAXPROCS=1",
		"64 endpoints 100 → 190/s (×1.90; throttled in 40 % → 40 % of the periods); 256 endpoints 110 → 200/s (×1.82; throttled in 40 % → 40 % of the periods)",
		"their budget was not what held them", "| 0.50 cores | 0.25 / 0.12 |",
		"| sustained attestations/s, 64 endpoints, SQLite | ≥ 200 | 300/s | **met** |",
		"| ×1.90 at 64, ×1.82 at 256 | **met** |",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("no %q in:\n%s", want, sec)
		}
	}

	// Two replicas short of near-linear while held back by their budget:
	// not met; while not held back: not shown.
	tight := `"cpu_budget":0.5,"throttling":{"periods":100,"throttled_periods":80},`
	loose := `"cpu_budget":0.5,"throttling":{"periods":100,"throttled_periods":10},`
	p = write("short.json", `"replica_cpu":0.5,`,
		point("budget-1", 1, 64, 100, tight), point("budget-2", 2, 64, 150, tight))
	if sec, err = fleetSection(p, filepath.Join(dir, "none.md")); err != nil {
		t.Fatal(err)
	}
	if want := "| ×1.50 at 64 | **not met** |"; !strings.Contains(sec, want) {
		t.Errorf("no %q in:\n%s", want, sec)
	}
	p = write("loose.json", `"replica_cpu":0.5,`,
		point("budget-1", 1, 64, 100, budgeted), point("budget-2", 2, 64, 150, loose))
	if sec, err = fleetSection(p, filepath.Join(dir, "none.md")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| ×1.50 at 64 | **not shown** (two replicas were not held back by their budget",
		"throttled in 40 % → 10 % of the periods", "their budget was not what held them",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("no %q in:\n%s", want, sec)
		}
	}

	p = write("nobudget.json", `"replica_cpu":0.5,"budget_error":"no cgroup v1 cpu controller at /x",`,
		point("budget-1", 1, 64, 100, ""), point("budget-2", 2, 64, 104, ""))
	if sec, err = fleetSection(p, filepath.Join(dir, "none.md")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| postgres, 2 × no budget | 64 |",
		"**A second replica: not measured with a CPU budget** (no cgroup v1 cpu controller at /x)",
		"| ×1.04 at 64 | **not shown** (no CPU budget) |"} {
		if !strings.Contains(sec, want) {
			t.Errorf("no %q in:\n%s", want, sec)
		}
	}
}
