package patnc

// Request Functional Component Evidence flags.
const (
	CompEvidTTC  uint8 = 0x80 // transitive trust chain
	CompEvidVER  uint8 = 0x40 // verify
	CompEvidCURR uint8 = 0x20 // current evidence
	CompEvidPCR  uint8 = 0x10 // PCR information
)

// CompEvidRequest is one entry of Request Functional Component Evidence.
type CompEvidRequest struct {
	Flags uint8  // CompEvidTTC | CompEvidVER | CompEvidCURR | CompEvidPCR
	Depth uint32 // sub-component depth, 24 bits
	Name  ComponentName
}

// ReqFuncCompEvid is the TCG Request Functional Component Evidence attribute
// (0x00100000), PTS IF-M Binding §3.14.1: one or more 12-byte entries (an empty value is
// Invalid Parameter at 0, a partial entry at its offset). strongSwan's IMV
// sends PCR (0x10), depth 0, BIOSComponent, with NOSKIP.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Flags     |               Sub-component Depth             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Component Functional Name (8 bytes)            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                             ...                               |
type ReqFuncCompEvid struct {
	AttrFlags
	Requests []CompEvidRequest
}

// Type implements Attr.
func (a *ReqFuncCompEvid) Type() Type { return TypeReqFuncCompEvid }

// MarshalValue implements Attr.
func (a *ReqFuncCompEvid) MarshalValue(b *Builder) {
	if len(a.Requests) == 0 {
		b.SetError(errf(TypeReqFuncCompEvid, "no component requested"))
		return
	}
	for _, r := range a.Requests {
		b.AddUint8(r.Flags)
		addUint24(b, TypeReqFuncCompEvid, "depth", r.Depth)
		r.Name.marshal(b, TypeReqFuncCompEvid)
	}
}

// UnmarshalValue implements Attr.
func (a *ReqFuncCompEvid) UnmarshalValue(v []byte) error {
	if len(v) == 0 {
		return invalid(0, "no component requested")
	}
	if len(v)%12 != 0 {
		return invalid(len(v)-len(v)%12, "partial component entry")
	}
	a.Requests = make([]CompEvidRequest, 0, len(v)/12)
	s := str(v)
	for !s.Empty() {
		var r CompEvidRequest
		s.ReadUint8(&r.Flags)
		s.ReadUint24(&r.Depth)
		r.Name.unmarshal(&s)
		a.Requests = append(a.Requests, r)
	}
	return nil
}
