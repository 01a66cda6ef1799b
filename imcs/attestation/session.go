package main

import (
	"encoding/binary"
	"errors"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
	"github.com/imchost/imchost/sdk/imc"
)

// TCG PTS error codes carried in an IETF PA-TNC Error attribute with Error
// Code Vendor ID TCG (RFC 5792 §4.2.8, PTS IF-M Binding §4).
const (
	tcgErrHashAlgNotSupported  uint32 = 1
	tcgErrDHGroupsNotSupported uint32 = 6
	tcgErrBadNonceLength       uint32 = 7
	tcgErrInvalidNameFamily    uint32 = 8
	tcgErrTPMVersionNotSupp    uint32 = 9
	tcgErrOperationNotSupp     uint32 = 11
	tcgErrUnableLocalValid     uint32 = 13
	tcgErrUnableCurrentEvid    uint32 = 14
	tcgErrUnableDetermineTTC   uint32 = 15
	tcgErrUnableDeterminePCR   uint32 = 16
)

// tcgError is a PTS error the IMC answers with: a TCG-vendor PA-TNC Error
// with an attribute-specific information blob.
type tcgError struct {
	Code uint32
	Info []byte
}

func (e *tcgError) Error() string {
	return fmtlite.Sprintf("attestation: PTS error %d", e.Code)
}

// errOutOfOrder marks a request that is valid on the wire but arrives before
// the exchange it depends on (D-H Nonce Finish before the parameters,
// evidence before the measurement algorithm). The IMC answers with an IETF
// Invalid Parameter error pointing at the attribute.
var errOutOfOrder = errors.New("attestation: request out of order")

// errInvalid marks a request whose value breaks a PTS rule the codec does not
// check (e.g. a sub-component depth > 0); answered like errOutOfOrder.
var errInvalid = errors.New("attestation: invalid request value")

// numPCRs is the number of PCRs PTS evidence may name.
const numPCRs = 24

// evidence is one cached Simple Component Evidence: an extended event of the
// boot event log in the selected bank.
type evidence struct {
	PCR    uint32
	Digest []byte
}

// session is the PTS state of one TNC connection, filled step by step as the
// IMV's requests arrive (imc_attestation_state in strongSwan).
type session struct {
	h   imc.Host
	cfg settings
	log logger

	caps     uint16 // negotiated capabilities; 0 before the request
	measAlgo uint16 // selected PTS measurement algorithm bit; 0 = none yet

	dhGroup   uint16 // selected D-H group bit; 0 = no parameters yet
	dhHandle  uint32 // host handle of our D-H private value
	respNonce []byte
	secret    []byte // the PTS secret assessment value; nil before Finish

	evidence  []evidence // measured, not yet sent
	pcrs      uint32     // bit i = PCR i received evidence
	shadow    [numPCRs][]byte
	logCTime  int64
	measured  bool        // shadow PCRs are initialised
	imaWanted bool        // IMA evidence requested: read after the quote
	ima       *imaBinding // set by generate when IMA evidence is due
	// pendingQuote is checked against the shadow PCRs once the IMA
	// evidence is sent.
	pendingQuote *quoteCheck
	tpmProbed    bool
	version      abi.TPMVersionInfo // valid when tpmProbed and versionErr is nil
	versionErr   error
}

func newSession(h imc.Host, cfg settings, log logger) *session {
	return &session{h: h, cfg: cfg, log: log}
}

// tpmVersion returns the TPM's version information, asked once per
// connection.
func (s *session) tpmVersion() (abi.TPMVersionInfo, error) {
	if !s.tpmProbed {
		s.tpmProbed = true
		s.version, s.versionErr = s.h.TPMVersionInfo()
		if s.versionErr != nil {
			s.log.info("no TPM available: %v", s.versionErr)
		}
	}
	return s.version, s.versionErr
}

// tpmPresent reports whether the host has a TPM.
func (s *session) tpmPresent() bool {
	_, err := s.tpmVersion()
	return err == nil
}

// ownCaps is what the IMC can do: V always, T and D with a TPM.
func (s *session) ownCaps() uint16 {
	c := capV
	if s.tpmPresent() {
		c |= capT | capD
	}
	return c
}

// protoCaps answers Request PTS Protocol Capabilities: own ∩ requested.
func (s *session) protoCaps(requested uint16) uint16 {
	s.caps = s.ownCaps() & requested
	s.log.info("[PTS] supported PTS protocol capabilities: %s", capsString(s.caps))
	return s.caps
}

// ownMeasSet is the set of measurement algorithms the IMC can offer:
// allowed by hash_algorithm, backed by a PCR bank with PCRs allocated and,
// when the boot log can be read, carried by its events (a SHA-1-only log
// cannot give SHA-256 evidence, whatever the TPM has). It also returns the
// TPM's and the log's sets, for messages.
func (s *session) ownMeasSet() (own, tpmSet, logSet uint16) {
	banks, err := s.h.TPMBanks()
	if err != nil {
		s.log.err("reading the TPM's PCR banks failed: %v", err)
		return 0, 0, 0
	}
	for _, b := range banks {
		if bit, ok := measFromTPMAlg(b); ok {
			tpmSet |= bit
		}
	}
	own = tpmSet & s.cfg.measSet
	logSet, known := s.logMeasSet(tpmSet)
	if known {
		own &= logSet
	}
	return own, tpmSet, logSet
}

// logMeasSet probes which of the algorithms in set the boot log has
// digests for. known is false when the log could not be read at all (its
// error is reported where the evidence is collected).
func (s *session) logMeasSet(set uint16) (logSet uint16, known bool) {
	for _, a := range measAlgos {
		if set&a.bit == 0 {
			continue
		}
		_, err := s.h.EventLog(a.tpm)
		switch {
		case err == nil:
			logSet |= a.bit
			known = true
		case errors.Is(err, &imc.StatusError{Status: abi.StatusUnsupported}):
			known = true
		}
	}
	return logSet, known
}

// selectMeasAlgo answers PTS Measurement Algorithm Request with the strongest
// offered algorithm the IMC supports.
func (s *session) selectMeasAlgo(offered uint16) (uint16, error) {
	own, tpmSet, logSet := s.ownMeasSet()
	sel := strongestMeas(own & offered)
	if s.cfg.hashAlgorithm == "auto" && own&offered&measSHA256 != 0 {
		// SHA-256 where the TPM and the log have it: the bank firmware
		// extends everywhere and the one strongSwan's endpoints use, so
		// that evidence registered by one client matches another's.
		sel = measSHA256
	}
	if sel == 0 {
		s.log.err("no PTS measurement algorithm fits: the PDP offers %s; the TPM has PCR banks %s, the boot log digests %s; "+
			"hash_algorithm = \"%s\" allows %s. Set hash_algorithm in the Attestation IMC's [imc.settings] "+
			"(\"auto\" chooses from the TPM's banks and the boot log)",
			measNames(offered), measNames(tpmSet), measNames(logSet), s.cfg.hashAlgorithm, measNames(s.cfg.measSet))
		return 0, &tcgError{Code: tcgErrHashAlgNotSupported, Info: u16pair(0, own)}
	}
	if s.measAlgo != 0 && s.measAlgo != sel {
		// A second selection would invalidate measured evidence.
		s.evidence, s.pcrs, s.measured, s.imaWanted = nil, 0, false, false
	}
	s.measAlgo = sel
	if s.cfg.hashAlgorithm == "auto" {
		s.log.info("[PTS] hash_algorithm auto: the TPM has PCR banks %s, the boot log digests %s", measNames(tpmSet), measNames(logSet))
	}
	s.log.info("[PTS] selected PTS measurement algorithm is %s", measName(sel))
	return sel, nil
}

// dhParams is the D-H Nonce Parameters Response content.
type dhParams struct {
	Group   uint16 // selected D-H group bit
	HashSet uint16 // the selected measurement algorithm only, as strongSwan sends
	Nonce   []byte
	Public  []byte
}

// dhParameters answers D-H Nonce Parameters Request: pick a group by
// preference, make a key pair in the host and a responder nonce.
func (s *session) dhParameters(minNonce uint8, offered uint16) (*dhParams, error) {
	if s.measAlgo == 0 {
		s.log.err("D-H Nonce Parameters Request before the measurement algorithm was selected")
		return nil, errOutOfOrder
	}
	if int(minNonce) > s.cfg.nonceLen {
		s.log.err("own nonce length %d is smaller than the minimum %d the IMV asks for", s.cfg.nonceLen, minNonce)
		return nil, &tcgError{Code: tcgErrBadNonceLength, Info: u16pair(uint16(s.cfg.nonceLen), 0xffff)}
	}
	var group uint16
	for _, g := range s.cfg.dhPrefs {
		if offered&g != 0 {
			group = g
			break
		}
	}
	if group == 0 {
		s.log.err("no common D-H group (offered 0x%04x, own 0x%04x)", offered, s.cfg.dhSet())
		return nil, &tcgError{Code: tcgErrDHGroupsNotSupported, Info: u16pair(0, s.cfg.dhSet())}
	}
	kp, err := s.h.DHCreate(dhIKE(group))
	if err != nil {
		return nil, fmtlite.Errorf("attestation: creating a %s key pair: %w", dhName(group), err)
	}
	nonce, err := s.h.Random(s.cfg.nonceLen)
	if err != nil {
		return nil, fmtlite.Errorf("attestation: responder nonce: %w", err)
	}
	if len(nonce) != s.cfg.nonceLen {
		return nil, fmtlite.Errorf("attestation: host returned %d random bytes, asked %d", len(nonce), s.cfg.nonceLen)
	}
	s.dhGroup, s.dhHandle, s.respNonce, s.secret = group, kp.Handle, nonce, nil
	s.log.info("[PTS] selected PTS DH group is %s", dhName(group))
	s.log.info("[PTS] nonce length is %d", len(nonce))
	return &dhParams{Group: group, HashSet: s.measAlgo, Nonce: nonce, Public: kp.Public}, nil
}

// dhFinish processes D-H Nonce Finish: derive the secret assessment value in
// the host and keep it for the quote. Nothing is sent in reply.
func (s *session) dhFinish(hash uint16, peerPublic, initNonce []byte) error {
	if s.dhGroup == 0 {
		s.log.err("D-H Nonce Finish before D-H Nonce Parameters")
		return errOutOfOrder
	}
	if hash&s.cfg.measSet == 0 || strongestMeas(hash) != hash {
		// strongSwan accepts any single algorithm of its own set, although
		// it offered only the measurement algorithm.
		s.log.err("D-H hash algorithm 0x%04x is not supported", hash)
		return &tcgError{Code: tcgErrHashAlgNotSupported, Info: u16pair(0, s.cfg.measSet)}
	}
	if len(initNonce) != len(s.respNonce) {
		s.log.err("initiator and responder DH nonces have differing lengths")
		return &tcgError{Code: tcgErrBadNonceLength, Info: u16pair(uint16(len(s.respNonce)), 0xffff)}
	}
	alg, _ := measTPMAlg(hash)
	secret, err := s.h.DHFinish(abi.DHFinishRequest{
		Handle: s.dhHandle, HashAlg: alg, PeerPublic: peerPublic,
		InitiatorNonce: initNonce, ResponderNonce: s.respNonce,
	})
	if err != nil {
		s.log.err("computing the D-H secret failed: %v", err)
		return errInvalid
	}
	s.secret = secret
	s.log.info("[PTS] selected DH hash algorithm is %s", measName(hash))
	return nil
}

// tpmVersionInfo builds the 16-byte strongSwan TPM 2.0 version blob
// (PTS IF-M Binding §3.11, TPM 2.0 form) with the locality the TPM really started at:
//
//	| Tag = 0x0200 (16)          | Reserved(8)=0 | Locality (8) |
//	| Revision (uint32) = TPM2_PT_REVISION                         |
//	| Year     (uint32) = TPM2_PT_YEAR                             |
//	| Vendor   (uint32) = TPM2_PT_MANUFACTURER                     |
func (s *session) tpmVersionInfo(request []byte) ([]byte, error) {
	v, err := s.tpmVersion()
	if err != nil || v.Family != 2 {
		if err == nil {
			err = fmtlite.Errorf("TPM family %d", v.Family)
		}
		s.log.err("TPM version information unavailable: %v", err)
		return nil, &tcgError{Code: tcgErrTPMVersionNotSupp, Info: request}
	}
	b := make([]byte, 16)
	binary.BigEndian.PutUint16(b[0:], 0x0200)
	b[3] = v.Locality
	binary.BigEndian.PutUint32(b[4:], uint32(v.SpecRevision))
	binary.BigEndian.PutUint32(b[8:], uint32(v.SpecYear))
	binary.BigEndian.PutUint32(b[12:], v.Manufacturer)
	return b, nil
}

// aik returns the Attestation Identity Key attribute content: naked = true
// and a SubjectPublicKeyInfo, or false and an X.509 certificate.
func (s *session) aik() (naked bool, blob []byte, err error) {
	k, err := s.h.TPMAIK(0)
	if err != nil {
		s.log.err("no Attestation Identity Key available: %v", err)
		return false, nil, err
	}
	if len(k.CertDER) > 0 {
		s.log.info("[PTS] AIK certificate with keyid %s", k.KeyID)
		return false, k.CertDER, nil
	}
	if len(k.PublicDER) == 0 {
		s.log.err("the host returned an empty AIK")
		return false, nil, errors.New("attestation: empty AIK")
	}
	s.log.info("[PTS] AIK public key with keyid %s", k.KeyID)
	return true, k.PublicDER, nil
}

// symlinks answers ITA-HSR Get Symlinks.
func (s *session) symlinks(dir string) ([]abi.Symlink, error) {
	l, err := s.h.Symlinks(dir)
	if err != nil {
		s.log.err("listing the symlinks of %q failed: %v", dir, err)
		return nil, err
	}
	return l, nil
}

// u16pair is the 4-byte error information `uint16 a | uint16 b`.
func u16pair(a, b uint16) []byte {
	return []byte{byte(a >> 8), byte(a), byte(b >> 8), byte(b)}
}
