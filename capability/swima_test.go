package capability_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
)

// swFixture is a machine root with the real dpkg status of
// internal/inventory's test data, and an empty state directory.
func swFixture(t *testing.T) (root, state string) {
	t.Helper()
	root, state = t.TempDir(), filepath.Join(t.TempDir(), "state")
	b, err := os.ReadFile("../internal/inventory/testdata/dpkg/var/lib/dpkg/status")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return root, state
}

func swSession(root, state string) *capability.Session {
	return capability.NewSession(capability.SessionConfig{IMCID: 3, Platform: capability.Platform{System: capability.NewSystem(root)}, Settings: map[string]string{capability.SettingSWState: state}})
}

func swInventoryAll(t *testing.T, s *capability.Session, max uint32) (abi.SWInventory, int) {
	t.Helper()
	var all abi.SWInventory
	next, pages := uint32(0), 0
	for {
		out, st := s.Call(abi.FnSWInventory, abi.AppendSWRequest(nil, abi.SWRequest{Start: next, Max: max}))
		if st != abi.StatusOK {
			t.Fatalf("sw_inventory from %d: status %d", next, st)
		}
		v, err := abi.ParseSWInventory(out)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all.Epoch, all.LastEID = v.Epoch, v.LastEID
		all.Items = append(all.Items, v.Items...)
		next = v.Next
		if v.End {
			return all, pages
		}
	}
}

func swEventsFrom(t *testing.T, s *capability.Session, eid, max uint32) abi.SWEvents {
	t.Helper()
	var all abi.SWEvents
	for {
		out, st := s.Call(abi.FnSWEvents, abi.AppendSWRequest(nil, abi.SWRequest{Start: eid, Max: max}))
		if st != abi.StatusOK {
			t.Fatalf("sw_events from %d: status %d", eid, st)
		}
		v, err := abi.ParseSWEvents(out)
		if err != nil {
			t.Fatal(err)
		}
		all.Epoch, all.LastEID, all.FirstEID = v.Epoch, v.LastEID, v.FirstEID
		all.Events = append(all.Events, v.Events...)
		eid = v.Next
		if v.End {
			return all
		}
	}
}

// The inventory is paged from the real databases, and the changes between
// two runs (another process's sessions: the record is on disk) come back
// as RFC 8412 events, paged too.
func TestSWInventoryAndEvents(t *testing.T) {
	root, state := swFixture(t)
	s := swSession(root, state)
	inv, pages := swInventoryAll(t, s, 3)
	s.Close()
	if len(inv.Items) != 7 || pages != 3 || inv.Epoch == 0 || inv.LastEID != 0 {
		t.Fatalf("%d items in %d pages, epoch %x, last EID %d", len(inv.Items), pages, inv.Epoch, inv.LastEID)
	}
	if it := inv.Items[0]; !reflect.DeepEqual(it, abi.SWItem{Source: "dpkg", Name: "base-files", Version: "12.4+deb12u11", Arch: "amd64"}) {
		t.Fatalf("first item %+v", it)
	}
	if fi, err := os.Stat(filepath.Join(state, "sw-events.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record: %v %v", fi, err)
	}

	// Between runs: bash removed, tzdata upgraded, three rpm packages installed.
	p := filepath.Join(root, "var/lib/dpkg/status")
	b, _ := os.ReadFile(p)
	var kept []string
	for _, st := range strings.Split(strings.TrimSpace(string(b)), "\n\n") {
		if strings.HasPrefix(st, "Package: bash\n") {
			continue
		}
		kept = append(kept, strings.Replace(st, "Version: 2025b-0+deb12u2", "Version: 2025c-0+deb12u1", 1))
	}
	os.WriteFile(p, []byte(strings.Join(kept, "\n\n")+"\n"), 0o644)
	db, _ := os.ReadFile("../internal/inventory/testdata/rpm-sqlite/var/lib/rpm/rpmdb.sqlite")
	os.MkdirAll(filepath.Join(root, "var/lib/rpm"), 0o755)
	os.WriteFile(filepath.Join(root, "var/lib/rpm/rpmdb.sqlite"), db, 0o644)

	s = swSession(root, state)
	ev := swEventsFrom(t, s, 1, 2)
	s.Close()
	if ev.Epoch != inv.Epoch || ev.LastEID != 6 || ev.FirstEID != 1 || len(ev.Events) != 6 {
		t.Fatalf("events %+v", ev)
	}
	got := map[string]uint8{}
	for i, e := range ev.Events {
		if e.EID != uint32(i+1) || e.Time == 0 {
			t.Fatalf("event %d: %+v", i, e)
		}
		got[e.Item.Source+"/"+e.Item.Name+"/"+e.Item.Version] = e.Action
	}
	// An upgrade is the deletion of the old version and the creation of the new.
	want := map[string]uint8{"dpkg/tzdata/2025b-0+deb12u2": abi.SWDeletion, "dpkg/tzdata/2025c-0+deb12u1": abi.SWCreation, "dpkg/bash/5.2.15-2+b8": abi.SWDeletion,
		"rpm/hello/2.12.1-3.fc40": abi.SWCreation, "rpm/bash/5.2.26-3.fc40": abi.SWCreation, "rpm/openssl-libs/1:3.2.2-5.fc40": abi.SWCreation}
	for k, a := range want {
		if got[k] != a {
			t.Errorf("%s: action %d, want %d (events %v)", k, got[k], a, got)
		}
	}

	// A third run: nothing changed, events from EID 5 are the last two.
	s = swSession(root, state)
	defer s.Close()
	if ev := swEventsFrom(t, s, 5, 10); len(ev.Events) != 2 || ev.Events[0].EID != 5 || ev.LastEID != 6 {
		t.Fatalf("events from 4: %+v", ev)
	}
	// Paging rules.
	if _, st := s.Call(abi.FnSWInventory, abi.AppendSWRequest(nil, abi.SWRequest{Start: 5, Max: 1})); st != abi.StatusState {
		t.Errorf("page without a pass: status %d", st)
	}
	if _, st := s.Call(abi.FnSWInventory, abi.AppendSWRequest(nil, abi.SWRequest{Max: 0})); st != abi.StatusInvalid {
		t.Errorf("page of 0: status %d", st)
	}
	if _, st := s.Call(abi.FnSWEvents, abi.AppendSWRequest(nil, abi.SWRequest{Max: abi.MaxSWPage + 1})); st != abi.StatusInvalid {
		t.Errorf("page of %d: status %d", abi.MaxSWPage+1, st)
	}
}

// The record is refused, with the machine left alone, when the state
// directory is writable by others, or the record is a link or a FIFO.
func TestSWStateRefused(t *testing.T) {
	cases := map[string]func(state string){
		"group-writable directory": func(state string) { os.Chmod(state, 0o770) },
		"record is a symlink": func(state string) {
			os.WriteFile(filepath.Join(state, "elsewhere"), []byte("{}"), 0o600)
			os.Symlink("elsewhere", filepath.Join(state, "sw-events.json"))
		},
		"record is a FIFO": func(state string) { syscall.Mkfifo(filepath.Join(state, "sw-events.json"), 0o600) },
		"record is not JSON": func(state string) {
			os.WriteFile(filepath.Join(state, "sw-events.json"), []byte("\x00garbage"), 0o600)
		},
		"events out of order": func(state string) {
			os.WriteFile(filepath.Join(state, "sw-events.json"), []byte(`{"epoch":1,"last_eid":2,"events":[{"eid":2,"action":1},{"eid":1,"action":1}]}`), 0o600)
		},
	}
	for name, prepare := range cases {
		t.Run(name, func(t *testing.T) {
			root, state := swFixture(t)
			os.MkdirAll(state, 0o700)
			prepare(state)
			s := swSession(root, state)
			defer s.Close()
			if _, st := s.Call(abi.FnSWEvents, abi.AppendSWRequest(nil, abi.SWRequest{Start: 0, Max: 10})); st != abi.StatusFailed {
				t.Fatalf("status %d, want failed", st)
			}
		})
	}
}

// SWID tag files come after the packages, with their tagId, tag creator
// and the file itself; they make no events.
func TestSWInventorySWIDTags(t *testing.T) {
	root, state := swFixture(t)
	tag, err := os.ReadFile("../internal/inventory/testdata/swidtag/usr/share/swidtag/invalid.unavailable/bash-4.4.23-4.fc30.x86_64.swidtag")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "usr/share/swidtag/invalid.unavailable"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/share/swidtag/invalid.unavailable/bash.swidtag"), tag, 0o644)
	s := swSession(root, state)
	defer s.Close()
	inv, _ := swInventoryAll(t, s, 100)
	last := inv.Items[len(inv.Items)-1]
	if len(inv.Items) != 8 || last.Source != "swidtag" || last.TagID != "unavailable.invalid.bash-4.4.23-4.fc30.x86_64" ||
		last.RegID != "invalid.unavailable" || last.Name != "bash" || string(last.Tag) != string(tag) {
		t.Fatalf("%d items, last %+v", len(inv.Items), last.Source)
	}
}
