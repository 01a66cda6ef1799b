package patnc

import (
	"errors"

	"github.com/imchost/imchost/sdk/fmtlite"
)

// QuoteMode is the quote type in the Simple Evidence Final flags (mask 0xD0).
type QuoteMode uint8

// Quote modes.
const (
	QuoteNone        QuoteMode = 0x00
	QuoteTPM2        QuoteMode = 0x10 // TPM 2.0 TPMS_ATTEST pieces (strongSwan extension)
	QuoteInfo        QuoteMode = 0x40 // TPM 1.2 TPM_QUOTE_INFO
	QuoteInfo2       QuoteMode = 0x80 // TPM 1.2 TPM_QUOTE_INFO2
	QuoteInfo2CapVer QuoteMode = 0xc0 // TPM 1.2 TPM_QUOTE_INFO2 + TPM_CAP_VERSION_INFO
	quoteModeMask    uint8     = 0xd0
	sefFlagEvidSig   uint8     = 0x20
)

func (q QuoteMode) valid() bool {
	switch q {
	case QuoteNone, QuoteTPM2, QuoteInfo, QuoteInfo2, QuoteInfo2CapVer:
		return true
	}
	return false
}

// SimpleEvidFinal is the TCG Simple Evidence Final attribute (0x00400000),
// PTS IF-M Binding §3.15.2 with strongSwan's TPM 2.0 extension (the TPMS_ATTEST
// fields of TPM 2.0 Part 2 and the quote signature).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Flags      |   Reserved    | Composite Hash Algorithm      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  PCR Composite Length (32) | PCR Composite  if quote present
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  len(16) Qualified Signer | len(16) Clock Info        TPM 2.0 only
//	|  len(16) Version Info     | len(16) PCR Select        TPM 2.0 only
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Quote Signature Length (32) | Signature    if quote present
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Evidence Signature (rest)                  if flag 0x20
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Decoding: fewer than 4 bytes or an undefined quote mode is Invalid
// Parameter at 0; a truncated field at its offset; bytes after the quote
// signature without the evidence-signature flag at their offset. The
// reserved flag bits (0x0F) and byte are ignored on receipt.
//
// For TPM 2.0 the composite hash algorithm is the PTS bit of the AK's
// signature hash, PCRComposite is the TPMS_QUOTE_INFO pcrDigest and the four
// middle fields are copied out of the TPMS_ATTEST (see FromTPMSAttest).
type SimpleEvidFinal struct {
	AttrFlags
	QuoteMode        QuoteMode
	CompositeHashAlg HashAlgs
	PCRComposite     []byte // quote present
	QualifiedSigner  []byte // TPM 2.0: TPM2B_NAME contents (e.g. 00 0B + 32 bytes)
	ClockInfo        []byte // TPM 2.0: TPMS_CLOCK_INFO (17 bytes)
	VersionInfo      []byte // TPM 2.0: firmwareVersion (8 bytes)
	PCRSelect        []byte // TPM 2.0: TPML_PCR_SELECTION (e.g. 10 bytes)
	QuoteSig         []byte // quote present: ECDSA R||S or RSASSA PKCS#1 v1.5
	HasEvidSig       bool   // flags 0x20
	EvidSig          []byte
}

// Type implements Attr.
func (a *SimpleEvidFinal) Type() Type { return TypeSimpleEvidFinal }

// MarshalValue implements Attr.
func (a *SimpleEvidFinal) MarshalValue(b *Builder) {
	t := TypeSimpleEvidFinal
	switch {
	case !a.QuoteMode.valid():
		b.SetError(errf(t, "quote mode %#x", uint8(a.QuoteMode)))
		return
	case a.QuoteMode == QuoteNone && (len(a.PCRComposite) != 0 || len(a.QuoteSig) != 0):
		b.SetError(errf(t, "quote fields without a quote mode"))
		return
	case a.QuoteMode != QuoteTPM2 && (len(a.QualifiedSigner)+len(a.ClockInfo)+len(a.VersionInfo)+len(a.PCRSelect) != 0):
		b.SetError(errf(t, "TPM 2.0 fields without the TPM 2.0 quote mode"))
		return
	case !a.HasEvidSig && len(a.EvidSig) != 0:
		b.SetError(errf(t, "evidence signature without its flag"))
		return
	}
	f := uint8(a.QuoteMode)
	if a.HasEvidSig {
		f |= sefFlagEvidSig
	}
	b.AddUint8(f)
	b.AddUint8(0)
	b.AddUint16(uint16(a.CompositeHashAlg))
	if a.QuoteMode != QuoteNone {
		add32(b, t, "PCR composite", a.PCRComposite)
	}
	if a.QuoteMode == QuoteTPM2 {
		add16(b, t, "qualified signer", a.QualifiedSigner)
		add16(b, t, "clock info", a.ClockInfo)
		add16(b, t, "version info", a.VersionInfo)
		add16(b, t, "PCR select", a.PCRSelect)
	}
	if a.QuoteMode != QuoteNone {
		add32(b, t, "quote signature", a.QuoteSig)
	}
	if a.HasEvidSig {
		b.AddBytes(a.EvidSig)
	}
}

// UnmarshalValue implements Attr.
func (a *SimpleEvidFinal) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var f, rsvd uint8
	if !r.s.ReadUint8(&f) || !r.s.ReadUint8(&rsvd) || !r.s.ReadUint16((*uint16)(&a.CompositeHashAlg)) {
		return invalid(0, "value shorter than 4 bytes")
	}
	a.QuoteMode, a.HasEvidSig = QuoteMode(f&quoteModeMask), f&sefFlagEvidSig != 0
	if !a.QuoteMode.valid() {
		return invalid(0, fmtlite.Sprintf("quote mode %#x", f&quoteModeMask))
	}
	if a.QuoteMode != QuoteNone {
		if err := r.bytes32(&a.PCRComposite, "PCR composite"); err != nil {
			return err
		}
	}
	if a.QuoteMode == QuoteTPM2 {
		for _, fld := range []struct {
			p    *[]byte
			name string
		}{{&a.QualifiedSigner, "qualified signer"}, {&a.ClockInfo, "clock info"},
			{&a.VersionInfo, "version info"}, {&a.PCRSelect, "PCR select"}} {
			if err := r.bytes16(fld.p, fld.name); err != nil {
				return err
			}
		}
	}
	if a.QuoteMode != QuoteNone {
		if err := r.bytes32(&a.QuoteSig, "quote signature"); err != nil {
			return err
		}
	}
	if a.HasEvidSig {
		a.EvidSig = r.rest()
	}
	return r.end()
}

// TPMS_ATTEST constants (TPM 2.0 Part 2: TPM_GENERATED_VALUE,
// TPM_ST_ATTEST_QUOTE, sizeof TPMS_CLOCK_INFO and firmwareVersion).
const (
	tpmGeneratedValue = 0xff544347
	tpmSTAttestQuote  = 0x8018
	clockInfoSize     = 17 // clock u64, resetCount u32, restartCount u32, safe u8
	firmwareSize      = 8
	maxPCRSelections  = 16 // HASH_COUNT is at most 16 on any TPM
	maxSizeofSelect   = 32
)

// AttestError says where a TPMS_ATTEST did not decode or encode.
type AttestError struct {
	Offset int
	Field  string
	Msg    string
}

// Error implements error.
func (e *AttestError) Error() string {
	return fmtlite.Sprintf("patnc: TPMS_ATTEST: offset %d: %s: %s", e.Offset, e.Field, e.Msg)
}

// FromTPMSAttest is the TPMS_ATTEST decoder of the project: it fills the
// TPM 2.0 fields of a (QuoteMode QuoteTPM2, PCRComposite = pcrDigest,
// QualifiedSigner, ClockInfo, VersionInfo, PCRSelect) from the TPMS_ATTEST
// of a TPM2_Quote and returns its extraData (the qualifying data) for the
// caller to check. The signature and CompositeHashAlg are the caller's. The
// whole input must be one quote's TPMS_ATTEST; errors are *AttestError.
//
//	magic (4) | type (2) | TPM2B qualifiedSigner | TPM2B extraData |
//	clockInfo (17) | firmwareVersion (8) | TPML_PCR_SELECTION | TPM2B pcrDigest
func (a *SimpleEvidFinal) FromTPMSAttest(attest []byte) (extraData []byte, err error) {
	s := str(attest)
	off := func() int { return len(attest) - len(s) }
	fail := func(field, msg string) ([]byte, error) {
		return nil, &AttestError{Offset: off(), Field: field, Msg: msg}
	}
	var magic uint32
	var typ uint16
	var signer, extra, clock, fw, digest str
	switch {
	case !s.ReadUint32(&magic):
		return fail("magic", "truncated")
	case magic != tpmGeneratedValue:
		return fail("magic", fmtlite.Sprintf("0x%08x is not TPM_GENERATED_VALUE", magic))
	case !s.ReadUint16(&typ):
		return fail("type", "truncated")
	case typ != tpmSTAttestQuote:
		return fail("type", fmtlite.Sprintf("0x%04x is not TPM_ST_ATTEST_QUOTE", typ))
	case !s.ReadUint16LengthPrefixed(&signer):
		return fail("qualifiedSigner", "truncated")
	case !s.ReadUint16LengthPrefixed(&extra):
		return fail("extraData", "truncated")
	case !s.ReadBytes((*[]byte)(&clock), clockInfoSize):
		return fail("clockInfo", "truncated")
	case !s.ReadBytes((*[]byte)(&fw), firmwareSize):
		return fail("firmwareVersion", "truncated")
	}
	start := off()
	if msg := skipPCRSelection(&s); msg != "" {
		return fail("pcrSelect", msg)
	}
	sel := attest[start:off():off()]
	if !s.ReadUint16LengthPrefixed(&digest) {
		return fail("pcrDigest", "truncated")
	}
	if !s.Empty() {
		return fail("pcrDigest", fmtlite.Sprintf("%d bytes after the structure", len(s)))
	}
	a.QuoteMode = QuoteTPM2
	a.QualifiedSigner, a.ClockInfo, a.VersionInfo = signer, clock, fw
	a.PCRSelect, a.PCRComposite = sel, digest
	return extra, nil
}

// skipPCRSelection reads one TPML_PCR_SELECTION and says what is wrong with
// it ("" if nothing):
//
//	count u32 | count × { hash u16 | sizeofSelect u8 | pcrSelect [sizeofSelect] }
func skipPCRSelection(s *str) string {
	var n uint32
	if !s.ReadUint32(&n) {
		return "truncated count"
	}
	if n > maxPCRSelections {
		return fmtlite.Sprintf("count %d (at most %d)", n, maxPCRSelections)
	}
	for i := uint32(0); i < n; i++ {
		var hash uint16
		var bm str
		if !s.ReadUint16(&hash) || !s.ReadUint8LengthPrefixed(&bm) {
			return "truncated selection"
		}
		if len(bm) > maxSizeofSelect {
			return fmtlite.Sprintf("sizeofSelect %d", len(bm))
		}
	}
	return ""
}

// TPMSAttest is the TPMS_ATTEST encoder of the project: it rebuilds the
// TPMS_ATTEST the TPM signed from the TPM 2.0 fields and the verifier's own
// copy of the qualifying data (TPM 2.0 Part 3 §18.4). pcrDigest is normally
// the verifier's recomputed digest, so that a valid signature over the
// result proves both the nonce and the PCR values. Fields of the wrong size
// (clock info, version info, not one TPML_PCR_SELECTION) are an
// *AttestError.
func (a *SimpleEvidFinal) TPMSAttest(extraData, pcrDigest []byte) ([]byte, error) {
	if a.QuoteMode != QuoteTPM2 {
		return nil, errors.New("patnc: Simple Evidence Final carries no TPM 2.0 quote")
	}
	if len(a.ClockInfo) != clockInfoSize {
		return nil, &AttestError{Field: "clockInfo", Msg: fmtlite.Sprintf("%d bytes, want %d", len(a.ClockInfo), clockInfoSize)}
	}
	if len(a.VersionInfo) != firmwareSize {
		return nil, &AttestError{Field: "firmwareVersion", Msg: fmtlite.Sprintf("%d bytes, want %d", len(a.VersionInfo), firmwareSize)}
	}
	sel := str(a.PCRSelect)
	if msg := skipPCRSelection(&sel); msg != "" || !sel.Empty() {
		if msg == "" {
			msg = "bytes after the selection"
		}
		return nil, &AttestError{Field: "pcrSelect", Msg: "not one TPML_PCR_SELECTION: " + msg}
	}
	b := NewBuilder(make([]byte, 0, 64+len(a.QualifiedSigner)+len(extraData)+len(pcrDigest)+len(a.PCRSelect)))
	b.AddUint32(tpmGeneratedValue)
	b.AddUint16(tpmSTAttestQuote)
	add16(b, TypeSimpleEvidFinal, "qualified signer", a.QualifiedSigner)
	add16(b, TypeSimpleEvidFinal, "extra data", extraData)
	b.AddBytes(a.ClockInfo)
	b.AddBytes(a.VersionInfo)
	b.AddBytes(a.PCRSelect)
	add16(b, TypeSimpleEvidFinal, "PCR digest", pcrDigest)
	return b.Bytes()
}
