package logfmt

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Escape makes a string that came from outside the process (a PDP's
// Reason-String, a remediation text, a referral's FQDN, a module's log line
// or name) safe to print on a terminal or in a text log: every control
// character (C0, DEL, C1), every bidirectional override and every byte that
// is not UTF-8 becomes a visible escape (\n, \r, \t, \x1b, \u202e), so that
// the text can neither start a line of its own, move the cursor, recolour
// or clear the screen, nor reorder what follows it. Printable text, spaces
// and backslashes stay as they are. JSON output needs no call: encoding/json
// escapes control characters itself.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		case unsafeRune(r):
			b.WriteString(`\u`)
			h := strconv.FormatUint(uint64(r), 16)
			b.WriteString(strings.Repeat("0", 4-len(h)))
			b.WriteString(h)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// EscapeBytes is Escape for a byte slice.
func EscapeBytes(p []byte) string { return Escape(string(p)) }

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// unsafeRune reports the runes above ASCII that Escape rewrites: the C1
// controls (0x80-0x9f, which some terminals take as CSI and friends), the
// line and paragraph separators, and the bidirectional embeddings,
// overrides and isolates (the "Trojan Source" characters).
func unsafeRune(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f ||
		r == 0x061c || r == 0xfeff
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			// Fast path only for plain ASCII; anything else is looked at
			// rune by rune.
			if c >= 0x80 {
				for _, r := range s[i:] {
					if r == utf8.RuneError || r < 0x20 || r == 0x7f || unsafeRune(r) {
						return true
					}
				}
				return false
			}
			return true
		}
	}
	return false
}
