package tpmhost

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
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
			fmt.Fprintf(bw, "%s %d %x\n", r.Bank, p, r.PCRs[p])
		}
	}
	return bw.Flush()
}

func sortedDigests(ds []Digest) []Digest {
	out := slices.Clone(ds)
	slices.SortFunc(out, func(a, b Digest) int { return cmp.Compare(a.Alg, b.Alg) })
	return out
}
