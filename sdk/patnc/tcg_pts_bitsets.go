package patnc

import "strings"

// Caps is the PTS Protocol Capabilities flag set (PTS IF-M Binding §3.7).
type Caps uint16

// PTS protocol capability flags.
const (
	CapX Caps = 0x0001 // XML evidence
	CapT Caps = 0x0002 // trusted platform (TPM) evidence
	CapD Caps = 0x0004 // D-H nonce negotiation
	CapV Caps = 0x0008 // verification (local validation)
	CapC Caps = 0x0010 // current (in-memory) evidence
)

// String renders the flags as strongSwan logs them: C, V, D, T, X or '.'
// each, e.g. ".VDT.".
func (c Caps) String() string {
	b := []byte(".....")
	for i, f := range []Caps{CapC, CapV, CapD, CapT, CapX} {
		if c&f != 0 {
			b[i] = "CVDTX"[i]
		}
	}
	return string(b)
}

// HashAlgs is a PTS measurement algorithm set, also used for one selected
// algorithm (PTS IF-M Binding §3.9).
type HashAlgs uint16

// PTS measurement algorithm bits.
const (
	HashSHA1   HashAlgs = 0x8000
	HashSHA256 HashAlgs = 0x4000
	HashSHA384 HashAlgs = 0x2000
	HashSHA512 HashAlgs = 0x1000 // strongSwan extension
)

// hashOrder lists the algorithms from strongest to weakest.
var hashOrder = [...]HashAlgs{HashSHA512, HashSHA384, HashSHA256, HashSHA1}

// Best returns the strongest algorithm in the set, or 0 if it is empty.
func (h HashAlgs) Best() HashAlgs {
	for _, a := range hashOrder {
		if h&a != 0 {
			return a
		}
	}
	return 0
}

// Single reports whether exactly one algorithm bit is set.
func (h HashAlgs) Single() bool { return h != 0 && h&(h-1) == 0 }

// Size returns the digest size of a single algorithm, or 0.
func (h HashAlgs) Size() int {
	switch h {
	case HashSHA1:
		return 20
	case HashSHA256:
		return 32
	case HashSHA384:
		return 48
	case HashSHA512:
		return 64
	}
	return 0
}

// TPMAlg returns the TPM_ALG_ID of a single algorithm, or 0.
func (h HashAlgs) TPMAlg() uint16 {
	switch h {
	case HashSHA1:
		return 0x0004
	case HashSHA256:
		return 0x000b
	case HashSHA384:
		return 0x000c
	case HashSHA512:
		return 0x000d
	}
	return 0
}

// HashAlgFromTPM maps a TPM_ALG_ID to its PTS bit, or 0.
func HashAlgFromTPM(alg uint16) HashAlgs {
	for _, a := range hashOrder {
		if a.TPMAlg() == alg {
			return a
		}
	}
	return 0
}

// String names the algorithms, e.g. "SHA256" or "SHA1|SHA256", or "none".
func (h HashAlgs) String() string {
	var parts []string
	for _, a := range [...]struct {
		bit  HashAlgs
		name string
	}{{HashSHA1, "SHA1"}, {HashSHA256, "SHA256"}, {HashSHA384, "SHA384"}, {HashSHA512, "SHA512"}} {
		if h&a.bit != 0 {
			parts = append(parts, a.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// DHGroups is a PTS D-H group set, also used for one selected group
// (PTS IF-M Binding §3.8.6).
type DHGroups uint16

// PTS D-H group bits.
const (
	DHGroupIKE2  DHGroups = 0x8000 // MODP-1024
	DHGroupIKE5  DHGroups = 0x4000 // MODP-1536
	DHGroupIKE14 DHGroups = 0x2000 // MODP-2048
	DHGroupIKE19 DHGroups = 0x1000 // ECP-256
	DHGroupIKE20 DHGroups = 0x0800 // ECP-384
)

// dhOrder lists the groups from strongest to weakest (strongSwan's
// selection order 20, 19, 14, 5, 2).
var dhOrder = [...]DHGroups{DHGroupIKE20, DHGroupIKE19, DHGroupIKE14, DHGroupIKE5, DHGroupIKE2}

// Best returns the strongest group in the set, or 0 if it is empty.
func (g DHGroups) Best() DHGroups {
	for _, a := range dhOrder {
		if g&a != 0 {
			return a
		}
	}
	return 0
}

// Single reports whether exactly one group bit is set.
func (g DHGroups) Single() bool { return g != 0 && g&(g-1) == 0 }

// IKEGroup returns the IKE group number of a single group, or 0.
func (g DHGroups) IKEGroup() uint16 {
	switch g {
	case DHGroupIKE2:
		return 2
	case DHGroupIKE5:
		return 5
	case DHGroupIKE14:
		return 14
	case DHGroupIKE19:
		return 19
	case DHGroupIKE20:
		return 20
	}
	return 0
}

// DHGroupFromIKE maps an IKE group number to its PTS bit, or 0.
func DHGroupFromIKE(n uint16) DHGroups {
	for _, g := range dhOrder {
		if g.IKEGroup() == n {
			return g
		}
	}
	return 0
}

// PublicLen returns the length of a public value of a single group in
// strongSwan's encoding (MODP left-padded, ECP X||Y), or 0.
func (g DHGroups) PublicLen() int {
	switch g {
	case DHGroupIKE2:
		return 128
	case DHGroupIKE5:
		return 192
	case DHGroupIKE14:
		return 256
	case DHGroupIKE19:
		return 64
	case DHGroupIKE20:
		return 96
	}
	return 0
}

// String names the groups as strongSwan does, e.g. "ECP_256", or "none".
func (g DHGroups) String() string {
	var parts []string
	for _, a := range [...]struct {
		bit  DHGroups
		name string
	}{{DHGroupIKE2, "MODP_1024"}, {DHGroupIKE5, "MODP_1536"}, {DHGroupIKE14, "MODP_2048"},
		{DHGroupIKE19, "ECP_256"}, {DHGroupIKE20, "ECP_384"}} {
		if g&a.bit != 0 {
			parts = append(parts, a.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}
