package tpmhost_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/imchost/imchost/tpmhost"
)

// logFiles lists the bundled event logs (every file with a .pcrs beside it).
func logFiles(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(testutil.Data("eventlogs", "*.pcrs"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no event logs in testdata: %v", err)
	}
	for i := range m {
		m[i] = strings.TrimSuffix(m[i], ".pcrs")
	}
	return m
}

type pcrLine struct {
	bank tpmhost.Alg
	pcr  int
	val  []byte
}

// readPCRFile reads a `bank index hex` file (# comments).
func readPCRFile(t testing.TB, path string) []pcrLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pcrLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 3 {
			t.Fatalf("%s: bad line %q", path, line)
		}
		bank, err := tpmhost.ParseAlg(fs[0])
		if err != nil {
			t.Fatal(err)
		}
		idx, err := strconv.Atoi(fs[1])
		if err != nil {
			t.Fatal(err)
		}
		v, err := hex.DecodeString(fs[2])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pcrLine{bank, idx, v})
	}
	return out
}

// TestReplayBundledLogs: every bundled log replays (all banks) to exactly the
// lines of its .pcrs file, written by WritePCRs in the same format.
func TestReplayBundledLogs(t *testing.T) {
	for _, path := range logFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want := readPCRFile(t, path+".pcrs")
			l, err := tpmhost.ReadEventLog(path)
			if name == "specid-vendordata.bin" {
				var le *tpmhost.EventLogError
				if !errors.As(err, &le) || l != nil || !strings.Contains(le.Field, "vendorInfoSize") {
					t.Fatalf("want an EventLogError naming vendorInfoSize, got %v", err)
				}
				t.Logf("error as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			replays, err := l.ReplayAll()
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := tpmhost.WritePCRs(&got, replays...); err != nil {
				t.Fatal(err)
			}
			var wantText strings.Builder
			for _, w := range want {
				wantText.WriteString(w.bank.String() + " " + strconv.Itoa(w.pcr) + " " + hex.EncodeToString(w.val) + "\n")
			}
			if got.String() != wantText.String() {
				t.Errorf("replay of %s (%s, banks %v):\n got:\n%s\nwant:\n%s", name, l.Format, l.Banks, got.String(), wantText.String())
			}
			// Compare agrees: no mismatch against the expected values.
			for _, r := range replays {
				actual := map[int][]byte{}
				for _, w := range want {
					if w.bank == r.Bank {
						actual[w.pcr] = w.val
					}
				}
				if mm := l.Compare(r, actual); len(mm) != 0 {
					t.Errorf("Compare: %v", mm)
				}
			}
		})
	}
}

func TestEventLogFacts(t *testing.T) {
	l, err := tpmhost.ReadEventLog(testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != tpmhost.FormatCryptoAgile || len(l.Events) != 106 {
		t.Fatalf("format %s, %d events; want crypto-agile, 106 (Spec ID + 105)", l.Format, len(l.Events))
	}
	if got := l.Banks; len(got) != 3 || got[0] != tpmhost.AlgSHA1 || got[1] != tpmhost.AlgSHA256 || got[2] != tpmhost.AlgSHA384 {
		t.Errorf("banks %v", got)
	}
	ev := l.Events[7] // event 7 is the 11 974-byte EV_EFI_VARIABLE_DRIVER_CONFIG
	if ev.Seq != 7 || ev.Type != tpmhost.EvEFIVariableDriverConfig || len(ev.Data) != 11974 {
		t.Errorf("event 7: seq %d %s %d bytes", ev.Seq, ev.Type, len(ev.Data))
	}
	if ev.Type.String() != "EV_EFI_VARIABLE_DRIVER_CONFIG" || tpmhost.EventType(0x1234).String() != "EV_0x00001234" {
		t.Errorf("type names %q %q", ev.Type, tpmhost.EventType(0x1234))
	}
	// Per-PCR counts of the log (strongSwan 6.0.6 sent the same evidence).
	counts := map[uint32]int{}
	for _, ev := range l.Events {
		if ev.Type != tpmhost.EvNoAction {
			counts[ev.PCR]++
		}
	}
	want := map[uint32]int{0: 3, 1: 6, 2: 1, 3: 1, 4: 4, 5: 4, 6: 1, 7: 7, 8: 67, 9: 9, 14: 2}
	for p, n := range want {
		if counts[p] != n {
			t.Errorf("PCR %d: %d events, want %d", p, counts[p], n)
		}
	}
	if _, ok := l.StartupLocality(); ok {
		t.Error("this log has no StartupLocality event")
	}
	// The first SHA-256 digest is the one of the recorded first Simple
	// Component Evidence (PTS IF-M Binding §3.15.1).
	first, _ := l.Events[1].Digest(tpmhost.AlgSHA256)
	if d := hex.EncodeToString(first); d != "d0fcf11a32a8fbf5a4e1a58cd74dd2357d07e7503b5b6afd5a7989a98e17be7f" {
		t.Errorf("first sha256 digest %s", d)
	}
	var out bytes.Buffer
	if err := tpmhost.WriteEvents(&out, l, tpmhost.AlgSHA256); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 107 || !strings.Contains(lines[8], "EV_EFI_VARIABLE_DRIVER_CONFIG") || strings.Contains(out.String(), "sha1:") {
		t.Errorf("WriteEvents: %d lines, line 8 %q", len(lines), lines[8])
	}
}

func TestStartupLocalityEvent(t *testing.T) {
	l, err := tpmhost.ReadEventLog(testutil.Data("eventlogs", "glinux-alex.bin"))
	if err != nil {
		t.Fatal(err)
	}
	loc, ok := l.StartupLocality()
	if !ok || loc != 3 {
		t.Fatalf("StartupLocality = %d, %v; want 3, true", loc, ok)
	}
	if c := l.LocalityCandidates(); len(c) != 3 || c[0] != 3 || c[1] != 0 || c[2] != 4 {
		t.Errorf("candidates %v, want [3 0 4]", c)
	}
	// The .pcrs sha256 values were read from the machine's TPM: detection
	// must pick 3, and seed 0 must not reproduce PCR 0.
	var pcr0 []byte
	for _, w := range readPCRFile(t, testutil.Data("eventlogs", "glinux-alex.bin.pcrs")) {
		if w.bank == tpmhost.AlgSHA256 && w.pcr == 0 {
			pcr0 = w.val
		}
	}
	got, matched, err := l.DetectLocality(tpmhost.AlgSHA256, pcr0)
	if err != nil || !matched || got != 3 {
		t.Fatalf("DetectLocality = %d, %v, %v", got, matched, err)
	}
	r0, _ := l.ReplayLocality(tpmhost.AlgSHA256, 0)
	if bytes.Equal(r0.Value(0), pcr0) {
		t.Error("seed 0 reproduces PCR 0; the test proves nothing")
	}
	if _, matched, _ := l.DetectLocality(tpmhost.AlgSHA256, make([]byte, 32)); matched {
		t.Error("a zero PCR 0 matched some seed")
	}
}

// TestEBSQuirk: the plain replay of ebs_event_missing_eventlog misses the
// TPM's PCR 5; only the explicit workaround matches it, and says so.
func TestEBSQuirk(t *testing.T) {
	path := testutil.Data("eventlogs", "ebs_event_missing_eventlog")
	l, err := tpmhost.ReadEventLog(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.Replay(tpmhost.AlgSHA1)
	if err != nil {
		t.Fatal(err)
	}
	actual := map[int][]byte{}
	for _, w := range readPCRFile(t, path+".tpm-pcrs") {
		actual[w.pcr] = w.val
	}
	mm := l.Compare(r, actual)
	if len(mm) != 1 || mm[0].PCR != 5 || mm[0].LastEvent == nil {
		t.Fatalf("plain compare: %v", mm)
	}
	t.Logf("plain compare: %s", &mm[0])
	var logbuf bytes.Buffer
	log := newBufLogger(&logbuf)
	rest, quirks := l.CompareWithQuirks(r, actual, log)
	if len(rest) != 0 || len(quirks) != 1 || quirks[0].Name != "ebs-events-missing" || quirks[0].PCR != 5 {
		t.Fatalf("with quirks: rest %v, quirks %+v", rest, quirks)
	}
	if !strings.Contains(logbuf.String(), "did not log") || !strings.Contains(logbuf.String(), "ebs-events-missing") {
		t.Errorf("workaround not logged: %q", logbuf.String())
	}
	// A wrong TPM value is not explained away.
	actual[5] = bytes.Repeat([]byte{7}, 20)
	if rest, quirks := l.CompareWithQuirks(r, actual, log); len(rest) != 1 || len(quirks) != 0 {
		t.Errorf("bogus PCR 5: rest %v quirks %v", rest, quirks)
	}
}

// TestTruncatedLogs: no strict prefix of a log parses into the same events
// without error, and none panics.
func TestTruncatedLogs(t *testing.T) {
	for _, path := range logFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		full, ferr := tpmhost.ParseEventLog(b)
		// Every prefix near an event boundary, and a sample of the rest
		// (all prefixes of every log would be quadratic).
		cuts := map[int]bool{}
		for n := 0; n < len(b); n += 61 {
			cuts[n] = true
		}
		if full != nil {
			for _, ev := range full.Events {
				for d := -9; d <= 41; d++ {
					if n := ev.Offset + d; n >= 0 && n < len(b) {
						cuts[n] = true
					}
				}
			}
		}
		for n := range cuts {
			l, err := tpmhost.ParseEventLog(b[:n])
			if (l == nil) == (err == nil) {
				t.Fatalf("%s[:%d]: log %v err %v", path, n, l != nil, err)
			}
			if ferr == nil && err == nil && len(l.Events) >= len(full.Events) {
				t.Fatalf("%s[:%d] parsed to all %d events", path, n, len(l.Events))
			}
		}
	}
}

// TestEventLogErrors pins the error for each malformed field.
func TestEventLogErrors(t *testing.T) {
	specID := func(mut func([]byte) []byte) []byte {
		b, err := os.ReadFile(testutil.Data("eventlogs", "crypto_agile_eventlog"))
		if err != nil {
			t.Fatal(err)
		}
		return mut(bytes.Clone(b))
	}
	tests := []struct {
		name  string
		in    []byte
		field string
	}{
		{"empty", nil, "log"},
		{"short header", make([]byte, 31), "EventSize"},
		{"legacy event size beyond end", append(make([]byte, 28), 0xff, 0xff, 0, 0), "EventSize"},
		{"spec id zero algorithms", specID(func(b []byte) []byte { b[32+24] = 0; return b }), "numberOfAlgorithms"},
		{"spec id huge algorithms", specID(func(b []byte) []byte { b[32+27] = 0x80; return b }), "numberOfAlgorithms"},
		{"agile digest count", specID(func(b []byte) []byte {
			first := 32 + int(b[28])
			b[first+8] = 200
			return b
		}), "Digests.count"},
		{"agile unknown alg", specID(func(b []byte) []byte {
			first := 32 + int(b[28])
			b[first+12] = 0x99
			return b
		}), "AlgorithmId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tpmhost.ParseEventLog(tt.in)
			var le *tpmhost.EventLogError
			if l != nil || !errors.As(err, &le) || !strings.Contains(le.Field, tt.field) {
				t.Fatalf("got %v, want EventLogError on %s", err, tt.field)
			}
		})
	}
}

func FuzzParseEventLog(f *testing.F) {
	for _, path := range logFiles(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := tpmhost.ParseEventLog(in)
		if (l == nil) == (err == nil) {
			t.Fatalf("want exactly one of log/err, got %v / %v", l != nil, err)
		}
		if err != nil {
			return
		}
		for i, ev := range l.Events {
			if ev.Seq != i || ev.Offset < 0 || ev.Offset >= len(in) {
				t.Fatalf("event %d: seq %d offset %d", i, ev.Seq, ev.Offset)
			}
		}
		loc, _ := l.StartupLocality()
		for _, b := range l.Banks {
			if b.Hash() == 0 {
				continue
			}
			r, err := l.Replay(b)
			if err != nil {
				t.Fatal(err)
			}
			pcrs, last := referenceReplay(l, b, loc)
			sameReplay(t, r, pcrs, last)
		}
		var sink bytes.Buffer
		_ = tpmhost.WriteEvents(&sink, l, 0)
	})
}

// referenceReplay is the replay written the plain way (a map of PCRs, a
// fresh hash per extension), for checking the optimised one against.
func referenceReplay(l *tpmhost.EventLog, bank tpmhost.Alg, locality uint8) (map[int][]byte, map[int]int) {
	size := bank.Hash().Size()
	pcrs, last := map[int][]byte{}, map[int]int{}
	if locality != 0 {
		pcrs[0] = make([]byte, size)
		pcrs[0][size-1] = locality
	}
	for _, ev := range l.Events {
		d, ok := ev.Digest(bank)
		if ev.Type == tpmhost.EvNoAction || !ok {
			continue
		}
		old, ok := pcrs[int(ev.PCR)]
		if !ok {
			old = make([]byte, size)
		}
		h := bank.Hash().New()
		h.Write(old)
		h.Write(d)
		pcrs[int(ev.PCR)], last[int(ev.PCR)] = h.Sum(nil), ev.Seq
	}
	return pcrs, last
}

// sameReplay fails t unless r has exactly the reference's PCRs and last events.
func sameReplay(t *testing.T, r *tpmhost.Replay, pcrs map[int][]byte, last map[int]int) {
	t.Helper()
	idx := r.Indices()
	if r.Len() != len(pcrs) || len(idx) != len(pcrs) || !slices.IsSorted(idx) {
		t.Fatalf("replay has %d PCRs %v; reference %d", r.Len(), idx, len(pcrs))
	}
	for _, p := range idx {
		if _, ok := pcrs[p]; !ok {
			t.Fatalf("PCR %d is in the replay, not in the reference", p)
		}
	}
	for p, v := range pcrs {
		if got, ok := r.PCR(p); !ok || !bytes.Equal(got, v) || !bytes.Equal(r.Value(p), v) {
			t.Fatalf("PCR %d: %x (%v), reference %x", p, got, ok, v)
		}
	}
	for p := range 1 << 10 { // the flat PCRs, a few beyond, and PCRs absent
		s, ok := r.LastEvent(p)
		if ws, wok := last[p]; ok != wok || s != ws {
			t.Fatalf("PCR %d: last event %d (%v), reference %d (%v)", p, s, ok, ws, wok)
		}
	}
	for p, s := range last {
		if got, ok := r.LastEvent(p); !ok || got != s {
			t.Fatalf("PCR %d: last event %d, reference %d", p, got, s)
		}
	}
}

// TestReplayAnyPCRIndex: PCR indices beyond the platform's 24 (which only a
// broken or hostile log names) replay like the others, every bank matches
// the plain replay, and no two PCR values share memory.
func TestReplayAnyPCRIndex(t *testing.T) {
	var log []byte
	event := func(pcr, typ uint32, digest, data []byte) {
		log = binary.LittleEndian.AppendUint32(log, pcr)
		log = binary.LittleEndian.AppendUint32(log, typ)
		log = append(log, digest...)
		log = binary.LittleEndian.AppendUint32(log, uint32(len(data)))
		log = append(log, data...)
	}
	d := func(b byte) []byte { return bytes.Repeat([]byte{b}, 20) }
	event(0, uint32(tpmhost.EvNoAction), make([]byte, 20), append([]byte("StartupLocality\x00"), 3))
	for i, pcr := range []uint32{0, 23, 24, 30, 0xffffffff, 23, 24, 7} {
		event(pcr, uint32(tpmhost.EvEFIAction), d(byte(i+1)), []byte("x"))
	}
	event(5, uint32(tpmhost.EvNoAction), d(0xee), nil) // never extended
	l, err := tpmhost.ParseEventLog(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []uint8{0, 3} {
		r, err := l.ReplayLocality(tpmhost.AlgSHA1, loc)
		if err != nil {
			t.Fatal(err)
		}
		pcrs, last := referenceReplay(l, tpmhost.AlgSHA1, loc)
		sameReplay(t, r, pcrs, last)
		if _, ok := r.PCR(5); ok {
			t.Error("an EV_NO_ACTION event was extended")
		}
		// PCR 23 is the last of the flat buffer: clearing any other value
		// to its capacity must leave it alone.
		v23, _ := r.PCR(23)
		want := bytes.Clone(v23)
		for _, p := range r.Indices() {
			if p != 23 {
				v, _ := r.PCR(p)
				clear(v[:cap(v)])
			}
		}
		if v23, _ := r.PCR(23); !bytes.Equal(v23, want) {
			t.Error("PCR values share memory")
		}
		// Compare reports every differing PCR in ascending order, with the
		// last event extended into it: flat, beyond 24, absent, negative.
		r, _ = l.ReplayLocality(tpmhost.AlgSHA1, loc)
		actual := map[int][]byte{}
		order := []int{-7, -1, 0, 1, 5, 7, 23, 24, 30, 31, 0xffffffff}
		for _, p := range order {
			actual[p] = d(0x55)
		}
		mm := l.Compare(r, actual)
		if len(mm) != len(order) {
			t.Fatalf("%d mismatches, want %d", len(mm), len(order))
		}
		for i, m := range mm {
			p := order[i]
			if m.PCR != p || !bytes.Equal(m.Replayed, r.Value(p)) || !bytes.Equal(m.Actual, d(0x55)) {
				t.Errorf("mismatch %d: PCR %d replayed %x, want PCR %d %x", i, m.PCR, m.Replayed, p, r.Value(p))
			}
			if s, ok := last[p]; ok != (m.LastEvent != nil) || ok && m.LastEvent.Seq != s {
				t.Errorf("PCR %d: last event %v, reference %d (%v)", p, m.LastEvent, s, ok)
			}
		}
	}
}

// TestReplayMatchesReference replays every bank of every bundled log both
// ways, at seeds 0 and 3.
func TestReplayMatchesReference(t *testing.T) {
	for _, path := range logFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		l, err := tpmhost.ParseEventLog(b)
		if err != nil {
			continue // the malformed ones are tested elsewhere
		}
		for _, bank := range l.Banks {
			for _, loc := range []uint8{0, 3} {
				r, err := l.ReplayLocality(bank, loc)
				if err != nil {
					t.Fatal(err)
				}
				pcrs, last := referenceReplay(l, bank, loc)
				t.Run(fmt.Sprintf("%s/%s/%d", filepath.Base(path), bank, loc), func(t *testing.T) { sameReplay(t, r, pcrs, last) })
			}
		}
	}
}

// TestReadEventLogNotRegular: a named pipe without a writer in the log's
// place is refused at once (open(2) of it used to wait for a writer for
// good), and so is a directory.
func TestReadEventLogNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "binary_bios_measurements")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{fifo: "is not a regular file (a named pipe)", dir: "is not a regular file (a directory)"} {
		done := make(chan error, 1)
		go func() {
			_, err := tpmhost.ReadEventLog(path)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q", path, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadEventLog(%s) still waits", path)
		}
	}
}
