package patnc

import (
	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
)

// Qualifier is the 6-bit functional component qualifier: K (kernel) and S
// (sub-component) flags and a 4-bit type (PTS IF-M Binding §5.2).
type Qualifier uint8

// Qualifier flags and types.
const (
	QualKernel       Qualifier = 0x20 // K
	QualSub          Qualifier = 0x10 // S
	QualUnknown      Qualifier = 0x00 // matches any
	QualTrustedPlat  Qualifier = 0x01
	QualOS           Qualifier = 0x02
	QualGUI          Qualifier = 0x03
	QualApplication  Qualifier = 0x04
	QualNetworking   Qualifier = 0x05
	QualLibrary      Qualifier = 0x06
	QualTNCDefined   Qualifier = 0x07
	QualAllTypes     Qualifier = 0x0f
	QualWildcard     Qualifier = 0x3f
	qualifierTypeMsk Qualifier = 0x0f
)

var qualTypeNames = [16]string{
	"Unknown", "Trusted Platform", "Operating System", "Graphical User Interface",
	"Application", "Networking", "Library", "TNC Defined Component",
	8: "Reserved", 9: "Reserved", 10: "Reserved", 11: "Reserved", 12: "Reserved",
	13: "Reserved", 14: "Reserved", 15: "All Matching Components",
}

// String renders the qualifier as strongSwan logs it: "[K.] 'Trusted Platform'".
func (q Qualifier) String() string {
	k, s := '.', '.'
	if q&QualKernel != 0 {
		k = 'K'
	}
	if q&QualSub != 0 {
		s = 'S'
	}
	return fmtlite.Sprintf("[%c%c] '%s'", k, s, qualTypeNames[q&qualifierTypeMsk])
}

// Component functional names in the TCG namespace.
const (
	CompTCGIgnore      uint32 = 0
	CompTCGCRTM        uint32 = 1
	CompTCGBIOS        uint32 = 2
	CompTCGPlatformExt uint32 = 3
	CompTCGBoardFW     uint32 = 4
	CompTCGInitialLoad uint32 = 5
	CompTCGOptionROMs  uint32 = 6
)

// Component functional names in the ITA-HSR namespace.
const (
	CompITAIgnore   uint32 = 0
	CompITATGRUB    uint32 = 1 // "Trusted GRUB Boot Loader"
	CompITATBOOT    uint32 = 2 // "Trusted Boot"
	CompITALinuxIMA uint32 = 3 // "Linux IMA"
)

// ComponentName is a PTS Component Functional Name (8 bytes), PTS IF-M Binding §5.1.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Component Functional Name Vendor ID        |Fam| Qualifier |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Component Functional Name                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// strongSwan's IMV asks for BIOS evidence as ITA "Linux IMA" with qualifier
// K|Trusted Platform (0x21): see BIOSComponent.
type ComponentName struct {
	Vendor    uint32    // 24 bits
	Family    uint8     // 2 bits; 0 = binary enumeration (strongSwan accepts only 0)
	Qualifier Qualifier // 6 bits
	Name      uint32
}

// BIOSComponent is the name strongSwan's IMV requests BIOS/pre-boot
// evidence with: 00 90 2A 21 00 00 00 03.
var BIOSComponent = ComponentName{Vendor: abi.PENITAHSR, Qualifier: QualKernel | QualTrustedPlat, Name: CompITALinuxIMA}

// IMAComponent is the name strongSwan's IMV requests IMA runtime evidence
// with (qualifier K|Operating System).
var IMAComponent = ComponentName{Vendor: abi.PENITAHSR, Qualifier: QualKernel | QualOS, Name: CompITALinuxIMA}

func (c ComponentName) marshal(b *Builder, t Type) {
	if c.Family > 3 || c.Qualifier > 0x3f {
		b.SetError(errf(t, "component family %d / qualifier %#x out of range", c.Family, c.Qualifier))
		return
	}
	addUint24(b, t, "component vendor ID", c.Vendor)
	b.AddUint8(c.Family<<6 | uint8(c.Qualifier))
	b.AddUint32(c.Name)
}

func (c *ComponentName) unmarshal(s *str) bool {
	var fq uint8
	if !s.ReadUint24(&c.Vendor) || !s.ReadUint8(&fq) || !s.ReadUint32(&c.Name) {
		return false
	}
	c.Family, c.Qualifier = fq>>6, Qualifier(fq&0x3f)
	return true
}

// NameString returns strongSwan's name of the component, e.g. "Linux IMA",
// or the number.
func (c ComponentName) NameString() string {
	switch c.Vendor {
	case abi.PENITAHSR:
		switch c.Name {
		case CompITAIgnore:
			return "Ignore"
		case CompITATGRUB:
			return "Trusted GRUB Boot Loader"
		case CompITATBOOT:
			return "Trusted Boot"
		case CompITALinuxIMA:
			return "Linux IMA"
		}
	case abi.PENTCG:
		names := [...]string{"Ignore", "CRTM", "BIOS", "Platform Extensions",
			"Motherboard firmware", "Initial Program Loader", "Option ROMs"}
		if c.Name < uint32(len(names)) {
			return names[c.Name]
		}
	}
	return fmtlite.Sprintf("%d", c.Name)
}

// String renders the name as strongSwan logs it, e.g.
// "ITA-HSR functional component 'Linux IMA' [K.] 'Trusted Platform'".
func (c ComponentName) String() string {
	v := abi.PENName(c.Vendor)
	if v == "" {
		v = fmtlite.Sprintf("0x%06x", c.Vendor)
	}
	return fmtlite.Sprintf("%s functional component '%s' %s", v, c.NameString(), c.Qualifier)
}
