package abi

import (
	"encoding/binary"
	"errors"
)

// The IMA signatures attribute: the file digests and signatures of the
// ima-sig entries of the IMA list the Attestation IMC sends as ITA-HSR Linux
// IMA evidence. strongSwan's wire format carries only each entry's template
// hash and name, which is all a verifier needs to replay PCR 10 but not
// enough to check a signature; this attribute adds, for each signed entry,
// what the kernel hashed into its template (the file digest and the
// security.ima signature), so that a PDP can recompute the template hash
// from them and verify the signature against the keys it trusts. Like the
// module report it has a vendor that is neither IETF's nor TCG's and goes
// without NOSKIP, so a PDP that does not know it (strongSwan's) skips it
// (RFC 5792 §4.2).
const (
	// IMASignaturesVendor is the attribute's vendor ID (the module
	// report's: RFC 5612's documentation enterprise number).
	IMASignaturesVendor uint32 = ModuleReportVendor
	// IMASignaturesType is the attribute type.
	IMASignaturesType uint32 = 2
	// imaSignaturesVersion is the value's format version.
	imaSignaturesVersion = 1
	// MaxIMASignatureLen bounds one signature (an RSA-8192 one with its
	// header is 1,033 bytes).
	MaxIMASignatureLen = 4096
)

// IMASignature is one signed IMA entry: its 0-based position among the
// Linux IMA component's Simple Component Evidence of the attestation (0 is
// boot_aggregate; the position in the list unless the IMC left entries
// out), its file digest's algorithm name and digest, and its sig field
// (security.ima: IMA digital signature header and signature).
type IMASignature struct {
	Seq       uint32
	Algo      string
	Digest    []byte
	Signature []byte
}

// AppendIMASignatures appends the value of an IMA signatures attribute.
// Integers are big-endian:
//
//	u8   version (1)
//	u32  n, then n entries:
//	     u32  seq
//	     u8   length, then the algorithm name ("sha256")
//	     u8   length, then the file digest
//	     u16  length, then the sig field
func AppendIMASignatures(b []byte, sigs []IMASignature) []byte {
	b = append(b, imaSignaturesVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(sigs)))
	for _, s := range sigs {
		b = binary.BigEndian.AppendUint32(b, s.Seq)
		b = append(b, byte(len(s.Algo)))
		b = append(b, s.Algo...)
		b = append(b, byte(len(s.Digest)))
		b = append(b, s.Digest...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(s.Signature)))
		b = append(b, s.Signature...)
	}
	return b
}

// IMASignatureLen is the encoded size of s in an IMA signatures value.
func IMASignatureLen(s IMASignature) int {
	return 4 + 1 + len(s.Algo) + 1 + len(s.Digest) + 2 + len(s.Signature)
}

// ParseIMASignatures decodes an IMA signatures value. It must be consumed
// exactly; names are 1..16 bytes, digests 1..64 bytes, signatures at most
// MaxIMASignatureLen. The entries' slices alias b.
func ParseIMASignatures(b []byte) ([]IMASignature, error) {
	if len(b) < 5 {
		return nil, errors.New("ima signatures: shorter than its 5-byte header")
	}
	if b[0] != imaSignaturesVersion {
		return nil, errors.New("ima signatures: version " + itoa(int(b[0])) + ", want " + itoa(imaSignaturesVersion))
	}
	n := binary.BigEndian.Uint32(b[1:])
	off := 5
	// each entry takes at least 4+1+1+1+1+2 bytes: n cannot promise more
	if uint64(n)*10 > uint64(len(b)-off) {
		return nil, errors.New("ima signatures: " + utoa(uint64(n)) + " entries in " + itoa(len(b)-off) + " bytes")
	}
	out := make([]IMASignature, 0, n)
	for i := uint32(0); i < n; i++ {
		var s IMASignature
		if len(b)-off < 5 {
			return nil, errors.New("ima signatures: entry " + utoa(uint64(i)) + " truncated at offset " + itoa(off))
		}
		s.Seq = binary.BigEndian.Uint32(b[off:])
		l := int(b[off+4])
		off += 5
		if l == 0 || l > 16 || len(b)-off < l+1 {
			return nil, errors.New("ima signatures: entry " + utoa(uint64(i)) + ": bad algorithm name length " + itoa(l) + " at offset " + itoa(off-1))
		}
		s.Algo = string(b[off : off+l])
		off += l
		l = int(b[off])
		off++
		if l == 0 || l > 64 || len(b)-off < l+2 {
			return nil, errors.New("ima signatures: entry " + utoa(uint64(i)) + ": bad digest length " + itoa(l) + " at offset " + itoa(off-1))
		}
		s.Digest = b[off : off+l]
		off += l
		l = int(binary.BigEndian.Uint16(b[off:]))
		off += 2
		if l > MaxIMASignatureLen || len(b)-off < l {
			return nil, errors.New("ima signatures: entry " + utoa(uint64(i)) + ": signature of " + itoa(l) + " bytes at offset " + itoa(off-2) + " exceeds the value")
		}
		s.Signature = b[off : off+l]
		off += l
		out = append(out, s)
	}
	if off != len(b) {
		return nil, errors.New("ima signatures: " + itoa(len(b)-off) + " bytes after the value")
	}
	return out, nil
}
