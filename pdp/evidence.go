package pdp

import (
	"bytes"
	"crypto"
	"fmt"
)

// numPCRs is the number of shadow PCRs the Attestation IMV keeps.
const numPCRs = 24

// shadowPCRs is the Attestation IMV's replay of the received Simple
// Component Evidence (PTS IF-M Binding §3.15.1, TPM 2.0 Part 1 §17):
// 24 PCRs of the
// measurement algorithm's size, all zero except the last byte of PCR 0,
// which holds the startup locality the TPM Version Information reported.
type shadowPCRs struct {
	hash     crypto.Hash
	pcr      [numPCRs][]byte
	selected uint32 // bit i = PCR i was extended at least once
}

func newShadowPCRs(h crypto.Hash, locality uint8) *shadowPCRs {
	s := &shadowPCRs{hash: h}
	for i := range s.pcr {
		s.pcr[i] = make([]byte, h.Size())
	}
	s.pcr[0][h.Size()-1] = locality
	return s
}

// extend replays one measurement: PCR = H(PCR || measurement).
func (s *shadowPCRs) extend(pcr int, measurement []byte) error {
	if pcr < 0 || pcr >= numPCRs {
		return fmt.Errorf("PCR %d out of range", pcr)
	}
	h := s.hash.New()
	h.Write(s.pcr[pcr])
	h.Write(measurement)
	s.pcr[pcr] = h.Sum(nil)
	s.selected |= 1 << pcr
	return nil
}

// composite is the TPM 2.0 PCR composite: the selected PCR values in
// ascending index order.
func (s *shadowPCRs) composite() []byte {
	var b []byte
	for i := 0; i < numPCRs; i++ {
		if s.selected&(1<<i) != 0 {
			b = append(b, s.pcr[i]...)
		}
	}
	return b
}

// pcrSelect is the 3-byte TPMS_PCR_SELECTION bitmap of the selected PCRs.
func (s *shadowPCRs) pcrSelect() [3]byte {
	return [3]byte{byte(s.selected), byte(s.selected >> 8), byte(s.selected >> 16)}
}

// compareMeasurements checks received BIOS evidence against the reference
// set the way strongSwan's IMV does: entry k against stored
// entry k. A different digest for the same PCR is a failure; fewer entries
// than stored is a failure ("x of y ... missing"); a different PCR index or
// entries beyond the stored set are only logged (the quote check still
// catches inconsistent replays). It returns the failure reasons and the
// informational notes.
func compareMeasurements(ref, got []Measurement) (failures, notes []string) {
	for i, g := range got {
		if i >= len(ref) {
			notes = append(notes, fmt.Sprintf("no measurement #%d found", g.Seq))
			continue
		}
		r := ref[i]
		switch {
		case r.PCR != g.PCR:
			notes = append(notes, fmt.Sprintf("no measurement #%d found for PCR %d", g.Seq, g.PCR))
		case !bytes.Equal(r.Digest, g.Digest):
			failures = append(failures, fmt.Sprintf("PCR %d measurement %d differs", g.PCR, g.Seq))
		}
	}
	if len(got) < len(ref) {
		failures = append(failures, fmt.Sprintf("%d of %d BIOS evidence measurements missing",
			len(ref)-len(got), len(ref)))
	}
	return failures, notes
}
