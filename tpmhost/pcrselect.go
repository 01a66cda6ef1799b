package tpmhost

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// maxPCRSelections bounds TPML_PCR_SELECTION.count (HASH_COUNT is ≤ 16 on any
// TPM), maxSizeofSelect the bitmap length.
const (
	maxPCRSelections = 16
	maxSizeofSelect  = 32
)

// PCRSelection is one TPMS_PCR_SELECTION: a bank and its PCR indices.
type PCRSelection struct {
	Bank Alg
	PCRs []int
}

// ParsePCRSelection decodes a raw TPML_PCR_SELECTION (TPM 2.0 Part 2), e.g.
// the PCR select of a quote:
//
//	count u32 | count × { hash u16 | sizeofSelect u8 | pcrSelect [sizeofSelect] }
//
// The whole input must be consumed. (The quote's TPMS_ATTEST itself has one
// codec, in sdk/patnc: SimpleEvidFinal.FromTPMSAttest and TPMSAttest.)
func ParsePCRSelection(raw []byte) ([]PCRSelection, error) {
	s := cryptobyte.String(raw)
	fail := func(msg string) ([]PCRSelection, error) {
		return nil, fmt.Errorf("tpmhost: TPML_PCR_SELECTION: offset %d: %s", len(raw)-len(s), msg)
	}
	var n uint32
	if !s.ReadUint32(&n) {
		return fail("truncated count")
	}
	if n > maxPCRSelections {
		return fail(fmt.Sprintf("count %d (at most %d)", n, maxPCRSelections))
	}
	var out []PCRSelection
	for i := uint32(0); i < n; i++ {
		var hash uint16
		var bm cryptobyte.String
		if !s.ReadUint16(&hash) || !s.ReadUint8LengthPrefixed(&bm) {
			return fail("truncated selection")
		}
		if len(bm) > maxSizeofSelect {
			return fail(fmt.Sprintf("sizeofSelect %d", len(bm)))
		}
		out = append(out, PCRSelection{Bank: Alg(hash), PCRs: bitmapPCRs(bm)})
	}
	if !s.Empty() {
		return fail("trailing bytes")
	}
	return out, nil
}

// MarshalPCRSelection encodes one TPMS_PCR_SELECTION with sizeofSelect 3 (or
// more for PCRs ≥ 24) as a TPML_PCR_SELECTION: the 10 bytes strongSwan sends
// for PCRs 0–23.
func MarshalPCRSelection(bank Alg, pcrs []int) ([]byte, error) {
	bm, err := pcrBitmap(pcrs)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddUint32(1)
	b.AddUint16(uint16(bank))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(bm) })
	return b.Bytes()
}
