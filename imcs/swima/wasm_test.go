//go:build !wasip1

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/internal/testutil"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/sdk/wasmtest"
)

// grants is the grant list README.md documents.
var grants = []string{
	abi.FnSend, abi.FnSubscribe, abi.FnLog, abi.FnLogLevel, abi.FnConfigGet, abi.FnOSRelease,
	abi.FnSystemFacts, abi.FnReport, abi.FnSWInventory, abi.FnSWEvents,
}

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBuilt()
	os.Exit(code)
}

// wasmModule returns imc-swima.wasm: the one `make` built into
// $IMCHOST_WASM_DIR, else a build of this package (once per test binary).
func wasmModule(t *testing.T) string { return testutil.Module(t, "imc-swima.wasm", ".") }

// machine is a Debian 12 root with the real dpkg status of
// internal/inventory's test data, and the agent's state directory.
type machine struct{ root, state string }

func newMachine(t *testing.T) machine {
	m := machine{root: t.TempDir(), state: filepath.Join(t.TempDir(), "state")}
	m.write(t, "etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n")
	m.write(t, "proc/stat", "cpu  1 2 3\nbtime 1653985578\n")
	b, err := os.ReadFile("../../internal/inventory/testdata/dpkg/var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	m.write(t, "var/lib/dpkg/status", string(b))
	return m
}

func (m machine) write(t *testing.T, p, s string) {
	t.Helper()
	p = filepath.Join(m.root, p)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// start loads the built module into the real host with the README's grants.
func (m machine) start(t *testing.T, settings map[string]string) (*imctest.Harness, *strings.Builder) {
	t.Helper()
	var logs strings.Builder
	var mu sync.Mutex
	s := map[string]string{capability.SettingSWState: m.state}
	for k, v := range settings {
		s[k] = v
	}
	h := wasmtest.New(t, wasmModule(t), imctest.Options{
		ID: 3, Name: imcName, Settings: s, Grants: grants,
		Platform: capability.Platform{System: &capability.FSSystem{Root: m.root, Arch: "x86_64"}},
		Logger:   hclog.New(&hclog.LoggerOptions{Output: lockedWriter{&mu, &logs}, Level: hclog.Trace, DisableTime: true}),
	})
	return h, &logs
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

const imvID = 5

// request builds a PA-TNC message from the IMV.
func request(t *testing.T, attrs ...patnc.Attr) imc.Message {
	t.Helper()
	body, err := (&patnc.Message{ID: 1, Attrs: attrs}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return imc.Message{Type: msgTypeSWIMA, Collector: 3, Validator: imvID, Exclusive: true, Body: body}
}

// answer is the one attribute list the module sent back, EXCL to the IMV.
func answer(t *testing.T, sent []imc.Message) []patnc.Attr {
	t.Helper()
	if len(sent) != 1 || sent[0].Type != msgTypeSWIMA || sent[0].Validator != imvID || !sent[0].Exclusive {
		t.Fatalf("sent %+v", sent)
	}
	m, err := patnc.ParseMessage(sent[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	return m.Attrs
}

// wantIDs are the software identifiers strongSwan forms for the dpkg
// packages (dpkg-query's listing of the fixture): regid__OS-name-version,
// ':' and '+' as '~'.
func wantIDs(t *testing.T) []string {
	b, err := os.ReadFile("../../internal/inventory/testdata/dpkg.query")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		f := strings.Split(strings.TrimSpace(line), "\t")
		id := "strongswan.org__Debian_12-x86_64-" + f[0] + "-" + f[1]
		out = append(out, strings.NewReplacer(":", "~", "+", "~").Replace(id))
	}
	return out
}

func TestWasmInventory(t *testing.T) {
	m := newMachine(t)
	h, _ := m.start(t, nil)
	if subs := h.Subscriptions(); len(subs) != 1 || subs[0] != msgTypeSWIMA {
		t.Fatalf("subscriptions %v", subs)
	}
	if sent := h.Start(); len(sent) != 0 {
		t.Fatalf("sent %d messages unasked", len(sent))
	}
	// Software Identifier Inventory.
	attrs := answer(t, h.Batch(request(t, &patnc.SWRequest{Flags: patnc.SWReqIdentifiersOnly, RequestID: 42})))
	inv, ok := attrs[0].(*patnc.SWInventory)
	if len(attrs) != 1 || !ok || !inv.IDsOnly || inv.RequestID != 42 || inv.EIDEpoch == 0 || inv.LastEID != 0 {
		t.Fatalf("answer %#v", attrs)
	}
	want := wantIDs(t)
	if len(inv.Records) != len(want) {
		t.Fatalf("%d records, want %d", len(inv.Records), len(want))
	}
	for i, r := range inv.Records {
		if r.SoftwareID != want[i] || r.Record != nil || r.DataModelPEN != 0 || r.DataModelType != 0 {
			t.Errorf("record %d: %+v, want %s", i, r, want[i])
		}
	}
	// Software Inventory, targeted at one identifier: its SWID tag.
	attrs = answer(t, h.Batch(request(t, &patnc.SWRequest{RequestID: 43, SoftwareIDs: []string{want[3]}})))
	inv = attrs[0].(*patnc.SWInventory)
	if inv.IDsOnly || len(inv.Records) != 1 || inv.Records[0].SoftwareID != want[3] ||
		!bytes.Contains(inv.Records[0].Record, []byte(`tagId="`+strings.TrimPrefix(want[3], "strongswan.org__")+`"`)) ||
		!bytes.Contains(inv.Records[0].Record, []byte(`name="libc6"`)) {
		t.Fatalf("targeted inventory %+v", inv.Records)
	}
	if !h.Alive() {
		t.Fatal("module died")
	}
}

// Events: between two sessions a package is removed and one upgraded; a
// request for the events from EID 1 gets them. Within a session, a
// subscription pushes the changes at the next handshake.
func TestWasmEventsAndSubscription(t *testing.T) {
	m := newMachine(t)
	h, _ := m.start(t, nil)
	inv := answer(t, h.Batch(request(t, &patnc.SWRequest{Flags: patnc.SWReqIdentifiersOnly | patnc.SWReqSubscribe, RequestID: 7})))[0].(*patnc.SWInventory)
	status, _ := os.ReadFile(filepath.Join(m.root, "var/lib/dpkg/status"))
	m.write(t, "var/lib/dpkg/status", strings.Replace(string(status), "Version: 2025b-0+deb12u2", "Version: 2025c-0+deb12u1", 1))

	// The same session begins another handshake (a retry): the change is pushed.
	pushed := answer(t, h.BeginHandshake())
	ev, ok := pushed[0].(*patnc.SWEvents)
	// The upgrade: the old version deleted (EID 1), the new one created (EID 2).
	if !ok || !ev.IDsOnly || ev.RequestID != 7 || ev.EIDEpoch != inv.EIDEpoch || ev.LastEID != 2 || len(ev.Events) != 2 ||
		ev.Events[0].Action != patnc.SWActionDeletion || ev.Events[0].EID != 1 ||
		ev.Events[0].Record.SoftwareID != "strongswan.org__Debian_12-x86_64-tzdata-2025b-0~deb12u2" ||
		ev.Events[1].Action != patnc.SWActionCreation || ev.Events[1].EID != 2 ||
		ev.Events[1].Record.SoftwareID != "strongswan.org__Debian_12-x86_64-tzdata-2025c-0~deb12u1" || len(ev.Events[0].Timestamp) != 20 {
		t.Fatalf("pushed %#v", pushed)
	}
	// Without a change the next handshake gets the push all the same, with
	// no events (strongSwan's imv-swima, subscribed, waits for it).
	if again := answer(t, h.BeginHandshake()); len(again) != 1 {
		t.Fatalf("pushed without a change: %#v", again)
	} else if ev, ok := again[0].(*patnc.SWEvents); !ok || ev.RequestID != 7 || ev.LastEID != 2 || len(ev.Events) != 0 {
		t.Fatalf("pushed without a change: %#v", again[0])
	}
	// Clearing the subscription stops the pushes.
	answer(t, h.Batch(request(t, &patnc.SWRequest{Flags: patnc.SWReqClearSubscriptions | patnc.SWReqIdentifiersOnly, RequestID: 8})))
	h.Close()

	// Another session after bash was removed: events from EID 1, with records.
	var kept []string
	for _, st := range strings.Split(strings.TrimSpace(string(status)), "\n\n") {
		if !strings.HasPrefix(st, "Package: bash\n") {
			kept = append(kept, strings.Replace(st, "Version: 2025b-0+deb12u2", "Version: 2025c-0+deb12u1", 1))
		}
	}
	m.write(t, "var/lib/dpkg/status", strings.Join(kept, "\n\n")+"\n")
	h, _ = m.start(t, nil)
	ev = answer(t, h.Batch(request(t, &patnc.SWRequest{RequestID: 9, EarliestEID: 1})))[0].(*patnc.SWEvents)
	if ev.IDsOnly || ev.LastEID != 3 || ev.LastConsultedEID != 3 || len(ev.Events) != 3 ||
		ev.Events[2].Action != patnc.SWActionDeletion || ev.Events[2].Record.SoftwareID != "strongswan.org__Debian_12-x86_64-bash-5.2.15-2~b8" ||
		!bytes.Contains(ev.Events[2].Record.Record, []byte(`name="bash"`)) {
		t.Fatalf("events %#v", ev)
	}
	// From EID 3: only the deletion.
	ev = answer(t, h.Batch(request(t, &patnc.SWRequest{RequestID: 10, EarliestEID: 3, Flags: patnc.SWReqIdentifiersOnly})))[0].(*patnc.SWEvents)
	if len(ev.Events) != 1 || ev.Events[0].EID != 3 {
		t.Fatalf("events from 3: %#v", ev)
	}
}

// TestWasmSubscriptionStatus: a Subscription Status Request (RFC 8412
// §3.8.4, §5.11) is answered with the asking IMV's active subscriptions,
// each the fields of its establishing request (§5.12): none, then the
// targeted subscription with its flags, Subscription ID, Earliest EID and
// targets, none for another IMV, none once cleared. A status request in
// the same message as a SW Request is answered in the same message.
func TestWasmSubscriptionStatus(t *testing.T) {
	m := newMachine(t)
	h, _ := m.start(t, nil)
	status := func(validator uint32) []patnc.SubscriptionRecord {
		t.Helper()
		msg := request(t, &patnc.SubscriptionStatusRequest{})
		msg.Validator = validator
		sent := h.Batch(msg)
		if len(sent) != 1 || sent[0].Validator != validator {
			t.Fatalf("sent %+v", sent)
		}
		pm, err := patnc.ParseMessage(sent[0].Body)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := pm.Attrs[0].(*patnc.SubscriptionStatusResponse)
		if len(pm.Attrs) != 1 || !ok {
			t.Fatalf("answer %#v", pm.Attrs)
		}
		return r.Subscriptions
	}
	if subs := status(imvID); len(subs) != 0 {
		t.Fatalf("before any subscription: %+v", subs)
	}
	target := wantIDs(t)[2]
	attrs := answer(t, h.Batch(request(t, &patnc.SWRequest{Flags: patnc.SWReqSubscribe | patnc.SWReqIdentifiersOnly,
		RequestID: 21, EarliestEID: 0, SoftwareIDs: []string{target}}, &patnc.SubscriptionStatusRequest{})))
	if len(attrs) != 2 || attrs[0].Type() != patnc.TypeSWIdentifierInventory {
		t.Fatalf("subscribing answer %#v", attrs)
	}
	want := []patnc.SubscriptionRecord{{Flags: patnc.SWReqSubscribe | patnc.SWReqIdentifiersOnly, RequestID: 21, SoftwareIDs: []string{target}}}
	if r, ok := attrs[1].(*patnc.SubscriptionStatusResponse); !ok || !reflect.DeepEqual(r.Subscriptions, want) {
		t.Fatalf("status in the same message: %#v", attrs[1])
	}
	if subs := status(imvID); !reflect.DeepEqual(subs, want) {
		t.Fatalf("status: %+v, want %+v", subs, want)
	}
	if subs := status(imvID + 1); len(subs) != 0 {
		t.Fatalf("another IMV's status: %+v", subs)
	}
	answer(t, h.Batch(request(t, &patnc.SWRequest{Flags: patnc.SWReqClearSubscriptions | patnc.SWReqIdentifiersOnly, RequestID: 22})))
	if subs := status(imvID); len(subs) != 0 {
		t.Fatalf("after clearing: %+v", subs)
	}
}

// TestWasmSourceMetadata: a Source Metadata Request (RFC 8412 §5.13) is
// answered with the IMC's one source, the Source ID its records carry.
func TestWasmSourceMetadata(t *testing.T) {
	m := newMachine(t)
	h, _ := m.start(t, nil)
	attrs := answer(t, h.Batch(request(t, &patnc.SWRequest{Flags: patnc.SWReqIdentifiersOnly, RequestID: 31}, &patnc.SourceMetadataRequest{})))
	inv, ok1 := attrs[0].(*patnc.SWInventory)
	r, ok2 := attrs[1].(*patnc.SourceMetadataResponse)
	if len(attrs) != 2 || !ok1 || !ok2 || len(r.Sources) != 1 || r.Sources[0].SourceID != sourceID ||
		!strings.Contains(r.Sources[0].Metadata, "dpkg, rpm and apk") {
		t.Fatalf("answer %#v", attrs)
	}
	for _, rec := range inv.Records {
		if rec.SourceID != r.Sources[0].SourceID {
			t.Fatalf("record %+v of an undescribed source", rec)
		}
	}
}

// Errors: subscriptions denied by the setting, a reused subscription ID,
// and malformed messages get their PA-TNC errors; the module lives on.
func TestWasmErrors(t *testing.T) {
	m := newMachine(t)
	h, _ := m.start(t, map[string]string{settingSubscriptions: "false"})
	attrs := answer(t, h.Batch(request(t, &patnc.SWRequest{Flags: patnc.SWReqSubscribe | patnc.SWReqIdentifiersOnly, RequestID: 11})))
	e, ok := attrs[0].(*patnc.PATNCError)
	if len(attrs) != 2 || !ok || e.Code != uint32(patnc.ErrSWIMASubscriptionDenied) {
		t.Fatalf("answer %#v", attrs)
	}
	if info, err := patnc.ParseSWIMAErrorInfo(patnc.ErrorCode(e.Code), e.Info); err != nil || info.RequestID != 11 || info.Description != "subscriptions not enabled" {
		t.Fatalf("error info %+v %v", info, err)
	}
	if _, ok := attrs[1].(*patnc.SWInventory); !ok {
		t.Fatalf("no inventory after the denial: %#v", attrs[1])
	}
	h.Close()

	h, _ = m.start(t, nil)
	answer(t, h.Batch(request(t, &patnc.SWRequest{Flags: patnc.SWReqSubscribe | patnc.SWReqIdentifiersOnly, RequestID: 12})))
	attrs = answer(t, h.Batch(request(t, &patnc.SWRequest{Flags: patnc.SWReqSubscribe | patnc.SWReqIdentifiersOnly, RequestID: 12})))
	if e, ok := attrs[0].(*patnc.PATNCError); !ok || e.Code != uint32(patnc.ErrSWIMASubscriptionIDReuse) {
		t.Fatalf("reuse: %#v", attrs)
	}
	for _, body := range [][]byte{{}, {1}, {2, 0, 0, 0, 0, 0, 0, 1}, {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 13, 0, 0, 0, 13, 0}} {
		sent := h.Batch(imc.Message{Type: msgTypeSWIMA, Collector: 3, Validator: imvID, Exclusive: true, Body: body})
		if attrs := answer(t, sent); len(attrs) != 1 || attrs[0].Type() != patnc.TypePATNCError {
			t.Fatalf("% x: answer %#v", body, attrs)
		}
	}
	if !h.Alive() {
		t.Fatal("module died on a malformed message")
	}
}

// TestWasmNeedsItsGrants: the module loads with the documented grants and
// is refused without any one of them.
func TestWasmNeedsItsGrants(t *testing.T) {
	wasmtest.ExactGrants(t, wasmModule(t), imctest.Options{Name: imcName, Grants: grants, Root: newMachine(t).root})
}
