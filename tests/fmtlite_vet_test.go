package tests

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFmtliteVet: go vet checks fmt.Sprintf's format strings against their
// arguments, but not sdk/fmtlite's, which the modules use instead of fmt
// (issue 22); its -printf.funcs flag does. Every fmtlite call, and every
// wrapper vet infers from them (the IMCs' logf, patnc's errf), is checked.
// vet does not know that fmtlite.Errorf wraps with %w as fmt.Errorf does:
// that finding is skipped.
func TestFmtliteVet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet over the module packages")
	}
	// Read the sources here too: go test's cache then reruns this test
	// when one of them changes (it does not see what go vet reads).
	for _, dir := range []string{"../sdk", "../imcs", "../examples", "../abi"} {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
				os.ReadFile(path)
			}
			return nil
		})
	}
	const p = module + "/sdk/fmtlite."
	cmd := exec.Command("go", "vet", "-printf.funcs="+p+"Sprintf,"+p+"Appendf,"+p+"Errorf",
		"../sdk/...", "../imcs/...", "../examples/...", "../abi/...")
	out, _ := cmd.CombinedOutput()
	var bad []string
	for _, l := range strings.Split(string(out), "\n") {
		if l == "" || strings.HasPrefix(l, "#") || strings.Contains(l, "does not support error-wrapping directive %w") {
			continue
		}
		bad = append(bad, l)
	}
	if len(bad) > 0 {
		t.Errorf("go vet on the modules' format strings:\n%s", strings.Join(bad, "\n"))
	}
}
