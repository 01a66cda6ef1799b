package interop

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/imchost/imchost/tpmhost"
)

// tamperedLog writes a copy of the log at src in which the first event
// measured into pcr carries other digests (every bank, first byte flipped)
// than the firmware extended: what an attacker who rewrites
// binary_bios_measurements produces. The TPM keeps the true PCRs.
func tamperedLog(t *testing.T, src string, pcr uint32) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tpmhost.ParseEventLog(b) // digests are sub-slices of b
	if err != nil {
		t.Fatal(err)
	}
	done := false
	for _, ev := range l.Events {
		if ev.PCR != pcr || ev.Type == tpmhost.EvNoAction || len(ev.Digests) == 0 {
			continue
		}
		for _, d := range ev.Digests {
			d.Value[0] ^= 0xff
		}
		done = true
		break
	}
	if !done {
		t.Fatalf("%s has no event measured into PCR %d", src, pcr)
	}
	out := filepath.Join(t.TempDir(), "tampered-"+filepath.Base(src))
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// evIPL is EV_IPL, what GRUB measures each command it runs as (into PCR 8).
const evIPL = 0x0000000d

// longLog writes the log at src with n EV_IPL events appended, each a GRUB
// command line measured into PCR 8 in every bank of the log — what a boot
// loader with a long configuration leaves (the machine of the issue had
// 1,105 events). The endpoint's PCRs are then extended from it like any log.
func longLog(t *testing.T, src string, n int) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tpmhost.ParseEventLog(b)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	for i := 0; i < n; i++ {
		data := []byte(fmt.Sprintf("grub_cmd: menuentry 'Debian GNU/Linux, option %d' --class debian --class gnu-linux", i))
		rec := le.AppendUint32(nil, 8)
		rec = le.AppendUint32(rec, evIPL)
		if l.Format == tpmhost.FormatLegacySHA1 {
			h := tpmhost.AlgSHA1.Hash().New()
			h.Write(data)
			rec = h.Sum(rec)
		} else {
			rec = le.AppendUint32(rec, uint32(len(l.Banks)))
			for _, a := range l.Banks {
				rec = le.AppendUint16(rec, uint16(a))
				h := a.Hash().New()
				h.Write(data)
				rec = h.Sum(rec)
			}
		}
		rec = le.AppendUint32(rec, uint32(len(data)))
		b = append(b, append(rec, data...)...)
	}
	out := filepath.Join(t.TempDir(), fmt.Sprintf("long-%d-%s", len(l.Events)+n, filepath.Base(src)))
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if l2, err := tpmhost.ReadEventLog(out); err != nil || len(l2.Events) != len(l.Events)+n {
		t.Fatalf("the long log does not parse back: %v", err)
	}
	return out
}

// sha1AgileLog rewrites a legacy (TCG 1.2 format) SHA-1 log in the
// crypto-agile format with SHA-1 as its only algorithm — the log a TPM 2.0
// machine whose firmware uses only the SHA-1 bank writes (TCG PC Client
// PFP §9.4.5.1): a Spec ID event, then each event with its one digest. The
// events, their digests and data are the original log's. (strongSwan reads
// a TPM 2.0 machine's log only in the crypto-agile format.)
func sha1AgileLog(t *testing.T, src string) string {
	t.Helper()
	l, err := tpmhost.ReadEventLog(src)
	if err != nil {
		t.Fatal(err)
	}
	if l.Format != tpmhost.FormatLegacySHA1 {
		t.Fatalf("%s is not a legacy SHA-1 log", src)
	}
	le := binary.LittleEndian
	spec := append([]byte("Spec ID Event03\x00"), 0, 0, 0, 0) // platformClass: client
	spec = append(spec, 0, 2, 0, 2)                           // spec version 2.0, errata 0, uintnSize 2 (64-bit)
	spec = le.AppendUint32(spec, 1)                           // numberOfAlgorithms
	spec = le.AppendUint16(spec, uint16(tpmhost.AlgSHA1))
	spec = le.AppendUint16(spec, 20)
	spec = append(spec, 0) // vendorInfoSize
	// The Spec ID event itself is a TCG_PCR_EVENT (SHA-1 format) record.
	out := le.AppendUint32(nil, 0)
	out = le.AppendUint32(out, uint32(tpmhost.EvNoAction))
	out = append(out, make([]byte, 20)...)
	out = le.AppendUint32(out, uint32(len(spec)))
	out = append(out, spec...)
	for _, ev := range l.Events {
		d, ok := ev.Digest(tpmhost.AlgSHA1)
		if !ok {
			t.Fatalf("event %d has no SHA-1 digest", ev.Seq)
		}
		out = le.AppendUint32(out, ev.PCR)
		out = le.AppendUint32(out, uint32(ev.Type))
		out = le.AppendUint32(out, 1)
		out = le.AppendUint16(out, uint16(tpmhost.AlgSHA1))
		out = append(out, d...)
		out = le.AppendUint32(out, uint32(len(ev.Data)))
		out = append(out, ev.Data...)
	}
	path := filepath.Join(t.TempDir(), "sha1-agile-"+filepath.Base(src))
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	l2, err := tpmhost.ReadEventLog(path)
	if err != nil || l2.Format == tpmhost.FormatLegacySHA1 || len(l2.Banks) != 1 || l2.Banks[0] != tpmhost.AlgSHA1 {
		t.Fatalf("the rewritten log does not read back as a crypto-agile SHA-1 log: %v", err)
	}
	return path
}
