package patnc

// ProductInfo is the IETF Product Information attribute, RFC 5792 §4.2.2.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|               Product Vendor ID               |  Product ID   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Product ID   |         Product Name (Variable Length)        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Vendor 0 (IETF) requires product ID 0 (else Invalid Parameter at 3).
// strongSwan's OS IMC sends the os-release vendor PEN (e.g. Debian 0x002572),
// product 0 and the capitalised os-release ID ("Debian").
type ProductInfo struct {
	AttrFlags
	VendorID  uint32 // 24 bits
	ProductID uint16
	Name      string // no length prefix, no NUL terminator
}

// Type implements Attr.
func (a *ProductInfo) Type() Type { return TypeProductInfo }

// MarshalValue implements Attr.
func (a *ProductInfo) MarshalValue(b *Builder) {
	if a.VendorID == 0 && a.ProductID != 0 {
		b.SetError(errf(TypeProductInfo, "vendor 0 with product ID %d", a.ProductID))
		return
	}
	addUint24(b, TypeProductInfo, "vendor ID", a.VendorID)
	b.AddUint16(a.ProductID)
	b.AddBytes([]byte(a.Name))
}

// UnmarshalValue implements Attr.
func (a *ProductInfo) UnmarshalValue(v []byte) error {
	s := str(v)
	if !s.ReadUint24(&a.VendorID) || !s.ReadUint16(&a.ProductID) {
		return invalid(0, "value shorter than 5 bytes")
	}
	if a.VendorID == 0 && a.ProductID != 0 {
		return invalid(3, "vendor 0 requires product ID 0")
	}
	a.Name = string(s)
	return nil
}
