package patnc

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
)

// PATNCError is the IETF PA-TNC Error attribute, RFC 5792 §4.2.8.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Reserved   |            Error Code Vendor ID               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Error Code                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Error Information (Variable Length)            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// For the IETF codes 1..3 the information is structured (exact lengths):
//
//	Invalid Parameter (1):            message header (8) | Offset (32)
//	Version Not Supported (2):        message header (8) | Max Vers (8) | Min Vers (8) | Reserved (16)
//	Attribute Type Not Supported (3): message header (8) | Flags (8) | Vendor (24) | Type (32)
//
// Every other code (IETF SWIMA codes, vendor TCG codes, PTS IF-M Binding §4) keeps
// its information as raw bytes in Info.
type PATNCError struct {
	AttrFlags
	Vendor uint32 // Error Code Vendor ID: abi.PENIETF or e.g. abi.PENTCG
	Code   uint32 // an ErrorCode for IETF, a TCGErrorCode for TCG

	// MsgHeader is the copy of the offending message's first 8 bytes
	// (IETF codes 1..3).
	MsgHeader [8]byte
	// Offset is the fault offset (Invalid Parameter).
	Offset uint32
	// MaxVersion and MinVersion are the supported versions (Version Not
	// Supported); strongSwan sends 1 and 1.
	MaxVersion, MinVersion uint8
	// UnsupportedFlags and Unsupported describe the attribute (Attribute
	// Type Not Supported).
	UnsupportedFlags uint8
	Unsupported      Type

	// Info is the error information of any other code.
	Info []byte
}

// NewTCGError returns a PA-TNC Error attribute with a TCG PTS error code and
// its information (PTS IF-M Binding §4: e.g. TCGErrHashAlgInfo(own set), or a copy of
// the request value).
func NewTCGError(code TCGErrorCode, info []byte) *PATNCError {
	return &PATNCError{Vendor: abi.PENTCG, Code: uint32(code), Info: info}
}

// TCGSetInfo returns the information strongSwan sends with Hash Algorithm
// Not Supported and D-H Groups Not Supported: `00 00 | own set (16)`.
func TCGSetInfo(set uint16) []byte { return []byte{0, 0, byte(set >> 8), byte(set)} }

// TCGNonceLenInfo returns the information strongSwan sends with Bad Nonce
// Length: `own nonce length (16) | 0xFFFF`.
func TCGNonceLenInfo(own uint16) []byte { return []byte{byte(own >> 8), byte(own), 0xff, 0xff} }

// Type implements Attr.
func (a *PATNCError) Type() Type { return TypePATNCError }

// IETF reports whether the code is an IETF code (vendor 0).
func (a *PATNCError) IETF() bool { return a.Vendor == abi.PENIETF }

// structured reports whether the information is one of the three IETF
// layouts.
func (a *PATNCError) structured() bool {
	return a.Vendor == abi.PENIETF && a.Code >= uint32(ErrInvalidParameter) && a.Code <= uint32(ErrAttrTypeNotSupported)
}

// String describes the error for logs, e.g. "TCG error: bad nonce length".
func (a *PATNCError) String() string {
	switch {
	case a.Vendor == abi.PENIETF:
		return "IETF error: " + ErrorCode(a.Code).String()
	case a.Vendor == abi.PENTCG:
		return "TCG error: " + TCGErrorCode(a.Code).String()
	}
	return fmtlite.Sprintf("%s error code %d", abi.PENName(a.Vendor), a.Code)
}

// MarshalValue implements Attr.
func (a *PATNCError) MarshalValue(b *Builder) {
	b.AddUint8(0)
	addUint24(b, TypePATNCError, "error vendor ID", a.Vendor)
	b.AddUint32(a.Code)
	if !a.structured() {
		b.AddBytes(a.Info)
		return
	}
	b.AddBytes(a.MsgHeader[:])
	switch ErrorCode(a.Code) {
	case ErrInvalidParameter:
		b.AddUint32(a.Offset)
	case ErrVersionNotSupported:
		b.AddUint8(a.MaxVersion)
		b.AddUint8(a.MinVersion)
		b.AddUint16(0)
	case ErrAttrTypeNotSupported:
		b.AddUint8(a.UnsupportedFlags)
		addUint24(b, TypePATNCError, "attribute vendor ID", a.Unsupported.Vendor)
		b.AddUint32(a.Unsupported.Type)
	}
}

// UnmarshalValue implements Attr.
func (a *PATNCError) UnmarshalValue(v []byte) error {
	s := str(v)
	var rsvd uint8
	if !s.ReadUint8(&rsvd) || !s.ReadUint24(&a.Vendor) || !s.ReadUint32(&a.Code) {
		return invalid(0, "value shorter than 8 bytes")
	}
	if !a.structured() {
		a.Info = s
		return nil
	}
	info := []byte(s)
	want := 16
	if ErrorCode(a.Code) != ErrAttrTypeNotSupported {
		want = 12
	}
	switch {
	case len(info) < want:
		return invalid(8, fmtlite.Sprintf("error information of %d bytes, want %d", len(info), want))
	case len(info) > want:
		return invalid(8+want, fmtlite.Sprintf("error information of %d bytes, want %d", len(info), want))
	}
	copy(a.MsgHeader[:], info)
	s = str(info[8:])
	switch ErrorCode(a.Code) {
	case ErrInvalidParameter:
		s.ReadUint32(&a.Offset)
	case ErrVersionNotSupported:
		s.ReadUint8(&a.MaxVersion)
		s.ReadUint8(&a.MinVersion)
	case ErrAttrTypeNotSupported:
		s.ReadUint8(&a.UnsupportedFlags)
		s.ReadUint24(&a.Unsupported.Vendor)
		s.ReadUint32(&a.Unsupported.Type)
	}
	return nil
}
