package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imchost/imchost/internal/loadgen"
)

// cmdPDPBench drives PDPs with a simulated fleet (internal/loadgen) and
// prints attestations per second and latency percentiles for each fleet
// size.
func cmdPDPBench(e *env, args []string) int {
	fs := newFlags(e, "pdp bench", "pdp bench --pdp HOST:PORT[,HOST:PORT...] --ca FILE [--endpoints N[,N...]] [flags]")
	pdps := fs.String("pdp", "", "PDP addresses, comma separated; endpoint i attests against PDP i mod n (required)")
	caFile := fs.String("ca", "", "PEM CA certificate the PDPs' certificates chain to (required)")
	serverName := fs.String("server-name", "", "name the PDP certificates carry (default: the host of --pdp)")
	user := fs.String("client", "", "SASL PLAIN user, if the PDPs ask")
	secret := fs.String("secret", "", "SASL PLAIN password")
	endpoints := fs.String("endpoints", "8", "concurrent endpoints; a comma-separated list runs one fleet per size (at most 4096 each)")
	duration := fs.Duration("duration", 10*time.Second, "steady-state phase per fleet size (at most 10m)")
	events := fs.Int("events", 100, "boot log events per endpoint")
	timeout := fs.Duration("timeout", 60*time.Second, "bound of one attestation")
	jsonOut := fs.String("json", "", "also write the reports as JSON into this file")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr(e, "pdp bench", fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if *pdps == "" || *caFile == "" {
		return usageErr(e, "pdp bench", "--pdp and --ca are required")
	}
	if *duration <= 0 || *duration > 10*time.Minute {
		return usageErr(e, "pdp bench", "--duration: want 1s..10m")
	}
	if *events < 1 || *events > 10000 {
		return usageErr(e, "pdp bench", "--events: want 1..10000")
	}
	var sizes []int
	for _, s := range strings.Split(*endpoints, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > loadgen.MaxEndpoints {
			return usageErr(e, "pdp bench", fmt.Sprintf("--endpoints %q: want numbers 1..%d", s, loadgen.MaxEndpoints))
		}
		sizes = append(sizes, n)
	}
	pool, err := loadPool(*caFile)
	if err != nil {
		return fail(e, err)
	}
	addrs := strings.Split(*pdps, ",")
	name := *serverName
	if name == "" {
		name = hostOf(addrs[0])
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var reports []*loadgen.Report
	failed := false
	for _, n := range sizes {
		rep, err := loadgen.Run(ctx, loadgen.Config{Addrs: addrs, ServerName: name, RootCAs: pool,
			Username: *user, Password: *secret, Endpoints: n, Events: *events, Duration: *duration,
			Timeout: *timeout})
		if rep != nil {
			fmt.Fprint(e.stdout, rep)
			reports = append(reports, rep)
			failed = failed || rep.First.Failed > 0 || rep.Repeat.Failed > 0
		}
		if err != nil {
			return fail(e, err)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(reports, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return fail(e, err)
		}
	}
	if failed {
		fmt.Fprintln(e.stderr, "imchost pdp bench: some attestations failed")
		return exitError
	}
	return exitOK
}

// hostOf is the host part of HOST:PORT.
func hostOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return strings.Trim(addr[:i], "[]")
	}
	return addr
}
