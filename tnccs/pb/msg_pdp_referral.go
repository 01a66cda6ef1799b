package pb

import (
	"bytes"
	"fmt"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// PDP identifier types (TCG vendor), TCG TNC PDP Discovery and Validation
// Section 3.2.
const (
	PDPIDFQDN uint32 = 0
	PDPIDIPv4 uint32 = 1
	PDPIDIPv6 uint32 = 2
)

// PDPProtocolPTTLS is the only PDP transport protocol defined: PT-TLS.
const PDPProtocolPTTLS uint8 = 0

// MsgPDPReferral is the TCG PB-PDP-Referral message (vendor TCG, type 1),
// TCG TNC PDP Discovery and Validation Section 3.1, without NOSKIP.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Reserved   |          PDP Identifier Vendor ID             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      PDP Identifier Type                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 PDP Identifier (Variable Length)              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The TCG identifiers (FQDN, IPv4, IPv6) start with the transport:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Reserved   |    Protocol   |          Port Number          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    FQDN (no length, no NUL) | 4 IPv4 bytes | 16 IPv6 bytes     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type MsgPDPReferral struct {
	Vendor   uint32 // PDP Identifier Vendor ID, 24 bits (TCG for the known types)
	IDType   uint32 // PDPIDFQDN, PDPIDIPv4, PDPIDIPv6 or other (kept in Other)
	Protocol uint8  // PDPProtocolPTTLS
	Port     uint16
	FQDN     string     // PDPIDFQDN
	Addr     netip.Addr // PDPIDIPv4 / PDPIDIPv6
	Other    []byte     // the identifier of any other vendor/type
}

// Type implements Message.
func (*MsgPDPReferral) Type() MsgType { return TypePDPReferral }

// NoSkip implements Message.
func (*MsgPDPReferral) NoSkip() bool { return false }

// Host returns the FQDN or the address as text.
func (m *MsgPDPReferral) Host() string {
	if m.Vendor == VendorTCG && m.IDType == PDPIDFQDN {
		return m.FQDN
	}
	if m.Addr.IsValid() {
		return m.Addr.String()
	}
	return ""
}

func (m *MsgPDPReferral) known() bool {
	return m.Vendor == VendorTCG && m.IDType <= PDPIDIPv6
}

func (m *MsgPDPReferral) marshalValue(b *cryptobyte.Builder) {
	if m.Vendor > 0xffffff {
		b.SetError(fmt.Errorf("pb: PDP identifier vendor 0x%x exceeds 24 bits", m.Vendor))
		return
	}
	b.AddUint8(0)
	b.AddUint24(m.Vendor)
	b.AddUint32(m.IDType)
	if !m.known() {
		b.AddBytes(m.Other)
		return
	}
	b.AddUint8(0)
	b.AddUint8(m.Protocol)
	b.AddUint16(m.Port)
	switch m.IDType {
	case PDPIDFQDN:
		b.AddBytes([]byte(m.FQDN))
	case PDPIDIPv4:
		if !m.Addr.Is4() {
			b.SetError(fmt.Errorf("pb: PDP referral IPv4 identifier with address %v", m.Addr))
			return
		}
		a := m.Addr.As4()
		b.AddBytes(a[:])
	case PDPIDIPv6:
		if !m.Addr.Is6() {
			b.SetError(fmt.Errorf("pb: PDP referral IPv6 identifier with address %v", m.Addr))
			return
		}
		a := m.Addr.As16()
		b.AddBytes(a[:])
	}
}

func (m *MsgPDPReferral) parseValue(v []byte, _ Limits) error {
	s := cryptobyte.String(v)
	var rsvd uint8
	if !s.ReadUint8(&rsvd) || !s.ReadUint24(&m.Vendor) || !s.ReadUint32(&m.IDType) {
		return invalidParam(0)
	}
	if !m.known() {
		m.Other = append([]byte{}, s...)
		return nil
	}
	if !s.ReadUint8(&rsvd) || !s.ReadUint8(&m.Protocol) || !s.ReadUint16(&m.Port) {
		return invalidParam(8)
	}
	switch m.IDType {
	case PDPIDFQDN:
		if len(s) == 0 || bytes.IndexByte(s, 0) >= 0 {
			return invalidParam(12)
		}
		m.FQDN = string(s)
	case PDPIDIPv4:
		if len(s) != 4 {
			return invalidParam(12)
		}
		m.Addr = netip.AddrFrom4([4]byte(s))
	case PDPIDIPv6:
		if len(s) != 16 {
			return invalidParam(12)
		}
		m.Addr = netip.AddrFrom16([16]byte(s))
	}
	return nil
}
