package rpmhdr

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// realHeader is the header of openssl-libs as rpm 4.18.0 stored it in an
// SQLite database (see testdata/README.md; internal/inventory checks that
// it is that database's first blob).
func realHeader(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/openssl-libs.hdr")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden is a header written out byte by byte: name, version, release,
// epoch 2 (on its 4-byte boundary) and arch.
var golden = []byte{
	0, 0, 0, 5, 0, 0, 0, 24, // 5 entries, 24 data bytes
	0, 0, 0x03, 0xe8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, // NAME string at 0
	0, 0, 0x03, 0xe9, 0, 0, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1, // VERSION string at 4
	0, 0, 0x03, 0xea, 0, 0, 0, 6, 0, 0, 0, 8, 0, 0, 0, 1, // RELEASE string at 8
	0, 0, 0x03, 0xeb, 0, 0, 0, 4, 0, 0, 0, 12, 0, 0, 0, 1, // EPOCH int32 at 12
	0, 0, 0x03, 0xfe, 0, 0, 0, 6, 0, 0, 0, 16, 0, 0, 0, 1, // ARCH string at 16
	'z', 'i', 'p', 0, '3', '.', '0', 0, '1', '.', '2', 0, 0, 0, 0, 2,
	'x', '8', '6', '_', '6', '4', 0, 0,
}

func TestParseGolden(t *testing.T) {
	if p, err := Parse(golden); err != nil || p != (Package{"zip", "2:3.0-1.2", "x86_64"}) {
		t.Fatalf("%+v %v", p, err)
	}
	// Epoch 0 is not printed, as rpm -q does not.
	b := append([]byte(nil), golden...)
	b[8+16*5+15] = 0
	if p, err := Parse(b); err != nil || p != (Package{"zip", "3.0-1.2", "x86_64"}) {
		t.Fatalf("epoch 0: %+v %v", p, err)
	}
	// The arch, the last string, runs to the end of the data without a NUL.
	b = append([]byte(nil), golden...)
	b[len(b)-2], b[len(b)-1] = 'x', 'x'
	if p, err := Parse(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("string without NUL: %+v %v", p, err)
	}
	// Every truncation is an error, never a panic.
	for n := range len(golden) {
		if p, err := Parse(golden[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%d bytes: %+v %v", n, p, err)
		}
	}
}

func TestParseRealHeader(t *testing.T) {
	blob := realHeader(t)
	p, err := Parse(blob)
	if err != nil {
		t.Fatal(err)
	}
	// rpm -qa says: openssl-libs	1	3.2.2	5.fc40	x86_64.
	if p != (Package{"openssl-libs", "1:3.2.2-5.fc40", "x86_64"}) {
		t.Fatalf("got %+v", p)
	}
	// Every truncation is an error, never a panic.
	for n := range len(blob) {
		if _, err := Parse(blob[:n]); err == nil {
			t.Fatalf("%d bytes parsed", n)
		}
	}
}

func TestParseHostile(t *testing.T) {
	blob := realHeader(t)
	il := binary.BigEndian.Uint32(blob)
	entry := func(b []byte, tag uint32, change func(e []byte)) {
		for i := range il {
			if e := b[8+16*i:]; binary.BigEndian.Uint32(e) == tag {
				change(e)
			}
		}
	}
	cases := map[string]func(b []byte){
		"too many entries": func(b []byte) { binary.BigEndian.PutUint32(b, MaxEntries+1) },
		"no entries":       func(b []byte) { binary.BigEndian.PutUint32(b, 0) },
		"data too long":    func(b []byte) { binary.BigEndian.PutUint32(b[4:], 1<<30) },
		"data past end":    func(b []byte) { binary.BigEndian.PutUint32(b[4:], binary.BigEndian.Uint32(b[4:])+1) },
		"offset past data": func(b []byte) {
			entry(b, tagName, func(e []byte) { binary.BigEndian.PutUint32(e[8:], 0xfffffff0) })
		},
		"epoch misaligned": func(b []byte) {
			entry(b, tagEpoch, func(e []byte) { binary.BigEndian.PutUint32(e[8:], binary.BigEndian.Uint32(e[8:])+1) })
		},
		"epoch no count": func(b []byte) {
			entry(b, tagEpoch, func(e []byte) { binary.BigEndian.PutUint32(e[12:], 0) })
		},
		"name is a number": func(b []byte) {
			entry(b, tagName, func(e []byte) { binary.BigEndian.PutUint32(e[4:], typeInt32) })
		},
		"no name": func(b []byte) {
			entry(b, tagName, func(e []byte) { binary.BigEndian.PutUint32(e, 999) })
		},
	}
	for name, corrupt := range cases {
		b := append([]byte(nil), blob...)
		corrupt(b)
		if p, err := Parse(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %+v %v", name, p, err)
		}
	}
}

// Parse never panics; a header it accepts has a name, and its strings come
// from the input.
func FuzzParse(f *testing.F) {
	f.Add(realHeader(f))
	f.Add(golden)
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 3, 232, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		if p.Name == "" || len(p.Name)+len(p.Arch) > len(in) {
			t.Fatalf("parsed %+v from %d bytes", p, len(in))
		}
	})
}
