package patnc

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
)

// RFC 8412 (SWIMA) attribute types.
var (
	TypeSWRequest             = Type{abi.PENIETF, 13}
	TypeSWIdentifierInventory = Type{abi.PENIETF, 14}
	TypeSWIdentifierEvents    = Type{abi.PENIETF, 15}
	TypeSWInventory           = Type{abi.PENIETF, 16}
	TypeSWEvents              = Type{abi.PENIETF, 17}
)

// SW Request flags (RFC 8412 §5.7); the five low bits are reserved.
const (
	SWReqClearSubscriptions uint8 = 0x80 // C
	SWReqSubscribe          uint8 = 0x40 // S
	SWReqIdentifiersOnly    uint8 = 0x20 // R: Software Identifier Inventory/Events
	swReqFlags                    = SWReqClearSubscriptions | SWReqSubscribe | SWReqIdentifiersOnly
)

// Software event actions (RFC 8412 §5.11).
const (
	SWActionCreation   uint8 = 1
	SWActionDeletion   uint8 = 2
	SWActionAlteration uint8 = 3
)

// The ISO/IEC 19770-2:2015 SWID tag data model (RFC 8412 §5.8: Data Model
// Type PEN 0, type 0), the one strongSwan uses.
const (
	SWDataModelPEN     uint32 = abi.PENIETF
	SWDataModelISO2015 uint8  = 0
)

// SWRequest is the IETF SW Request attribute, RFC 8412 §5.7.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|C|S|R| Reserved|           Software Identifier Count           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Request ID                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Earliest EID                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Software Identifier Length  | Software Identifier (Var Len) |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The reserved bits are sent as zero and ignored on receipt (as strongSwan
// does). Earliest EID 0 asks for an inventory, any other value for the
// events from that EID on.
type SWRequest struct {
	AttrFlags
	Flags       uint8 // SWReq* bits
	RequestID   uint32
	EarliestEID uint32
	// SoftwareIDs restricts the answer to these software identifiers
	// (targeted request); empty: everything.
	SoftwareIDs []string
}

// Type implements Attr.
func (a *SWRequest) Type() Type { return TypeSWRequest }

// MarshalValue implements Attr.
func (a *SWRequest) MarshalValue(b *Builder) {
	addRequestFields(b, TypeSWRequest, a.Flags&swReqFlags, a.RequestID, a.EarliestEID, a.SoftwareIDs)
}

// UnmarshalValue implements Attr.
func (a *SWRequest) UnmarshalValue(v []byte) error {
	r := newReader(v)
	if trunc, err := r.requestFields(&a.Flags, &a.RequestID, &a.EarliestEID, &a.SoftwareIDs); trunc {
		return invalid(0, "value shorter than 12 bytes")
	} else if err != nil {
		return err
	}
	a.Flags &= swReqFlags
	return r.end()
}

// addRequestFields appends the fields of a SWIMA Request (RFC 8412 §5.7),
// which a Subscription Status Response repeats for each subscription
// (§5.12): flags, software identifier count, request ID, earliest EID,
// then each software identifier with its 16-bit length.
func addRequestFields(b *Builder, t Type, flags uint8, requestID, earliestEID uint32, ids []string) {
	b.AddUint8(flags)
	addUint24(b, t, "software identifier count", uint32(len(ids)))
	b.AddUint32(requestID)
	b.AddUint32(earliestEID)
	for _, id := range ids {
		add16(b, t, "software identifier", []byte(id))
	}
}

// requestFields reads what addRequestFields writes; trunc reports that
// the fixed 12 bytes are not all there (the caller names the refusal),
// err a software identifier that does not fit.
func (r *reader) requestFields(flags *uint8, requestID, earliestEID *uint32, ids *[]string) (trunc bool, err error) {
	var count uint32
	if !r.s.ReadUint8(flags) || !r.s.ReadUint24(&count) || !r.s.ReadUint32(requestID) || !r.s.ReadUint32(earliestEID) {
		return true, nil
	}
	*ids = make([]string, 0, capHint(uint64(count), len(r.s), 2))
	for i := uint32(0); i < count; i++ {
		var id string
		if err := r.string16(&id, "software identifier"); err != nil {
			return false, err
		}
		*ids = append(*ids, id)
	}
	return false, nil
}

// SWRecord is one software record of an inventory or event (RFC 8412
// §5.8-5.11).
type SWRecord struct {
	RecordID      uint32
	DataModelPEN  uint32 // 24 bits
	DataModelType uint8
	SourceID      uint8
	SoftwareID    string // at most 65535 bytes
	Locator       string // Software Locator, at most 65535 bytes ("" if none)
	// Record is the software record itself (a SWID tag) in SW Inventory
	// and SW Events; absent from the identifier-only attributes.
	Record []byte
}

func (rec *SWRecord) marshal(b *Builder, t Type, action uint8, withRecord bool) {
	b.AddUint32(rec.RecordID)
	addUint24(b, t, "data model PEN", rec.DataModelPEN)
	b.AddUint8(rec.DataModelType)
	b.AddUint8(rec.SourceID)
	b.AddUint8(action)
	add16(b, t, "software identifier", []byte(rec.SoftwareID))
	add16(b, t, "software locator", []byte(rec.Locator))
	if withRecord {
		add32(b, t, "record", rec.Record)
	}
}

func (r *reader) swRecord(rec *SWRecord, action *uint8, withRecord bool) error {
	at := r.off()
	if !r.s.ReadUint32(&rec.RecordID) || !r.s.ReadUint24(&rec.DataModelPEN) ||
		!r.s.ReadUint8(&rec.DataModelType) || !r.s.ReadUint8(&rec.SourceID) || !r.s.ReadUint8(action) {
		return short(at, "software record")
	}
	if err := r.string16(&rec.SoftwareID, "software identifier"); err != nil {
		return err
	}
	if err := r.string16(&rec.Locator, "software locator"); err != nil {
		return err
	}
	if withRecord {
		if err := r.bytes32(&rec.Record, "record"); err != nil {
			return err
		}
		if rec.Record == nil {
			rec.Record = []byte{}
		}
	}
	return nil
}

// SWInventory is the IETF Software Identifier Inventory (RFC 8412 §5.8)
// or, with records, Software Inventory (§5.10) attribute.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Flags     |           Software Identifier Count           |
//	|               Request ID Copy / Subscription ID               |
//	|                           EID Epoch                           |
//	|                           Last EID                            |
//	then per record:
//	|                       Record Identifier                       |
//	|              Data Model Type PEN              |Data Model Type|
//	| Source ID Num |   Reserved    |  Software Identifier Length   |
//	|             Software Identifier (Variable Length)             |
//	|    Software Locator Length    |  Software Locator (Var. Len)  |
//	and in Software Inventory only:
//	|                          Record Length                        |
//	|                   Record (Variable length)                    |
//
// The reserved byte is sent as zero and ignored on receipt.
type SWInventory struct {
	AttrFlags
	// IDsOnly makes it a Software Identifier Inventory (no records).
	IDsOnly   bool
	Flags     uint8
	RequestID uint32 // the request's ID, or the subscription's
	EIDEpoch  uint32
	LastEID   uint32
	Records   []SWRecord
}

// Type implements Attr.
func (a *SWInventory) Type() Type {
	if a.IDsOnly {
		return TypeSWIdentifierInventory
	}
	return TypeSWInventory
}

// MarshalValue implements Attr.
func (a *SWInventory) MarshalValue(b *Builder) {
	t := a.Type()
	b.AddUint8(a.Flags)
	addUint24(b, t, "software identifier count", uint32(len(a.Records)))
	b.AddUint32(a.RequestID)
	b.AddUint32(a.EIDEpoch)
	b.AddUint32(a.LastEID)
	for i := range a.Records {
		a.Records[i].marshal(b, t, 0, !a.IDsOnly)
	}
}

// UnmarshalValue implements Attr.
func (a *SWInventory) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var count uint32
	if !r.s.ReadUint8(&a.Flags) || !r.s.ReadUint24(&count) || !r.s.ReadUint32(&a.RequestID) ||
		!r.s.ReadUint32(&a.EIDEpoch) || !r.s.ReadUint32(&a.LastEID) {
		return invalid(0, "value shorter than 16 bytes")
	}
	a.Records = make([]SWRecord, 0, capHint(uint64(count), len(r.s), 16))
	for i := uint32(0); i < count; i++ {
		var rec SWRecord
		var reserved uint8
		if err := r.swRecord(&rec, &reserved, !a.IDsOnly); err != nil {
			return err
		}
		a.Records = append(a.Records, rec)
	}
	return r.end()
}

// SWTimestampLen is the length of an event's timestamp: RFC 3339
// "YYYY-MM-DDTHH:MM:SSZ" (RFC 8412 §5.9).
const SWTimestampLen = 20

// SWEvent is one event of Software [Identifier] Events.
type SWEvent struct {
	EID       uint32
	Timestamp string // SWTimestampLen bytes
	Action    uint8  // SWAction*
	Record    SWRecord
}

// SWEvents is the IETF Software Identifier Events (RFC 8412 §5.9) or, with
// records, Software Events (§5.11) attribute.
//
//	|     Flags     |           Software Identifier Count           |
//	|               Request ID Copy / Subscription ID               |
//	|                           EID Epoch                           |
//	|                           Last EID                            |
//	|                       Last Consulted EID                      |
//	then per event:
//	|                              EID                              |
//	|                     Timestamp (20 bytes)                      |
//	|                       Record Identifier                       |
//	|              Data Model Type PEN              |Data Model Type|
//	| Source ID Num |    Action     |  Software Identifier Length   |
//	|             Software Identifier (Variable Length)             |
//	|    Software Locator Length    |  Software Locator (Var. Len)  |
//	and in Software Events only:
//	|                          Record Length                        |
//	|                   Record (Variable length)                    |
//
// An action outside 1..3 is Invalid Parameter at its offset.
type SWEvents struct {
	AttrFlags
	IDsOnly          bool
	Flags            uint8
	RequestID        uint32
	EIDEpoch         uint32
	LastEID          uint32
	LastConsultedEID uint32
	Events           []SWEvent
}

// Type implements Attr.
func (a *SWEvents) Type() Type {
	if a.IDsOnly {
		return TypeSWIdentifierEvents
	}
	return TypeSWEvents
}

// MarshalValue implements Attr.
func (a *SWEvents) MarshalValue(b *Builder) {
	t := a.Type()
	b.AddUint8(a.Flags)
	addUint24(b, t, "event count", uint32(len(a.Events)))
	b.AddUint32(a.RequestID)
	b.AddUint32(a.EIDEpoch)
	b.AddUint32(a.LastEID)
	b.AddUint32(a.LastConsultedEID)
	for i := range a.Events {
		e := &a.Events[i]
		if len(e.Timestamp) != SWTimestampLen || e.Action < SWActionCreation || e.Action > SWActionAlteration {
			b.SetError(errf(t, "event %d: timestamp of %d bytes or action %d", e.EID, len(e.Timestamp), e.Action))
			return
		}
		b.AddUint32(e.EID)
		b.AddBytes([]byte(e.Timestamp))
		e.Record.marshal(b, t, e.Action, !a.IDsOnly)
	}
}

// UnmarshalValue implements Attr.
func (a *SWEvents) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var count uint32
	if !r.s.ReadUint8(&a.Flags) || !r.s.ReadUint24(&count) || !r.s.ReadUint32(&a.RequestID) ||
		!r.s.ReadUint32(&a.EIDEpoch) || !r.s.ReadUint32(&a.LastEID) || !r.s.ReadUint32(&a.LastConsultedEID) {
		return invalid(0, "value shorter than 20 bytes")
	}
	a.Events = make([]SWEvent, 0, capHint(uint64(count), len(r.s), 40))
	for i := uint32(0); i < count; i++ {
		var e SWEvent
		at := r.off()
		var ts []byte
		if !r.s.ReadUint32(&e.EID) || !r.s.ReadBytes(&ts, SWTimestampLen) {
			return short(at, "event")
		}
		e.Timestamp = string(ts)
		actionAt := r.off() + 9
		if err := r.swRecord(&e.Record, &e.Action, !a.IDsOnly); err != nil {
			return err
		}
		if e.Action < SWActionCreation || e.Action > SWActionAlteration {
			return invalid(actionAt, fmtlite.Sprintf("event action %d", e.Action))
		}
		a.Events = append(a.Events, e)
	}
	return r.end()
}

// NewSWIMAError returns a PA-TNC Error attribute with an IETF SWIMA error
// code (RFC 8412 §5.16): the request's (or subscription's) ID, for
// ErrSWIMAResponseTooLarge the largest size the IMC could send, and a
// description.
func NewSWIMAError(code ErrorCode, requestID, maxSize uint32, description string) *PATNCError {
	b := []byte{byte(requestID >> 24), byte(requestID >> 16), byte(requestID >> 8), byte(requestID)}
	if code == ErrSWIMAResponseTooLarge {
		b = append(b, byte(maxSize>>24), byte(maxSize>>16), byte(maxSize>>8), byte(maxSize))
	}
	return &PATNCError{Vendor: abi.PENIETF, Code: uint32(code), Info: append(b, description...)}
}

// SWIMAErrorInfo is the error information of an IETF SWIMA error code.
type SWIMAErrorInfo struct {
	RequestID   uint32
	MaxSize     uint32 // ErrSWIMAResponseTooLarge only
	Description string
}

// ParseSWIMAErrorInfo decodes the information of a SWIMA error (codes
// ErrSWIMA to ErrSWIMASubscriptionIDReuse).
func ParseSWIMAErrorInfo(code ErrorCode, info []byte) (SWIMAErrorInfo, error) {
	var v SWIMAErrorInfo
	if code < ErrSWIMA || code > ErrSWIMASubscriptionIDReuse {
		return v, invalid(0, fmtlite.Sprintf("error code %d is not a SWIMA error", code))
	}
	r := newReader(info)
	if !r.s.ReadUint32(&v.RequestID) {
		return v, invalid(0, "SWIMA error information shorter than 4 bytes")
	}
	if code == ErrSWIMAResponseTooLarge && !r.s.ReadUint32(&v.MaxSize) {
		return v, invalid(4, "SWIMA error information without the maximum size")
	}
	v.Description = string(r.rest())
	return v, nil
}
