package host

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"
)

// signingKey makes a key pair in dir and returns the private key and the
// public key file.
func signingKey(t *testing.T, dir, name string) (priv []byte, pubPath string) {
	t.Helper()
	priv, pub, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	pubPath = filepath.Join(dir, name+".pub")
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pubPath
}

// sign writes path's signature by priv to path.sig.
func sign(t *testing.T, priv []byte, path string) {
	t.Helper()
	k, err := ParseSigningKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := SignModule(k, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+SignatureSuffix, sig, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSignatures: with require_signature a module loads only with a
// signature by a trusted key (unsigned and wrongly signed are refused at
// load); at a hot reload a new version that is unsigned or signed by
// another key is refused and the old one keeps serving, the reason logged;
// per-IMC signers narrow the trusted keys; without require_signature a bad
// signature loads the module as unsigned, with a warning.
func TestSignatures(t *testing.T) {
	dir := t.TempDir()
	vendor, vendorPub := signingKey(t, dir, "vendor")
	other, otherPub := signingKey(t, dir, "other")
	path := filepath.Join(dir, "imc.wasm")
	testutil.CopyFile(t, modPath("hello"), path)
	vendorKey, _ := ParseSigningKey(vendor)
	vendorID := KeyID(vendorKey.Public().(ed25519.PublicKey))

	newHost := func(t *testing.T, require bool, signers ...string) (*Host, *logBuf) {
		t.Helper()
		log, buf := testLogger(t)
		cfg := &Config{IMCs: []IMCConfig{{Name: "Vendor", Path: path, Grants: helloGrants, Signers: signers}}}
		cfg.Wasm.TrustedKeys = []string{vendorPub}
		cfg.Wasm.RequireSignature = require
		h, err := New(cfg, Options{Logger: log, CompilationCache: testCache})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close(context.Background()) })
		return h, buf
	}
	refused := func(t *testing.T, h *Host, logs *logBuf, want string) {
		t.Helper()
		err := h.LoadIMCs(context.Background())
		if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), want) || len(h.List()) != 0 {
			t.Fatalf("want a refusal saying %q, got %v, %+v\n%s", want, err, h.List(), logs)
		}
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("the refusal was not logged:\n%s", logs)
		}
	}

	t.Run("unsigned", func(t *testing.T) {
		os.Remove(path + SignatureSuffix)
		h, logs := newHost(t, true)
		refused(t, h, logs, "is not signed (no '"+path+".sig')")
	})
	t.Run("wrong key", func(t *testing.T) {
		sign(t, other, path)
		h, logs := newHost(t, true)
		refused(t, h, logs, "is not by any of the 1 trusted keys")
	})
	t.Run("damaged signature", func(t *testing.T) {
		os.WriteFile(path+SignatureSuffix, []byte("not a signature"), 0o644)
		h, logs := newHost(t, true)
		refused(t, h, logs, "is not a file of 64 bytes")
	})
	t.Run("not a signer of this IMC", func(t *testing.T) {
		sign(t, vendor, path) // trusted in [wasm], not among the IMC's signers
		h, logs := newHost(t, false, otherPub)
		refused(t, h, logs, "is not by any of the 1 trusted keys")
	})
	t.Run("bad signature, not required", func(t *testing.T) {
		sign(t, other, path)
		h, logs := newHost(t, false)
		if err := h.LoadIMCs(context.Background()); err != nil {
			t.Fatal(err)
		}
		if l := h.List(); len(l) != 1 || l[0].Signer != "" || !strings.Contains(logs.String(), "loading it as unsigned") {
			t.Fatalf("%+v\n%s", l, logs)
		}
	})
	t.Run("right key, then reloads", func(t *testing.T) {
		sign(t, vendor, path)
		h, logs := newHost(t, true)
		ctx := context.Background()
		if err := h.LoadIMCs(ctx); err != nil {
			t.Fatal(err)
		}
		if l := h.List(); len(l) != 1 || l[0].Signer != vendorID {
			t.Fatalf("signer %+v, want %s", l, vendorID)
		}
		serving := func(version int) {
			t.Helper()
			if l := h.List(); len(l) != 1 || l[0].Version != version {
				t.Fatalf("after reload: %+v\n%s", l, logs)
			}
			first, _ := exchange(t, h, 1)
			if (version == 1) != (len(first) == 1 && isGreeting(first[0], 1)) {
				t.Fatalf("version %d sent %+v", version, first)
			}
		}
		// A new build signed by another key: refused, version 1 serves.
		testutil.CopyFile(t, modPath("oversize"), path)
		sign(t, other, path)
		if err := h.Reload(ctx, nil); !errors.Is(err, ErrSignature) {
			t.Fatalf("reload: %v", err)
		}
		serving(1)
		if !strings.Contains(logs.String(), "refusing the new version from '"+path+"', version 1 keeps serving: signature check failed") {
			t.Fatalf("the refusal was not logged:\n%s", logs)
		}
		// Unsigned: refused.
		os.Remove(path + SignatureSuffix)
		if err := h.Reload(ctx, nil); !errors.Is(err, ErrSignature) {
			t.Fatalf("reload: %v", err)
		}
		serving(1)
		// Signed by the vendor: served.
		sign(t, vendor, path)
		if err := h.Reload(ctx, nil); err != nil {
			t.Fatal(err)
		}
		serving(2)
	})
}

// TestSigningKeyFormats: the key files are PEM PKCS #8 and
// SubjectPublicKeyInfo, the signature 64 bytes over SignatureContext and
// the file's SHA-256; the wrong PEM type is refused.
func TestSigningKeyFormats(t *testing.T) {
	priv, pub, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(priv), "-----BEGIN PRIVATE KEY-----\n") || !strings.HasPrefix(string(pub), "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("%s\n%s", priv, pub)
	}
	if _, err := ParseTrustedKey(priv); err == nil {
		t.Error("a private key was accepted as a public key")
	}
	if _, err := ParseSigningKey(pub); err == nil {
		t.Error("a public key was accepted as a private key")
	}
	k, _ := ParseSigningKey(priv)
	p, _ := ParseTrustedKey(pub)
	if KeyID(p) != KeyID(k.Public().(ed25519.PublicKey)) || len(KeyID(p)) != 64 {
		t.Errorf("key IDs %s, %s", KeyID(p), KeyID(k.Public().(ed25519.PublicKey)))
	}
}
