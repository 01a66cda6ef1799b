package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTNCConfigShippedIMCs: a strongSwan tnc_config naming the shipped
// IMCs as strongSwan names its own (OS, Attestation) loads both modules
// with the grants config.toml gives them; an IMC of another name keeps the
// base grants, and its refusal names the tnc_config file, not config.toml.
// (Before, both shipped modules were refused under the base grants.)
func TestTNCConfigShippedIMCs(t *testing.T) {
	dir := os.Getenv("IMCHOST_WASM_DIR")
	if dir == "" {
		dir = "../../out/wasm"
	}
	if _, err := os.Stat(filepath.Join(dir, "imc-attestation.wasm")); err != nil {
		t.Skipf("no built modules in %s (make wasm): %v", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	tnc := filepath.Join(t.TempDir(), "tnc_config")
	write := func(text string) {
		if err := os.WriteFile(tnc, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# strongSwan's format\nIMC \"OS\" " + abs + "/imc-os.wasm\nIMC \"Attestation\" " + abs + "/imc-attestation.wasm\n")
	code, out, errs := call("imc", "list", "--config", tnc)
	if code != exitOK {
		t.Fatalf("imc list: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{`"OS"`, `"Attestation"`, "tpm_quote", "os_release"} {
		if !strings.Contains(out, want) {
			t.Errorf("imc list lacks %q:\n%s", want, out)
		}
	}

	// The Attestation module under another name: base grants, refused,
	// and the message says which file does not grant.
	write("IMC \"Vendor\" " + abs + "/imc-attestation.wasm\n")
	code, out, errs = call("imc", "list", "--config", tnc)
	if code != exitError || !strings.Contains(errs, "which "+tnc+" does not grant") {
		t.Errorf("a vendor IMC in a tnc_config: exit %d, want %d naming %s\n%s%s", code, exitError, tnc, out, errs)
	}
}
