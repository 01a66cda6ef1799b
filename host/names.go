package host

import (
	"fmt"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/tnccs"
)

var vendorNames = map[uint32]string{
	abi.PENIETF: "IETF", abi.PENTCG: "TCG", abi.PENITAHSR: "ITA-HSR", 0x000a8b: "PWG",
}

var subtypeNames = map[abi.MsgType]string{
	{Vendor: abi.PENIETF, Subtype: 0}: "Testing",
	{Vendor: abi.PENIETF, Subtype: 1}: "Operating System",
	{Vendor: abi.PENIETF, Subtype: 2}: "Anti-Virus",
	{Vendor: abi.PENIETF, Subtype: 3}: "Anti-Spyware",
	{Vendor: abi.PENIETF, Subtype: 4}: "Anti-Malware Suite",
	{Vendor: abi.PENIETF, Subtype: 5}: "Firewall",
	{Vendor: abi.PENIETF, Subtype: 6}: "IDPS",
	{Vendor: abi.PENIETF, Subtype: 7}: "VPN",
	{Vendor: abi.PENIETF, Subtype: 8}: "NEA Client",
	{Vendor: abi.PENTCG, Subtype: 1}:  "PTS",
	{Vendor: abi.PENTCG, Subtype: 2}:  "SCAP",
	{Vendor: abi.PENTCG, Subtype: 3}:  "SWID",
}

// msgTypeString prints a message type as strongSwan does:
// 'IETF/Operating System' 0x000000/0x00000001.
func msgTypeString(t abi.MsgType) string {
	v, ok := vendorNames[t.Vendor]
	if !ok {
		if t.Vendor == abi.VendorAny {
			v = "ANY"
		} else {
			v = fmt.Sprintf("%d", t.Vendor)
		}
	}
	s, ok := subtypeNames[t]
	if !ok {
		if t.Subtype == abi.SubtypeAny {
			s = "ANY"
		} else {
			s = fmt.Sprintf("%d", t.Subtype)
		}
	}
	return fmt.Sprintf("'%s/%s' 0x%06x/0x%08x", v, s, t.Vendor, t.Subtype)
}

var stateNames = map[tnccs.ConnState]string{
	tnccs.StateCreate: "Create", tnccs.StateHandshake: "Handshake", tnccs.StateAllowed: "Allowed",
	tnccs.StateIsolated: "Isolated", tnccs.StateNone: "None", tnccs.StateDelete: "Delete",
}

func stateString(s tnccs.ConnState) string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("%d", uint32(s))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
