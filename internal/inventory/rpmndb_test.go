package inventory

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ndbGolden is a one-package ndb database laid out by hand from rpm's
// lib/backend/ndb/rpmpkg.c: the header (magic RpmP, version 0, generation
// 7, one slot page, next package index 2), the slot of package 1 (block
// 256, 4 blocks), the page's other slots free, and the blob: magic BlbS,
// package 1, generation 7, 26 bytes (a header with one entry, NAME "a"),
// 10 bytes of padding, Adler-32 0x680302dc, the length again, magic BlbE.
func ndbGolden(t testing.TB) []byte {
	t.Helper()
	head, err := hex.DecodeString("52706d5000000000070000000100000002000000000000000000000000000000" +
		"536c6f74010000000001000004000000")
	if err != nil {
		t.Fatal(err)
	}
	blob, err := hex.DecodeString("426c625301000000070000001a000000" +
		"0000000100000002000003e8000000060000000000000001610000000000000000000000" +
		"dc0203681a000000426c6245")
	if err != nil {
		t.Fatal(err)
	}
	free, _ := hex.DecodeString("536c6f74000000000000000000000000")
	b := head
	for len(b) < ndbPageSize {
		b = append(b, free...)
	}
	return append(b, blob...)
}

// ndbGoldenBlob is the header blob inside ndbGolden.
var ndbGoldenBlob = []byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 3, 0xe8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0}

func walkBytes(b []byte) ([][]byte, error) {
	var out [][]byte
	err := walkRPMNDB(bytes.NewReader(b), int64(len(b)), func(blob []byte) error {
		out = append(out, bytes.Clone(blob))
		return nil
	})
	return out, err
}

func TestRPMNDBGolden(t *testing.T) {
	db := ndbGolden(t)
	if len(db) != ndbPageSize+64 {
		t.Fatalf("golden database of %d bytes", len(db))
	}
	blobs, err := walkBytes(db)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != 1 || !bytes.Equal(blobs[0], ndbGoldenBlob) {
		t.Fatalf("blobs %x", blobs)
	}
	p, err := ParseRPMHeader(blobs[0])
	if err != nil || p != (Package{Manager: RPM, Name: "a"}) {
		t.Fatalf("%+v %v", p, err)
	}
}

// TestRPMNDBHostile: every truncation and every changed byte of the blob
// is an error (the Adler-32 or a check before it), never a panic or a
// wrong package; bad slots and headers are refused before any large
// allocation.
func TestRPMNDBHostile(t *testing.T) {
	db := ndbGolden(t)
	for n := 0; n < len(db); n++ {
		if _, err := walkBytes(db[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
	for i := ndbPageSize; i < len(db); i++ {
		b := bytes.Clone(db)
		b[i] ^= 0x20
		if blobs, err := walkBytes(b); err == nil || !errors.Is(err, errRPMNDB) {
			t.Fatalf("byte %d changed: %x %v", i, blobs, err)
		}
	}
	le := binary.LittleEndian
	cases := map[string]func(b []byte) []byte{
		"magic":          func(b []byte) []byte { b[0] = 'r'; return b },
		"version":        func(b []byte) []byte { le.PutUint32(b[4:], 1); return b },
		"no slot pages":  func(b []byte) []byte { le.PutUint32(b[12:], 0); return b },
		"slot pages":     func(b []byte) []byte { le.PutUint32(b[12:], 0xffffffff); return b },
		"slot magic":     func(b []byte) []byte { b[96] = 'x'; return b },
		"in slot pages":  func(b []byte) []byte { le.PutUint32(b[40:], 10); return b },
		"package 0":      func(b []byte) []byte { le.PutUint32(b[36:], 0); return b },
		"past the end":   func(b []byte) []byte { le.PutUint32(b[44:], 0xfffffff0); return b },
		"no blocks":      func(b []byte) []byte { le.PutUint32(b[44:], 0); return b },
		"too few blocks": func(b []byte) []byte { le.PutUint32(b[44:], 1); return b },
		"other package":  func(b []byte) []byte { le.PutUint32(b[36:], 2); return b },
		"huge blob":      func(b []byte) []byte { le.PutUint32(b[ndbPageSize+12:], 0xffffffff); return b },
		"odd size":       func(b []byte) []byte { return append(b, 0) },
		"two slots of 1": func(b []byte) []byte { copy(b[48:64], b[32:48]); return b },
	}
	for name, mutate := range cases {
		if blobs, err := walkBytes(mutate(bytes.Clone(db))); err == nil || !errors.Is(err, errRPMNDB) {
			t.Errorf("%s: %x %v", name, blobs, err)
		}
	}
	// A header blob rpm would refuse is the header parser's error.
	b := bytes.Clone(db)
	if err := walkRPMNDB(bytes.NewReader(b), int64(len(b)), func(blob []byte) error {
		_, err := ParseRPMHeader(blob[:7])
		return err
	}); err == nil || !errors.Is(err, errRPMHeader) {
		t.Errorf("header error: %v", err)
	}
}

func TestReadRPMNDBMatchesRPM(t *testing.T) {
	checkRPM(t, "testdata/rpm-ndb", "rpm-ndb.qa")
}

// TestReadRPMNDBFile: ReadRPM finds Packages.db in /usr/lib/sysimage/rpm
// and reports a broken one with its path.
func TestReadRPMNDBFile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "usr/lib/sysimage/rpm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := ndbGolden(t)
	if err := os.WriteFile(filepath.Join(dir, "Packages.db"), db, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRPM(root)
	if err != nil || len(got) != 1 || got[0].Name != "a" {
		t.Fatalf("%+v %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Packages.db"), db[:len(db)-16], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRPM(root); err == nil || !strings.Contains(err.Error(), "Packages.db") || !errors.Is(err, errRPMNDB) {
		t.Fatalf("truncated: %v", err)
	}
}
