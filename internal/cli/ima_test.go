package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/internal/imagen"
	"github.com/imchost/imchost/tpmhost"
)

// TestIMACommand: imchost ima replays IBM's list to the PCR 10 values IBM
// recorded, in every bank; prints the ASCII form; checks boot_aggregate
// against a boot log (a generated list over the bundled log matches, the
// same list against another log does not and exits 1); refuses a broken list.
func TestIMACommand(t *testing.T) {
	ibm := testutil.Data("ima", "ibmtss-sha1.log")
	code, out, errs := call("ima", "--pcrs", ibm)
	want := "sha1 10 9be6bac02bf18d09d17e726c2df00bca4e8831ea\n" +
		"sha256 10 7fac48c81837d6d29046008aef0cdad8c2745cc98c3340cbba9bfdf39b4124b8\n"
	if code != exitOK || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 4 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = call("ima", "--bank", "sha256", ibm)
	if code != exitOK || strings.Count(out, " ima-sig sha256:") != 362 || !strings.Contains(out, "# 362 entries, 0 violations, template digests sha1") {
		t.Fatalf("exit %d\n%s", code, out)
	}

	bootLog := "defaults/ubuntu_2104_shielded_vm_no_secure_boot_eventlog"
	l, err := tpmhost.ReadEventLog(bootLog)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := l.Replay(tpmhost.AlgSHA256)
	boot := imagen.BootPCRs(rep)
	dir := t.TempDir()
	gen := filepath.Join(dir, "ima")
	if err := imagen.WriteFile(gen, imagen.Options{Entries: 20, BootPCRs: boot}); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := call("ima", "--pcrs", "--boot-log", bootLog, gen); code != exitOK || !strings.Contains(out, "matches the boot log") {
		t.Errorf("boot aggregate over the bundled log: exit %d\n%s%s", code, out, errs)
	}
	other := testutil.Data("eventlogs")
	ents, _ := os.ReadDir(other)
	for _, e := range ents {
		p := filepath.Join(other, e.Name())
		if strings.HasSuffix(p, ".pcrs") || strings.Contains(p, "ubuntu_2104_shielded_vm_no_secure_boot") {
			continue
		}
		if _, err := tpmhost.ReadEventLog(p); err != nil {
			continue
		}
		if code, out, _ := call("ima", "--pcrs", "--boot-log", p, gen); code != exitError || !strings.Contains(out, "does NOT match") {
			t.Errorf("boot aggregate against %s: exit %d\n%s", p, code, out)
		}
		break
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("\x0a\x00\x00\x00truncated"), 0o600)
	if code, _, errs := call("ima", bad); code != exitError || !strings.Contains(errs, "IMA log") {
		t.Errorf("broken list: exit %d %s", code, errs)
	}
}
