package patnc

// Package is one entry of Installed Packages.
type Package struct {
	Name    string // at most 255 bytes
	Version string // at most 255 bytes
}

// InstalledPackages is the IETF Installed Packages attribute, RFC 5792
// §4.2.7.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Reserved             |         Package Count         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Pkg Name Len  |        Package Name (Variable Length)         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Version Len  |    Package Version Number (Variable Length)   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The count must match the entries exactly; the reserved field is ignored.
// A large list does not fit one PA-TNC message; strongSwan splits it over
// several attributes.
type InstalledPackages struct {
	AttrFlags
	Packages []Package // at most 65535
}

// Type implements Attr.
func (a *InstalledPackages) Type() Type { return TypeInstalledPackages }

// MarshalValue implements Attr.
func (a *InstalledPackages) MarshalValue(b *Builder) {
	if len(a.Packages) > 0xffff {
		b.SetError(errf(TypeInstalledPackages, "%d packages", len(a.Packages)))
		return
	}
	b.AddUint16(0)
	b.AddUint16(uint16(len(a.Packages)))
	for _, p := range a.Packages {
		add8(b, TypeInstalledPackages, "package name", p.Name)
		add8(b, TypeInstalledPackages, "package version", p.Version)
	}
}

// UnmarshalValue implements Attr.
func (a *InstalledPackages) UnmarshalValue(v []byte) error {
	r := newReader(v)
	var rsvd, count uint16
	if !r.s.ReadUint16(&rsvd) || !r.s.ReadUint16(&count) {
		return invalid(0, "value shorter than 4 bytes")
	}
	a.Packages = make([]Package, 0, capHint(uint64(count), len(r.s), 2))
	for i := 0; i < int(count); i++ {
		var p Package
		if err := r.string8(&p.Name, "package name"); err != nil {
			return err
		}
		if err := r.string8(&p.Version, "package version"); err != nil {
			return err
		}
		a.Packages = append(a.Packages, p)
	}
	return r.end()
}
