package fmtlite

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
)

type code uint32

type named string

type bytesT []byte

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

type ptrStringer struct{ s string }

func (s *ptrStringer) String() string { return s.s }

type codeStr uint16

func (c codeStr) String() string { return "code-" + fmt.Sprint(uint16(c)) }

type panicker int

func (panicker) String() string { panic("boom") }

// args covers every kind the package promises to print as fmt does.
var args = []any{
	nil, true, false, 0, 1, -1, 42, -42, int8(-128), int16(300), int32(-7), int64(-1 << 63),
	uint(7), uint8(255), uint16(0xbeef), uint32(0xdeadbeef), uint64(1<<64 - 1), uintptr(12),
	code(5), codeStr(9), named("nä\"med"), "", "plain", "tab\tnl\n\x1b", "日本語", "\xff\xfe",
	[]byte(nil), []byte{}, []byte("ab\x00\xff"), bytesT("xyz"), [4]byte{1, 2, 3, 4}, []uint16{1, 2},
	[]string{"a", "b"}, []code{1, 2},
}

// methodArgs print through their Error or String method, for the verbs
// that call it (%v %s %q %x %X); other verbs print their fields, which
// this package does not promise.
var methodArgs = []any{
	errors.New("an error"), fmt.Errorf("wrapped: %w", io.EOF), fs.ErrNotExist,
	stringer{"str"}, &ptrStringer{"ptr"}, (*ptrStringer)(nil), panicker(1),
}

var formats = []string{
	"%v", "%d", "%s", "%q", "%x", "%X", "%c", "%t", "%b", "%o", "%+d", "% d", "%#x", "%#X", "%#o", "%#b",
	"%08x", "%#04x", "%#06x", "%02X", "%2d", "%4d", "%-4d|", "%04d", "%-04d|", "%+04d", "% 04d",
	"%.40s", "%.2s", "%.0s", "%5s", "%-5s|", "%05s", "%.3x", "% x", "%# x", "%#q", "%+q", "%.0d", "%5.0d",
	"%6.3d", "%z", "%+v", "%x%%", "%", "%d %d", "%!", "%.", "%5",
}

func TestSprintfMatchesFmt(t *testing.T) {
	n := 0
	for _, f := range formats {
		for _, a := range args {
			want := fmt.Sprintf(f, a)
			got := Sprintf(f, a)
			if got != want {
				t.Errorf("Sprintf(%q, %#v) = %q, fmt says %q", f, a, got, want)
			}
			n++
		}
		if v := f[len(f)-1]; v == 'v' || v == 's' || v == 'q' || v == 'x' || v == 'X' {
			for _, a := range methodArgs {
				if got, want := Sprintf(f, a), fmt.Sprintf(f, a); got != want {
					t.Errorf("Sprintf(%q, %#v) = %q, fmt says %q", f, a, got, want)
				}
				n++
			}
		}
	}
	// The formats the IMCs use, with their kinds of arguments.
	cases := []struct {
		f string
		a []any
	}{
		{"[TNC] processing PA-TNC message with ID 0x%08x", []any{uint32(0x1234)}},
		{"IMC %d \"%s\" initialized", []any{uint32(1), "OS"}},
		{"package '%.40s' skipped: name or version too long", []any{"a-very-long-package-name-that-goes-on-and-on-and-on"}},
		{"[PTS] PCR %2d %s  %s", []any{7, "aa:bb", "ok"}},
		{"[PTS] %4d: %s %s", []any{16, "00 01", ".."}},
		{"[%c%c] '%s'", []any{byte('K'), byte('S'), "unknown"}},
		{"selection %#04x is not one algorithm", []any{uint16(0x8000)}},
		{"%d args missing %s", []any{1}},
		{"extra", []any{1, "x", nil}},
	}
	for _, c := range cases {
		if got, want := Sprintf(c.f, c.a...), fmt.Sprintf(c.f, c.a...); got != want {
			t.Errorf("Sprintf(%q, %v) = %q, fmt says %q", c.f, c.a, got, want)
		}
	}
	t.Logf("%d combinations compared", n)
}

func TestErrorfWraps(t *testing.T) {
	base := &ptrStringer{"x"}
	_ = base
	for _, c := range []struct {
		f string
		a []any
	}{
		{"plain %d", []any{3}},
		{"wrap: %w", []any{io.EOF}},
		{"two: %w and %w", []any{io.EOF, fs.ErrNotExist}},
		{"same twice: %w %w", []any{io.EOF, io.EOF}},
		{"not an error: %w", []any{3}},
		{"nil: %w", []any{nil}},
		{"%v then %w", []any{io.ErrUnexpectedEOF, io.EOF}},
	} {
		got, want := Errorf(c.f, c.a...), fmt.Errorf(c.f, c.a...)
		if got.Error() != want.Error() {
			t.Errorf("Errorf(%q): %q, fmt says %q", c.f, got, want)
		}
		for _, target := range []error{io.EOF, fs.ErrNotExist, io.ErrUnexpectedEOF} {
			if errors.Is(got, target) != errors.Is(want, target) {
				t.Errorf("Errorf(%q): errors.Is(%v) = %v, fmt's %v", c.f, target, errors.Is(got, target), errors.Is(want, target))
			}
		}
		if (errors.Unwrap(got) == nil) != (errors.Unwrap(want) == nil) {
			t.Errorf("Errorf(%q): Unwrap differs", c.f)
		}
	}
	var pe *fs.PathError
	err := Errorf("open: %w", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrPermission})
	if !errors.As(err, &pe) || pe.Path != "/x" {
		t.Errorf("errors.As through Errorf: %v", err)
	}
}

func TestAppendf(t *testing.T) {
	if got := string(Appendf([]byte("a:"), "%02X ", byte(0xa))); got != "a:0A " {
		t.Errorf("Appendf: %q", got)
	}
}

// TestUnsupportedMarked: what the package does not print as fmt does is
// marked, never guessed, and never panics.
func TestUnsupportedMarked(t *testing.T) {
	for _, c := range []struct {
		f    string
		a    any
		want string
	}{
		{"%v", 1.5, "%!v(float64)"},
		{"%v", struct{ A int }{1}, "%!v(struct { A int })"},
		{"%#v", 1, "%!v(int)"},
		{"%T", 1, "%!T(int)"},
		{"%*d", 1, "%!(UNSUPPORTED)"},
		{"%[1]d", 1, "%!(UNSUPPORTED)"},
		{"%v", []float64{1}, "%!v([]float64)"},
		{"%v", []codeStr{3}, "%!v([]fmtlite.codeStr)"},
	} {
		if got := Sprintf(c.f, c.a); got != c.want {
			t.Errorf("Sprintf(%q, %#v) = %q, want %q", c.f, c.a, got, c.want)
		}
	}
}

// FuzzSprintf compares with fmt for any format over the supported kinds.
func FuzzSprintf(f *testing.F) {
	for _, s := range formats {
		f.Add(s, int64(-5), "s", []byte{1, 2})
	}
	f.Fuzz(func(t *testing.T, format string, i int64, s string, b []byte) {
		for _, f := range []byte(format) {
			if f == '*' || f == '[' || f == 'T' || f == 'p' || f == 'e' || f == 'f' || f == 'g' || f == 'U' || f == 'O' || f == 'w' || f == '#' {
				return // outside the promise
			}
		}
		cases := [][]any{{i}, {uint16(i)}, {s}, {b}, {code(i), s}, {named(s), b, i}, {true}}
		if methodVerbsOnly(format) {
			cases = append(cases, []any{errors.New(s)}, []any{stringer{s}})
		}
		for _, a := range cases {
			if got, want := Sprintf(format, a...), fmt.Sprintf(format, a...); got != want {
				t.Fatalf("Sprintf(%q, %#v) = %q, fmt says %q", format, a, got, want)
			}
		}
	})
}

// methodVerbsOnly reports whether every verb of format calls Error or String.
func methodVerbsOnly(format string) bool {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("#0+- ", format[i]) >= 0 {
			i++
		}
		for i < len(format) && '0' <= format[i] && format[i] <= '9' {
			i++
		}
		if i < len(format) && format[i] == '.' {
			i++
			for i < len(format) && '0' <= format[i] && format[i] <= '9' {
				i++
			}
		}
		if i >= len(format) || strings.IndexByte("vsqxX%", format[i]) < 0 {
			return false
		}
	}
	return true
}
