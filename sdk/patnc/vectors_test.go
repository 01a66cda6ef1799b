package patnc

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"github.com/imchost/imchost/internal/testutil"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
)

// paVector is one PA-TNC message of the recorded strongSwan 6.0.6 exchange
// (the repository's testdata/strongswan/pa).
type paVector struct {
	name  string
	msg   []byte
	attrs []vectorAttr
}

// vectorAttr is one "attribute:" line of a vector file.
type vectorAttr struct {
	fullName string
	t        Type
	length   int
	noskip   bool
	value    []byte
}

func loadVectors(tb testing.TB) []paVector {
	tb.Helper()
	files, err := filepath.Glob(testutil.Data("strongswan", "pa", "[0-9]*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no vectors: %v", err)
	}
	var out []paVector
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		v := paVector{name: filepath.Base(f)}
		for _, line := range strings.Split(string(data), "\n") {
			switch {
			case strings.HasPrefix(line, "hex: "):
				if v.msg, err = hex.DecodeString(strings.TrimPrefix(line, "hex: ")); err != nil {
					tb.Fatal(err)
				}
			case strings.HasPrefix(line, "attribute: "):
				v.attrs = append(v.attrs, parseVectorAttr(tb, strings.TrimPrefix(line, "attribute: ")))
			}
		}
		out = append(out, v)
	}
	return out
}

// parseVectorAttr reads "IETF/Product Information (vendor 0x000000 type
// 0x00000002) len=23 [NOSKIP] value=...".
func parseVectorAttr(tb testing.TB, s string) vectorAttr {
	tb.Helper()
	var a vectorAttr
	i := strings.Index(s, " (vendor ")
	a.fullName = s[:i]
	rest := s[i:]
	var vendor, typ uint32
	var n int
	if _, err := sscan(rest, &vendor, &typ, &n); err != nil {
		tb.Fatalf("%q: %v", s, err)
	}
	a.t, a.length = Type{vendor, typ}, n
	a.noskip = strings.Contains(rest, " NOSKIP ")
	val := rest[strings.Index(rest, "value=")+6:]
	var err error
	if a.value, err = hex.DecodeString(val); err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestVectorsDecodeNameReencode(t *testing.T) {
	total := 0
	for _, v := range loadVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			m, err := ParseMessage(v.msg)
			if err != nil {
				t.Fatalf("ParseMessage: %v", err)
			}
			if len(m.Attrs) != len(v.attrs) {
				t.Fatalf("%d attributes, want %d", len(m.Attrs), len(v.attrs))
			}
			for i, a := range m.Attrs {
				w := v.attrs[i]
				if a.Type() != w.t || a.Type().FullName() != w.fullName {
					t.Errorf("attr %d: %s, want %q %v", i, a.Type(), w.fullName, w.t)
				}
				if _, unknown := a.(*Unknown); unknown {
					t.Errorf("attr %d %s decoded as Unknown", i, a.Type())
				}
				if NoSkip(a) != w.noskip {
					t.Errorf("attr %d: NOSKIP %v, want %v", i, NoSkip(a), w.noskip)
				}
				enc, err := MarshalAttr(a)
				if err != nil {
					t.Fatalf("attr %d: %v", i, err)
				}
				if len(enc) != w.length || !bytes.Equal(enc[AttrHeaderLen:], w.value) {
					t.Errorf("attr %d %s re-encodes as %x, want value %x", i, a.Type(), enc, w.value)
				}
			}
			out, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, v.msg) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", out, v.msg)
			}
			total += len(m.Attrs)
		})
	}
	if total != 132 {
		t.Errorf("%d attributes in all vectors, want 132", total)
	}
}

// readHexFile reads a commented hex file ('#' comments, whitespace ignored).
func readHexFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var h strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		h.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(h.String())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestGoldenOSMessage checks the commented golden file against the recorded
// vector and the values it documents.
func TestGoldenOSMessage(t *testing.T) {
	b := readHexFile(t, "testdata/os_imc_first_message.hex")
	var rec []byte
	for _, v := range loadVectors(t) {
		if strings.HasPrefix(v.name, "01_02") {
			rec = v.msg
		}
	}
	if !bytes.Equal(b, rec) {
		t.Fatalf("golden file differs from the recorded message")
	}
	m, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	pi := m.Attrs[0].(*ProductInfo)
	op := m.Attrs[3].(*OpStatus)
	if pi.VendorID != abi.PENDebian || pi.Name != "Debian" || op.Status != OpStatusOperational ||
		op.LastUse.String() != "2026-11-26T18:51:08Z" || m.Attrs[6].(*ITADeviceID).ID != "d41bcf69169cbbcbb9fa29a895264bff2224fc95" {
		t.Errorf("decoded %+v %+v", pi, op)
	}
}

// TestSummaryNames checks the catalog's names against summary.txt, which
// lists each PA message's attributes (runs of one type as "name xN").
func TestSummaryNames(t *testing.T) {
	data, err := os.ReadFile(testutil.Data("strongswan", "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{} // vector file -> names
	var cur string
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "PA ") && strings.Contains(line, "(pa/"):
			cur = line[strings.Index(line, "(pa/")+4 : strings.LastIndex(line, ")")]
		case cur != "" && strings.HasPrefix(line, "        ") && trimmed != "":
			name, count := trimmed, 1
			if i := strings.LastIndex(trimmed, " x"); i > 0 {
				if _, err := fmt.Sscanf(trimmed[i+2:], "%d", &count); err == nil {
					name = trimmed[:i]
				}
			}
			for ; count > 0; count-- {
				want[cur] = append(want[cur], name)
			}
		default:
			cur = ""
		}
	}
	if len(want) != 11 {
		t.Fatalf("summary lists %d PA messages", len(want))
	}
	for _, v := range loadVectors(t) {
		m, err := ParseMessage(v.msg)
		if err != nil {
			t.Fatal(err)
		}
		w := want[v.name]
		if len(w) != len(m.Attrs) {
			t.Fatalf("%s: %d attributes, summary lists %d", v.name, len(m.Attrs), len(w))
		}
		for i, a := range m.Attrs {
			if a.Type().FullName() != w[i] {
				t.Errorf("%s attr %d: %q, summary says %q", v.name, i, a.Type().FullName(), w[i])
			}
		}
	}
}
