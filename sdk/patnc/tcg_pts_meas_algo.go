package patnc

import (
	"fmt"
)

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

// MeasAlgoSelection is the TCG PTS Measurement Algorithm (selection)
// attribute (0x07000000), same layout with exactly one algorithm bit set
// (else Invalid Parameter at 2).
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
		return invalid(2, fmt.Sprintf("selection %#04x is not one algorithm", uint16(a.Alg)))
	}
	return nil
}
