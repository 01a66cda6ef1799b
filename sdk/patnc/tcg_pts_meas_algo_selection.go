package patnc

import "github.com/imchost/imchost/sdk/fmtlite"

// MeasAlgoSelection is the TCG PTS Measurement Algorithm (selection)
// attribute (0x07000000), same layout with exactly one algorithm bit set
// (else Invalid Parameter at 2).
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Reserved           |   Hash Algorithm (one bit)    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type MeasAlgoSelection struct {
	AttrFlags
	Alg HashAlgs
}

// Type implements Attr.
func (a *MeasAlgoSelection) Type() Type { return TypeMeasAlgoSelection }

// MarshalValue implements Attr.
func (a *MeasAlgoSelection) MarshalValue(b *Builder) {
	if !a.Alg.Single() {
		b.SetError(errf(TypeMeasAlgoSelection, "selection %#04x is not one algorithm", uint16(a.Alg)))
		return
	}
	marshalU16Pair(b, 0, uint16(a.Alg))
}

// UnmarshalValue implements Attr.
func (a *MeasAlgoSelection) UnmarshalValue(v []byte) error {
	if err := unmarshalLow16(v, (*uint16)(&a.Alg)); err != nil {
		return err
	}
	if !a.Alg.Single() {
		return invalid(2, fmtlite.Sprintf("selection %#04x is not one algorithm", uint16(a.Alg)))
	}
	return nil
}
