package main

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// TPMS_ATTEST constants, TPM 2.0 Part 2 §10.12.12 and §6.9.
const (
	tpmGeneratedValue uint32 = 0xff544347 // TPM_GENERATED_VALUE, "\xffTCG"
	tpmSTAttestQuote  uint16 = 0x8018     // TPM_ST_ATTEST_QUOTE
	// maxPCRSelections bounds the TPML_PCR_SELECTION count (TPM banks).
	maxPCRSelections = 16
)

// errAttest is wrapped by every TPMS_ATTEST parse error.
var errAttest = errors.New("attestation: malformed TPMS_ATTEST")

// quoteInfo is a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE split into the
// pieces strongSwan's Simple Evidence Final carries (pts.md §7.1): the raw
// bytes of each field as the TPM returned them.
//
//	TPMS_ATTEST (TPM 2.0 Part 2, §10.12.12)
//	  magic            u32   FF 54 43 47
//	  type             u16   80 18
//	  qualifiedSigner  TPM2B_NAME   (u16 size | name)
//	  extraData        TPM2B_DATA   (u16 size | data)   = the PTS secret
//	  clockInfo        TPMS_CLOCK_INFO, 17 bytes (clock u64, resetCount u32,
//	                   restartCount u32, safe u8)
//	  firmwareVersion  u64
//	  attested.quote   TPMS_QUOTE_INFO:
//	    pcrSelect      TPML_PCR_SELECTION (count u32 | count × {hash u16,
//	                   sizeofSelect u8, pcrSelect[sizeofSelect]})
//	    pcrDigest      TPM2B_DIGEST (u16 size | digest)
type quoteInfo struct {
	QualifiedSigner []byte // the TPM2B_NAME contents, e.g. 00 0B + 32 bytes
	ExtraData       []byte // the TPM2B_DATA contents
	ClockInfo       []byte // 17 bytes
	FirmwareVersion []byte // 8 bytes
	PCRSelect       []byte // the whole TPML_PCR_SELECTION, count included
	PCRDigest       []byte // the TPM2B_DIGEST contents
}

// parseQuoteInfo splits a TPMS_ATTEST; it accepts only a quote and no
// trailing bytes.
func parseQuoteInfo(in []byte) (*quoteInfo, error) {
	s := cryptobyte.String(in)
	var magic uint32
	var typ uint16
	q := &quoteInfo{}
	var signer, extra, digest cryptobyte.String
	switch {
	case !s.ReadUint32(&magic) || !s.ReadUint16(&typ):
		return nil, fmt.Errorf("%w: short header", errAttest)
	case magic != tpmGeneratedValue:
		return nil, fmt.Errorf("%w: magic %08x", errAttest, magic)
	case typ != tpmSTAttestQuote:
		return nil, fmt.Errorf("%w: type %04x is not a quote", errAttest, typ)
	case !s.ReadUint16LengthPrefixed(&signer):
		return nil, fmt.Errorf("%w: qualifiedSigner at offset 6", errAttest)
	case !s.ReadUint16LengthPrefixed(&extra):
		return nil, fmt.Errorf("%w: extraData", errAttest)
	case !s.ReadBytes(&q.ClockInfo, 17):
		return nil, fmt.Errorf("%w: clockInfo", errAttest)
	case !s.ReadBytes(&q.FirmwareVersion, 8):
		return nil, fmt.Errorf("%w: firmwareVersion", errAttest)
	}
	sel := s // the selection starts here; its length is known after parsing
	var count uint32
	if !s.ReadUint32(&count) || count > maxPCRSelections {
		return nil, fmt.Errorf("%w: pcrSelect count", errAttest)
	}
	for i := uint32(0); i < count; i++ {
		var hash uint16
		var bitmap cryptobyte.String
		if !s.ReadUint16(&hash) || !s.ReadUint8LengthPrefixed(&bitmap) {
			return nil, fmt.Errorf("%w: pcrSelect entry %d", errAttest, i)
		}
	}
	q.PCRSelect = sel[:len(sel)-len(s)]
	switch {
	case !s.ReadUint16LengthPrefixed(&digest):
		return nil, fmt.Errorf("%w: pcrDigest", errAttest)
	case !s.Empty():
		return nil, fmt.Errorf("%w: %d trailing bytes", errAttest, len(s))
	}
	q.QualifiedSigner, q.ExtraData, q.PCRDigest = signer, extra, digest
	return q, nil
}
