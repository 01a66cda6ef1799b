package cli

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/imchost/imchost/host"
)

// cmdIMCKeygen makes an Ed25519 key pair for signing modules: PREFIX.key
// (PEM PKCS #8, mode 0600) and PREFIX.pub (PEM SubjectPublicKeyInfo, for
// [wasm] trusted_keys or an IMC's signers). Existing files are not
// overwritten.
func cmdIMCKeygen(e *env, args []string) int {
	fs := newFlags(e, "imc keygen", "imc keygen --out PREFIX   (writes PREFIX.key and PREFIX.pub)")
	out := fs.String("out", "", "path prefix of the key files")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *out == "" || fs.NArg() != 0 {
		return usageErr(e, "imc keygen", "want --out PREFIX")
	}
	priv, pub, err := host.GenerateSigningKey()
	if err != nil {
		return fail(e, err)
	}
	if err := writeNew(*out+".key", priv, 0o600); err != nil {
		return fail(e, err)
	}
	if err := writeNew(*out+".pub", pub, 0o644); err != nil {
		os.Remove(*out + ".key")
		return fail(e, err)
	}
	k, _ := host.ParseTrustedKey(pub)
	fmt.Fprintf(e.stdout, "wrote %s.key (keep it secret) and %s.pub (key ID %s)\n", *out, *out, host.KeyID(k))
	return exitOK
}

// cmdIMCSign writes MODULE.sig: the Ed25519 signature of the module file
// by the key in --key.
func cmdIMCSign(e *env, args []string) int {
	fs := newFlags(e, "imc sign", "imc sign --key KEY [--out FILE] MODULE.wasm")
	key := fs.String("key", "", "Ed25519 private key (PEM PKCS #8: imchost imc keygen, or openssl genpkey -algorithm ed25519)")
	out := fs.String("out", "", "signature file (default MODULE.wasm"+host.SignatureSuffix+")")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *key == "" || fs.NArg() != 1 {
		return usageErr(e, "imc sign", "want --key KEY and one MODULE file")
	}
	b, err := os.ReadFile(*key)
	if err != nil {
		return fail(e, err)
	}
	priv, err := host.ParseSigningKey(b)
	if err != nil {
		return fail(e, fmt.Errorf("%s: %v", *key, err))
	}
	sig, err := host.SignModule(priv, fs.Arg(0))
	if err != nil {
		return fail(e, err)
	}
	path := *out
	if path == "" {
		path = fs.Arg(0) + host.SignatureSuffix
	}
	if err := os.WriteFile(path, sig, 0o644); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "wrote %s (signer %s)\n", path, host.KeyID(priv.Public().(ed25519.PublicKey)))
	return exitOK
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("'%s' exists; not overwriting a key", path)
	}
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
