package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/pdp"
)

// TestPDPSoftware: imchost pdp software lists what the SWIMA IMV stored
// for a device, and says so when there is nothing.
func TestPDPSoftware(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pdp.db")
	st, err := pdp.OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, _ := st.AddDevice(ctx, "dev-1", "Debian 12 x86_64", false)
	st.AddDevice(ctx, "dev-2", "Debian 12 x86_64", false)
	bash := pdp.SWPackage{SWID: "strongswan.org__Debian_12-x86_64-bash-5.2.15-2~b8", Name: "bash", Version: "5.2.15-2+b8"}
	if err := st.SetSWInventory(ctx, d.ID, 0x1234, 0, []pdp.SWPackage{bash}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddSWEvents(ctx, d.ID, 0x1234, 1, []pdp.SWEventRecord{{Epoch: 0x1234, EID: 1, Time: "2026-12-07T13:00:00Z", Action: 2, SWPackage: bash}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Main(append([]string{"pdp", "software"}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	code, out := run("--db", db, "dev-1")
	if code != exitOK || !strings.Contains(out, "device dev-1 (Debian 12 x86_64): 0 software records, EID epoch 0x00001234, last EID 1") ||
		!strings.Contains(out, "EID 1      deleted  strongswan.org__Debian_12-x86_64-bash-5.2.15-2~b8") {
		t.Fatalf("code %d:\n%s", code, out)
	}
	if code, out := run("--db", db, "dev-2"); code != exitOK || !strings.Contains(out, "no software inventory received") {
		t.Fatalf("dev-2: %d %s", code, out)
	}
	if code, out := run("--db", db, "nope"); code != exitError || !strings.Contains(out, `no device "nope"`) {
		t.Fatalf("unknown device: %d %s", code, out)
	}
	if code, _ := run("dev-1"); code != exitUsage {
		t.Fatalf("without --db: %d", code)
	}
}
