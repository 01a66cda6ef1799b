package patnc

import (
	"github.com/imchost/imchost/sdk/fmtlite"
)

// Validation is the validation result in Simple Component Evidence flags
// (bits 6..5).
type Validation uint8

// Validation results.
const (
	ValidationNone   Validation = 0x00
	ValidationUnable Validation = 0x20
	ValidationFailed Validation = 0x40
	ValidationPassed Validation = 0x60
)

// Simple Component Evidence constants.
const (
	SCEFlagPCRInfo uint8 = 0x80 // PCR before/after values present
	MeasTypeHash   uint8 = 0x80 // the only Measurement Type strongSwan accepts
	sceFixedLen          = 40
	validationMask uint8 = 0x60
)

// PCRTransform is the PCR Transform field of Simple Component Evidence.
type PCRTransform uint8

// PCR transforms.
const (
	TransformNone  PCRTransform = 0
	TransformMatch PCRTransform = 1 // hash size equals PCR size
	TransformShort PCRTransform = 2 // measurement shorter, zero-padded
	TransformLong  PCRTransform = 3
)

// SimpleCompEvid is the TCG Simple Component Evidence attribute
// (0x00300000), PTS IF-M Binding §3.15.1.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Flags      |               Sub-Component Depth             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Component Functional Name (8 bytes, §5.1)            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Measure. Type |               Extended into PCR               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Hash Algorithm         | PCR Transform |   Reserved    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Measurement Date/Time (20 bytes)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Policy URI Length (16) | Policy URI    if validation failed/passed
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  PCR Length (16) | PCR Before | PCR After       if flags PCR bit
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Component Measurement (rest of the value)          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Decoding: fewer than 40 bytes is Invalid Parameter at 0, a Measurement
// Type other than 0x80 at 12, a malformed time at 20, truncated optional
// fields at their offset. Reserved flag bits and the reserved byte are
// ignored on receipt. strongSwan's BIOS evidence: flags 0, depth 0,
// BIOSComponent, type 0x80, the event's PCR, the PTS algorithm, transform 1,
// the log's ctime and the event digest (84-byte attribute for SHA-256).
type SimpleCompEvid struct {
	AttrFlags
	PCRInfo     bool       // flags 0x80: PCRBefore and PCRAfter present
	Validation  Validation // flags 0x60
	Depth       uint32     // 24 bits
	Name        ComponentName
	MeasType    uint8  // must be MeasTypeHash
	PCR         uint32 // "Extended into PCR", 24 bits
	HashAlg     HashAlgs
	Transform   PCRTransform
	Time        DateTime
	PolicyURI   string // present iff Validation is Failed or Passed
	PCRBefore   []byte // same length as PCRAfter
	PCRAfter    []byte
	Measurement []byte
}

// Type implements Attr.
func (a *SimpleCompEvid) Type() Type { return TypeSimpleCompEvid }

func (a *SimpleCompEvid) hasPolicy() bool {
	return a.Validation == ValidationFailed || a.Validation == ValidationPassed
}

// MarshalValue implements Attr.
func (a *SimpleCompEvid) MarshalValue(b *Builder) {
	t := TypeSimpleCompEvid
	switch {
	case a.MeasType != MeasTypeHash:
		b.SetError(errf(t, "measurement type %#x", a.MeasType))
		return
	case uint8(a.Validation)&^validationMask != 0:
		b.SetError(errf(t, "validation %#x", uint8(a.Validation)))
		return
	case !a.Time.wellFormed():
		b.SetError(errf(t, "malformed time %v", a.Time))
		return
	case !a.hasPolicy() && a.PolicyURI != "":
		b.SetError(errf(t, "policy URI without validation result"))
		return
	case a.PCRInfo && len(a.PCRBefore) != len(a.PCRAfter):
		b.SetError(errf(t, "PCR before/after of %d/%d bytes", len(a.PCRBefore), len(a.PCRAfter)))
		return
	case !a.PCRInfo && (len(a.PCRBefore) != 0 || len(a.PCRAfter) != 0):
		b.SetError(errf(t, "PCR values without the PCR flag"))
		return
	}
	f := uint8(a.Validation)
	if a.PCRInfo {
		f |= SCEFlagPCRInfo
	}
	b.AddUint8(f)
	addUint24(b, t, "depth", a.Depth)
	a.Name.marshal(b, t)
	b.AddUint8(a.MeasType)
	addUint24(b, t, "PCR", a.PCR)
	b.AddUint16(uint16(a.HashAlg))
	b.AddUint8(uint8(a.Transform))
	b.AddUint8(0)
	b.AddBytes(a.Time[:])
	if a.hasPolicy() {
		add16(b, t, "policy URI", []byte(a.PolicyURI))
	}
	if a.PCRInfo {
		add16(b, t, "PCR before", a.PCRBefore)
		b.AddBytes(a.PCRAfter)
	}
	b.AddBytes(a.Measurement)
}

// UnmarshalValue implements Attr.
func (a *SimpleCompEvid) UnmarshalValue(v []byte) error {
	if len(v) < sceFixedLen {
		return invalid(0, fmtlite.Sprintf("value of %d bytes, want at least %d", len(v), sceFixedLen))
	}
	r := newReader(v)
	var f, rsvd, transform uint8
	var alg uint16
	r.s.ReadUint8(&f)
	r.s.ReadUint24(&a.Depth)
	a.Name.unmarshal(&r.s)
	r.s.ReadUint8(&a.MeasType)
	r.s.ReadUint24(&a.PCR)
	r.s.ReadUint16(&alg)
	r.s.ReadUint8(&transform)
	r.s.ReadUint8(&rsvd)
	r.s.CopyBytes(a.Time[:])
	a.HashAlg, a.Transform = HashAlgs(alg), PCRTransform(transform)
	a.PCRInfo, a.Validation = f&SCEFlagPCRInfo != 0, Validation(f&validationMask)
	if a.MeasType != MeasTypeHash {
		return invalid(12, fmtlite.Sprintf("measurement type %#x", a.MeasType))
	}
	if !a.Time.wellFormed() {
		return invalid(20, "malformed measurement time")
	}
	if a.hasPolicy() {
		if err := r.string16(&a.PolicyURI, "policy URI"); err != nil {
			return err
		}
	}
	if a.PCRInfo {
		at := r.off()
		var n uint16
		if !r.s.ReadUint16(&n) || !r.s.ReadBytes(&a.PCRBefore, int(n)) || !r.s.ReadBytes(&a.PCRAfter, int(n)) {
			return short(at, "PCR before/after values")
		}
	}
	a.Measurement = r.rest()
	return nil
}
