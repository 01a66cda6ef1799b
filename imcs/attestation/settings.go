package main

import (
	"strconv"
	"strings"

	"github.com/imchost/imchost/sdk/fmtlite"
)

// Defaults and bounds of the module settings (README.md lists them).
const (
	// defaultHashAlgorithm lets the IMC choose among every algorithm it
	// knows, from the PCR banks the TPM has and the digests the boot log
	// carries (strongSwan's default is the cap sha384, whatever the log).
	defaultHashAlgorithm = "auto"
	defaultNonceLen      = 20
	minNonceLen          = 17  // PTS_MIN_NONCE_LEN
	maxNonceLen          = 255 // the nonce length field is 8 bits
	// defaultMaxMessageSize is the largest PA-TNC message the IMC builds,
	// tnccs' default (65522 max batch − 8 − 12 − 12).
	defaultMaxMessageSize = 65490
	// minMaxMessageSize keeps room for the PA-TNC header, one attribute
	// header and a Segmentation Envelope header with some payload.
	minMaxMessageSize = 64
	// maxMaxMessageSize is the abi limit on a message body.
	maxMaxMessageSize = 4 << 20
	defaultDHGroups   = "ecp256 ecp384 modp2048 modp1536 modp1024"
)

// settings are the module settings from config.toml, names as strongSwan's
// imc-attestation options where one exists.
type settings struct {
	// measSet is the set of measurement algorithms hash_algorithm allows.
	measSet uint16
	// hashAlgorithm is the hash_algorithm setting as given ("auto" when
	// unset), for messages.
	hashAlgorithm string
	// nonceLen is the responder nonce length (nonce_len).
	nonceLen int
	// dhPrefs is the D-H group preference order (dh_groups).
	dhPrefs []uint16
	// maxMessageSize bounds every PA-TNC message the IMC builds
	// (max_message_size).
	maxMessageSize uint32
}

// configSource is the part of imc.Host settings are read from.
type configSource interface {
	Config(key string) (string, bool)
}

// loadSettings reads and checks the settings; a bad value is an error (the
// IMC refuses to initialize rather than run with a surprise).
func loadSettings(c configSource) (settings, error) {
	s := settings{nonceLen: defaultNonceLen, maxMessageSize: defaultMaxMessageSize}

	name := defaultHashAlgorithm
	if v, ok := c.Config("hash_algorithm"); ok && strings.TrimSpace(v) != "" {
		name = strings.TrimSpace(v)
	}
	set, ok := measCap(name)
	if !ok {
		return s, fmtlite.Errorf("attestation: hash_algorithm %q is not one of auto, sha1, sha256, sha384, sha512", name)
	}
	s.measSet, s.hashAlgorithm = set, strings.ToLower(name)

	if v, ok := c.Config("nonce_len"); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < minNonceLen || n > maxNonceLen {
			return s, fmtlite.Errorf("attestation: nonce_len %q must be a number from %d to %d", v, minNonceLen, maxNonceLen)
		}
		s.nonceLen = n
	}

	if v, ok := c.Config("max_message_size"); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil || n < minMaxMessageSize || n > maxMaxMessageSize {
			return s, fmtlite.Errorf("attestation: max_message_size %q must be a number from %d to %d", v, minMaxMessageSize, maxMaxMessageSize)
		}
		s.maxMessageSize = uint32(n)
	}

	groups := defaultDHGroups
	if v, ok := c.Config("dh_groups"); ok && strings.TrimSpace(v) != "" {
		groups = v
	}
	for _, f := range strings.FieldsFunc(groups, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		bit, ok := dhGroupByConf(f)
		if !ok {
			return s, fmtlite.Errorf("attestation: dh_groups: unknown group %q (ecp256, ecp384, modp2048, modp1536, modp1024)", f)
		}
		if !containsGroup(s.dhPrefs, bit) {
			s.dhPrefs = append(s.dhPrefs, bit)
		}
	}
	mandatory := true
	if v, ok := c.Config("mandatory_dh_groups"); ok && strings.TrimSpace(v) != "" {
		b, err := parseBool(v)
		if err != nil {
			return s, fmtlite.Errorf("attestation: mandatory_dh_groups: %w", err)
		}
		mandatory = b
	}
	if mandatory && !containsGroup(s.dhPrefs, dhIKE19) {
		return s, fmtlite.Errorf("attestation: mandatory D-H group ecp256 is missing from dh_groups (set mandatory_dh_groups = no to allow that)")
	}
	if len(s.dhPrefs) == 0 {
		return s, fmtlite.Errorf("attestation: dh_groups is empty")
	}
	return s, nil
}

// dhSet is the D-H group set the IMC supports.
func (s settings) dhSet() uint16 {
	var set uint16
	for _, g := range s.dhPrefs {
		set |= g
	}
	return set
}

func containsGroup(list []uint16, g uint16) bool {
	for _, x := range list {
		if x == g {
			return true
		}
	}
	return false
}

// parseBool accepts strongSwan's boolean spellings.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "on", "1", "enabled":
		return true, nil
	case "no", "false", "off", "0", "disabled":
		return false, nil
	}
	return false, fmtlite.Errorf("%q is not yes or no", v)
}
