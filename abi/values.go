package abi

// The values below are the decoded forms of host-function inputs and results.
// Their byte layouts (little-endian, length-prefixed byte strings) and the
// Append*/Parse* codecs live next to them; README.md documents each one.

// SystemFacts is the result of system_facts.
type SystemFacts struct {
	BootTime       int64  // last boot, Unix seconds (UTC)
	IPv4Forwarding bool   // /proc/sys/net/ipv4/ip_forward
	IPv6Forwarding bool   // /proc/sys/net/ipv6/conf/all/forwarding
	MachineID      string // /etc/machine-id, trimmed
	Arch           string // uname -m, e.g. "x86_64"
}

// TPMVersionInfo is the result of tpm_version_info.
type TPMVersionInfo struct {
	Family          uint8  // 2 for TPM 2.0
	Manufacturer    uint32 // TPM_PT_MANUFACTURER, e.g. 'IBM ' as big-endian ASCII
	VendorString    string // TPM_PT_VENDOR_STRING_1..4, NULs trimmed
	FirmwareVersion uint64 // TPM_PT_FIRMWARE_VERSION_1 << 32 | _2
	SpecYear        uint16 // TPM_PT_YEAR
	SpecRevision    uint16 // TPM_PT_REVISION (e.g. 138 for 1.38)
	SpecLevel       uint8  // TPM_PT_LEVEL
	Locality        uint8  // the locality the TPM was started at (PCR 0 seed)
}

// AIK is the result of tpm_aik: the Attestation Key configured for the module.
type AIK struct {
	Handle    uint32 // persistent handle, e.g. 0x81010003
	PublicDER []byte // DER SubjectPublicKeyInfo
	CertDER   []byte // X.509 certificate when configured, else empty
	KeyID     string // SHA-1 of PublicDER, 40 lower-case hex characters
	SigAlg    uint16 // AlgECDSA or AlgRSASSA
	HashAlg   uint16 // the AK's signing hash (AlgSHA256 ...)
}

// QuoteRequest is the input of tpm_quote.
type QuoteRequest struct {
	Handle     uint32 // AK handle; 0 means the module's configured aik_handle
	Bank       uint16 // PCR bank (TPM_ALG_ID)
	PCRs       uint32 // bit i set = quote PCR i (0..23)
	Qualifying []byte // qualifyingData (extraData), at most 64 bytes
}

// Quote is the result of tpm_quote.
type Quote struct {
	Attest    []byte // TPMS_ATTEST as returned by TPM2_Quote (the TPM2B contents)
	SigAlg    uint16 // AlgECDSA or AlgRSASSA
	HashAlg   uint16 // signature hash algorithm, also the pcrDigest hash
	Signature []byte // ECDSA: R||S each padded to the curve size; RSA: PKCS#1 v1.5
}

// Event is one entry of the boot event log as returned by eventlog_events.
type Event struct {
	Seq    uint32 // position in the log, 0-based, counting every event
	PCR    uint32
	Type   uint32 // TCG event type (EV_*)
	Digest []byte // digest in the requested bank; empty if the event has none
}

// EventLog is the result of eventlog_events for one bank.
type EventLog struct {
	Path      string // where the host read the log
	CTime     int64  // the log file's change time, Unix seconds
	SpecIDLog bool   // crypto-agile log (the first event is the Spec ID event)
	Events    []Event
}

// Symlink is one entry of the symlinks result.
type Symlink struct {
	Path   string // e.g. "/bin"
	Target string // '/' + readlink(), e.g. "/usr/bin"
}

// Report is the input of report: what an IMC wants the user to see
// (assessment results and remediation instructions received from an IMV).
type Report struct {
	Validator   uint32 // IMV ID
	Result      uint32 // IETF Assessment Result code (0 compliant ... 4 don't know)
	Remediation string // remediation text or URI, may be empty
	Language    string // language tag of Remediation, may be empty
}

// DHCreateRequest is the input of dh_create.
type DHCreateRequest struct {
	Group uint16 // IKE DH group number: 2, 5, 14, 19, 20
}

// DHCreateResult is the result of dh_create.
type DHCreateResult struct {
	Handle uint32 // refers to the private value kept by the host
	Public []byte // strongSwan's encoding: MODP big-endian, ECP raw X||Y
}

// DHFinishRequest is the input of dh_finish. The host derives the shared
// secret and returns only the PTS secret assessment value
// H('1' || InitiatorNonce || ResponderNonce || shared secret).
type DHFinishRequest struct {
	Handle         uint32
	HashAlg        uint16 // TPM_ALG_ID of H
	PeerPublic     []byte
	InitiatorNonce []byte
	ResponderNonce []byte
}

// Package is one installed package (packages result).
type Package struct {
	Name    string
	Version string
}

// HashRequest is the input of hash: a TPM_ALG_ID and the data to hash.
type HashRequest struct {
	Alg  uint16 // AlgSHA1, AlgSHA256, AlgSHA384 or AlgSHA512
	Data []byte
}

// MaxRandomLen bounds the length random returns in one call.
const MaxRandomLen = 1024

// MaxSymlinkDirLen bounds the directory name given to symlinks.
const MaxSymlinkDirLen = 4096

// MaxConfigKeyLen bounds the key given to config_get.
const MaxConfigKeyLen = 256
