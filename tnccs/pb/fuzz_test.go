package pb

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseBatch: never a panic; exactly one of batch/error; errors are
// *Error; a parsed batch re-encodes to something that parses back to the
// same batch, and the encoding is stable.
func FuzzParseBatch(f *testing.F) {
	for _, v := range readVectors(f) {
		f.Add(v.raw, uint8(receiverFor(v.direction)))
	}
	files, _ := filepath.Glob("testdata/msg_*.hex")
	for _, fn := range files {
		raw := readHex(f, fn)
		f.Add(wrap(raw, true), uint8(SideClient))
		f.Add(wrap(raw, false), uint8(SideAny))
	}
	f.Fuzz(func(t *testing.T, in []byte, side uint8) {
		opt := ParseOptions{Receiver: Side(side % 3), Limits: Limits{MaxMessageSize: 4096}}
		b, err := ParseBatch(in, opt)
		if (b == nil) == (err == nil) {
			t.Fatalf("want exactly one of batch/err, got %v / %v", b, err)
		}
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *Error", err)
			}
			if pe.Code != ErrVersionNotSupported && int64(pe.Offset) >= int64(len(in))+1 {
				t.Fatalf("offset %d beyond input of %d bytes", pe.Offset, len(in))
			}
			return
		}
		out, err := b.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if len(out) > len(in) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(in), len(out))
		}
		b2, err := ParseBatch(out, opt)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(b, b2) {
			t.Fatalf("round trip:\n%#v\n%#v", b, b2)
		}
		out2, _ := b2.Marshal()
		if !bytes.Equal(out, out2) {
			t.Fatalf("unstable encoding")
		}
	})
}

func BenchmarkParseBatch(b *testing.B) {
	for _, v := range readVectors(b) {
		if v.name != "09_c2s_CDATA.txt" && v.name != "02_s2c_SDATA.txt" {
			continue
		}
		b.Run(v.name, func(b *testing.B) {
			opt := ParseOptions{Receiver: receiverFor(v.direction)}
			b.SetBytes(int64(len(v.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseBatch(v.raw, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshalBatch(b *testing.B) {
	for _, v := range readVectors(b) {
		if v.name != "09_c2s_CDATA.txt" && v.name != "02_s2c_SDATA.txt" {
			continue
		}
		bt, err := ParseBatch(v.raw, ParseOptions{Receiver: receiverFor(v.direction)})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(v.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bt.Marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
