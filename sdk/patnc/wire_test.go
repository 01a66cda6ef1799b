package patnc

import (
	"bytes"
	"errors"
	"testing"
)

func TestWireReader(t *testing.T) {
	s := str{1, 2, 3, 4, 5, 6, 7, 8, 9}
	var u8 uint8
	var u16 uint16
	var u24, u32 uint32
	var u64 uint64
	if !s.ReadUint8(&u8) || !s.ReadUint16(&u16) || !s.ReadUint24(&u24) || u8 != 1 || u16 != 0x0203 || u24 != 0x040506 {
		t.Fatalf("got %x %x %x", u8, u16, u24)
	}
	if s.ReadUint64(&u64) || s.ReadUint32(&u32) || len(s) != 3 {
		t.Fatalf("short reads consumed input: %x", s)
	}
	var b []byte
	if s.ReadBytes(&b, 4) || s.ReadBytes(&b, -1) || !s.ReadBytes(&b, 3) || !bytes.Equal(b, []byte{7, 8, 9}) || !s.Empty() {
		t.Fatalf("ReadBytes: %x %x", b, s)
	}
	p := str{2, 0xaa, 0xbb, 0, 3, 0xcc}
	var c str
	if !p.ReadUint8LengthPrefixed(&c) || !bytes.Equal(c, []byte{0xaa, 0xbb}) {
		t.Fatalf("u8 prefixed: %x", c)
	}
	if p.ReadUint16LengthPrefixed(&c) || len(p) != 3 {
		t.Fatalf("truncated u16 prefix consumed input: %x", p)
	}
	q := str{0, 0, 0, 0, 0, 0, 0, 1}
	if !q.ReadUint64(&u64) || u64 != 1 {
		t.Fatal("ReadUint64")
	}
}

func TestWireBuilder(t *testing.T) {
	b := NewBuilder([]byte{0xff})
	b.AddUint8(1)
	b.AddUint16(0x0203)
	b.AddUint24(0x040506)
	b.AddUint32(0x0708090a)
	b.AddUint64(0x0b0c0d0e0f101112)
	b.AddBytes([]byte{0x13})
	out, err := b.Bytes()
	want := []byte{0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	if err != nil || !bytes.Equal(out, want) {
		t.Fatalf("got %x, %v", out, err)
	}
	e1, e2 := errors.New("first"), errors.New("second")
	b.SetError(e1)
	b.SetError(e2)
	b.AddUint8(1)
	if out, err := b.Bytes(); out != nil || err != e1 {
		t.Fatalf("sticky error: %x %v", out, err)
	}
}
