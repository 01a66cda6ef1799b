package logfmt

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, with: punctuation \\ and spaces": "plain text, with: punctuation \\ and spaces",
		"Grüße aus Köln":                              "Grüße aus Köln",
		"line\nnext\r\tx":                             `line\nnext\r\tx`,
		"\x1b[2J\x1b[31moverall: compliant":           `\x1b[2J\x1b[31moverall: compliant`,
		"nul\x00del\x7f":                              `nul\x00del\x7f`,
		"csi\u009b31m":                                `csi\u009b31m`,
		"rtl\u202eevil\u2066":                         `rtl\u202eevil\u2066`,
		"bad\xffutf8\xc3":                             `bad\xffutf8\xc3`,
		"":                                            "",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		if got := Escape(in); strings.ContainsAny(got, "\n\r\x1b\x00\u009b\u202e") {
			t.Errorf("Escape(%q) = %q still holds a control character", in, got)
		}
	}
}

// TestSinkEscapes: a message or value that reaches the text sink with a
// control character in it comes out as one line, escaped.
func TestSinkEscapes(t *testing.T) {
	var buf bytes.Buffer
	root := New(Options{Output: &buf, Level: hclog.Info})
	root.Named("imc").Warn("module says \x1b[2J", "name", "ev\nil")
	if got, want := buf.String(), "[IMC] warning: module says \\x1b[2J name=ev\\nil\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzEscape(f *testing.F) {
	f.Add("a\nb\x1b[31m\u202e\xff")
	f.Fuzz(func(t *testing.T, s string) {
		e := Escape(s)
		for _, r := range e {
			if r < 0x20 || r == 0x7f || unsafeRune(r) {
				t.Fatalf("Escape(%q) = %q holds %U", s, e, r)
			}
		}
		if !needsEscape(s) && e != s {
			t.Fatalf("Escape changed %q", s)
		}
	})
}
