package patnc

import "github.com/imchost/imchost/abi"

// RFC 8412 Subscription Status attribute types (§5.11, §5.12).
var (
	TypeSubscriptionStatusRequest  = Type{abi.PENIETF, 18}
	TypeSubscriptionStatusResponse = Type{abi.PENIETF, 19}
)

// SubscriptionStatusRequest is the IETF Subscription Status Request
// attribute, RFC 8412 §5.11: a SWIMA-PV asks for the active subscriptions
// it holds on the SWIMA-PC. It has no fields (and, §3.8.2, no Request ID);
// a value that is not empty is refused.
type SubscriptionStatusRequest struct {
	AttrFlags
}

// Type implements Attr.
func (a *SubscriptionStatusRequest) Type() Type { return TypeSubscriptionStatusRequest }

// MarshalValue implements Attr.
func (a *SubscriptionStatusRequest) MarshalValue(b *Builder) {}

// UnmarshalValue implements Attr.
func (a *SubscriptionStatusRequest) UnmarshalValue(v []byte) error {
	return newReader(v).end()
}

// SubscriptionStatusResponse is the IETF Subscription Status Response
// attribute, RFC 8412 §5.12: one record per active subscription of the
// requesting SWIMA-PV, each an exact copy of the fields of the SWIMA
// Request that established it (its Request ID is the Subscription ID).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Status Flags  |          Subscription Record Count            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Flags         |          Software Identifier Count            |  \
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  |
//	|                          Request ID                           |  | per
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  | record
//	|                         Earliest EID                          |  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  |
//	|   Software Identifier Length  | Software Identifier (Var Len) |  /
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The Status Flags are reserved: sent as zero, ignored on receipt. A
// record's Flags are kept as received (a copy of the establishing
// request's, reserved bits included).
type SubscriptionStatusResponse struct {
	AttrFlags
	Subscriptions []SubscriptionRecord
}

// SubscriptionRecord is one active subscription in a Subscription Status
// Response: the fields of its establishing SWIMA Request.
type SubscriptionRecord struct {
	Flags       uint8  // the request's C, S, R and reserved bits
	RequestID   uint32 // the Subscription ID
	EarliestEID uint32
	SoftwareIDs []string // the targets of a targeted subscription
}

// Type implements Attr.
func (a *SubscriptionStatusResponse) Type() Type { return TypeSubscriptionStatusResponse }

// MarshalValue implements Attr.
func (a *SubscriptionStatusResponse) MarshalValue(b *Builder) {
	t := TypeSubscriptionStatusResponse
	b.AddUint8(0)
	addUint24(b, t, "subscription record count", uint32(len(a.Subscriptions)))
	for _, s := range a.Subscriptions {
		addRequestFields(b, t, s.Flags, s.RequestID, s.EarliestEID, s.SoftwareIDs)
	}
}

// UnmarshalValue implements Attr.
func (a *SubscriptionStatusResponse) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var flags uint8
	var count uint32
	if !r.s.ReadUint8(&flags) || !r.s.ReadUint24(&count) {
		return invalid(0, "value shorter than 4 bytes")
	}
	// Each record takes at least 12 bytes.
	a.Subscriptions = make([]SubscriptionRecord, 0, capHint(uint64(count), len(r.s), 12))
	for i := uint32(0); i < count; i++ {
		at := r.off()
		var s SubscriptionRecord
		if trunc, err := r.requestFields(&s.Flags, &s.RequestID, &s.EarliestEID, &s.SoftwareIDs); trunc {
			return short(at, "subscription record")
		} else if err != nil {
			return err
		}
		a.Subscriptions = append(a.Subscriptions, s)
	}
	return r.end()
}

// RFC 8412 Source Metadata attribute types (§5.13, §5.14).
var (
	TypeSourceMetadataRequest  = Type{abi.PENIETF, 20}
	TypeSourceMetadataResponse = Type{abi.PENIETF, 21}
)

// SourceMetadataRequest is the IETF Source Metadata Request attribute, RFC
// 8412 §5.13: a SWIMA-PV asks which sources the SWIMA-PC collects its
// inventory from. It has no fields; a value that is not empty is refused.
type SourceMetadataRequest struct {
	AttrFlags
}

// Type implements Attr.
func (a *SourceMetadataRequest) Type() Type { return TypeSourceMetadataRequest }

// MarshalValue implements Attr.
func (a *SourceMetadataRequest) MarshalValue(b *Builder) {}

// UnmarshalValue implements Attr.
func (a *SourceMetadataRequest) UnmarshalValue(v []byte) error {
	return newReader(v).end()
}

// SourceMetadataResponse is the IETF Source Metadata Response attribute,
// RFC 8412 §5.14: one record per data source, its Source Identifier
// Number (the Source ID of the software records it yields) and a
// description.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Reserved            | Source Count  | Source Id Num |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|       Metadata Length         |      Metadata (var len)  ...  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The Reserved field is sent as zero and ignored on receipt. Metadata is
// not NUL-terminated (§5.14): one containing a NUL is refused.
type SourceMetadataResponse struct {
	AttrFlags
	Sources []SourceMetadata // at most 255
}

// SourceMetadata describes one data source of a SWIMA-PC.
type SourceMetadata struct {
	SourceID uint8
	Metadata string // at most 65535 bytes, no NUL
}

// Type implements Attr.
func (a *SourceMetadataResponse) Type() Type { return TypeSourceMetadataResponse }

// MarshalValue implements Attr.
func (a *SourceMetadataResponse) MarshalValue(b *Builder) {
	t := TypeSourceMetadataResponse
	if len(a.Sources) > 0xff {
		b.SetError(errf(t, "%d sources (at most 255)", len(a.Sources)))
		return
	}
	b.AddUint16(0)
	b.AddUint8(uint8(len(a.Sources)))
	for _, src := range a.Sources {
		if hasNUL(src.Metadata) {
			b.SetError(errf(t, "metadata of source %d contains a NUL", src.SourceID))
			return
		}
		b.AddUint8(src.SourceID)
		add16(b, t, "metadata", []byte(src.Metadata))
	}
}

// UnmarshalValue implements Attr.
func (a *SourceMetadataResponse) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var reserved uint16
	var count uint8
	if !r.s.ReadUint16(&reserved) || !r.s.ReadUint8(&count) {
		return invalid(0, "value shorter than 3 bytes")
	}
	a.Sources = make([]SourceMetadata, 0, capHint(uint64(count), len(r.s), 3))
	for i := 0; i < int(count); i++ {
		at := r.off()
		var src SourceMetadata
		if !r.s.ReadUint8(&src.SourceID) {
			return short(at, "source record")
		}
		mat := r.off()
		if err := r.string16(&src.Metadata, "metadata"); err != nil {
			return err
		}
		if hasNUL(src.Metadata) {
			return invalid(mat, "metadata contains a NUL")
		}
		a.Sources = append(a.Sources, src)
	}
	return r.end()
}
