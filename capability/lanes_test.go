package capability

import (
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/testutil"
)

// TestReportNeedsAssessment: a report is kept only when the IMV it names
// sent this IMC that result on this connection (or remediation with
// "don't know").
func TestReportNeedsAssessment(t *testing.T) {
	ar := func(r byte) []byte { return testutil.PAAttr(0, attrAssessmentResult, []byte{0, 0, 0, r}) }
	rem := testutil.PAAttr(0, attrRemediationInstructions, []byte("x"))
	for _, tc := range []struct {
		name string
		got  map[uint32][]byte // messages received, by IMV
		rep  abi.Report
		ok   bool
	}{
		{"nothing received", nil, abi.Report{Validator: 1, Result: 0}, false},
		{"that result", map[uint32][]byte{1: testutil.PAMsg(ar(0))}, abi.Report{Validator: 1, Result: 0}, true},
		{"another result", map[uint32][]byte{1: testutil.PAMsg(ar(3))}, abi.Report{Validator: 1, Result: 0}, false},
		{"another IMV", map[uint32][]byte{2: testutil.PAMsg(ar(0))}, abi.Report{Validator: 1, Result: 0}, false},
		{"remediation, don't know", map[uint32][]byte{1: testutil.PAMsg(rem)}, abi.Report{Validator: 1, Result: 4, Remediation: "x"}, true},
		{"remediation not sent", map[uint32][]byte{1: testutil.PAMsg(ar(4))}, abi.Report{Validator: 1, Result: 4, Remediation: "x"}, false},
		{"vendor attribute of type 9", map[uint32][]byte{1: testutil.PAMsg(testutil.PAAttr(32473, 9, []byte{0, 0, 0, 0}))}, abi.Report{Validator: 1, Result: 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a assessed
			for imv, b := range tc.got {
				a.note(imv, b)
			}
			if err := a.check(tc.rep); (err == nil) != tc.ok {
				t.Errorf("check(%+v) = %v, want ok %v", tc.rep, err, tc.ok)
			}
		})
	}
}

// TestCheckPATNC: RFC 5792 framing as send checks it.
func TestCheckPATNC(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		ok   bool
	}{
		{"header only", testutil.PAMsg(), true},
		{"one attribute", testutil.PAMsg(testutil.PAAttr(0, 1, []byte("abc"))), true},
		{"3 bytes", []byte{1, 0, 0}, false},
		{"version 2", []byte{2, 0, 0, 0, 0, 0, 0, 1}, false},
		{"attribute length 0xffffffff", append(testutil.PAMsg(), 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff), false},
		{"attribute length below its header", append(testutil.PAMsg(), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 11), false},
		{"attribute header cut", append(testutil.PAMsg(), 0, 0, 0, 0, 0), false},
		{"trailing byte", append(testutil.PAMsg(testutil.PAAttr(0, 1, nil)), 0), false},
	} {
		if err := CheckPATNC(tc.body); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

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
		if CheckPATNC(body) != nil {
			return
		}
		n := paHeaderLen
		if err := walkAttrs(body, func(_, _ uint32, v []byte) { n += paAttrHeaderLen + len(v) }); err != nil || n != len(body) {
			t.Fatalf("accepted %x, walked %d of %d bytes (%v)", body, n, len(body), err)
		}
	})
}
