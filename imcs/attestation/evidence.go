package main

import (
	"bytes"
	"strings"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
	"github.com/imchost/imchost/sdk/patnc"
)

// Component Functional Name values the IMC knows (PTS IF-M Binding §5.1).
const (
	penITAHSR   uint32 = 0x00902a
	compNameIMA uint32 = 3    // ITA-HSR "Linux IMA"
	qualBIOS    uint8  = 0x21 // K + trusted platform: BIOS/pre-boot log
	qualIMA     uint8  = 0x22 // K + operating system: IMA runtime log
	evNoAction  uint32 = 3    // EV_NO_ACTION
)

// componentEvidence processes Request Functional Component Evidence: check
// every entry as strongSwan does and measure the components now; the
// evidence is cached until Generate Attestation Evidence. request is the
// attribute value, the information of the TCG errors.
func (s *session) componentEvidence(reqs []patnc.CompEvidRequest, request []byte) error {
	if s.measAlgo == 0 {
		s.log.err("functional component evidence requested before the measurement algorithm was selected")
		return errOutOfOrder
	}
	s.log.info("evidence requested for %d functional components", len(reqs))
	for _, r := range reqs {
		name := r.Name
		switch {
		case r.Flags&patnc.CompEvidTTC != 0:
			s.log.err("evidence request flag TTC is not supported")
			return &tcgError{Code: tcgErrUnableDetermineTTC, Info: request}
		case r.Flags&patnc.CompEvidVER != 0 && s.caps&capV == 0:
			s.log.err("evidence request flag VER needs capability V")
			return &tcgError{Code: tcgErrUnableLocalValid, Info: request}
		case r.Flags&patnc.CompEvidCURR != 0 && s.caps&capC == 0:
			s.log.err("evidence request flag CURR needs capability C")
			return &tcgError{Code: tcgErrUnableCurrentEvid, Info: request}
		case r.Flags&patnc.CompEvidPCR != 0 && s.caps&capT == 0:
			s.log.err("evidence request flag PCR needs capability T")
			return &tcgError{Code: tcgErrUnableDeterminePCR, Info: request}
		case r.Depth > 0:
			s.log.err("sub-component depth %d is not supported", r.Depth)
			return errInvalid
		case name.Family != 0:
			s.log.err("component name family %d is not supported", name.Family)
			return &tcgError{Code: tcgErrInvalidNameFamily, Info: request}
		}
		switch {
		case name.Vendor == penITAHSR && name.Name == compNameIMA && uint8(name.Qualifier) == qualBIOS:
			if err := s.measureBIOS(); err != nil {
				return err
			}
		case name.Vendor == penITAHSR && name.Name == compNameIMA && uint8(name.Qualifier) == qualIMA:
			if err := s.requestIMA(); err != nil {
				return err
			}
		default:
			s.log.info("%s not registered: no evidence provided", name)
		}
	}
	return nil
}

// measureBIOS loads the boot event log in the selected bank and turns every
// extended event into evidence, with strongSwan's skip rule:
// drop EV_NO_ACTION and events without a digest in the bank, keep everything
// else in log order. It replays the kept digests into shadow PCRs whose PCR 0
// starts at the TPM's startup locality.
func (s *session) measureBIOS() error {
	if s.measured {
		return nil // already measured for the pending evidence
	}
	bank, _ := measTPMAlg(s.measAlgo)
	size := measSize(s.measAlgo)
	v, err := s.tpmVersion()
	if err != nil {
		s.log.err("reading the TPM's startup locality failed: %v", err)
		return &tcgError{Code: tcgErrUnableDeterminePCR, Info: nil}
	}
	s.log.info("[PTS] TPM 2.0 - locality indicator set to %d", v.Locality)

	el, err := s.h.EventLog(bank)
	if err != nil {
		s.log.err("loading the bios measurements failed: %v", err)
		return fmtlite.Errorf("attestation: event log: %w", err)
	}
	for i := range s.shadow {
		s.shadow[i] = make([]byte, size)
	}
	s.shadow[0][size-1] = v.Locality
	var list []evidence
	var pcrs uint32
	for _, ev := range el.Events {
		if ev.Type == evNoAction || len(ev.Digest) == 0 {
			continue
		}
		if ev.PCR >= numPCRs || len(ev.Digest) != size {
			s.log.err("bios measurement %d is invalid (PCR %d, %d-byte digest)", ev.Seq, ev.PCR, len(ev.Digest))
			return fmtlite.Errorf("attestation: event %d: bad PCR or digest", ev.Seq)
		}
		next, err := s.h.Hash(bank, append(bytes.Clone(s.shadow[ev.PCR]), ev.Digest...))
		if err != nil || len(next) != size {
			return fmtlite.Errorf("attestation: extending shadow PCR %d: %v", ev.PCR, err)
		}
		s.shadow[ev.PCR] = next
		list = append(list, evidence{PCR: ev.PCR, Digest: bytes.Clone(ev.Digest)})
		pcrs |= 1 << ev.PCR
	}
	s.evidence, s.pcrs, s.logCTime, s.measured = list, s.pcrs|pcrs, el.CTime, true
	s.log.info("[PTS] loaded bios measurements '%s' (%d entries)", el.Path, len(list))
	return nil
}

// evidenceTime is the Simple Component Evidence time: the log's ctime in
// UTC, or 0000-00-00T00:00:00Z when the host does not know it.
func evidenceTime(ctime int64) patnc.DateTime {
	if ctime <= 0 {
		return patnc.UnknownTime()
	}
	return patnc.DateTimeFromUnix(ctime)
}

// generate answers Generate Attestation Evidence: the cached evidence and a
// Simple Evidence Final with a quote over exactly the PCRs the evidence
// touched, in the selected bank, with the D-H secret as qualifying data
// (PTS IF-M Binding §3.15.2, TPM 2.0 Part 3 §18.4). The cache is emptied.
func (s *session) generate() ([]evidence, *patnc.SimpleEvidFinal, error) {
	if s.measAlgo == 0 || s.secret == nil {
		s.log.err("attestation evidence requested before the measurement algorithm and the D-H secret were negotiated")
		return nil, nil, errOutOfOrder
	}
	bank, _ := measTPMAlg(s.measAlgo)
	q, err := s.h.TPMQuote(abi.QuoteRequest{Bank: bank, PCRs: s.pcrs, Qualifying: s.secret})
	if err != nil {
		s.log.err("TPM 2.0 quote failed: %v", err)
		return nil, nil, fmtlite.Errorf("attestation: quote: %w", err)
	}
	comp, ok := measFromTPMAlg(q.HashAlg)
	if !ok {
		s.log.err("TPM 2.0 quote: unsupported signature hash 0x%04x", q.HashAlg)
		return nil, nil, fmtlite.Errorf("attestation: quote hash 0x%04x", q.HashAlg)
	}
	sef := &patnc.SimpleEvidFinal{CompositeHashAlg: patnc.HashAlgs(comp), QuoteSig: q.Signature}
	extra, err := sef.FromTPMSAttest(q.Attest)
	if err != nil {
		s.log.err("TPM 2.0 quote: %v", err)
		return nil, nil, fmtlite.Errorf("attestation: quote: %w", err)
	}
	if !bytes.Equal(extra, s.secret) {
		s.log.err("TPM 2.0 quote: extraData differs from the D-H secret")
	}
	if s.imaWanted {
		// PCR 10 is known only once the list is read (sendIMA), so is the
		// composite check.
		s.bindIMA(q, sef, s.pcrs)
		s.pendingQuote = &quoteCheck{q: q, sef: sef, extra: extra, pcrs: s.pcrs}
	} else {
		s.logQuote(q, sef, extra)
	}

	ev := s.evidence
	s.evidence, s.pcrs, s.measured, s.imaWanted = nil, 0, false, false
	return ev, sef, nil
}

// logQuote logs the PCR composite as strongSwan does and checks our shadow
// PCRs against the quoted digest (the host has no PCR read: one digest
// comparison covers all PCRs).
func (s *session) logQuote(q abi.Quote, sef *patnc.SimpleEvidFinal, extra []byte) {
	s.logQuoteOver(q, sef, extra, s.pcrs)
}

// quoteCheck is a quote whose composite check waits for the IMA evidence.
type quoteCheck struct {
	q     abi.Quote
	sef   *patnc.SimpleEvidFinal
	extra []byte
	pcrs  uint32
}

// logQuoteOver is logQuote for the quoted PCR set pcrs.
func (s *session) logQuoteOver(q abi.Quote, sef *patnc.SimpleEvidFinal, extra []byte, pcrs uint32) {
	var comp []byte
	for i := 0; i < numPCRs; i++ {
		if pcrs&(1<<i) != 0 && s.shadow[i] != nil {
			comp = append(comp, s.shadow[i]...)
		}
	}
	digest, err := s.h.Hash(q.HashAlg, comp)
	verdict := "ok"
	if err != nil || !bytes.Equal(digest, sef.PCRComposite) {
		verdict = "differs"
		s.log.err("PCR Composite digest of the evidence does not match the TPM's quoted digest")
	}
	if s.log.enabled(abi.LogDebug) {
		s.log.debug("[PTS] PCR values hashed into PCR Composite:")
		for i := 0; i < numPCRs; i++ {
			if pcrs&(1<<i) != 0 && s.shadow[i] != nil {
				s.log.debug("[PTS] PCR %2d %s  %s", i, colonHex(s.shadow[i]), verdict)
			}
		}
		// strongSwan's tpm_tss_tss2 dumps these at DBG2 with "%B".
		s.dump("PCR Composite digest", digest)
		s.dump("TPM Quote Info", q.Attest)
		s.dump("qualifiedSigner", sef.QualifiedSigner)
		s.dump("extraData", extra)
		s.dump("clockInfo", sef.ClockInfo)
		s.dump("firmwareVersion", sef.VersionInfo)
		s.dump("pcrSelect", sef.PCRSelect)
		if name, ok := tpmAlgName(q.HashAlg); ok {
			s.log.debug("[PTS] PCR digest algorithm is %s", name)
		}
		s.dump("TPM Quote Signature", q.Signature)
	}
}

// dump logs b as strongSwan's "%B" prints a chunk, one [PTS] line each:
// "name: => n bytes", then 16 bytes a line, offset, hex and ASCII.
// (strongSwan adds the chunk's memory address, "@ 0x7f...", which says
// nothing about the data.)
func (s *session) dump(name string, b []byte) {
	s.log.debug("[PTS] %s: => %d bytes", name, len(b))
	for off := 0; off < len(b); off += 16 {
		line := b[off:min(off+16, len(b))]
		var hx, asc strings.Builder
		for i := 0; i < 16; i++ {
			if i < len(line) {
				hx.WriteString(fmtlite.Sprintf("%02X ", line[i]))
				if c := line[i]; c >= 0x20 && c < 0x7f {
					asc.WriteByte(c)
				} else {
					asc.WriteByte('.')
				}
			} else {
				hx.WriteString("   ")
			}
		}
		s.log.debug("[PTS] %4d: %s %s", off, hx.String(), asc.String())
	}
}

// tpmAlgName names a TPM_ALG_ID as strongSwan's tpm_alg_id_names.
func tpmAlgName(alg uint16) (string, bool) {
	switch alg {
	case abi.AlgSHA1:
		return "SHA1", true
	case abi.AlgSHA256:
		return "SHA256", true
	case abi.AlgSHA384:
		return "SHA384", true
	case abi.AlgSHA512:
		return "SHA512", true
	}
	return "", false
}

// colonHex renders b as strongSwan's "%#B": lower-case hex bytes joined by ':'.
func colonHex(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(fmtlite.Sprintf("%02x", c))
	}
	return sb.String()
}
