package tpmhost

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// TPM_GENERATED_VALUE and TPM_ST_ATTEST_QUOTE (TPM 2.0 Part 2, §6.2, §6.9).
const (
	AttestMagic     uint32 = 0xFF544347
	AttestTypeQuote uint16 = 0x8018
)

// clockInfoSize is sizeof(TPMS_CLOCK_INFO): clock u64, resetCount u32,
// restartCount u32, safe u8.
const clockInfoSize = 17

// Attest is a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE, split into the pieces
// strongSwan's Simple Evidence Final carries (PTS IF-M Binding §3.15.2, TPM 2.0
// extension) plus the two it
// leaves out (magic and type are implied; ExtraData is the verifier's own
// secret).
//
//	magic u32 = FF544347 | type u16 = 8018 |
//	qualifiedSigner TPM2B_NAME | extraData TPM2B_DATA |
//	clockInfo TPMS_CLOCK_INFO (17) | firmwareVersion u64 |
//	TPMS_QUOTE_INFO { pcrSelect TPML_PCR_SELECTION | pcrDigest TPM2B_DIGEST }
type Attest struct {
	QualifiedSigner []byte // TPM2B_NAME contents: nameAlg u16 + digest
	ExtraData       []byte // TPM2B_DATA contents: the qualifying data
	ClockInfo       []byte // TPMS_CLOCK_INFO, 17 raw bytes
	FirmwareVersion []byte // 8 raw bytes (big-endian u64)
	PCRSelect       []byte // the raw TPML_PCR_SELECTION, count included
	PCRDigest       []byte // TPM2B_DIGEST contents
}

// AttestError says where a TPMS_ATTEST did not parse.
type AttestError struct {
	Offset int
	Field  string
	Msg    string
}

// Error implements error.
func (e *AttestError) Error() string {
	return fmt.Sprintf("tpmhost: TPMS_ATTEST: offset %d: %s: %s", e.Offset, e.Field, e.Msg)
}

// maxPCRSelections bounds TPML_PCR_SELECTION.count (HASH_COUNT is ≤ 16 on any
// TPM), maxSizeofSelect the bitmap length.
const (
	maxPCRSelections = 16
	maxSizeofSelect  = 32
)

// ParseTPMSAttest parses a quote's TPMS_ATTEST (the TPM2B_ATTEST contents).
// The whole input must be consumed.
func ParseTPMSAttest(b []byte) (*Attest, error) {
	s := cryptobyte.String(b)
	off := func() int { return len(b) - len(s) }
	fail := func(field, msg string) (*Attest, error) {
		return nil, &AttestError{Offset: off(), Field: field, Msg: msg}
	}
	var (
		magic uint32
		typ   uint16
		a     Attest
		v     []byte
	)
	if !s.ReadUint32(&magic) {
		return fail("magic", "truncated")
	}
	if magic != AttestMagic {
		return fail("magic", fmt.Sprintf("0x%08x is not TPM_GENERATED_VALUE", magic))
	}
	if !s.ReadUint16(&typ) {
		return fail("type", "truncated")
	}
	if typ != AttestTypeQuote {
		return fail("type", fmt.Sprintf("0x%04x is not TPM_ST_ATTEST_QUOTE", typ))
	}
	if !readU16Bytes(&s, &a.QualifiedSigner) {
		return fail("qualifiedSigner", "truncated")
	}
	if !readU16Bytes(&s, &a.ExtraData) {
		return fail("extraData", "truncated")
	}
	if !s.ReadBytes(&v, clockInfoSize) {
		return fail("clockInfo", "truncated")
	}
	a.ClockInfo = v
	if !s.ReadBytes(&v, 8) {
		return fail("firmwareVersion", "truncated")
	}
	a.FirmwareVersion = v
	start := off()
	if err := skipPCRSelection(&s); err != "" {
		return fail("pcrSelect", err)
	}
	a.PCRSelect = b[start:off():off()]
	if !readU16Bytes(&s, &a.PCRDigest) {
		return fail("pcrDigest", "truncated")
	}
	if !s.Empty() {
		return fail("pcrDigest", fmt.Sprintf("%d bytes after the structure", len(s)))
	}
	return &a, nil
}

func readU16Bytes(s *cryptobyte.String, out *[]byte) bool {
	var v cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&v) {
		return false
	}
	*out = []byte(v)
	return true
}

// skipPCRSelection reads a TPML_PCR_SELECTION:
//
//	count u32 | count × { hash u16 | sizeofSelect u8 | pcrSelect [sizeofSelect] }
func skipPCRSelection(s *cryptobyte.String) string {
	var n uint32
	if !s.ReadUint32(&n) {
		return "truncated count"
	}
	if n > maxPCRSelections {
		return fmt.Sprintf("count %d (at most %d)", n, maxPCRSelections)
	}
	for i := uint32(0); i < n; i++ {
		var hash uint16
		var bm cryptobyte.String
		if !s.ReadUint16(&hash) || !s.ReadUint8LengthPrefixed(&bm) {
			return "truncated selection"
		}
		if len(bm) > maxSizeofSelect {
			return fmt.Sprintf("sizeofSelect %d", len(bm))
		}
	}
	return ""
}

// Marshal encodes the TPMS_ATTEST (magic and quote type included). It is the
// verifier's rebuild (TPM 2.0 Part 3 §18.4, TPM2_Quote): fill the pieces received in Simple Evidence
// Final, set ExtraData to the own secret and PCRDigest to the recomputed one.
func (a *Attest) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint32(AttestMagic)
	b.AddUint16(AttestTypeQuote)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(a.QualifiedSigner) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(a.ExtraData) })
	if len(a.ClockInfo) != clockInfoSize {
		return nil, fmt.Errorf("tpmhost: TPMS_ATTEST: clockInfo has %d bytes, want %d", len(a.ClockInfo), clockInfoSize)
	}
	b.AddBytes(a.ClockInfo)
	if len(a.FirmwareVersion) != 8 {
		return nil, fmt.Errorf("tpmhost: TPMS_ATTEST: firmwareVersion has %d bytes, want 8", len(a.FirmwareVersion))
	}
	b.AddBytes(a.FirmwareVersion)
	sel := cryptobyte.String(a.PCRSelect)
	if msg := skipPCRSelection(&sel); msg != "" || !sel.Empty() {
		return nil, fmt.Errorf("tpmhost: TPMS_ATTEST: pcrSelect is not one TPML_PCR_SELECTION (%s)", msg)
	}
	b.AddBytes(a.PCRSelect)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(a.PCRDigest) })
	return b.Bytes()
}

// PCRSelection is one TPMS_PCR_SELECTION: a bank and its PCR indices.
type PCRSelection struct {
	Bank Alg
	PCRs []int
}

// Selections decodes PCRSelect.
func (a *Attest) Selections() ([]PCRSelection, error) {
	return ParsePCRSelection(a.PCRSelect)
}

// ParsePCRSelection decodes a raw TPML_PCR_SELECTION.
func ParsePCRSelection(raw []byte) ([]PCRSelection, error) {
	s := cryptobyte.String(raw)
	var n uint32
	if !s.ReadUint32(&n) || n > maxPCRSelections {
		return nil, &AttestError{Field: "pcrSelect", Msg: "bad count"}
	}
	var out []PCRSelection
	for i := uint32(0); i < n; i++ {
		var hash uint16
		var bm cryptobyte.String
		if !s.ReadUint16(&hash) || !s.ReadUint8LengthPrefixed(&bm) || len(bm) > maxSizeofSelect {
			return nil, &AttestError{Offset: len(raw) - len(s), Field: "pcrSelect", Msg: "truncated selection"}
		}
		out = append(out, PCRSelection{Bank: Alg(hash), PCRs: bitmapPCRs(bm)})
	}
	if !s.Empty() {
		return nil, &AttestError{Offset: len(raw) - len(s), Field: "pcrSelect", Msg: "trailing bytes"}
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
