package main

import (
	"strings"

	"github.com/imchost/imchost/abi"
)

// PTS Measurement Algorithm bits, TCG PTS Protocol: Binding to IF-M
// §3.9.1. The same bits fill the D-H "Hash Algorithm Set", the Simple
// Component Evidence "Hash Algorithm" and the Simple Evidence Final
// "Composite Hash Algorithm" fields.
const (
	measSHA1   uint16 = 0x8000
	measSHA256 uint16 = 0x4000
	measSHA384 uint16 = 0x2000
	measSHA512 uint16 = 0x1000 // strongSwan extension
)

// measAlgos lists the measurement algorithms from strongest to weakest: the
// order in which a selection is made.
var measAlgos = []struct {
	bit  uint16
	tpm  uint16 // TPM_ALG_ID of the matching PCR bank / hash
	size int    // digest size
	name string // strongSwan's name, for logs
	conf string // name in the hash_algorithm setting
}{
	{measSHA512, abi.AlgSHA512, 64, "HASH_SHA2_512", "sha512"},
	{measSHA384, abi.AlgSHA384, 48, "HASH_SHA2_384", "sha384"},
	{measSHA256, abi.AlgSHA256, 32, "HASH_SHA2_256", "sha256"},
	{measSHA1, abi.AlgSHA1, 20, "HASH_SHA1", "sha1"},
}

// measTPMAlg returns the TPM_ALG_ID of a single measurement algorithm bit.
func measTPMAlg(bit uint16) (uint16, bool) {
	for _, a := range measAlgos {
		if a.bit == bit {
			return a.tpm, true
		}
	}
	return 0, false
}

// measFromTPMAlg returns the measurement algorithm bit of a TPM_ALG_ID.
func measFromTPMAlg(alg uint16) (uint16, bool) {
	for _, a := range measAlgos {
		if a.tpm == alg {
			return a.bit, true
		}
	}
	return 0, false
}

// measSize returns the digest size of a single measurement algorithm bit.
func measSize(bit uint16) int {
	for _, a := range measAlgos {
		if a.bit == bit {
			return a.size
		}
	}
	return 0
}

// measName returns strongSwan's name of a measurement algorithm bit.
func measName(bit uint16) string {
	for _, a := range measAlgos {
		if a.bit == bit {
			return a.name
		}
	}
	return "HASH_UNKNOWN"
}

// strongestMeas returns the strongest algorithm in set, or 0.
func strongestMeas(set uint16) uint16 {
	for _, a := range measAlgos {
		if set&a.bit != 0 {
			return a.bit
		}
	}
	return 0
}

// measCap returns the set of algorithms allowed by the hash_algorithm
// setting. As in strongSwan, the setting names the strongest algorithm the
// IMC may use: "sha256" allows SHA-1 and SHA-256; "auto" allows every one.
func measCap(name string) (uint16, bool) {
	if strings.EqualFold(name, "auto") {
		name = measAlgos[0].conf
	}
	var set uint16
	found := false
	for i := len(measAlgos) - 1; i >= 0; i-- { // weakest first
		set |= measAlgos[i].bit
		if strings.EqualFold(name, measAlgos[i].conf) {
			found = true
			break
		}
	}
	return set, found
}

// D-H group bits, PTS IF-M Binding §3.8.6.
const (
	dhIKE2  uint16 = 0x8000 // MODP-1024
	dhIKE5  uint16 = 0x4000 // MODP-1536
	dhIKE14 uint16 = 0x2000 // MODP-2048
	dhIKE19 uint16 = 0x1000 // ECP-256
	dhIKE20 uint16 = 0x0800 // ECP-384
)

// dhGroups maps the D-H group bits to IKE group numbers and names.
var dhGroups = []struct {
	bit  uint16
	ike  uint16
	name string // strongSwan's name, for logs
	conf string // name in the dh_groups setting
}{
	{dhIKE19, 19, "ECP_256", "ecp256"},
	{dhIKE20, 20, "ECP_384", "ecp384"},
	{dhIKE14, 14, "MODP_2048", "modp2048"},
	{dhIKE5, 5, "MODP_1536", "modp1536"},
	{dhIKE2, 2, "MODP_1024", "modp1024"},
}

// dhGroupByConf finds a group by its setting name ("ecp256").
func dhGroupByConf(name string) (bit uint16, ok bool) {
	for _, g := range dhGroups {
		if strings.EqualFold(name, g.conf) {
			return g.bit, true
		}
	}
	return 0, false
}

// dhIKE returns the IKE group number of a D-H group bit.
func dhIKE(bit uint16) uint16 {
	for _, g := range dhGroups {
		if g.bit == bit {
			return g.ike
		}
	}
	return 0
}

// dhName returns strongSwan's name of a D-H group bit.
func dhName(bit uint16) string {
	for _, g := range dhGroups {
		if g.bit == bit {
			return g.name
		}
	}
	return "DH_UNKNOWN"
}

// PTS Protocol Capabilities flags, PTS IF-M Binding §3.7.
const (
	capC uint16 = 0x10 // current (in-memory) evidence
	capV uint16 = 0x08 // verification support
	capD uint16 = 0x04 // D-H nonce negotiation
	capT uint16 = 0x02 // trusted platform evidence
	capX uint16 = 0x01 // XML evidence
)

// capsString renders a capability set as strongSwan logs it (".VDT.").
func capsString(c uint16) string {
	b := []byte(".....")
	for i, f := range []struct {
		bit uint16
		ch  byte
	}{{capC, 'C'}, {capV, 'V'}, {capD, 'D'}, {capT, 'T'}, {capX, 'X'}} {
		if c&f.bit != 0 {
			b[i] = f.ch
		}
	}
	return string(b)
}

// measNames names the algorithms of set, strongest first ("none" when
// empty).
func measNames(set uint16) string {
	var out []string
	for _, a := range measAlgos {
		if set&a.bit != 0 {
			out = append(out, a.name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " ")
}
