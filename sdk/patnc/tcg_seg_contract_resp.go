package patnc

// SegContractResponse is the TCG Segmentation Contract Response attribute
// (0x22), same layout as SegContractRequest.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Max Message Size                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Max Segment Size                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type SegContractResponse struct {
	AttrFlags
	MaxMsgSize uint32
	MaxSegSize uint32
}

// Type implements Attr.
func (a *SegContractResponse) Type() Type { return TypeSegContractResponse }

// MarshalValue implements Attr.
func (a *SegContractResponse) MarshalValue(b *Builder) {
	b.AddUint32(a.MaxMsgSize)
	b.AddUint32(a.MaxSegSize)
}

// UnmarshalValue implements Attr.
func (a *SegContractResponse) UnmarshalValue(v []byte) error {
	return unmarshalContract(v, &a.MaxMsgSize, &a.MaxSegSize)
}

func unmarshalContract(v []byte, msg, seg *uint32) error {
	if err := fixedLen(v, 8); err != nil {
		return err
	}
	s := str(v)
	s.ReadUint32(msg)
	s.ReadUint32(seg)
	return nil
}
