package pdp

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

func TestStoreSoftware(t *testing.T) { engines(t, testStoreSoftware) }

// testStoreSoftware: an inventory replaces a device's software, events
// add and remove, the state follows, and a reopened store (a restarted PDP
// or a replica) sees the same.
func testStoreSoftware(t *testing.T, open func() Store) {
	ctx := context.Background()
	s := open()
	d, err := s.AddDevice(ctx, "device-1", "Debian 12 x86_64", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := s.SWState(ctx, d.ID); ok || err != nil {
		t.Fatalf("state of a new device: %v %v", ok, err)
	}
	inv := []SWPackage{
		{SWID: "strongswan.org__Debian_12-x86_64-bash-5.2.15-2~b8", Name: "bash", Version: "5.2.15-2+b8"},
		{SWID: "strongswan.org__Debian_12-x86_64-libc6-2.36-9~deb12u14", Name: "libc6", Version: "2.36-9+deb12u14"},
	}
	if err := s.SetSWInventory(ctx, d.ID, 0xabcd, 0, inv); err != nil {
		t.Fatal(err)
	}
	// A second inventory replaces the first.
	if err := s.SetSWInventory(ctx, d.ID, 0xabcd, 0, inv); err != nil {
		t.Fatal(err)
	}
	evs := []SWEventRecord{
		{Epoch: 0xabcd, EID: 1, Time: "2026-12-07T13:00:00Z", Action: 2, SWPackage: inv[0]},
		{Epoch: 0xabcd, EID: 2, Time: "2026-12-07T13:00:00Z", Action: 1,
			SWPackage: SWPackage{SWID: "strongswan.org__Debian_12-x86_64-bash-5.2.15-3", Name: "bash", Version: "5.2.15-3"}},
	}
	if err := s.AddSWEvents(ctx, d.ID, 0xabcd, 2, evs); err != nil {
		t.Fatal(err)
	}
	s = open()
	epoch, last, ok, err := s.SWState(ctx, d.ID)
	if err != nil || !ok || epoch != 0xabcd || last != 2 {
		t.Fatalf("state %x %d %v %v", epoch, last, ok, err)
	}
	got, err := s.SWPackages(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []SWPackage{evs[1].SWPackage, inv[1]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("software\n got %+v\nwant %+v", got, want)
	}
	gotEv, err := s.SWEvents(ctx, d.ID, 1)
	if err != nil || len(gotEv) != 1 || gotEv[0].EID != 2 || gotEv[0].Action != 1 || gotEv[0].SWID != evs[1].SWID {
		t.Fatalf("newest event %+v %v", gotEv, err)
	}
	if all, _ := s.SWEvents(ctx, d.ID, 10); len(all) != 2 || all[0].EID != 1 {
		t.Fatalf("events %+v", all)
	}
	// Replaying the same events (a lost answer sent again) changes nothing.
	if err := s.AddSWEvents(ctx, d.ID, 0xabcd, 2, evs); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.SWPackages(ctx, d.ID); !reflect.DeepEqual(again, want) {
		t.Fatalf("after a replay %+v", again)
	}
}

func TestStoreSoftwareChunks(t *testing.T) { engines(t, testStoreSoftwareChunks) }

// testStoreSoftwareChunks: an inventory and learned IMA references larger
// than one INSERT carries are stored whole, across the chunks; an
// inventory naming one software identifier twice in one chunk (an endpoint
// may send that) keeps the later record on both engines.
func testStoreSoftwareChunks(t *testing.T, open func() Store) {
	ctx := context.Background()
	s := open()
	defer s.Close()
	d, err := s.AddDevice(ctx, "device-chunks", "Debian 12 x86_64", false)
	if err != nil {
		t.Fatal(err)
	}
	var inv []SWPackage
	for i := range 2*insertRows + 3 {
		inv = append(inv, SWPackage{SWID: fmt.Sprintf("strongswan.org__Debian_12-x86_64-p%04d-1", i), Name: fmt.Sprintf("p%04d", i), Version: "1"})
	}
	inv = slices.Insert(inv, 5, SWPackage{SWID: inv[1].SWID, Name: inv[1].Name, Version: "2"})
	if err := s.SetSWInventory(ctx, d.ID, 1, 0, inv); err != nil {
		t.Fatal(err)
	}
	got, err := s.SWPackages(ctx, d.ID)
	if err != nil || len(got) != 2*insertRows+3 || got[1].Version != "2" || got[len(got)-1].SWID != inv[len(inv)-1].SWID {
		t.Fatalf("%d packages stored of %d, the repeated one %+v: %v", len(got), 2*insertRows+3, got[1:2], err)
	}
	var refs []IMARef
	for i := range 2*insertRows + 3 {
		refs = append(refs, IMARef{Path: fmt.Sprintf("/usr/bin/f%04d", i), Measurement: []byte{byte(i)}})
	}
	if err := s.AddIMARefs(ctx, d.ID, MeasSHA256, refs); err != nil {
		t.Fatal(err)
	}
	if ima, err := s.IMARefs(ctx, d.ID, MeasSHA256); err != nil || len(ima) != len(refs) {
		t.Fatalf("%d IMA references stored of %d: %v", len(ima), len(refs), err)
	}
}

func TestStoreSoftwareEventsShareEID(t *testing.T) { engines(t, testStoreSoftwareEventsShareEID) }

// testStoreSoftwareEventsShareEID: the four changes of one apt transaction
// that strongSwan's sw-collector records under one EID (an upgrade's
// deletion and creation, an installation, a removal) are four stored
// events, and replaying them stores none twice. A database whose events
// table still has the one-event-per-EID key (migration 4) keeps its events
// through migration 5. (Before migration 5 only the first of the four was
// stored: the TestSWIMASWCollector interop test found it.)
func testStoreSoftwareEventsShareEID(t *testing.T, open func() Store) {
	ctx := context.Background()
	s := open()
	d, err := s.AddDevice(ctx, "device-eid", "Debian 12 x86_64", false)
	if err != nil {
		t.Fatal(err)
	}
	const id = "strongswan.org__Debian_12-x86_64-"
	inv := []SWPackage{{SWID: id + "bash-5.2.15-2~b8"}, {SWID: id + "tzdata-2025b-0~deb12u2"}}
	if err := s.SetSWInventory(ctx, d.ID, 7, 2, inv); err != nil {
		t.Fatal(err)
	}

	// The events table as migration 4 made it, with one event already
	// stored and schema version 4: migration 5 must keep the event.
	st := s.(*sqlStore)
	for _, q := range []string{`DROP TABLE sw_events`, st.d.schemaSQL(migrations[3].sql[len(migrations[3].sql)-1]),
		`DELETE FROM schema_migrations WHERE version >= 5`} {
		if _, err := st.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := st.db.ExecContext(ctx, st.d.q(`INSERT INTO sw_events(device, epoch, eid, time, action, sw_id) VALUES(?, 7, 2, '2025-06-02T08:14:51Z', 1, ?)`),
		d.ID, id+"tzdata-2025b-0~deb12u2"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open()
	if evs, err := s.SWEvents(ctx, d.ID, 10); err != nil || len(evs) != 1 || evs[0].EID != 2 {
		t.Fatalf("the event stored before migration 5: %+v %v", evs, err)
	}

	tr := []SWEventRecord{
		{Epoch: 7, EID: 3, Time: "2025-07-01T09:30:00Z", Action: 1, SWPackage: SWPackage{SWID: id + "hello-2.10-3"}},
		{Epoch: 7, EID: 3, Time: "2025-07-01T09:30:00Z", Action: 1, SWPackage: SWPackage{SWID: id + "tzdata-2025c-0~deb12u1"}},
		{Epoch: 7, EID: 3, Time: "2025-07-01T09:30:00Z", Action: 2, SWPackage: SWPackage{SWID: id + "tzdata-2025b-0~deb12u2"}},
		{Epoch: 7, EID: 3, Time: "2025-07-01T09:30:00Z", Action: 2, SWPackage: SWPackage{SWID: id + "bash-5.2.15-2~b8"}},
	}
	for range 2 { // the second time a replay
		if err := s.AddSWEvents(ctx, d.ID, 7, 3, tr); err != nil {
			t.Fatal(err)
		}
		evs, err := s.SWEvents(ctx, d.ID, 10)
		if err != nil || len(evs) != 5 {
			t.Fatalf("%d events stored, want 5 (%+v %v)", len(evs), evs, err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%d %d %s", e.EID, e.Action, e.SWID))
		}
		slices.Sort(got)
		want := []string{"2 1 " + id + "tzdata-2025b-0~deb12u2", "3 1 " + id + "hello-2.10-3", "3 1 " + id + "tzdata-2025c-0~deb12u1",
			"3 2 " + id + "bash-5.2.15-2~b8", "3 2 " + id + "tzdata-2025b-0~deb12u2"}
		if !slices.Equal(got, want) {
			t.Fatalf("events\n got %q\nwant %q", got, want)
		}
		pkgs, err := s.SWPackages(ctx, d.ID)
		if err != nil || len(pkgs) != 2 || pkgs[0].SWID != id+"hello-2.10-3" || pkgs[1].SWID != id+"tzdata-2025c-0~deb12u1" {
			t.Fatalf("software after the transaction %+v %v", pkgs, err)
		}
	}
}
