package tests

// Lazy IMCs (host.IMCConfig.Lazy, issue 22): the shipped config.toml starts
// the Attestation and SWIMA IMCs only when their IMV's first message comes.
// Real modules, swtpm, the project's PDP over PT-TLS on loopback, and a
// compilation cache directory of the test's own (the records live there).

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/host"
	"github.com/imchost/imchost/internal/config"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/pdp"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
)

// lazyIMCs are the shipped config.toml's three IMCs, as it configures
// them (the Attestation and SWIMA IMCs lazy), with the module files copied
// into dir (the test changes them).
func lazyIMCs(t *testing.T, env *tpmEnv, dir string) []host.IMCConfig {
	t.Helper()
	imcs := imcConfigs(t, env.logPath)
	if !imcs[1].Lazy || !imcs[1].Prefetch || imcs[0].Lazy {
		t.Fatalf("%s: want the Attestation IMC lazy and prefetched and the OS IMC not, got %+v", shipped, imcs)
	}
	imcs[1].Prefetch = false // TestLazyIMCs looks at when it compiles
	swima := filepath.Join(modDir, "imc-swima.wasm")
	if _, err := os.Stat(swima); err != nil {
		swima = filepath.Join(buildDir, "imc-swima.wasm")
		if _, err := os.Stat(swima); err != nil {
			if err := testutil.BuildWasm(swima, "../imcs/swima"); err != nil {
				t.Skipf("the SWIMA IMC cannot be built: %v", err)
			}
		}
	}
	cfg := loadShippedIMC(t, "SWIMA")
	if !cfg.Lazy || cfg.Prefetch {
		t.Fatalf("%s: want the SWIMA IMC lazy, not prefetched: %+v", shipped, cfg)
	}
	cfg.Path = swima
	cfg.Settings["state_dir"] = t.TempDir()
	imcs = append(imcs, cfg)
	for i := range imcs {
		local := filepath.Join(dir, filepath.Base(imcs[i].Path))
		testutil.CopyFile(t, imcs[i].Path, local)
		imcs[i].Path = local
	}
	return imcs
}

// loadShippedIMC is one [[imc]] of the shipped config.toml.
func loadShippedIMC(t *testing.T, name string) host.IMCConfig {
	t.Helper()
	cfg, err := config.Load(shipped, config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Host().IMCs {
		if c.Name == name {
			s := host.Settings{}
			for k, v := range c.Settings {
				s[k] = v
			}
			c.Settings = s
			return c
		}
	}
	t.Fatalf("%s has no IMC %q", shipped, name)
	return host.IMCConfig{}
}

// lazyHost loads the IMCs with the compilation cache in cacheDir, logging
// into logs too.
func lazyHost(t *testing.T, env *tpmEnv, imcs []host.IMCConfig, cacheDir string, logs io.Writer) *host.Host {
	t.Helper()
	cfg := &host.Config{IMCs: imcs}
	cfg.Wasm.CacheDir = cacheDir
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: io.MultiWriter(testutil.LogWriter(t), logs), DisableTime: true})
	h, err := host.New(cfg, host.Options{Logger: log, Platform: env.platform(t, fixtureRoot(t, false)), ReuseProbe: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	if err := h.LoadIMCs(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

// compiledState is "name lazy/compiled" for every loaded IMC.
func compiledState(h *host.Host) string {
	var out []string
	for _, m := range h.List() {
		s := m.Name + " eager"
		if m.Lazy {
			s = m.Name + " lazy"
		}
		if m.Compiled {
			s += " compiled"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// TestLazyIMCs: the first start loads every IMC in full (and keeps the
// lazy ones' records); the next loads the Attestation and SWIMA IMCs from
// their records without compiling them. A PDP that asks no SWIMA question
// leaves the SWIMA IMC uncompiled and uninstantiated through a whole
// attestation, whose wire transcript is the one of an eager start; the
// Attestation IMC is compiled and instantiated on its IMV's first message.
// A module file tampered after the start never runs: with the rewrite in
// the cache, the version checked at the start serves; without it, the IMC
// is refused at its first use (one [WASM] error, the connection decided
// without it, no instance left), and once the file is back the next
// connection starts it. A reload with other settings loads the IMC in full
// again. A forged record is refused (the module is loaded in full).
func TestLazyIMCs(t *testing.T) {
	needModules(t)
	env := newTPMEnv(t, bundledLog)
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	imcs := lazyIMCs(t, env, dir)
	p := startPDP(t, pdp.Config{Policy: pdp.DefaultPolicy(), Referral: &pdp.Referral{Host: pdpName, Port: 271}})

	// The first start: no records, everything compiled.
	first := &syncBuffer{}
	h1 := lazyHost(t, env, imcs, cacheDir, first)
	if got, want := compiledState(h1), "OS eager compiled, Attestation lazy compiled, SWIMA lazy compiled"; got != want {
		t.Fatalf("first start: %s, want %s", got, want)
	}
	n := 0
	attest := func(h *host.Host, step string) *recorder {
		t.Helper()
		n++
		rec := &recorder{}
		res, out := attestOK(t, p, h, rec, n)
		if res.AssessmentResult != pb.ResultCompliant || res.Recommendation != pb.RecommendationAllowed || out.Verdict.Access != pdp.AccessAllowed {
			t.Fatalf("%s: %+v %+v", step, res, out.Verdict)
		}
		if k := h.Instances(); k != 0 {
			t.Errorf("%s: %d instances left", step, k)
		}
		return rec
	}
	checkTable(t, attest(h1, "first start"), transcriptTable(false))
	h1.Close(context.Background())

	// The next start: the lazy IMCs from their records.
	logs := &syncBuffer{}
	h := lazyHost(t, env, imcs, cacheDir, logs)
	if got, want := compiledState(h), "OS eager compiled, Attestation lazy, SWIMA lazy"; got != want {
		t.Fatalf("warm start: %s, want %s", got, want)
	}
	for _, m := range h.List() {
		if len(m.Subscriptions) != 1 || len(m.Imports) == 0 {
			t.Errorf("%s: subscriptions %v, imports %v (from its record)", m.Name, m.Subscriptions, m.Imports)
		}
	}
	if k := h.Instances(); k != 1 {
		t.Errorf("after a warm load: %d instances, want 1 (the OS IMC's probe, kept for the first connection)", k)
	}
	checkTable(t, attest(h, "warm start"), transcriptTable(false))
	if got, want := compiledState(h), "OS eager compiled, Attestation lazy compiled, SWIMA lazy"; got != want {
		t.Fatalf("after an attestation without SWIMA: %s, want %s", got, want)
	}
	if !strings.Contains(logs.String(), `IMC 2 "Attestation" compiled for its first message`) ||
		strings.Contains(logs.String(), `IMC 3 "SWIMA" compiled`) {
		t.Errorf("log:\n%s", logs.String())
	}
	checkTable(t, attest(h, "second connection"), transcriptTable(false))
	h.Close(context.Background())

	// Prefetched (as shipped): compiled once, in the background, whether
	// or not the first PTS message came first; closing the host while it
	// compiles waits for it.
	pre := slices.Clone(imcs)
	pre[1].Prefetch = true
	logs = &syncBuffer{}
	h = lazyHost(t, env, pre, cacheDir, logs)
	checkTable(t, attest(h, "prefetched"), transcriptTable(false))
	if got := logs.String(); strings.Count(got, `IMC 2 "Attestation" compiled in the background`) != 1 ||
		strings.Contains(got, `IMC 2 "Attestation" compiled for its first message`) || strings.Contains(got, `IMC 3 "SWIMA" compiled`) {
		t.Errorf("prefetched: log:\n%s", got)
	}
	h.Close(context.Background())
	h = lazyHost(t, env, pre, cacheDir, io.Discard)
	h.Close(context.Background())

	// Tampered after the start, the rewrite cached: the file's new bytes
	// never run; the version the start checked serves.
	attPath := imcs[1].Path
	good, err := os.ReadFile(attPath)
	if err != nil {
		t.Fatal(err)
	}
	evil, err := os.ReadFile(imcs[0].Path) // a valid IMC, but not this one
	if err != nil {
		t.Fatal(err)
	}
	h = lazyHost(t, env, imcs, cacheDir, io.Discard)
	if err := os.WriteFile(attPath, evil, 0o644); err != nil {
		t.Fatal(err)
	}
	checkTable(t, attest(h, "tampered, rewrite cached"), transcriptTable(false))
	h.Close(context.Background())

	// Tampered after the start, no rewrite in the cache: the file must be
	// read again, and it is refused at the first use.
	if err := os.WriteFile(attPath, good, 0o644); err != nil {
		t.Fatal(err)
	}
	logs = &syncBuffer{}
	h = lazyHost(t, env, imcs, cacheDir, logs)
	rewrites, _ := filepath.Glob(filepath.Join(cacheDir, "wasmstop-v*.wasm"))
	for _, r := range rewrites {
		if err := os.Remove(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(attPath, evil, 0o644); err != nil {
		t.Fatal(err)
	}
	n++
	rec := &recorder{}
	res, err := attestLazyRefused(t, p, h, rec, n)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Decided {
		t.Fatalf("tampered Attestation IMC: %+v", res)
	}
	for _, row := range rec.table() {
		if strings.Contains(row, "C→S") && strings.Contains(row, "TCG/PTS") {
			t.Errorf("the refused Attestation IMC answered: %s", row)
		}
	}
	if k := h.Instances(); k != 0 {
		t.Errorf("after the refusal: %d instances left", k)
	}
	refused := 0
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `[ERROR] wasm: IMC 2 "Attestation" refused at its first use`) && strings.Contains(l, "changed since its sha256 was checked") {
			refused++
		}
		if strings.Contains(l, "IMC 2") && strings.Contains(l, "started for Connection") {
			t.Errorf("started: %s", l)
		}
	}
	if refused != 1 {
		t.Fatalf("%d refusals of the tampered Attestation IMC logged, want 1:\n%s", refused, logs.String())
	}
	// The file back: the next connection starts it.
	if err := os.WriteFile(attPath, good, 0o644); err != nil {
		t.Fatal(err)
	}
	checkTable(t, attest(h, "file restored"), transcriptTable(false))

	// A reload with other settings: no record for them, loaded in full.
	next := slices.Clone(imcs)
	next[1].Settings = host.Settings{"nonce_len": "32"}
	for k, v := range imcs[1].Settings {
		if k != "nonce_len" {
			next[1].Settings[k] = v
		}
	}
	if err := h.Reload(context.Background(), &host.Config{IMCs: next, Wasm: host.WasmConfig{CacheDir: cacheDir}}); err != nil {
		t.Fatal(err)
	}
	if got, want := compiledState(h), "OS eager compiled, Attestation lazy compiled, SWIMA lazy"; got != want {
		t.Fatalf("after a reload: %s, want %s", got, want)
	}
	if v := versions(h); v["Attestation"] != 2 {
		t.Fatalf("after a reload: versions %v", v)
	}
	attest(h, "reloaded")
	h.Close(context.Background())

	// A forged record: the SWIMA IMC's record edited to subscribe it to
	// IETF/Operating System (a module claiming another's messages).
	recs, _ := filepath.Glob(filepath.Join(cacheDir, "imc-record-v1-*"))
	var swRec string
	var b []byte
	for _, r := range recs {
		if b, _ = os.ReadFile(r); strings.Contains(string(b), "sw_inventory") {
			swRec = r
			break
		}
	}
	if swRec == "" || !strings.Contains(string(b), `"Subtype":9}`) {
		t.Fatalf("records %v: no SWIMA record (%q)", recs, b)
	}
	if err := os.WriteFile(swRec, []byte(strings.Replace(string(b), `"Subtype":9}`, `"Subtype":1}`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	logs = &syncBuffer{}
	h = lazyHost(t, env, append(imcs[:1:1], imcs[2]), cacheDir, logs)
	if got, want := compiledState(h), "OS eager compiled, SWIMA lazy compiled"; got != want {
		t.Fatalf("forged record: %s, want %s", got, want)
	}
	if l := h.List(); len(l) != 2 || len(l[1].Subscriptions) != 1 || l[1].Subscriptions[0] != (abi.MsgType{Vendor: abi.PENIETF, Subtype: abi.SubtypeSWIMA}) {
		t.Fatalf("forged record: %+v", l)
	}
	if !strings.Contains(logs.String(), "fails its authentication") {
		t.Errorf("forged record not reported:\n%s", logs.String())
	}
}

// attestLazyRefused runs the n-th attestation, which must end (decided or
// not) without a transport error.
func attestLazyRefused(t *testing.T, p *pdpEnv, h *host.Host, rec *recorder, n int) (*tnccs.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	r, err := attest(ctx, t, p, h, rec)
	if err != nil {
		return nil, err
	}
	if _, err := p.srv.WaitOutcomes(ctx, n); err != nil {
		return nil, err
	}
	return r, nil
}
