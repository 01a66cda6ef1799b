package rpmndb

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
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
	err := Walk(bytes.NewReader(b), int64(len(b)), func(blob []byte) error {
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
}

// TestRPMNDBHostile: every truncation and every changed byte of the blob
// is an error (the Adler-32 or a check before it), never a panic or a
// wrong blob; bad slots and headers are refused before any large
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
		if blobs, err := walkBytes(b); err == nil || !errors.Is(err, ErrMalformed) {
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
		if blobs, err := walkBytes(mutate(bytes.Clone(db))); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %x %v", name, blobs, err)
		}
	}
	// The callback's error ends the walk, with the package named.
	errStop := errors.New("stop")
	if err := Walk(bytes.NewReader(db), int64(len(db)), func([]byte) error { return errStop }); !errors.Is(err, errStop) ||
		!strings.Contains(err.Error(), "package 1") {
		t.Errorf("callback error: %v", err)
	}
}

// FuzzWalk: the reader never panics, and the blobs it returns lie within
// its input (it allocates no more than the file holds).
func FuzzWalk(f *testing.F) {
	f.Add(ndbGolden(f))
	if b, err := os.ReadFile("../testdata/rpm-ndb/usr/lib/sysimage/rpm/Packages.db"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		total := 0
		Walk(bytes.NewReader(in), int64(len(in)), func(blob []byte) error {
			total += len(blob)
			if total > len(in) {
				t.Fatalf("%d bytes of blobs from %d bytes", total, len(in))
			}
			return nil
		})
	})
}

// TestRealDatabase: the ndb database rpm 4.18 wrote (../testdata/README.md)
// walks to four blobs, each passing its Adler-32.
func TestRealDatabase(t *testing.T) {
	b, err := os.ReadFile("../testdata/rpm-ndb/usr/lib/sysimage/rpm/Packages.db")
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := walkBytes(b)
	if err != nil || len(blobs) != 4 {
		t.Fatalf("%d blobs, %v", len(blobs), err)
	}
}
