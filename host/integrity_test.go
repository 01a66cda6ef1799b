package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/tnccs"
)

// twoIMCs is a configuration of hello (IMC 1 "OS", pinned) and oversize
// (IMC 2 "Other", which answers the handshake with an error text) on the
// cache directory dir.
func twoIMCs(t *testing.T, dir string) *Config {
	cfg := &Config{IMCs: []IMCConfig{
		{Name: "OS", Path: modPath("hello"), SHA256: fileSHA(t, modPath("hello")), Grants: helloGrants},
		{Name: "Other", Path: modPath("oversize"), Grants: helloGrants},
	}}
	cfg.Wasm.CacheDir = dir
	return cfg
}

// startOn loads cfg on its cache directory and returns the host's log and
// IMC 1's first batch of a connection.
func startOn(t *testing.T, cfg *Config) (logs string, imc1 []tnccs.PAMessage, h *Host) {
	t.Helper()
	log, buf := testLogger(t)
	h = loadedHost(t, cfg, Options{Logger: log})
	first, _ := exchange(t, h, 1)
	for _, m := range first {
		if m.Collector == 1 {
			imc1 = append(imc1, m)
		}
	}
	return buf.String(), imc1, h
}

// TestCacheSubstitution is the attack of issue 19: another module's cached
// rewrite copied over a pinned module's entry made the host run the other
// code as IMC 1 without a word. Now the entry fails its MAC: it is named,
// discarded and made again from the pinned file, and IMC 1 runs hello. So
// with native code: entries (and their MACs) swapped between modules are
// named, removed and compiled again.
func TestCacheSubstitution(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	cfg := twoIMCs(t, dir)
	_, imc1, _ := startOn(t, cfg)
	if len(imc1) != 1 || !isGreeting(imc1[0], 1) {
		t.Fatalf("first start: IMC 1 sent %+v", imc1)
	}
	osEntry := filepath.Join(dir, rewriteName(fileSHA(t, modPath("hello"))))
	other := filepath.Join(dir, rewriteName(fileSHA(t, modPath("oversize"))))
	good, err := os.ReadFile(osEntry)
	if err != nil {
		t.Fatal(err)
	}
	testutil.CopyFile(t, other, osEntry)
	os.Chmod(osEntry, 0o600)

	logs, imc1, _ := startOn(t, cfg)
	if len(imc1) != 1 || !isGreeting(imc1[0], 1) {
		t.Fatalf("IMC 1 ran the substituted code: it sent %+v\n%s", imc1, logs)
	}
	if want := "cached rewrite '" + osEntry + "' of '" + modPath("hello") + "' fails its authentication"; !strings.Contains(logs, want) {
		t.Fatalf("the substitution was not named (%q):\n%s", want, logs)
	}
	if got, _ := os.ReadFile(osEntry); string(got) != string(good) {
		t.Fatal("the entry was not rebuilt from the pinned file")
	}

	// Native code: swap the two modules' entries and their MAC files.
	natives := nativeEntries(dir)
	if len(natives) != 2 {
		t.Fatalf("native entries %v", natives)
	}
	for _, suffix := range []string{"", ".mac"} {
		a, b := natives[0]+suffix, natives[1]+suffix
		tmp := a + ".swap"
		if err := os.Rename(a, tmp); err != nil {
			t.Fatal(err)
		}
		os.Rename(b, a)
		os.Rename(tmp, b)
	}
	logs, imc1, h := startOn(t, cfg)
	if len(imc1) != 1 || !isGreeting(imc1[0], 1) {
		t.Fatalf("IMC 1 after the native swap sent %+v\n%s", imc1, logs)
	}
	for _, p := range natives {
		if !strings.Contains(logs, "compiled code '"+p+"' of '") || !strings.Contains(logs, "in the compilation cache fails its authentication") {
			t.Errorf("the swapped entry %s was not named:\n%s", p, logs)
		}
	}
	if l := h.List(); len(l) != 2 {
		t.Fatalf("loaded %+v", l)
	}
	// Compiled again and sealed: the next start is quiet.
	if logs, _, _ := startOn(t, cfg); strings.Contains(logs, "[WARN]") {
		t.Fatalf("warnings after the rebuild:\n%s", logs)
	}
	// An entry without a MAC (written by something else) goes too.
	os.Remove(natives[0] + ".mac")
	if logs, _, _ := startOn(t, cfg); !strings.Contains(logs, "removed compiled code without a MAC (not sealed by this host) from the compilation cache: '"+natives[0]+"'") {
		t.Fatalf("the unsealed entry was not named:\n%s", logs)
	}
}

// warnings returns the log's warning lines.
func warnings(logs string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "[WARN]") {
			out = append(out, l)
		}
	}
	return out
}

// TestCacheStrictModes: a cache directory, a directory above it, an entry
// or the key that others could write (or read, for the key), or that
// belongs to another user, is refused as OpenSSH's StrictModes refuses: one
// warning that says what to fix, the modules compiled in memory (and they
// still run). A sticky directory above the cache (as /tmp) is fine.
func TestCacheStrictModes(t *testing.T) {
	minimal := writeMinimalEcho(t)
	start := func(t *testing.T, dir string) (string, *Host) {
		t.Helper()
		log, buf := testLogger(t)
		cfg := &Config{IMCs: []IMCConfig{{Name: "Minimal", Path: minimal, Grants: []string{"send", "subscribe"}}}}
		cfg.Wasm.CacheDir = dir
		h := loadedHost(t, cfg, Options{Logger: log})
		if len(h.List()) != 1 {
			t.Fatalf("not loaded:\n%s", buf.String())
		}
		return buf.String(), h
	}
	refused := func(t *testing.T, dir, fix string) {
		t.Helper()
		logs, h := start(t, dir)
		if h.CacheDir() != "" {
			t.Fatalf("the cache '%s' was used:\n%s", dir, logs)
		}
		w := warnings(logs)
		if len(w) != 1 || !strings.Contains(w[0], "compilation cache refused") || !strings.Contains(w[0], fix) ||
			!strings.Contains(w[0], "compiled in memory") {
			t.Fatalf("want one warning saying %q, got:\n%s", fix, logs)
		}
	}
	// filled returns a cache directory a clean start has filled.
	filled := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "cache")
		if logs, h := start(t, dir); h.CacheDir() != dir {
			t.Fatalf("a private cache was refused:\n%s", logs)
		}
		return dir
	}

	t.Run("world-writable dir", func(t *testing.T) {
		dir := filled(t)
		os.Chmod(dir, 0o777)
		refused(t, dir, "chmod go-w '"+dir+"'")
	})
	t.Run("group-writable wazero dir", func(t *testing.T) {
		dir := filled(t)
		subs, _ := filepath.Glob(filepath.Join(dir, "wazero-*"))
		if len(subs) != 1 {
			t.Fatal(subs)
		}
		os.Chmod(subs[0], 0o770)
		refused(t, dir, "chmod go-w '"+subs[0]+"'")
	})
	t.Run("writable entry", func(t *testing.T) {
		dir := filled(t)
		p := filepath.Join(dir, rewriteName(fileSHA(t, minimal)))
		os.Chmod(p, 0o666)
		refused(t, dir, "chmod go-w '"+p+"'")
	})
	t.Run("writable directory above", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "shared")
		os.Mkdir(parent, 0o700)
		os.Chmod(parent, 0o777)
		refused(t, filepath.Join(parent, "cache"), "chmod go-w '"+parent+"'")
	})
	t.Run("sticky directory above", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "tmp")
		os.Mkdir(parent, 0o700)
		os.Chmod(parent, 0o777|os.ModeSticky)
		dir := filepath.Join(parent, "cache")
		if logs, h := start(t, dir); h.CacheDir() != dir || len(warnings(logs)) != 0 {
			t.Fatalf("a private cache under a sticky directory was refused:\n%s", logs)
		}
	})
	t.Run("key readable by others or damaged: replaced", func(t *testing.T) {
		for _, spoil := range []func(string){
			func(p string) { os.Chmod(p, 0o644) },
			func(p string) { os.Truncate(p, 3) },
		} {
			dir := filled(t)
			key := filepath.Join(dir, cacheKeyName)
			old, _ := os.ReadFile(key)
			spoil(key)
			logs, h := start(t, dir)
			w := warnings(logs)
			if h.CacheDir() != dir || len(w) < 1 || !strings.Contains(w[0], "compilation cache key '"+key+"'") ||
				!strings.Contains(w[0], "replaced by a new key") {
				t.Fatalf("the key was not replaced with a warning:\n%s", logs)
			}
			fi, err := os.Stat(key)
			if now, _ := os.ReadFile(key); err != nil || fi.Mode().Perm() != 0o600 || len(now) != cacheKeySize || string(now) == string(old) {
				t.Fatalf("key after: %v %v", fi.Mode(), err)
			}
		}
	})
	t.Run("another user's dir", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give the directory away")
		}
		dir := filled(t)
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		refused(t, dir, "belongs to uid 65534")
	})
}

// nativeEntries lists wazero's entries in a cache directory (not its
// temporary files, not the MAC sidecars).
func nativeEntries(dir string) []string {
	var out []string
	subs, _ := filepath.Glob(filepath.Join(dir, "wazero-*"))
	for _, sub := range subs {
		ents, _ := os.ReadDir(sub)
		for _, e := range ents {
			if n := e.Name(); !strings.HasSuffix(n, ".tmp") && !strings.HasSuffix(n, ".mac") {
				out = append(out, filepath.Join(sub, n))
			}
		}
	}
	return out
}

// TestNativeEntryName: the host names the very file wazero keeps a
// module's native code in (wazerokey.go follows wazero's file cache); a
// wazero upgrade that changes the naming fails here.
func TestNativeEntryName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	cfg := &Config{IMCs: []IMCConfig{{Name: "Minimal", Path: writeMinimalEcho(t), Grants: []string{"send", "subscribe"}}}}
	cfg.Wasm.CacheDir = dir
	h := loadedHost(t, cfg, Options{})
	mf, err := statModule(cfg.IMCs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := os.ReadFile(filepath.Join(dir, rewriteName(mf.sha)))
	if err != nil {
		t.Fatal(err)
	}
	ok, id := verifyRewrite(h.cacheKey, mf.sha, rw)
	if !ok {
		t.Fatal("the kept rewrite does not authenticate")
	}
	want := filepath.Join(wazeroDir(dir), nativeName(id))
	if got := nativeEntries(dir); len(got) != 1 || got[0] != want {
		t.Fatalf("wazero wrote %v, the host expects %s", got, want)
	}
	if _, err := os.Stat(want + ".mac"); err != nil {
		t.Fatalf("not sealed: %v", err)
	}
}

// TestColdStartSaysItCompiles: the first load on an empty compilation cache
// says, at info level, that it compiled each module to native code once and
// how long it took; the next load, reading the cache, does not say so.
func TestColdStartSaysItCompiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	cfg := twoIMCs(t, dir)
	infoLines := func() []string {
		var buf logBuf
		log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info, DisableTime: true})
		loadedHost(t, cfg, Options{Logger: log}).Close(context.Background())
		var out []string
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Contains(l, "to native code in ") {
				out = append(out, l)
			}
		}
		return out
	}
	cold := infoLines()
	if len(cold) != 2 || !strings.Contains(cold[0], "'"+modPath("hello")+"'") || !strings.Contains(cold[0], "once: later starts read it from the compilation cache '"+dir+"'") {
		t.Errorf("cold start: want one info line per module saying it compiled once, got %q", cold)
	}
	if warm := infoLines(); len(warm) != 0 {
		t.Errorf("warm start: want no compile line, got %q", warm)
	}
}
