package patnc

// MeasAlgoRequest is the TCG PTS Measurement Algorithm Request attribute
// (0x06000000, exactly 4 bytes): the offered algorithm set. strongSwan's
// IMV sends it with NOSKIP, typically SHA1|SHA256|SHA384 (0xE000).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Reserved           |       Hash Algorithm Set      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type MeasAlgoRequest struct {
	AttrFlags
	Algs HashAlgs
}

// Type implements Attr.
func (a *MeasAlgoRequest) Type() Type { return TypeMeasAlgoRequest }

// MarshalValue implements Attr.
func (a *MeasAlgoRequest) MarshalValue(b *Builder) { marshalU16Pair(b, 0, uint16(a.Algs)) }

// UnmarshalValue implements Attr.
func (a *MeasAlgoRequest) UnmarshalValue(v []byte) error {
	return unmarshalLow16(v, (*uint16)(&a.Algs))
}
