package abi

import (
	"encoding/binary"
	"errors"
)

// The module report: the host's account to the PDP of the modules that ran
// since boot, as a PA-TNC attribute (RFC 5792 §4.2) the host appends to the
// Attestation IMC's PA message that carries its quote. Its vendor is not
// IETF's or TCG's, and it goes without the NOSKIP flag, so a PDP that does
// not know it (strongSwan's) skips it as RFC 5792 §4.2 asks; imchost's PDP
// replays the log against a second quote, over the module PCR with the
// same key and nonce as the PTS quote, and checks its allowlist.
const (
	// ModuleReportVendor is the attribute's vendor ID: 32473, the IANA
	// enterprise number for documentation (RFC 5612), until the project
	// has its own.
	ModuleReportVendor uint32 = 32473
	// ModuleReportType is the attribute type.
	ModuleReportType uint32 = 1
	// moduleReportVersion is the value's format version.
	moduleReportVersion = 1
	// MaxModuleLogLen bounds the log carried in a report.
	MaxModuleLogLen = 1 << 20
)

// ModuleReport is the module report attribute's value. All integers are
// big-endian (network order, as in the rest of PA-TNC):
//
//	off  type   field
//	0    u8     version (1)
//	1    u8     PCR (the module PCR)
//	2    u16    bank: TPM_ALG_ID of the quote's PCR bank
//	4    u16    signature algorithm (TPM_ALG_ID: RSASSA, ECDSA)
//	6    u16    signature hash (TPM_ALG_ID)
//	8    u32    n, then n bytes: the module measurement log (modlog.go)
//	     u32    n, then n bytes: the TPMS_ATTEST of the quote
//	     u32    n, then n bytes: the signature (RSA PKCS #1 v1.5, or ECDSA R‖S)
type ModuleReport struct {
	PCR       uint8
	Bank      uint16
	SigAlg    uint16
	HashAlg   uint16
	Log       []byte
	Attest    []byte
	Signature []byte
}

// AppendModuleReport appends r's encoding.
func AppendModuleReport(b []byte, r ModuleReport) []byte {
	b = append(b, moduleReportVersion, r.PCR)
	b = binary.BigEndian.AppendUint16(b, r.Bank)
	b = binary.BigEndian.AppendUint16(b, r.SigAlg)
	b = binary.BigEndian.AppendUint16(b, r.HashAlg)
	for _, f := range [][]byte{r.Log, r.Attest, r.Signature} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// ParseModuleReport decodes a module report value; it must be consumed
// exactly, and the log is at most MaxModuleLogLen bytes.
func ParseModuleReport(b []byte) (ModuleReport, error) {
	var r ModuleReport
	if len(b) < 8 {
		return r, errors.New("module report: shorter than its 8-byte header")
	}
	if b[0] != moduleReportVersion {
		return r, errors.New("module report: version " + itoa(int(b[0])) + ", want " + itoa(moduleReportVersion))
	}
	r.PCR = b[1]
	r.Bank = binary.BigEndian.Uint16(b[2:])
	r.SigAlg = binary.BigEndian.Uint16(b[4:])
	r.HashAlg = binary.BigEndian.Uint16(b[6:])
	off := 8
	fields := []*[]byte{&r.Log, &r.Attest, &r.Signature}
	for i, f := range fields {
		if len(b)-off < 4 {
			return r, errors.New("module report: field " + itoa(i) + " length missing at offset " + itoa(off))
		}
		n := binary.BigEndian.Uint32(b[off:])
		off += 4
		if uint64(n) > uint64(len(b)-off) || i == 0 && n > MaxModuleLogLen {
			return r, errors.New("module report: field " + itoa(i) + " of " + utoa(uint64(n)) + " bytes at offset " + itoa(off) + " exceeds the value")
		}
		*f = b[off : off+int(n)]
		off += int(n)
	}
	if off != len(b) {
		return r, errors.New("module report: " + itoa(len(b)-off) + " bytes after the value")
	}
	return r, nil
}

// AppendModuleReportAttr appends the whole PA-TNC attribute: flags 0 (no
// NOSKIP), vendor, type, length (12-byte header included), value.
func AppendModuleReportAttr(b []byte, r ModuleReport) []byte {
	v := AppendModuleReport(nil, r)
	b = binary.BigEndian.AppendUint32(b, ModuleReportVendor) // flags byte 0, then the 24-bit vendor
	b = binary.BigEndian.AppendUint32(b, ModuleReportType)
	b = binary.BigEndian.AppendUint32(b, uint32(12+len(v)))
	return append(b, v...)
}
