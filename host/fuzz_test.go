package host

import (
	"testing"

	"github.com/imchost/imchost/abi"
)

// The host parses local text formats (the package databases: see
// internal/inventory); none may panic or loop on any input.

// FuzzCheckPATNC: the framing check of send and the assessment reader of
// report never panic; what the check accepts is walked to its exact end.
func FuzzCheckPATNC(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 16, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		var a assessed
		a.note(1, body)
		_ = a.check(abi.Report{Validator: 1})
		if checkPATNC(body) != nil {
			return
		}
		n := paHeaderLen
		if err := walkAttrs(body, func(_, _ uint32, v []byte) { n += paAttrHeaderLen + len(v) }); err != nil || n != len(body) {
			t.Fatalf("accepted %x, walked %d of %d bytes (%v)", body, n, len(body), err)
		}
	})
}
