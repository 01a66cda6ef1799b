//go:build !wasip1

package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/sdk/wasmtest"
)

// grants is the grant list README.md documents.
var grants = []string{
	abi.FnSend, abi.FnSubscribe, abi.FnLog, abi.FnLogLevel, abi.FnConfigGet, abi.FnOSRelease,
	abi.FnSystemFacts, abi.FnPackages, abi.FnReport, abi.FnTPMAIK,
}

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBuilt()
	os.Exit(code)
}

// wasmModule returns imc-os.wasm: the one `make` built into
// $IMCHOST_WASM_DIR, else a build of this package (once per test binary).
func wasmModule(t *testing.T) string { return testutil.Module(t, "imc-os.wasm", ".") }

// startWasm loads the module into the real host with the README's grants.
func (e env) startWasm(t *testing.T) (*imctest.Harness, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	o := e.options(t, logs)
	o.Grants = grants
	// the host names the IMC logger after the config name
	o.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace, DisableTime: true})
	return wasmtest.New(t, wasmModule(t), o), logs
}

// TestWasmFirstMessage: the built module, loaded by the real host with the
// documented grants on the recorded machine, sends the recorded first
// message: same attributes in the same order with the same flags, lengths
// and values; only the random message identifier differs.
func TestWasmFirstMessage(t *testing.T) {
	h, logs := recordedEnv(t).startWasm(t)
	m := firstMessage(t, h)
	want := vector(t, firstVector)
	if len(m.Body) != len(want) || !bytes.Equal(m.Body[:4], want[:4]) || !bytes.Equal(m.Body[8:], want[8:]) {
		t.Fatalf("first message differs from the recording (beyond the message ID)\n got %x\nwant %x", m.Body, want)
	}
	// Attribute by attribute: type, flags and length as recorded.
	got, rec := attrHeaders(t, m.Body), attrHeaders(t, want)
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("attribute headers\n got %v\nwant %v", got, rec)
	}
	logs.has(t, "operating system version is '12 x86_64'", "device ID is "+recordedKeyID)
	if !h.Alive() {
		t.Fatal("module died")
	}
}

// attrHeaders lists the 12-byte attribute headers of a PA-TNC message.
func attrHeaders(t *testing.T, msg []byte) []string {
	t.Helper()
	var out []string
	for off := patnc.MsgHeaderLen; off < len(msg); {
		if len(msg)-off < patnc.AttrHeaderLen {
			t.Fatalf("truncated attribute at %d", off)
		}
		out = append(out, hex.EncodeToString(msg[off:off+patnc.AttrHeaderLen]))
		n := int(msg[off+8])<<24 | int(msg[off+9])<<16 | int(msg[off+10])<<8 | int(msg[off+11])
		if n < patnc.AttrHeaderLen {
			t.Fatalf("attribute length %d at %d", n, off)
		}
		off += n
	}
	return out
}

// TestWasmExchange: through the real host, the module answers an
// Attribute Request for the installed packages under a small segmentation
// contract, survives malformed messages with PA-TNC Errors, and reports
// the assessment.
func TestWasmExchange(t *testing.T) {
	e := recordedEnv(t)
	e.m.dpkgStatus = filepath.Join("testdata", "dpkg-status")
	e.settings[settingMaxMessageSize] = "4096"
	e.maxMsg = 4096
	h, logs := e.startWasm(t)
	h.Start()

	got := segmentedPackages(t, h, 2097104, 4072, 4096)
	want := &patnc.InstalledPackages{Packages: toPatnc(dpkgInstalled(t, e.m.dpkgStatus))}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reassembled %d packages, want %d", len(got.(*patnc.InstalledPackages).Packages), len(want.Packages))
	}

	for _, in := range []string{"", "01", "02000000a1b2c3d4", "01000000a1b2c3d4" + "80005597" + "7f000000" + "0000000c",
		"01000000a1b2c3d4" + "00000000" + "00000001" + "0000000d" + "00"} {
		b, _ := hex.DecodeString(in)
		reply := h.Batch(fromIMV(b))
		if len(reply) != 1 {
			t.Fatalf("%q: sent %d messages", in, len(reply))
		}
		if m := parse(t, reply[0].Body); len(m.Attrs) != 1 || m.Attrs[0].Type() != patnc.TypePATNCError {
			t.Fatalf("%q: reply %s", in, dump(m.Attrs))
		}
	}
	if !h.Alive() {
		t.Fatal("module died on a malformed message")
	}

	h.Batch(fromIMV(vector(t, "02_01_s2c_IETF-OS_imc65535_imv1.txt")))
	if r := h.Reports(); len(r) != 1 || r[0] != (abi.Report{Validator: imvID, Result: 0}) {
		t.Fatalf("reports %+v", r)
	}
	logs.has(t, "assessment result is 'compliant'")
}

// TestWasmNeedsItsGrants: the module loads with the documented grants and
// is refused without any one of them, so the list is exact.
func TestWasmNeedsItsGrants(t *testing.T) {
	wasmtest.ExactGrants(t, wasmModule(t), imctest.Options{Name: imcName, Grants: grants,
		Platform: capability.Platform{System: recordedMachine(t).system(t, "x86_64")}})
}
