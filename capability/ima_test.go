package capability

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/internal/imagen"
	"github.com/imchost/imchost/tpmhost"
)

func imaSession(path string) *Session {
	return NewSession(SessionConfig{IMCID: 1, Settings: map[string]string{SettingIMALog: path}})
}

func imaPage(t *testing.T, s *Session, req abi.IMARequest) (abi.IMAEvents, abi.Status) {
	t.Helper()
	out, st := s.Call(abi.FnIMAEvents, abi.AppendIMARequest(nil, req))
	if st != abi.StatusOK {
		return abi.IMAEvents{}, st
	}
	v, err := abi.ParseIMAEvents(out)
	if err != nil {
		t.Fatal(err)
	}
	return v, st
}

// TestIMAEventsPaging pages through charra's real list in the sha256 bank:
// every entry once, in order, the replay of the measurements handed out
// equals the replay of the list, End on the last page, and a page out of
// order is refused.
func TestIMAEventsPaging(t *testing.T) {
	s := imaSession(testutil.Data("ima", "charra-binary_runtime_measurements"))
	defer s.Close()
	var pcr [32]byte
	next, pages := uint32(0), 0
	for {
		v, st := imaPage(t, s, abi.IMARequest{Bank: abi.AlgSHA256, Start: next, Max: 500})
		if st != abi.StatusOK {
			t.Fatalf("page at %d: status %d", next, st)
		}
		pages++
		for i, e := range v.Events {
			if e.Seq != next+uint32(i) || len(e.Measurement) != 32 {
				t.Fatalf("entry %d: seq %d, %d-byte measurement", next+uint32(i), e.Seq, len(e.Measurement))
			}
			pcr = sha256.Sum256(append(pcr[:], e.Measurement...))
		}
		if !bytes.Equal(v.PCR10, pcr[:]) || v.ListAlg != abi.AlgSHA1 {
			t.Fatalf("page %d: host PCR 10 %x, ours %x", pages, v.PCR10, pcr)
		}
		next = v.Next
		if v.End {
			break
		}
	}
	if want := "9842c6f3a154484c12df027b9becd4e7fe9590b9a877936504b079a7b894af56"; next != 1650 || pages != 4 || hex.EncodeToString(pcr[:]) != want {
		t.Fatalf("%d entries in %d pages, PCR 10 %x, want 1650, 4 and %s", next, pages, pcr, want)
	}
	if _, st := imaPage(t, s, abi.IMARequest{Bank: abi.AlgSHA256, Start: 7, Max: 5}); st != abi.StatusState {
		t.Errorf("a page from nowhere: status %d, want %d", st, abi.StatusState)
	}
	v, _ := imaPage(t, s, abi.IMARequest{Bank: abi.AlgSHA256, Start: 0, Max: 1})
	if len(v.Events) != 1 || v.Events[0].Name != "boot_aggregate" || v.Events[0].Algo != "sha256" || v.End {
		t.Errorf("a new pass: %+v", v)
	}
	for _, bad := range []abi.IMARequest{{Bank: abi.AlgSHA256, Max: 0}, {Bank: abi.AlgSHA256, Max: abi.MaxIMAPage + 1},
		{Bank: 0x0099, Max: 1}, {Bank: abi.AlgSHA256, Max: 1, QuoteHash: abi.AlgSHA256, QuoteDigest: []byte{1}}} {
		if _, st := imaPage(t, s, bad); st == abi.StatusOK {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestIMAEventsQuoteBinding: a list longer than what a quote covered (IMA
// appended while the client read it) ends at the entry that completes the
// quoted PCR 10 — found by the host from the quote's digest over PCR 10
// between other PCRs — with Matched; without a matching prefix the list
// ends unmatched.
func TestIMAEventsQuoteBinding(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ima")
	if err := imagen.WriteFile(path, imagen.Options{Entries: 3000, Seed: 3, SigEvery: 5, ViolationEvery: 700}); err != nil {
		t.Fatal(err)
	}
	reps := replayPrefix(t, path, 2345)
	before, after := bytes.Repeat([]byte{0xaa}, 10*32), bytes.Repeat([]byte{0xbb}, 32)
	sum := sha256.Sum256(append(append(bytes.Clone(before), reps...), after...))
	s := imaSession(path)
	defer s.Close()
	var got []abi.IMAEvent
	var last abi.IMAEvents
	for next := uint32(0); ; {
		v, st := imaPage(t, s, abi.IMARequest{Bank: abi.AlgSHA256, Start: next, Max: 1000,
			QuoteHash: abi.AlgSHA256, Before: before, After: after, QuoteDigest: sum[:]})
		if st != abi.StatusOK {
			t.Fatal(st)
		}
		got, last, next = append(got, v.Events...), v, v.Next
		if v.End {
			break
		}
	}
	if len(got) != 2346 || !last.Matched || !bytes.Equal(last.PCR10, reps) {
		t.Fatalf("%d entries, matched %v, PCR 10 %x; want 2346 entries ending at the quoted %x", len(got), last.Matched, last.PCR10, reps)
	}
	if got[700].Measurement[0] != 0xff || got[5].Template != "ima-sig" || len(got[5].Signature) == 0 {
		t.Errorf("violation %x, entry 5 %s sig %d bytes", got[700].Measurement, got[5].Template, len(got[5].Signature))
	}
	other := sha256.Sum256([]byte("no such PCR"))
	n, matched := 0, false
	for next := uint32(0); ; {
		v, st := imaPage(t, s, abi.IMARequest{Bank: abi.AlgSHA256, Start: next, Max: abi.MaxIMAPage,
			QuoteHash: abi.AlgSHA256, QuoteDigest: other[:]})
		if st != abi.StatusOK {
			t.Fatal(st)
		}
		n, matched, next = n+len(v.Events), v.Matched, v.Next
		if v.End {
			break
		}
	}
	if matched || n != 3001 {
		t.Errorf("unmatched: %d entries, matched %v", n, matched)
	}
}

// replayPrefix returns the sha256 PCR 10 after entry last of a list.
func replayPrefix(t *testing.T, path string, last int) []byte {
	f, rd, err := tpmhost.OpenIMALog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, _ := tpmhost.NewIMAReplayer(rd.DigestAlg(), tpmhost.AlgSHA256)
	for i := 0; i <= last; i++ {
		e, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		p.Extend(e)
	}
	return p.PCR10(0)
}

// TestIMAEventsHostile: a FIFO configured as the list fails at once instead
// of blocking the module's call; a missing list is "not found"; a broken
// list fails with the parser's reason and closes the pass.
func TestIMAEventsHostile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, st := imaPage(t, imaSession(fifo), abi.IMARequest{Bank: abi.AlgSHA256, Max: 10}); st != abi.StatusFailed || time.Since(start) > 5*time.Second {
		t.Errorf("FIFO: status %d after %v", st, time.Since(start))
	}
	if _, st := imaPage(t, imaSession(filepath.Join(dir, "none")), abi.IMARequest{Bank: abi.AlgSHA256, Max: 10}); st != abi.StatusNotFound {
		t.Errorf("missing list: status %d", st)
	}
	good, _ := os.ReadFile(testutil.Data("ima", "ibmtss-sha1.log"))
	broken := filepath.Join(dir, "broken")
	os.WriteFile(broken, append(bytes.Clone(good[:4000]), 0xff, 0xff, 0xff, 0xff, 0xff), 0o600)
	s := imaSession(broken)
	v, st := imaPage(t, s, abi.IMARequest{Bank: abi.AlgSHA256, Max: 10})
	if st != abi.StatusOK || len(v.Events) != 10 {
		t.Fatalf("first page of the broken list: %d, %d entries", st, len(v.Events))
	}
	if _, st := imaPage(t, s, abi.IMARequest{Bank: abi.AlgSHA256, Start: 10, Max: 1000}); st != abi.StatusFailed {
		t.Errorf("broken list: status %d", st)
	}
	if _, st := imaPage(t, s, abi.IMARequest{Bank: abi.AlgSHA256, Start: 10 + 1, Max: 1}); st != abi.StatusState {
		t.Errorf("after the failure: status %d", st)
	}
}
