package cli

import (
	"crypto/ed25519"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/host"
)

// TestIMCKeygenSign: imc keygen writes a private key only its owner can
// read and the public key, refuses to overwrite them; imc sign writes
// MODULE.sig, which verifies under the public key over the file's SHA-256.
func TestIMCKeygenSign(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "vendor")
	if code, out, errs := call("imc", "keygen", "--out", prefix); code != exitOK || !strings.Contains(out, "key ID ") {
		t.Fatalf("keygen: %d %s %s", code, out, errs)
	}
	if fi, err := os.Stat(prefix + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", fi.Mode(), err)
	}
	if code, _, errs := call("imc", "keygen", "--out", prefix); code != exitError || !strings.Contains(errs, "not overwriting") {
		t.Fatalf("keygen over existing keys: %d %s", code, errs)
	}
	module := filepath.Join(dir, "m.wasm")
	os.WriteFile(module, []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	if code, out, errs := call("imc", "sign", "--key", prefix+".key", module); code != exitOK || !strings.Contains(out, module+".sig") {
		t.Fatalf("sign: %d %s %s", code, out, errs)
	}
	sig, _ := os.ReadFile(module + ".sig")
	pemPub, _ := os.ReadFile(prefix + ".pub")
	pub, err := host.ParseTrustedKey(pemPub)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(module)
	if !ed25519.Verify(pub, host.SignatureMessage(sha256.Sum256(b)), sig) {
		t.Fatal("the signature does not verify")
	}
	if code, _, errs := call("imc", "sign", "--key", prefix+".pub", module); code != exitError || !strings.Contains(errs, "PRIVATE KEY") {
		t.Fatalf("signing with a public key: %d %s", code, errs)
	}
}
