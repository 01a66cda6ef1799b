// Package sidebyside is the file tests/interop's TestSideBySide writes
// (make bench-strongswan: imchost run and strongSwan's pt-tls-client timed
// against the same PDP) and internal/benchreport reads into BENCHMARKS.md.
package sidebyside

import "sort"

// Result is the whole file.
type Result struct {
	When    string   `json:"when"`
	CPU     string   `json:"cpu"`
	Cores   int      `json:"cores"`
	Runs    int      `json:"runs"`
	LoadAvg []string `json:"loadavg"` // /proc/loadavg before and after
	Log     string   `json:"log"`     // the boot log's file name
	// IMCs both clients run (strongSwan's tnc_config, imchost's
	// config.toml): the same set, so that the figures compare.
	IMCs  []string `json:"imcs"`
	Pairs []Series `json:"pairs"`
	// Wrapper is the same wrapping (unshare, sh, GNU time) around
	// /bin/true: the part of every wall time that is neither client.
	Wrapper Series `json:"wrapper"`
}

// Series are the runs of one client against one PDP.
type Series struct {
	Client string `json:"client"`
	PDP    string `json:"pdp"`
	// Per run, in run order: milliseconds, and the peak RSS in KiB.
	WallMS       []float64 `json:"wall_ms"`
	CPUMS        []float64 `json:"cpu_ms"`
	RSSKiB       []float64 `json:"rss_kib"`
	FirstBatchMS []float64 `json:"first_batch_ms"`
}

// Median is the median of v (the mean of the middle two for an even
// count), 0 for none; v is left as it is.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
