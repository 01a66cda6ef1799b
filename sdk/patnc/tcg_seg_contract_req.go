package patnc

// NoLimit in Max Message Size means "no message size limit", in Max Segment
// Size "no segmentation" (TCG IF-M Segmentation §5.1).
const NoLimit uint32 = 0xffffffff

// SegContractRequest is the TCG Segmentation Contract Request attribute
// (0x21, exactly 8 bytes), TCG IF-M Segmentation §5.1.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Max Message Size                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Max Segment Size                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type SegContractRequest struct {
	AttrFlags
	MaxMsgSize uint32 // NoLimit: no message size limit
	MaxSegSize uint32 // NoLimit: no segmentation
}

// Type implements Attr.
func (a *SegContractRequest) Type() Type { return TypeSegContractRequest }

// MarshalValue implements Attr.
func (a *SegContractRequest) MarshalValue(b *Builder) {
	b.AddUint32(a.MaxMsgSize)
	b.AddUint32(a.MaxSegSize)
}

// UnmarshalValue implements Attr.
func (a *SegContractRequest) UnmarshalValue(v []byte) error {
	return unmarshalContract(v, &a.MaxMsgSize, &a.MaxSegSize)
}
