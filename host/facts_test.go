package host

import (
	"context"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/tnccs"
)

// TestHostFunctionsThroughWasm runs every non-TPM host function from a
// module (testdata/facts) against the fixture root, including a result
// larger than the SDK's buffer (os_release → result_take).
func TestHostFunctionsThroughWasm(t *testing.T) {
	grants := []string{"send", "subscribe", "config_get", "os_release", "system_facts", "packages",
		"symlinks", "hash", "random", "dh_create", "report", "tpm_banks"}
	h, _ := newTestHost(t, IMCConfig{Name: "Facts", Path: modPath("facts"), Grants: grants, Settings: Settings{"k": "v"}})
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		t.Fatal(err)
	}
	var s sink
	c, _ := h.OpenConn(ctx, 4, s.send)
	// IMV 1 assessed the IMC first (IETF attributes 9, Assessment Result,
	// and 10, Remediation Instructions: RFC 5792 Section 4.2.7 and 4.2.8):
	// its report of that is shown.
	c.Receive(ctx, tnccs.PAMessage{Vendor: 32473, Subtype: 2, Collector: 0xffff, Validator: 1,
		Body: testutil.PAMsg(testutil.PAAttr(0, 9, []byte{0, 0, 0, 4}), testutil.PAAttr(0, 10, []byte("fix it")))})
	c.BeginHandshake(ctx)
	c.Close(ctx)
	got := map[string]string{}
	for _, m := range s.take() {
		k, v, _ := strings.Cut(string(m.Body[20:]), "=")
		got[k] = v
	}
	want := map[string]string{
		"os_release_len": "6406",
		"system_facts":   "1653985578 true false 732c769e8d1b2efef8b64d5ae83f84d1",
		"packages":       "libc6:2.36-9 bash:5.2.15-2 ",
		"hash":           "a9993e364706816aba3e25717850c26c9cd0d89d",
		"random_len":     "16",
		"dh_public_len":  "64",
		"config":         "v true",
		"config_missing": "false",
		"report":         "",
		"tpm_banks":      "error imc: host function tpm_banks failed: unavailable",
		"subscribe_late": "error imc: host function subscribe failed: not allowed now",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// Symlinks come in directory order: compare as a set.
	if sl := got["symlinks"]; !strings.HasPrefix(sl, "2 ") || !strings.Contains(sl, "/bin->/usr/bin ") || !strings.Contains(sl, "/lib->/usr/lib ") {
		t.Errorf("symlinks = %q", sl)
	}
	if r := h.Reports(4); len(r) != 1 || r[0].Remediation != "fix it" || r[0].IMCID != 1 || r[0].IMC != "Facts" {
		t.Errorf("reports %+v", r)
	}
}
