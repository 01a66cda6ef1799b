package tpmhost

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteEvents writes one line per event — sequence number, PCR, type name,
// digests — for `imchost eventlog`. bank 0 prints every bank the event
// carries; otherwise only that bank's digest.
//
//	7  PCR  0  EV_EFI_VARIABLE_DRIVER_CONFIG  sha256:9d4a...  (11974 bytes)
func WriteEvents(w io.Writer, l *EventLog, bank Alg) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %s event log, %d events, banks %v\n", l.Format, len(l.Events), l.Banks)
	for i := range l.Events {
		ev := &l.Events[i]
		fmt.Fprintf(bw, "%4d  PCR %2d  %-34s", ev.Seq, ev.PCR, ev.Type)
		for _, d := range sortedDigests(ev.Digests) {
			if bank != 0 && d.Alg != bank {
				continue
			}
			fmt.Fprintf(bw, "  %s:%x", d.Alg, d.Value)
		}
		fmt.Fprintf(bw, "  (%d bytes)\n", len(ev.Data))
	}
	return bw.Flush()
}

// WritePCRs writes replayed values one per line as `bank index hex`, the
// format of the .pcrs files in testdata: banks in the order given, indices
// ascending.
func WritePCRs(w io.Writer, replays ...*Replay) error {
	bw := bufio.NewWriter(w)
	for _, r := range replays {
		for _, p := range r.Indices() {
			v, _ := r.PCR(p)
			fmt.Fprintf(bw, "%s %d %x\n", r.Bank, p, v)
		}
	}
	return bw.Flush()
}

func sortedDigests(ds []Digest) []Digest {
	out := slices.Clone(ds)
	slices.SortFunc(out, func(a, b Digest) int { return cmp.Compare(a.Alg, b.Alg) })
	return out
}

// WriteIMAEntry writes one entry as a line of the kernel's
// ascii_runtime_measurements: PCR, template digest, template name, then
// each field (digests as "algo:hex", names as text, the rest in hex), each
// preceded by a space. Control characters in names are escaped so that a
// hostile path cannot forge a line.
func WriteIMAEntry(w *bufio.Writer, e *IMAEntry) {
	fmt.Fprintf(w, "%d %x %s", e.PCR, e.Digest, escapeIMA(e.Template))
	names := e.FieldNames()
	for i, f := range e.Fields {
		w.WriteByte(' ')
		if len(f) == 0 {
			continue
		}
		id := ""
		if i < len(names) {
			id = names[i]
		}
		switch id {
		case "d-ng", "d-ngv2", "d-modsig":
			if j := bytes.IndexByte(f, 0); j >= 0 {
				fmt.Fprintf(w, "%s%x", escapeIMA(string(f[:j])), f[j+1:])
				continue
			}
			fmt.Fprintf(w, "%x", f)
		case "n", "n-ng":
			w.WriteString(escapeIMA(string(bytes.TrimSuffix(f, []byte{0}))))
		default:
			fmt.Fprintf(w, "%x", f)
		}
	}
	w.WriteByte('\n')
}

// escapeIMA quotes bytes that are not printable ASCII, or a space, as \xNN.
func escapeIMA(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == '\\' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '\\' {
			fmt.Fprintf(&b, "\\x%02x", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
