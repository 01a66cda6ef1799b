package capability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/inventory"
)

// SettingSWState is the IMC setting naming the directory where the host
// keeps its record of software inventory changes (sw_events), default
// DefaultSWStateDir. Like the compilation cache it must belong to this user
// or root and be writable by no one else, nor may any directory above it.
const SettingSWState = "state_dir"

// DefaultSWStateDir is the agent's state directory.
const DefaultSWStateDir = "/var/lib/imchost"

// InventoryRoot is implemented by a System whose files live under a
// directory (FSSystem: "/" in production, a fixture in tests); the
// package databases of any other System are read at "/".
type InventoryRoot interface{ InventoryRoot() string }

// swRecordMu serialises the record's updates within this process
// (inventory.LockRecord does so between processes).
var swRecordMu sync.Mutex

// swPass is one session's open pass over the inventory (sw_inventory).
type swPass struct {
	epoch, lastEID uint32
	items          []abi.SWItem
	next           uint32
}

func (s *Session) swRoot() string {
	if r, ok := s.c.Platform.System.(InventoryRoot); ok && r.InventoryRoot() != "" {
		return r.InventoryRoot()
	}
	return "/"
}

func (s *Session) swStateDir() string {
	if d := s.c.Settings[SettingSWState]; d != "" {
		return d
	}
	return DefaultSWStateDir
}

// swRefresh reads the package databases, records what changed since the
// record's last reading, saves it, and returns it with the reading.
func (s *Session) swRefresh(fn string) (*inventory.Record, []inventory.Package, error) {
	pkgs, err := inventory.Read(s.swRoot())
	if errors.Is(err, inventory.ErrNoDatabase) {
		pkgs, err = nil, nil
	}
	if err != nil {
		return nil, nil, fail(fn, abi.StatusFailed, err)
	}
	dir := s.swStateDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fail(fn, abi.StatusFailed, err)
	}
	if err := inventory.CheckStateDir(dir); err != nil {
		return nil, nil, fail(fn, abi.StatusFailed, fmt.Errorf("state directory refused: %w", err))
	}
	swRecordMu.Lock()
	defer swRecordMu.Unlock()
	unlock, err := inventory.LockRecord(dir)
	if err != nil {
		return nil, nil, fail(fn, abi.StatusFailed, err)
	}
	defer unlock()
	rec, err := inventory.LoadRecord(dir)
	if err != nil {
		return nil, nil, fail(fn, abi.StatusFailed, err)
	}
	if n := rec.Update(pkgs, time.Now()); n > 0 || rec.LastEID == 0 {
		if err := rec.Save(dir); err != nil {
			return nil, nil, fail(fn, abi.StatusFailed, err)
		}
		if n > 0 {
			s.log.Info(fmt.Sprintf("recorded %d software inventory %s (last EID %d)", n, map[bool]string{true: "change", false: "changes"}[n == 1], rec.LastEID))
		}
	}
	return rec, pkgs, nil
}

func swItem(p inventory.Package) abi.SWItem {
	return abi.SWItem{Source: string(p.Manager), Name: p.Name, Version: p.Version, Arch: p.Arch}
}

func checkSWRequest(fn string, in []byte) (abi.SWRequest, error) {
	req, err := abi.ParseSWRequest(in)
	if err != nil {
		return req, err
	}
	if req.Max == 0 || req.Max > abi.MaxSWPage {
		return req, fail(fn, abi.StatusInvalid, fmt.Errorf("page of %d entries (want 1..%d)", req.Max, abi.MaxSWPage))
	}
	return req, nil
}

// swInventory implements sw_inventory.
func (s *Session) swInventory(_ context.Context, in []byte) ([]byte, error) {
	if s.c.Platform.System == nil {
		return nil, ErrUnavailable
	}
	req, err := checkSWRequest(abi.FnSWInventory, in)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	p := s.sw
	s.mu.Unlock()
	if req.Start == 0 {
		rec, pkgs, err := s.swRefresh(abi.FnSWInventory)
		if err != nil {
			return nil, err
		}
		p = &swPass{epoch: rec.Epoch, lastEID: rec.LastEID}
		for _, pk := range pkgs {
			p.items = append(p.items, swItem(pk))
		}
		tags, err := inventory.ReadSWIDTags(s.swRoot())
		if err != nil {
			s.log.Warn(fmt.Sprintf("reading SWID tags: %v", err))
		}
		for _, t := range tags {
			p.items = append(p.items, abi.SWItem{Source: "swidtag", Name: t.Name, Version: t.Version, TagID: t.TagID, RegID: t.RegID, Tag: t.XML})
		}
		s.mu.Lock()
		s.sw = p
		s.mu.Unlock()
	} else if p == nil || p.next != req.Start {
		return nil, fail(abi.FnSWInventory, abi.StatusState,
			fmt.Errorf("page from entry %d: the open pass is elsewhere (start again from 0)", req.Start))
	}
	out := abi.SWInventory{Epoch: p.epoch, LastEID: p.lastEID}
	size, i := 0, p.next
	for ; i < uint32(len(p.items)) && i-p.next < req.Max && size < abi.MaxSWPageBytes; i++ {
		it := p.items[i]
		size += 28 + len(it.Source) + len(it.Name) + len(it.Version) + len(it.Arch) + len(it.TagID) + len(it.RegID) + len(it.Tag)
		out.Items = append(out.Items, it)
	}
	p.next, out.Next = i, i
	out.End = i == uint32(len(p.items))
	return abi.AppendSWInventory(nil, out), nil
}

// swEvents implements sw_events.
func (s *Session) swEvents(_ context.Context, in []byte) ([]byte, error) {
	if s.c.Platform.System == nil {
		return nil, ErrUnavailable
	}
	req, err := checkSWRequest(abi.FnSWEvents, in)
	if err != nil {
		return nil, err
	}
	var rec *inventory.Record
	if req.Start <= 1 {
		rec, _, err = s.swRefresh(abi.FnSWEvents)
		if err == nil {
			s.mu.Lock()
			s.swRec = rec
			s.mu.Unlock()
		}
	} else {
		s.mu.Lock()
		rec = s.swRec
		s.mu.Unlock()
		if rec == nil {
			rec, _, err = s.swRefresh(abi.FnSWEvents)
			s.mu.Lock()
			s.swRec = rec
			s.mu.Unlock()
		}
	}
	if err != nil {
		return nil, err
	}
	out := abi.SWEvents{Epoch: rec.Epoch, LastEID: rec.LastEID, FirstEID: rec.FirstEID(), Next: req.Start}
	size := 0
	evs := rec.EventsFrom(req.Start)
	n := 0
	for ; n < len(evs) && uint32(n) < req.Max && size < abi.MaxSWPageBytes; n++ {
		e := evs[n]
		it := swItem(e.Item)
		size += 41 + len(it.Source) + len(it.Name) + len(it.Version) + len(it.Arch)
		out.Events = append(out.Events, abi.SWEvent{EID: e.EID, Time: e.Time, Action: e.Action, Item: it})
		out.Next = e.EID + 1
	}
	out.End = n == len(evs)
	return abi.AppendSWEvents(nil, out), nil
}
