package patnc

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/imchost/imchost/internal/testutil"
)

// strongSwanSWIMA reads a PA-TNC message strongSwan 5.9.8's imc-swima sent
// (testdata/swima/strongswan-*.hex) and checks that it re-encodes byte for
// byte.
func strongSwanSWIMA(t *testing.T, name string) Attr {
	t.Helper()
	b, err := os.ReadFile(testutil.Data("swima", name))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMessage(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	again, err := m.Marshal()
	if err != nil || !bytes.Equal(again, raw) {
		t.Fatalf("%s re-encoded differently (%v):\n got %x\nwant %x", name, err, again, raw)
	}
	if len(m.Attrs) != 1 {
		t.Fatalf("%s: %d attributes", name, len(m.Attrs))
	}
	return m.Attrs[0]
}

// TestStrongSwanSWIDInventory: the Software Identifier Inventory (RFC 8412
// §5.8) strongSwan's imc-swima sent from a sw-collector database and two
// SWID tag files (tests/interop TestSWIMASWCollector): the database's
// records with their record IDs and source 1, the tag files' with record
// ID 0, source 2 and a file:// locator.
func TestStrongSwanSWIDInventory(t *testing.T) {
	a, ok := strongSwanSWIMA(t, "strongswan-sw-id-inventory.hex").(*SWInventory)
	if !ok || !a.IDsOnly || a.Type() != (Type{Vendor: 0, Type: 14}) || a.EIDEpoch != 0x62516e8a || a.LastEID != 2 || len(a.Records) != 10 {
		t.Fatalf("%#v", a)
	}
	const pre = "strongswan.org__Debian_12-x86_64-"
	if r := a.Records[2]; r.RecordID != 5 || r.SourceID != 1 || r.SoftwareID != pre+"diffutils-1~3.8-4" || r.Locator != "" || r.Record != nil {
		t.Errorf("record 3: %#v", r)
	}
	if r := a.Records[6]; r.RecordID != 1 || r.SoftwareID != pre+"libssl3-3.0.19-1~deb12u2" {
		t.Errorf("record 7: %#v", r)
	}
	if r := a.Records[9]; r.RecordID != 0 || r.SourceID != 2 || r.SoftwareID != "example.org__example.org-monitor-0.9" ||
		!strings.HasPrefix(r.Locator, "file:///tmp/") || !strings.HasSuffix(r.Locator, "/usr/share") {
		t.Errorf("record 10: %#v", r)
	}
}

// TestStrongSwanSWIDEvents: the Software Identifier Events (RFC 8412 §5.9)
// strongSwan's imc-swima sent for one apt transaction recorded by its
// sw-collector: four events sharing EID 3, in its order (by identifier).
func TestStrongSwanSWIDEvents(t *testing.T) {
	a, ok := strongSwanSWIMA(t, "strongswan-sw-id-events.hex").(*SWEvents)
	if !ok || !a.IDsOnly || a.Type() != (Type{Vendor: 0, Type: 15}) || a.EIDEpoch != 0x62516e8a || a.LastEID != 3 || a.LastConsultedEID != 3 || len(a.Events) != 4 {
		t.Fatalf("%#v", a)
	}
	const pre = "strongswan.org__Debian_12-x86_64-"
	want := []struct {
		action uint8
		id     string
	}{{SWActionDeletion, "bash-5.2.15-2~b8"}, {SWActionCreation, "hello-2.10-3"}, {SWActionDeletion, "tzdata-2025b-0~deb12u2"}, {SWActionCreation, "tzdata-2025c-0~deb12u1"}}
	for i, e := range a.Events {
		if e.EID != 3 || e.Timestamp != "2025-07-01T09:30:00Z" || e.Action != want[i].action || e.Record.SoftwareID != pre+want[i].id || e.Record.SourceID != 1 {
			t.Errorf("event %d: %#v", i+1, e)
		}
	}
}
