package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/imchost/imchost/internal/sidebyside"
)

const sideHow = "`make bench-strongswan` (needs the peer `make interop` builds; `BENCHN=N` runs per client)"

// sideHeading begins the side-by-side section; the next level-2 heading
// ends it.
const sideHeading = "## Side by side with strongSwan's pt-tls-client (issue 22)\n"

// replaceSideBySide puts section in place of the side-by-side section of
// the report at path, leaving every other section as it is (a run of
// make bench-strongswan alone); a report without one is an error.
func replaceSideBySide(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(old)
	i := strings.Index(s, sideHeading)
	if i < 0 {
		return fmt.Errorf("%s has no side-by-side section to replace", path)
	}
	rest := s[i+len(sideHeading):]
	end := len(s)
	if j := strings.Index(rest, "\n## "); j >= 0 {
		end = i + len(sideHeading) + j + 1
	}
	return os.WriteFile(path, []byte(s[:i]+section+s[end:]), 0o644)
}

// writeSideBySide writes the side-by-side section from path; a missing file
// says how to make it.
func writeSideBySide(b *strings.Builder, path string) error {
	fmt.Fprintf(b, "%s\n", sideHeading)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(b, "Not measured in this run: the strongSwan peer was not built. Reproduce: %s.\n\n", sideHow)
		return nil
	}
	if err != nil {
		return err
	}
	var s sidebyside.Result
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(b, "Measured %s on %s (%d cores; load average before %s, after %s): the same endpoint (one swtpm,\n",
		s.When, s.CPU, s.Cores, loadPart(s.LoadAvg, 0), loadPart(s.LoadAvg, 1))
	fmt.Fprintf(b, "one AK, boot log %s) attested by `imchost run` (warm compilation cache) and by strongSwan 5.9.8's\n", s.Log)
	if len(s.IMCs) > 0 {
		fmt.Fprintf(b, "pt-tls-client, both running the same IMCs (%s; imchost's config.toml reduced to them, without its SWIMA IMC),\n",
			strings.Join(s.IMCs, " and "))
	} else {
		fmt.Fprintf(b, "pt-tls-client with its OS and Attestation IMCs (imchost with every IMC of its config.toml: not the same set),\n")
	}
	fmt.Fprintf(b, "to the same PDP, interleaved A B A B, %d runs each after one\n", s.Runs)
	fmt.Fprintf(b, "unmeasured run of each; medians. Both log at level 1. Wall: from starting the client to its exit, as the\n")
	fmt.Fprintf(b, "harness sees it, through the same wrapping (unshare, sh, GNU time: %.0f ms around `/bin/true`); CPU\n", sidebyside.Median(s.Wrapper.WallMS))
	fmt.Fprintf(b, "(user + system) and peak RSS: GNU time's, the client's own; start → first batch: until the PDP logged\n")
	fmt.Fprintf(b, "the client's first PB-TNC batch. Reproduce: %s.\n\n", sideHow)
	byPDP := map[string][]sidebyside.Series{}
	var pdps []string
	for _, p := range s.Pairs {
		if _, ok := byPDP[p.PDP]; !ok {
			pdps = append(pdps, p.PDP)
		}
		byPDP[p.PDP] = append(byPDP[p.PDP], p)
	}
	for _, pdp := range pdps {
		var im, ss *sidebyside.Series
		for i := range byPDP[pdp] {
			switch byPDP[pdp][i].Client {
			case "imchost":
				im = &byPDP[pdp][i]
			case "strongSwan":
				ss = &byPDP[pdp][i]
			}
		}
		if im == nil || ss == nil {
			continue
		}
		fmt.Fprintf(b, "Against %s's PDP:\n\n| | imchost run | strongSwan pt-tls-client | imchost / strongSwan |\n|---|---|---|---|\n", pdp)
		row := func(what string, a, c []float64, unit string, scale float64) {
			ma, mc := sidebyside.Median(a)/scale, sidebyside.Median(c)/scale
			ratio := "—"
			if mc > 0 {
				ratio = fmt.Sprintf("%.2f×", ma/mc)
			}
			fmt.Fprintf(b, "| %s | %s %s (%s–%s) | %s %s (%s–%s) | %s |\n", what,
				num1(ma), unit, num1(minOf(a)/scale), num1(maxOf(a)/scale),
				num1(mc), unit, num1(minOf(c)/scale), num1(maxOf(c)/scale), ratio)
		}
		row("wall", im.WallMS, ss.WallMS, "ms", 1)
		row("CPU (user+sys)", im.CPUMS, ss.CPUMS, "ms", 1)
		row("peak RSS", im.RSSKiB, ss.RSSKiB, "MiB", 1024)
		row("start → first batch at the PDP", im.FirstBatchMS, ss.FirstBatchMS, "ms", 1)
		fmt.Fprintln(b)
		if pdp == "strongSwan" {
			writeSideGoals(b, im, ss)
		}
	}
	return nil
}

// writeSideGoals marks issue 22's goals measured side by side against
// strongSwan's PDP.
func writeSideGoals(b *strings.Builder, im, ss *sidebyside.Series) {
	fmt.Fprintf(b, "| goal (issue 22, against strongSwan's PDP) | target | measured | met |\n|---|---|---|---|\n")
	mark := func(ok bool) string { return map[bool]string{true: "**met**", false: "**not met**"}[ok] }
	fb := sidebyside.Median(im.FirstBatchMS)
	fmt.Fprintf(b, "| start → first batch, warm | ≤ 100 ms | %.0f ms | %s |\n", fb, mark(fb <= 100))
	w := sidebyside.Median(im.WallMS) / sidebyside.Median(ss.WallMS)
	fmt.Fprintf(b, "| wall | ≤ 0.5× strongSwan's | %.2f× (%.0f vs %.0f ms) | %s |\n", w, sidebyside.Median(im.WallMS), sidebyside.Median(ss.WallMS), mark(w <= 0.5))
	c := sidebyside.Median(im.CPUMS) / sidebyside.Median(ss.CPUMS)
	fmt.Fprintf(b, "| CPU per one-shot attestation | ≤ 1.5× strongSwan's | %.2f× (%.0f vs %.0f ms) | %s |\n", c, sidebyside.Median(im.CPUMS), sidebyside.Median(ss.CPUMS), mark(c <= 1.5))
	r := sidebyside.Median(im.RSSKiB) / 1024
	fmt.Fprintf(b, "| peak RSS | ≤ 40 MB | %.1f MiB (strongSwan's client %.1f MiB) | %s |\n\n", r, sidebyside.Median(ss.RSSKiB)/1024, mark(r*1.048576 <= 40))
}

func loadPart(l []string, i int) string {
	if i >= len(l) {
		return "unknown"
	}
	if f := strings.Fields(l[i]); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return l[i]
}

func minOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// num1 prints a figure with one decimal below 100, none above.
func num1(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
