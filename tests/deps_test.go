package tests

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/imchost/imchost"

// layerRule says which imports (transitively) a package tree must not have.
type layerRule struct {
	pkg       string   // package path prefix, relative to the module
	forbidden []string // import path prefixes (absolute) that must not appear
	allowOnly []string // if set: every non-std dependency must match one of these prefixes
	goos      string   // list with this GOOS ("" = native)
	tags      string   // list with these build tags ("" = none)
	// forbiddenDirect are packages the tree must not import itself (fmt may
	// still pull in os underneath).
	forbiddenDirect []string
	// tests: the rule holds for the packages' test builds too (go list
	// -test), as it must for a fuzz target's speed.
	tests bool
}

var rules = []layerRule{
	{pkg: "abi", allowOnly: []string{}},
	{pkg: "abi", allowOnly: []string{}, goos: "wasip1"},
	{pkg: "tnccs", forbidden: []string{
		"github.com/tetratelabs/wazero", module + "/host", module + "/sdk", module + "/imcs",
		module + "/tpmhost", module + "/pdp", module + "/cmd", module + "/internal/cli"}},
	{pkg: "tpmhost", forbidden: []string{
		"github.com/tetratelabs/wazero", module + "/host", module + "/sdk", module + "/imcs",
		module + "/tnccs", module + "/pdp", module + "/abi", module + "/cmd", module + "/internal/cli"}},
	// The host functions and the machine facts: no wasm runtime, no
	// configuration file, nothing above them.
	{pkg: "capability", forbidden: []string{
		"github.com/tetratelabs/wazero", "github.com/fsnotify/fsnotify", "github.com/BurntSushi/toml",
		module + "/host", module + "/sdk", module + "/imcs", module + "/pdp", module + "/cmd", module + "/internal/cli"}},
	// The host is handed its part of config.toml as plain structs
	// (internal/config reads the file): no TOML decoder in it.
	{pkg: "host", forbidden: []string{module + "/sdk", module + "/imcs", module + "/pdp", module + "/cmd", module + "/internal/cli",
		module + "/internal/config", "github.com/BurntSushi/toml"},
		// The wasm runtime only: the machine (TPM, files, /proc, package
		// databases) is reached through capability.
		forbiddenDirect: []string{module + "/tpmhost", module + "/internal/inventory"}},
	{pkg: "internal/config", forbidden: []string{module + "/pdp", module + "/cmd", module + "/internal/cli"}},
	{pkg: "sdk/patnc", allowOnly: []string{"golang.org/x/crypto/cryptobyte", module + "/abi", module + "/sdk/fmtlite"},
		forbidden: []string{"runtime/cgo"}, forbiddenDirect: []string{"os", "net", "syscall", "unsafe"}},
	{pkg: "sdk/imc", allowOnly: []string{"golang.org/x/crypto/cryptobyte", module + "/abi", module + "/sdk"}},
	{pkg: "sdk/imc", allowOnly: []string{"golang.org/x/crypto/cryptobyte", module + "/abi", module + "/sdk"}, goos: "wasip1"},
	// The native harness runs an IMC's Go code against the capabilities
	// alone; running a built module in the real host is sdk/wasmtest's.
	{pkg: "sdk/imctest", forbidden: []string{
		"github.com/tetratelabs/wazero", "github.com/fsnotify/fsnotify", "github.com/BurntSushi/toml",
		module + "/host", module + "/internal/config", module + "/imcs", module + "/pdp", module + "/cmd", module + "/internal/cli"}},
	{pkg: "sdk/wasmtest", forbidden: []string{module + "/imcs", module + "/pdp", module + "/cmd", module + "/internal/cli"}},
	// The shared test helpers every package's tests may use, host/'s too.
	{pkg: "internal/testutil", forbidden: []string{module + "/host", module + "/capability", module + "/sdk", module + "/imcs",
		module + "/tnccs", module + "/pdp", module + "/cmd", module + "/internal/cli"}},
	{pkg: "internal/tpmtest", forbidden: []string{module + "/host", module + "/capability", module + "/sdk", module + "/imcs",
		module + "/tnccs", module + "/pdp", module + "/cmd", module + "/internal/cli"}},
	// A real host for the tests of the packages above it: nothing of theirs.
	{pkg: "internal/hosttest", forbidden: []string{module + "/sdk", module + "/imcs", module + "/pdp", module + "/cmd",
		module + "/internal/cli", module + "/internal/config"}},
	{pkg: "imcs", allowOnly: []string{"golang.org/x/crypto/cryptobyte", module + "/abi", module + "/sdk"}, goos: "wasip1"},
	// What a module links: fmt, os and time (fmt brings the other two) cost
	// a wasm module about 760 KB of its 3.5 MB, decoded, validated and
	// compiled on every cold start (issue 22); sdk/fmtlite, imc.UnixNow and
	// patnc.DateTimeFromUnix stand in for them. encoding/hex imports fmt.
	{pkg: "imcs", goos: "wasip1", forbidden: guestHeavy},
	{pkg: "examples", goos: "wasip1", forbidden: guestHeavy},
	{pkg: "sdk/imc", goos: "wasip1", forbidden: guestHeavy},
	{pkg: "sdk/patnc", goos: "wasip1", forbidden: guestHeavy},
	{pkg: "sdk/fmtlite", goos: "wasip1", forbidden: guestHeavy},
	{pkg: "abi", goos: "wasip1", forbidden: guestHeavy},
	// The decoders of the package databases: the standard library only, in
	// their tests too (and invtest, their tests' standard-library-only helper), so that their fuzz targets run at full speed (an
	// instrumented build carrying the pure-Go SQLite of internal/inventory
	// ran 75 executions in 60 s).
	{pkg: "internal/inventory/dpkg", allowOnly: []string{module + "/internal/inventory/invtest"}, tests: true},
	{pkg: "internal/inventory/apk", allowOnly: []string{module + "/internal/inventory/invtest"}, tests: true},
	{pkg: "internal/inventory/rpmhdr", allowOnly: []string{module + "/internal/inventory/invtest"}, tests: true},
	{pkg: "internal/inventory/rpmndb", allowOnly: []string{module + "/internal/inventory/invtest"}, tests: true},
	{pkg: "internal/inventory/swidtag", allowOnly: []string{module + "/internal/inventory/invtest"}, tests: true},
	{pkg: "internal/inventory/invtest", allowOnly: []string{}},
	{pkg: "pdp", forbidden: []string{"github.com/tetratelabs/wazero", module + "/host", module + "/imcs", module + "/cmd", module + "/internal/cli"}},
	// The client leaves the TPM simulator (C code) to imchost-demo and the
	// tests, so that it builds without cgo.
	{pkg: "cmd/imchost", forbidden: []string{module + "/tpmhost/tpmsim", "github.com/google/go-tpm-tools/simulator"}},
	{pkg: "internal/cli", forbidden: []string{module + "/tpmhost/tpmsim", "github.com/google/go-tpm-tools/simulator"}},
	// imchost-demo as `make run` builds it (tag nopostgres): its PDP keeps
	// its records in SQLite, so the PostgreSQL driver (9 % of the demo's
	// cold build) stays out.
	{pkg: "cmd/imchost-demo", tags: "nopostgres", forbidden: []string{"github.com/jackc"}},
}

// guestHeavy are the standard packages a module must not link.
var guestHeavy = []string{"fmt", "os", "time", "encoding/hex", "encoding/json"}

type listed struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

func list(t *testing.T, goos, tags, pattern string, tests bool) []listed {
	t.Helper()
	args := []string{"list", "-e", "-json", "-tags=" + tags}
	if tests {
		args = append(args, "-test")
	}
	cmd := exec.Command("go", append(args, pattern)...)
	if goos != "" {
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH=wasm")
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list %s: %v\n%s", pattern, err, stderr.String())
	}
	var pkgs []listed
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func hasPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// TestLayering keeps the arrows of DESIGN.md true.
func TestLayering(t *testing.T) {
	for _, r := range rules {
		pkgs := list(t, r.goos, r.tags, "../"+r.pkg+"/...", r.tests)
		for _, p := range pkgs {
			for _, d := range p.Imports {
				for _, f := range r.forbiddenDirect {
					if d == f {
						t.Errorf("%s imports %s directly, which its layer forbids", p.ImportPath, d)
					}
				}
			}
			for _, d := range p.Deps {
				d, _, _ = strings.Cut(d, " ") // "p [q.test]": p as built for q's tests
				for _, f := range r.forbidden {
					if hasPrefix(d, f) {
						t.Errorf("%s (GOOS=%s, tags %q) imports %s, which its layer forbids", p.ImportPath, r.goos, r.tags, d)
					}
				}
				if r.allowOnly == nil || isStd(d) || hasPrefix(d, module+"/"+r.pkg) {
					continue
				}
				ok := false
				for _, a := range r.allowOnly {
					if hasPrefix(d, a) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s (GOOS=%s) depends on %s, outside its allowed set %v", p.ImportPath, r.goos, d, r.allowOnly)
				}
			}
		}
	}
}
