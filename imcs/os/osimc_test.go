//go:build !wasip1

package main

import (
	"bytes"
	"encoding/hex"
	"github.com/imchost/imchost/internal/testutil"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
)

const (
	recordedBoot  = 1795719068 // 2026-11-26T18:51:08Z, the recorded run's last boot
	recordedKeyID = "d41bcf69169cbbcbb9fa29a895264bff2224fc95"
	recordedMsgID = 0xa5a2f88f
	machineID     = "732c769e8d1b2efef8b64d5ae83f84d1"
	imvID         = 1
	akHandle      = 0x81010003
)

// recordedMachine is the machine of the recorded strongSwan run: Debian 12,
// forwarding off, booted at 18:51:08 UTC.
func recordedMachine(t testing.TB) machine {
	return machine{osRelease: readFixture(t, "debian-12"), btime: recordedBoot, machineID: machineID}
}

// logBuffer collects the harness's log output.
type logBuffer struct{ testutil.SyncBuffer }

// lines returns the messages logged by the IMC (after "imc.os: ").
func (l *logBuffer) lines() []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if _, msg, ok := strings.Cut(line, "imc.os: "); ok {
			out = append(out, msg)
		}
	}
	return out
}

func (l *logBuffer) has(t testing.TB, want ...string) {
	t.Helper()
	lines := l.lines()
	for _, w := range want {
		found := false
		for _, line := range lines {
			found = found || line == w
		}
		if !found {
			t.Errorf("missing log line %q in\n%s", w, strings.Join(lines, "\n"))
		}
	}
}

// env is one test setup: a machine, settings and a TPM.
type env struct {
	m        machine
	arch     string
	settings map[string]string
	tpm      capability.TPM
	maxMsg   uint32
	errors   bool // the IMC is expected to fail
}

func (e env) options(t testing.TB, logs *logBuffer) imctest.Options {
	arch := e.arch
	if arch == "" {
		arch = "x86_64"
	}
	return imctest.Options{
		Name:           imcName,
		Settings:       e.settings,
		Platform:       capability.Platform{System: e.m.system(t, arch), TPM: e.tpm},
		MaxMessageSize: e.maxMsg,
		Logger:         hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Trace, DisableTime: true}),
		ExpectErrors:   e.errors,
	}
}

// start runs a fresh OS IMC natively on the real host code, with the
// recorded message identifier and a clock 2379 s after the boot.
func (e env) start(t testing.TB) (*imctest.Harness, *OSIMC, *logBuffer) {
	t.Helper()
	o := New()
	o.msgID = func() uint32 { return recordedMsgID }
	o.now = func() int64 { return recordedBoot + 2379 }
	logs := &logBuffer{}
	return imctest.New(t, o, e.options(t, logs)), o, logs
}

// recordedEnv is the recorded run's setup: device_handle = the AK.
func recordedEnv(t testing.TB) env {
	return env{m: recordedMachine(t), settings: map[string]string{settingDeviceHandle: "0x81010003"},
		tpm: newRecordedTPM(t)}
}

// fromIMV is a PA message as the strongSwan PDP sends it: collector 0xFFFF,
// EXCL clear.
func fromIMV(body []byte) imc.Message {
	return imc.Message{Type: msgTypeOS, Collector: abi.IDAny, Validator: imvID, Body: body}
}

func marshal(t testing.TB, attrs ...patnc.Attr) []byte {
	t.Helper()
	m := patnc.Message{ID: 0x7ac39744, Attrs: attrs}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t testing.TB, body []byte) *patnc.Message {
	t.Helper()
	m, err := patnc.ParseMessage(body)
	if err != nil {
		t.Fatalf("IMC sent an undecodable message: %v", err)
	}
	return m
}

// vector reads the hex: line of a PA message of the recorded strongSwan
// exchange (the shared testdata/strongswan/pa/*.txt).
func vector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Data("strongswan", "pa", name))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "hex: "); ok {
			v, err := hex.DecodeString(strings.TrimSpace(h))
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("%s: no hex line", name)
	return nil
}

const firstVector = "01_02_c2s_IETF-OS_imc1_imv65535.txt"

func dump(attrs []patnc.Attr) string {
	var b strings.Builder
	for _, a := range attrs {
		enc, _ := patnc.MarshalAttr(a)
		b.WriteString("\n  " + a.Type().FullName() + " " + hex.EncodeToString(enc))
	}
	return b.String()
}

// firstMessage starts h, an OS IMC subscribed to IETF/OS alone, and
// returns the one message it sends first: IETF/OS to any IMV, not
// exclusive.
func firstMessage(t *testing.T, h *imctest.Harness) imc.Message {
	t.Helper()
	if want := []abi.MsgType{msgTypeOS}; !reflect.DeepEqual(h.Subscriptions(), want) {
		t.Fatalf("subscribed %v, want %v", h.Subscriptions(), want)
	}
	sent := h.Start()
	if len(sent) != 1 {
		t.Fatalf("sent %d messages, want 1", len(sent))
	}
	m := sent[0]
	if m.Type != msgTypeOS || m.Validator != abi.IDAny || m.Exclusive {
		t.Fatalf("PB-PA type %v validator %#x excl %v, want IETF/OS, 0xffff, false", m.Type, m.Validator, m.Exclusive)
	}
	return m
}

// TestFirstMessageMatchesRecording: on the recorded machine the first
// message is byte for byte the one strongSwan 6.0.6 sent (vector 01_02),
// message identifier included since the test fixes it.
func TestFirstMessageMatchesRecording(t *testing.T) {
	h, _, logs := recordedEnv(t).start(t)
	m := firstMessage(t, h)
	if want := vector(t, firstVector); !bytes.Equal(m.Body, want) {
		t.Fatalf("first message differs from the recording\n got %x\nwant %x", m.Body, want)
	}
	logs.has(t,
		`IMC 1 "OS" initialized`,
		"operating system type is 'Debian'",
		"operating system name is 'Debian'",
		"operating system version is '12 x86_64'",
		"operating system numeric version is 12.0",
		"last boot: Nov 26 18:51:08 UTC 2026, 2379 s ago",
		"IPv4 forwarding is disabled",
		"IPv6 forwarding is disabled",
		"factory default password is disabled",
		"device ID is "+recordedKeyID,
	)
}

// TestDeviceIDSources: device_id wins over device_handle (strongSwan's
// order), a device_handle without a key falls back to the machine-id, and
// without any source the attribute is left out.
func TestDeviceIDSources(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]string
		machine  string
		want     string // "" = no Device ID attribute
	}{
		{"device_id over device_handle", map[string]string{settingDeviceID: "dev-42", settingDeviceHandle: "0x81010003"}, machineID, "dev-42"},
		{"device_handle", map[string]string{settingDeviceHandle: "0x81010003"}, machineID, recordedKeyID},
		{"device_handle without key", map[string]string{settingDeviceHandle: "0x81010009"}, machineID, machineID},
		{"machine-id", nil, machineID, machineID},
		{"nothing", nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := recordedMachine(t)
			m.machineID = tc.machine
			h, _, _ := env{m: m, settings: tc.settings, tpm: newRecordedTPM(t)}.start(t)
			attrs := parse(t, h.Start()[0].Body).Attrs
			last := attrs[len(attrs)-1]
			if tc.want == "" {
				if len(attrs) != 6 || last.Type() == patnc.TypeITADeviceID {
					t.Fatalf("attributes %s", dump(attrs))
				}
				return
			}
			if !reflect.DeepEqual(last, &patnc.ITADeviceID{ID: tc.want}) {
				t.Fatalf("device ID %s, want %q", dump([]patnc.Attr{last}), tc.want)
			}
		})
	}
}

// TestFirstMessagePerDistribution checks every attribute value of the first
// message for each os-release fixture.
func TestFirstMessagePerDistribution(t *testing.T) {
	tests := []struct {
		file, arch    string
		vendor        uint32
		name, version string
		major, minor  uint32
		ipv4, ipv6    bool
		fwd           patnc.ForwardingStatus
		settings      map[string]string
		wantPwd       bool
		wantDeviceID  string
	}{
		{file: "debian-12", arch: "x86_64", vendor: 0x002572, name: "Debian", version: "12 x86_64",
			major: 12, fwd: patnc.ForwardingStatusDisabled, wantDeviceID: machineID},
		{file: "ubuntu-22.04", arch: "x86_64", vendor: 0x007132, name: "Ubuntu", version: "22.04 x86_64",
			major: 22, minor: 4, ipv4: true, fwd: patnc.ForwardingStatusEnabled,
			settings: map[string]string{settingDefaultPassword: "yes"}, wantPwd: true, wantDeviceID: machineID},
		{file: "fedora-39", arch: "aarch64", vendor: 0x0076c1, name: "Fedora", version: "39 aarch64",
			major: 39, ipv6: true, fwd: patnc.ForwardingStatusEnabled,
			settings: map[string]string{settingDeviceID: "my-device"}, wantDeviceID: "my-device"},
		{file: "alpine-3.19", arch: "x86_64", vendor: 0, name: "Alpine", version: "3.19.1 x86_64",
			major: 3, minor: 19, fwd: patnc.ForwardingStatusDisabled,
			settings: map[string]string{settingDefaultPassword: "no"}, wantDeviceID: machineID},
		{file: "rhel-9", arch: "x86_64", vendor: 0, name: `"rhel"`, version: "9.3 x86_64",
			major: 9, minor: 3, ipv4: true, ipv6: true, fwd: patnc.ForwardingStatusEnabled, wantDeviceID: machineID},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m := machine{osRelease: readFixture(t, tc.file), btime: recordedBoot, ipv4: tc.ipv4, ipv6: tc.ipv6,
				machineID: machineID}
			h, _, _ := env{m: m, arch: tc.arch, settings: tc.settings}.start(t)
			sent := h.Start()
			if len(sent) != 1 {
				t.Fatalf("sent %d messages", len(sent))
			}
			var lastUse patnc.DateTime
			copy(lastUse[:], "2026-11-26T18:51:08Z")
			want := []patnc.Attr{
				&patnc.ProductInfo{VendorID: tc.vendor, Name: tc.name},
				&patnc.StringVersion{Version: tc.version},
				&patnc.NumericVersion{Major: tc.major, Minor: tc.minor},
				&patnc.OpStatus{Status: patnc.OpStatusOperational, Result: patnc.OpResultSuccessful, LastUse: lastUse},
				&patnc.ForwardingEnabled{Status: tc.fwd},
				&patnc.FactoryDefaultPwdEnabled{Enabled: tc.wantPwd},
				&patnc.ITADeviceID{ID: tc.wantDeviceID},
			}
			if got := parse(t, sent[0].Body).Attrs; !reflect.DeepEqual(got, want) {
				t.Fatalf("attributes\n got %s\nwant %s", dump(got), dump(want))
			}
		})
	}
}

// TestUnknownFacts: without proc/stat (system_facts fails) the last use is
// the epoch and forwarding is unknown, as strongSwan reports an unreadable
// uptime and ip_forward.
func TestUnknownFacts(t *testing.T) {
	m := recordedMachine(t)
	m.btime = 0
	h, _, logs := env{m: m, settings: map[string]string{settingOSName: "Debian", settingOSVersion: "12 x86_64",
		settingDeviceID: "dev"}}.start(t)
	attrs := parse(t, h.Start()[0].Body).Attrs
	var epoch patnc.DateTime
	copy(epoch[:], "1970-01-01T00:00:00Z")
	if got := attrs[3]; !reflect.DeepEqual(got, &patnc.OpStatus{Status: 3, Result: 1, LastUse: epoch}) {
		t.Errorf("op status %s", dump([]patnc.Attr{got}))
	}
	if got := attrs[4]; !reflect.DeepEqual(got, &patnc.ForwardingEnabled{Status: patnc.ForwardingStatusUnknown}) {
		t.Errorf("forwarding %s", dump([]patnc.Attr{got}))
	}
	logs.has(t, "IPv4 forwarding is unknown")
}

func TestInitializeFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"missing os-release", nil},
		{"garbage os-release", readFixture(t, "garbage")},
		{"no VERSION_ID", readFixture(t, "debian-sid")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := recordedMachine(t)
			m.osRelease = tc.data
			h, _, _ := env{m: m, errors: true}.start(t)
			if errs := h.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "Initialize") {
				t.Fatalf("errors %v, want one Initialize error", errs)
			}
		})
	}
	// The os_name / os_version settings replace a missing os-release.
	m := recordedMachine(t)
	m.osRelease = nil
	_, o, _ := env{m: m, settings: map[string]string{settingOSName: "Debian", settingOSVersion: "13 x86_64"}}.start(t)
	if o.info != (osInfo{Type: osDebian, Name: "Debian", Version: "13 x86_64"}) {
		t.Fatalf("override: %+v", o.info)
	}
	for _, bad := range []map[string]string{
		{settingDefaultPassword: "maybe"},
		{settingPushInfo: "sometimes"},
		{settingDeviceHandle: "handle"},
		{settingMaxMessageSize: "12"},
		{settingDeviceID: "a\x00b"},
	} {
		h, _, _ := env{m: recordedMachine(t), settings: bad, errors: true}.start(t)
		if len(h.Errors()) == 0 {
			t.Errorf("settings %q accepted", bad)
		}
	}
}

func TestPushInfoOff(t *testing.T) {
	h, _, _ := env{m: recordedMachine(t), settings: map[string]string{settingPushInfo: "no"}}.start(t)
	if sent := h.Start(); len(sent) != 0 {
		t.Fatalf("push_info=no sent %d messages", len(sent))
	}
}

// TestAssessmentRecorded: the recorded Assessment Result (compliant) is
// logged and reported, and nothing is sent back.
func TestAssessmentRecorded(t *testing.T) {
	h, _, logs := recordedEnv(t).start(t)
	h.Start()
	if reply := h.Batch(fromIMV(vector(t, "02_01_s2c_IETF-OS_imc65535_imv1.txt"))); len(reply) != 0 {
		t.Fatalf("answered an assessment with %d messages", len(reply))
	}
	if want := []abi.Report{{Validator: imvID, Result: 0}}; !reflect.DeepEqual(h.Reports(), want) {
		t.Fatalf("reports %+v, want %+v", h.Reports(), want)
	}
	logs.has(t,
		`***** assessment of IMC 1 "OS" from IMV 1 *****`,
		"assessment result is 'compliant'",
		"***** end of assessment *****",
	)
}

// TestAssessmentWithRemediation is the reference run's OS assessment:
// "don't know" plus a remediation string, logged line by line as
// strongSwan prints it.
func TestAssessmentWithRemediation(t *testing.T) {
	h, _, logs := recordedEnv(t).start(t)
	h.Start()
	text := "IP Packet Forwarding\n  Please disable the forwarding of IP packets"
	reply := h.Batch(fromIMV(marshal(t,
		&patnc.AssessmentResult{Result: patnc.ResultDontKnow},
		&patnc.RemediationInstructions{ParamsVendor: abi.PENIETF, ParamsType: patnc.RemediationString,
			Text: text, Lang: "en"},
	)))
	if len(reply) != 0 {
		t.Fatalf("sent %d messages", len(reply))
	}
	want := []string{
		`***** assessment of IMC 1 "OS" from IMV 1 *****`,
		"assessment result is 'don't know'",
		"remediation string: [en]",
		"IP Packet Forwarding",
		"  Please disable the forwarding of IP packets",
		"***** end of assessment *****",
	}
	lines := logs.lines()
	start := -1
	for i, l := range lines {
		if l == want[0] {
			start = i
		}
	}
	if start < 0 || start+len(want) > len(lines) || !reflect.DeepEqual(lines[start:start+len(want)], want) {
		t.Fatalf("log\n%s\nwant the block\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	wantRep := []abi.Report{{Validator: imvID, Result: 4, Remediation: text, Language: "en"}}
	if !reflect.DeepEqual(h.Reports(), wantRep) {
		t.Fatalf("reports %+v, want %+v", h.Reports(), wantRep)
	}
	// A URI alone keeps the result reported before.
	h.Batch(fromIMV(marshal(t, &patnc.RemediationInstructions{ParamsVendor: abi.PENIETF,
		ParamsType: patnc.RemediationURI, URI: "https://remediation.example.org/fwd"})))
	logs.has(t, "remediation uri: https://remediation.example.org/fwd")
	if r := h.Reports(); len(r) != 2 || r[1] != (abi.Report{Validator: imvID, Result: 4,
		Remediation: "https://remediation.example.org/fwd"}) {
		t.Fatalf("reports %+v", r)
	}
}

// TestAttributeRequest: the probe of RFC 5792 §4.2.1, IETF 2, 4, 3, 5, 11,
// 12, ITA 8 and IETF 7 (plus Port Filter, which the OS IMC ignores),
// answered in one EXCL message in the requested order.
func TestAttributeRequest(t *testing.T) {
	e := recordedEnv(t)
	e.m.dpkgStatus = filepath.Join("testdata", "dpkg-status")
	h, _, _ := e.start(t)
	h.Start()
	reply := h.Batch(fromIMV(marshal(t, &patnc.AttrRequest{Types: []patnc.Type{
		patnc.TypeProductInfo, patnc.TypeStringVersion, patnc.TypeNumericVersion, patnc.TypeOpStatus,
		patnc.TypeForwardingEnabled, patnc.TypeFactoryDefaultPwd, patnc.TypeITADeviceID,
		patnc.TypeInstalledPackages, patnc.TypePortFilter,
	}})))
	if len(reply) != 1 {
		t.Fatalf("sent %d messages, want 1", len(reply))
	}
	s := reply[0]
	if s.Validator != imvID || !s.Exclusive || s.Type != msgTypeOS {
		t.Fatalf("reply validator %d excl %v type %v, want %d, true, IETF/OS", s.Validator, s.Exclusive, s.Type, imvID)
	}
	// The first seven attributes are those of the recorded first message.
	want := parse(t, vector(t, firstVector)).Attrs
	want = append(want, &patnc.InstalledPackages{Packages: toPatnc(dpkgInstalled(t, e.m.dpkgStatus))})
	if got := parse(t, s.Body).Attrs; !reflect.DeepEqual(got, want) {
		t.Fatalf("reply\n got %.2000s\nwant %.2000s", dump(got), dump(want))
	}
}

func toPatnc(pkgs []abi.Package) []patnc.Package {
	out := make([]patnc.Package, len(pkgs))
	for i, p := range pkgs {
		out[i] = patnc.Package{Name: p.Name, Version: p.Version}
	}
	return out
}

// TestInstalledPackagesSegmented: the OS IMV asks for the installed
// packages under a segmentation contract whose segments are much smaller
// than the list; the IMC answers with a Contract Response and a first
// envelope, then one envelope per Next Segment request. Reassembled with
// patnc's contract on the IMV side, the attribute holds the whole list.
func TestInstalledPackagesSegmented(t *testing.T) {
	for _, tc := range []struct {
		name       string
		imvMaxMsg  uint32 // the IMV's maximum PA-TNC message size
		imcMaxMsg  string // the IMC's max_message_size setting
		wantSeg    uint32 // the contracted segment size
		maxMsgSize uint32 // what the host lets through
	}{
		{name: "IMV asks for small segments", imvMaxMsg: 1024, wantSeg: 1000},
		{name: "IMC lowers the segment size", imvMaxMsg: 2097104, imcMaxMsg: "4096", wantSeg: 4072, maxMsgSize: 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := recordedEnv(t)
			e.m.dpkgStatus = filepath.Join("testdata", "dpkg-status")
			if tc.imcMaxMsg != "" {
				e.settings[settingMaxMessageSize] = tc.imcMaxMsg
			}
			e.maxMsg = tc.maxMsgSize
			h, _, _ := e.start(t)
			h.Start()

			got := segmentedPackages(t, h, tc.imvMaxMsg, tc.wantSeg, tc.maxMsgSize)
			want := &patnc.InstalledPackages{Packages: toPatnc(dpkgInstalled(t, e.m.dpkgStatus))}
			if len(want.Packages) < 700 {
				t.Fatalf("fixture lists only %d packages", len(want.Packages))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("reassembled %d packages, want %d", len(got.(*patnc.InstalledPackages).Packages), len(want.Packages))
			}
		})
	}
}

// segmentedPackages plays the OS IMV asking for the installed packages
// under a contract with a maximum PA-TNC message size of imvMaxMsg: it checks
// the contracted segment size, each envelope and the message sizes, asks
// for every next segment and returns the reassembled attribute.
func segmentedPackages(t *testing.T, h *imctest.Harness, imvMaxMsg, wantSeg, maxMsgSize uint32) patnc.Attr {
	t.Helper()
	imv, req := patnc.NewContractRequest(imvMaxMsg)
	reply := h.Batch(fromIMV(marshal(t, req,
		&patnc.AttrRequest{Types: []patnc.Type{patnc.TypeInstalledPackages}})))
	var got patnc.Attr
	for round := 0; got == nil; round++ {
		if round > 1000 {
			t.Fatal("no end of segments")
		}
		if len(reply) != 1 || !reply[0].Exclusive || reply[0].Validator != imvID {
			t.Fatalf("round %d: reply %+v", round, reply)
		}
		if maxMsgSize != 0 && len(reply[0].Body) > int(maxMsgSize) {
			t.Fatalf("round %d: message of %d bytes", round, len(reply[0].Body))
		}
		var next []patnc.Attr
		for _, a := range parse(t, reply[0].Body).Attrs {
			switch a := a.(type) {
			case *patnc.SegContractResponse:
				if round != 0 || a.MaxMsgSize != patnc.NoLimit || a.MaxSegSize != wantSeg {
					t.Fatalf("round %d: contract response %+v", round, a)
				}
				imv.Accept(a)
			case *patnc.SegEnvelope:
				if round == 0 != a.Start || len(a.Segment) > int(wantSeg) {
					t.Fatalf("round %d: envelope start %v, %d bytes", round, a.Start, len(a.Segment))
				}
				whole, ns, err := imv.Reassemble(a)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if ns != nil {
					next = append(next, ns)
				}
				got = whole
			default:
				t.Fatalf("round %d: unexpected %s", round, a.Type())
			}
		}
		if got == nil {
			if len(next) != 1 {
				t.Fatalf("round %d: no next segment to ask for", round)
			}
			reply = h.Batch(fromIMV(marshal(t, next...)))
		}
	}
	return got
}

// TestTooLargeWithoutContract: without a contract an Installed Packages
// attribute larger than max_message_size is dropped, as strongSwan drops it
// ("PA-TNC attribute too large to send, deleted"), and the other requested
// attributes still go out.
func TestTooLargeWithoutContract(t *testing.T) {
	e := recordedEnv(t)
	e.m.dpkgStatus = filepath.Join("testdata", "dpkg-status")
	e.settings[settingMaxMessageSize] = "4096"
	h, _, logs := e.start(t)
	h.Start()
	reply := h.Batch(fromIMV(marshal(t, &patnc.AttrRequest{Types: []patnc.Type{
		patnc.TypeInstalledPackages, patnc.TypeProductInfo}})))
	if len(reply) != 1 {
		t.Fatalf("sent %d messages", len(reply))
	}
	if got := parse(t, reply[0].Body).Attrs; len(got) != 1 || got[0].Type() != patnc.TypeProductInfo {
		t.Fatalf("reply %s", dump(got))
	}
	logs.has(t, "PA-TNC attribute too large to send, deleted")
}

// TestUnknownNoSkip: an unknown attribute with NOSKIP is answered with
// Attribute Type Not Supported, byte for byte as strongSwan (RFC 5792 §4.2.8).
func TestUnknownNoSkip(t *testing.T) {
	h, _, _ := recordedEnv(t).start(t)
	h.Start()
	in, _ := hex.DecodeString("01000000a1b2c3d4" + "80005597" + "7f000000" + "0000000c")
	reply := h.Batch(fromIMV(in))
	if len(reply) != 1 || !reply[0].Exclusive || reply[0].Validator != imvID {
		t.Fatalf("sent %+v", reply)
	}
	want, _ := hex.DecodeString("00000000" + "00000008" + "00000024" + "00000000" + "00000003" +
		"01000000a1b2c3d4" + "80005597" + "7f000000")
	if got := reply[0].Body[patnc.MsgHeaderLen:]; !bytes.Equal(got, want) {
		t.Fatalf("error attribute\n got %x\nwant %x", got, want)
	}
	// The same attribute without NOSKIP is skipped silently.
	in[8] = 0
	if reply := h.Batch(fromIMV(in)); len(reply) != 0 {
		t.Fatalf("answered a skippable attribute: %x", reply[0].Body)
	}
}

// TestMalformedMessages: every malformed message gets a PA-TNC Error, never
// a failure of the IMC.
func TestMalformedMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		code patnc.ErrorCode
	}{
		{"short header", "010000", patnc.ErrInvalidParameter},
		{"version 2", "02000000a1b2c3d4", patnc.ErrVersionNotSupported},
		{"truncated attribute header", "01000000a1b2c3d400000000000000", patnc.ErrInvalidParameter},
		{"length past the end", "01000000a1b2c3d4" + "00000000" + "00000009" + "00000020" + "00000000", patnc.ErrInvalidParameter},
		{"bad assessment value", "01000000a1b2c3d4" + "00000000" + "00000009" + "0000000f" + "000000", patnc.ErrInvalidParameter},
		{"envelope continuation without start", "01000000a1b2c3d4" + "00005597" + "00000023" + "00000010" + "00000007", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, _ := recordedEnv(t).start(t)
			h.Start()
			in, _ := hex.DecodeString(tc.in)
			// a contract, so that envelopes are looked at
			h.Batch(fromIMV(marshal(t, &patnc.SegContractRequest{MaxMsgSize: patnc.NoLimit, MaxSegSize: 1000})))
			reply := h.Batch(fromIMV(in))
			if tc.code == 0 {
				if len(reply) != 0 {
					t.Fatalf("sent %d messages", len(reply))
				}
				return
			}
			if len(reply) != 1 {
				t.Fatalf("sent %d messages", len(reply))
			}
			m := parse(t, reply[0].Body)
			e, ok := m.Attrs[0].(*patnc.PATNCError)
			if len(m.Attrs) != 1 || !ok || e.Vendor != abi.PENIETF || e.Code != uint32(tc.code) {
				t.Fatalf("reply %s", dump(m.Attrs))
			}
			if len(h.Reports()) != 0 {
				t.Fatalf("reported %+v", h.Reports())
			}
		})
	}
}

// FuzzReceive: no input makes the IMC fail; it answers with at most
// decodable messages EXCL to the sender.
func FuzzReceive(f *testing.F) {
	f.Add(vector(f, "02_01_s2c_IETF-OS_imc65535_imv1.txt"))
	f.Add(vector(f, firstVector))
	f.Add(marshal(f, &patnc.SegContractRequest{MaxMsgSize: patnc.NoLimit, MaxSegSize: 60},
		&patnc.AttrRequest{Types: []patnc.Type{patnc.TypeInstalledPackages, patnc.TypeITADeviceID}}))
	f.Add(marshal(f, &patnc.SegEnvelope{Start: true, More: true, BaseMsgID: 1,
		Segment: []byte{0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0x20, 0, 0, 0, 1}}))
	e := recordedEnv(f)
	e.m.dpkgStatus = filepath.Join("testdata", "dpkg-status")
	sys := e.m.system(f, "x86_64")
	f.Fuzz(func(t *testing.T, in []byte) {
		o := New()
		h := imctest.New(t, o, imctest.Options{Name: imcName, Settings: e.settings,
			Platform: capability.Platform{System: sys, TPM: e.tpm},
			Logger:   hclog.NewNullLogger()})
		h.Start()
		// a contract first, so that segmentation paths are reached
		h.Batch(fromIMV(marshal(t, &patnc.SegContractRequest{MaxMsgSize: patnc.NoLimit, MaxSegSize: 100})))
		for _, m := range h.Batch(fromIMV(in)) {
			if !m.Exclusive || m.Validator != imvID {
				t.Fatalf("reply not EXCL to the IMV: %+v", m)
			}
			parse(t, m.Body)
		}
	})
}

// BenchmarkFirstMessage measures BeginHandshake on the recorded machine
// (natively, through the real host code).
func BenchmarkFirstMessage(b *testing.B) {
	e := recordedEnv(b)
	logs := &logBuffer{}
	o := New()
	opts := e.options(b, logs)
	opts.Logger = hclog.NewNullLogger()
	h := imctest.New(b, o, opts)
	h.Start()
	b.ReportAllocs()
	for b.Loop() {
		h.BeginHandshake()
	}
}

// BenchmarkInstalledPackages measures answering an Attribute Request for
// the ~700 packages of testdata/dpkg-status without a contract.
func BenchmarkInstalledPackages(b *testing.B) {
	e := recordedEnv(b)
	e.m.dpkgStatus = filepath.Join("testdata", "dpkg-status")
	opts := e.options(b, &logBuffer{})
	opts.Logger = hclog.NewNullLogger()
	h := imctest.New(b, New(), opts)
	h.Start()
	req := fromIMV(marshal(b, &patnc.AttrRequest{Types: []patnc.Type{patnc.TypeInstalledPackages}}))
	b.ReportAllocs()
	for b.Loop() {
		if len(h.Batch(req)) != 1 {
			b.Fatal("no reply")
		}
	}
}

// TestFatalErrorReceived: after an IETF PA-TNC Error from the IMV the IMC
// does not answer that message (strongSwan treats it as fatal).
func TestFatalErrorReceived(t *testing.T) {
	h, _, logs := recordedEnv(t).start(t)
	h.Start()
	reply := h.Batch(fromIMV(marshal(t,
		&patnc.PATNCError{Vendor: abi.PENIETF, Code: uint32(patnc.ErrInvalidParameter), Offset: 12},
		&patnc.AttrRequest{Types: []patnc.Type{patnc.TypeProductInfo}})))
	if len(reply) != 0 {
		t.Fatalf("answered after a fatal error: %s", dump(parse(t, reply[0].Body).Attrs))
	}
	logs.has(t, "fatal PA-TNC error received, no answer sent")
}

// TestNotInitialized: calls after a failed Initialize fail cleanly.
func TestNotInitialized(t *testing.T) {
	o := New()
	if err := o.BeginHandshake(1); err == nil {
		t.Error("BeginHandshake succeeded")
	}
	if err := o.Receive(1, fromIMV(nil)); err == nil {
		t.Error("Receive succeeded")
	}
}
