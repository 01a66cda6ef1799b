package pdp

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// PTS measurement algorithm bits (PTS IF-M Binding §3.9.1).
const (
	MeasSHA1   uint16 = 0x8000
	MeasSHA256 uint16 = 0x4000
	MeasSHA384 uint16 = 0x2000
	MeasSHA512 uint16 = 0x1000
)

// PTS D-H group bits (PTS IF-M Binding §3.8.6).
const (
	DHModp1024 uint16 = 0x8000
	DHModp1536 uint16 = 0x4000
	DHModp2048 uint16 = 0x2000
	DHECP256   uint16 = 0x1000
	DHECP384   uint16 = 0x0800
)

// Policy is what the PDP enforces. The zero value is strict: nothing is
// learned, forwarding and factory default passwords are forbidden, and no
// product, device or AK is known. DefaultPolicy gives strongSwan's
// out-of-the-box behaviour (learn on first contact).
type Policy struct {
	// AllowForwarding accepts endpoints with IPv4 forwarding enabled
	// (strongSwan's forwarding work item fails them: non-compliant major).
	AllowForwarding bool `toml:"allow_forwarding"`
	// AllowDefaultPassword accepts a factory default password.
	AllowDefaultPassword bool `toml:"allow_default_password"`

	// Products lists the allowed product keys ("Debian 12 x86_64"); they are
	// seeded into the database. An endpoint reporting another product is
	// non-compliant unless LearnProducts is set, which records and allows
	// every product seen.
	Products      []string `toml:"products"`
	LearnProducts bool     `toml:"learn_products"`

	// RequireKnownDevice fails an endpoint whose ITA Device ID is not in
	// the database (devices are always recorded; see LearnDevices).
	RequireKnownDevice bool `toml:"require_known_device"`
	// LearnDevices makes RequireKnownDevice accept a device on its first
	// contact and record it as known (first-contact learning).
	LearnDevices bool `toml:"learn_devices"`

	// TrustedAKs are AK keyids (SHA-1 of the DER SubjectPublicKeyInfo, 40
	// lower-case hex) seeded into the database as trusted.
	TrustedAKs []string `toml:"trusted_aks"`
	// LearnAKs trusts an unknown naked AK on its first contact and records
	// it (trust on first use).
	LearnAKs bool `toml:"learn_aks"`
	// AKCAs, when set, trusts an AK sent as an X.509 certificate that
	// chains to one of these CAs.
	AKCAs *x509.CertPool `toml:"-"`

	// LearnMeasurements registers the boot measurements of a device that has
	// none yet (strongSwan's behaviour); without it such a device is
	// non-compliant.
	LearnMeasurements bool `toml:"learn_measurements"`

	// AllowMissingAttestation lets a client that ends the exchange before
	// the quote (an empty CDATA) be judged by the other IMVs alone: the
	// Attestation IMV then says "don't know" / no recommendation, which is
	// strongSwan's behaviour. Without it an unfinished attestation is an
	// error with recommendation "no access".
	AllowMissingAttestation bool `toml:"allow_missing_attestation"`

	// RequireModuleReport fails a client whose host sends no module report
	// (the modules it ran since boot, measured into a PCR: abi/README.md).
	RequireModuleReport bool `toml:"require_module_report"`
	// ModuleDigests and ModuleSigners are the module allowlist: every
	// module in the report must have its file's sha256 (hex) in
	// ModuleDigests or its signer's key ID in ModuleSigners. Either set
	// requires a module report.
	ModuleDigests []string `toml:"module_digests"`
	ModuleSigners []string `toml:"module_signers"`

	// IMA requests the Linux IMA runtime evidence (the ITA-HSR Linux IMA
	// component, qualifier K + operating system) besides the boot evidence
	// and verifies it: the list replays to the quoted PCR 10, boot_aggregate
	// matches the boot PCRs, no violation, and every file matches a
	// reference digest (IMAReferences) or the measurement learned for the
	// device on first contact (with LearnMeasurements).
	IMA bool `toml:"ima"`
	// IMAReferences is a reference list of file digests imported at start
	// (sha256sum's "<hex>  <path>" or "sha256:<hex> <path>" lines).
	IMAReferences string `toml:"ima_references"`
	// IMAStrict fails a file that has no reference digest and no learned
	// measurement instead of learning it.
	IMAStrict bool `toml:"ima_strict"`
	// IMALearnChanges accepts (and learns) a new measurement of a file
	// whose learned one differs, as after a package update; without it
	// such a file fails.
	IMALearnChanges bool `toml:"ima_learn_changes"`
	// IMAKeys are files of the keys ima-sig signatures are verified against
	// (PEM certificates or public keys, or a DER certificate: what the
	// kernel's .ima keyring is loaded with). With keys, every IMA entry
	// that comes with its file digest and signature (imchost's IMC sends
	// them; strongSwan's does not) must be signed by one of them and give
	// its measurement, whatever the references say; entries without a
	// signature are checked as before.
	IMAKeys []string `toml:"ima_keys"`
	// imaKeys are the keys read from IMAKeys (by validate).
	imaKeys []IMAKey

	// FileMeasurements are files (and directories, with a trailing "/":
	// their regular files) the IMV asks the endpoint to measure (PTS
	// Request File Measurement); each digest must be a reference digest
	// (IMAReferences, or learned on first contact with LearnMeasurements).
	FileMeasurements []string `toml:"file_measurements"`

	// SWIMA makes the SWIMA IMV (RFC 8412, IMV 3) ask the endpoint's SWIMA
	// IMC for its software inventory on the device's first contact and for
	// the software events since the last EID stored afterwards, keep them
	// in the store (`imchost pdp software`), and check SWDeny.
	SWIMA bool `toml:"swima"`
	// SWDeny lists software that makes an endpoint non-compliant (major),
	// with the remediation text sent with the verdict.
	SWDeny []SWDenyRule `toml:"sw_deny"`
	// SWReassess makes the SWIMA IMV subscribe to the endpoint's software
	// events (RFC 8412 §3.6: a SWIMA Request with the S flag, once per
	// PB-TNC connection), so that every later assessment of a kept session
	// starts with the events pushed since the last one; and when software
	// events stored for a device concern software of SWDeny (installed,
	// changed or removed), the PDP asks the device's other decided
	// connections for a re-assessment (SRETRY, RFC 5793 §3.2) so that
	// their verdict changes within their session.
	SWReassess bool `toml:"sw_reassess"`
	// SWIdentifiers makes the SWIMA IMV ask for software identifiers only
	// (the R flag of SWIMA Request, RFC 8412 §5.7: a Software Identifier
	// Inventory, Software Identifier Events), as strongSwan's 'SWID Tag
	// IDs' policy does. strongSwan's imc-swima keeps software events only
	// in its sw-collector database and sends them only as identifier
	// events: asked for events with records it answers with a SWIMA Error
	// and its whole inventory instead. The software stored then has no
	// name and version (SWDeny rules match the identifiers).
	SWIdentifiers bool `toml:"sw_identifiers"`

	// MeasurementAlgorithms is the PTS Measurement Algorithm Request set
	// (default MeasSHA1|MeasSHA256|MeasSHA384 = 0xE000).
	MeasurementAlgorithms uint16 `toml:"measurement_algorithms"`
	// DHGroups is the D-H Nonce Parameters Request group set (default
	// 0xF000: MODP 1024/1536/2048 and ECP_256, so that the IMC picks ECP_256).
	DHGroups uint16 `toml:"dh_groups"`
	// MinNonceLen is the minimum responder nonce length (default 0 = none;
	// nonces shorter than 17 bytes are refused regardless).
	MinNonceLen int `toml:"min_nonce_len"`
}

// DefaultPolicy is strongSwan's default PDP: learn products, devices, AKs
// and reference measurements on first contact, enforce them afterwards;
// forwarding and default passwords are non-compliant.
func DefaultPolicy() Policy {
	return Policy{
		LearnProducts:     true,
		LearnDevices:      true,
		LearnAKs:          true,
		LearnMeasurements: true,

		AllowMissingAttestation: true,
	}
}

func (p *Policy) measAlgos() uint16 {
	if p.MeasurementAlgorithms == 0 {
		return MeasSHA1 | MeasSHA256 | MeasSHA384
	}
	return p.MeasurementAlgorithms
}

func (p *Policy) dhGroups() uint16 {
	if p.DHGroups == 0 {
		return DHModp1024 | DHModp1536 | DHModp2048 | DHECP256
	}
	return p.DHGroups
}

// minNonceLen is strongSwan's PTS_MIN_NONCE_LEN.
const minNonceLen = 17

func (p *Policy) validate() error {
	if p.MinNonceLen < 0 || p.MinNonceLen > 255 {
		return fmt.Errorf("pdp: policy: min nonce length %d out of range 0..255", p.MinNonceLen)
	}
	for _, f := range p.FileMeasurements {
		if !strings.HasPrefix(f, "/") {
			return fmt.Errorf("pdp: policy: file measurement %q is not an absolute path", f)
		}
	}
	if len(p.FileMeasurements) > 0xffff {
		return fmt.Errorf("pdp: policy: %d file measurements (at most 65535)", len(p.FileMeasurements))
	}
	p.imaKeys = nil
	for _, f := range p.IMAKeys {
		keys, err := ReadIMAKeys(f)
		if err != nil {
			return err
		}
		p.imaKeys = append(p.imaKeys, keys...)
	}
	for _, k := range p.TrustedAKs {
		if len(k) != 40 {
			return fmt.Errorf("pdp: policy: AK keyid %q is not 40 hex characters", k)
		}
	}
	return nil
}
