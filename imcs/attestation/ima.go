package main

import (
	"bytes"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
	"github.com/imchost/imchost/sdk/patnc"
)

// imaPCR is the PCR Linux IMA extends.
const imaPCR = 10

// imaPageLen is how many IMA entries the IMC asks the host for at a time;
// each page becomes Simple Component Evidence attributes that are sent
// before the next page is read, so the guest holds one page at most.
const imaPageLen = 1024

// imaBinding is what the IMA evidence is bound to: the quote taken before
// the list is read (IMA appends while we read, so we send the prefix the
// quote covers; PTS IF-M Binding §3.15.1).
type imaBinding struct {
	hash          uint16 // TPM_ALG_ID of the quote's pcrDigest
	digest        []byte // the quoted pcrDigest
	before, after []byte // the other quoted PCRs (shadow values), below and above 10
	boot          [][]byte
}

// requestIMA answers the ITA-HSR Linux IMA component with qualifier
// K + operating system: check that the list is readable now; the evidence
// itself is read after the quote (generate).
func (s *session) requestIMA() error {
	bank, _ := measTPMAlg(s.measAlgo)
	page, err := s.h.IMAEvents(abi.IMARequest{Bank: bank, Max: 1})
	if err != nil {
		s.log.err("loading ima measurements failed: %v", err)
		return fmtlite.Errorf("attestation: IMA list: %w", err)
	}
	if len(page.Events) == 0 {
		s.log.err("loading ima measurements '%s' failed: the list is empty", page.Path)
		return fmtlite.Errorf("attestation: IMA list %s is empty", page.Path)
	}
	s.imaWanted = true
	s.pcrs |= 1 << imaPCR
	s.log.info("loaded ima measurements '%s'", page.Path)
	return nil
}

// bindIMA keeps what sendIMA needs from the quote: the digest and the
// shadow values of the other quoted PCRs.
func (s *session) bindIMA(q abi.Quote, sef *patnc.SimpleEvidFinal, pcrs uint32) {
	b := &imaBinding{hash: q.HashAlg, digest: bytes.Clone(sef.PCRComposite)}
	for i := 0; i < numPCRs; i++ {
		if pcrs&(1<<i) == 0 || i == imaPCR {
			continue
		}
		v := s.shadow[i]
		if v == nil {
			v = make([]byte, measSize(s.measAlgo))
		}
		if i < imaPCR {
			b.before = append(b.before, v...)
		} else {
			b.after = append(b.after, v...)
		}
	}
	if s.measured {
		for i := 0; i <= 9; i++ {
			b.boot = append(b.boot, s.shadow[i])
		}
	}
	s.ima = b
}

// sendIMA pages through the IMA list and adds one Simple Component Evidence
// per entry extended into PCR 10, as strongSwan's ita_comp_ima does:
// ITA-HSR Linux IMA with qualifier 0x22, validation passed with the policy
// URI "<algo>:<name>" ("<name>" for the legacy ima template), PCR 10,
// transform match, the list's ctime; the page's signed (ima-sig) entries
// follow in an IMA signatures attribute. Each page is flushed before the
// next is read. The host ends the list at the entry that completes the quoted PCR 10.
func (s *session) sendIMA(out *batch) {
	b := s.ima
	s.ima = nil
	bank, _ := measTPMAlg(s.measAlgo)
	size := measSize(s.measAlgo)
	n, skipped := 0, 0
	var sigs []abi.IMASignature
	sigLen, nSigs := 0, 0
	for next := uint32(0); ; {
		page, err := s.h.IMAEvents(abi.IMARequest{Bank: bank, Start: next, Max: imaPageLen,
			QuoteHash: b.hash, Before: b.before, After: b.after, QuoteDigest: b.digest})
		if err != nil {
			s.log.err("reading ima measurements failed after %d entries: %v", n, err)
			return
		}
		t := evidenceTime(page.CTime)
		for i := range page.Events {
			e := &page.Events[i]
			if e.Seq == 0 {
				s.checkBootAggregate(b, e, bank)
			}
			if e.PCR != imaPCR || len(e.Measurement) != size {
				skipped++
				continue
			}
			uri := e.Name
			if e.Template != "ima" {
				uri = e.Algo + ":" + e.Name
			}
			out.add(&patnc.SimpleCompEvid{
				Validation: patnc.ValidationPassed, Name: patnc.IMAComponent, MeasType: patnc.MeasTypeHash,
				PCR: imaPCR, HashAlg: patnc.HashAlgs(s.measAlgo), Transform: patnc.TransformMatch, Time: t,
				PolicyURI: uri, Measurement: e.Measurement,
			})
			n++
			if e.Template == "ima-sig" && len(e.Signature) > 0 && len(e.Signature) <= abi.MaxIMASignatureLen &&
				len(e.FileDigest) > 0 && len(e.FileDigest) <= 64 && len(e.Algo) > 0 && len(e.Algo) <= 16 {
				sig := abi.IMASignature{Seq: uint32(n - 1), Algo: e.Algo, Digest: e.FileDigest, Signature: e.Signature}
				if sigLen+abi.IMASignatureLen(sig) > imaSigAttrMax {
					addIMASignatures(out, sigs)
					sigs, sigLen = nil, 0
				}
				sigs = append(sigs, sig)
				sigLen += abi.IMASignatureLen(sig)
				nSigs++
			}
		}
		addIMASignatures(out, sigs)
		sigs, sigLen = nil, 0
		out.flush()
		next = page.Next
		if page.End {
			s.shadow[imaPCR] = page.PCR10
			if !page.Matched {
				s.log.err("the %d ima measurements do not replay to the quoted PCR %d", n, imaPCR)
			}
			break
		}
	}
	if skipped > 0 {
		s.log.err("%d ima measurements not extended into PCR %d (or of another size) were left out", skipped, imaPCR)
	}
	s.log.info("sent %d ima measurements", n)
	if nSigs > 0 {
		s.log.info("sent the file digests and signatures of %d signed ima measurements", nSigs)
	}
}

// imaSigAttrMax bounds the value of one IMA signatures attribute: a page
// of signed entries goes in as many as it needs.
const imaSigAttrMax = 60000

// addIMASignatures adds an IMA signatures attribute (abi.IMASignatures*)
// for the signed entries of a page, after their Simple Component Evidence:
// without NOSKIP, so that strongSwan's IMV skips it and imchost's PDP can
// verify the ima-sig signatures the evidence alone does not carry.
func addIMASignatures(out *batch, sigs []abi.IMASignature) {
	if len(sigs) == 0 {
		return
	}
	out.add(&patnc.Unknown{T: patnc.Type{Vendor: abi.IMASignaturesVendor, Type: abi.IMASignaturesType},
		Value: abi.AppendIMASignatures(nil, sigs)})
}

// checkBootAggregate compares boot_aggregate with the shadow PCRs of the
// boot log replayed in this session, as strongSwan's IMC does: the hash of
// PCR 0..9 (PCR 0..7 for SHA-1 and older kernels).
func (s *session) checkBootAggregate(b *imaBinding, e *abi.IMAEvent, bank uint16) {
	if len(b.boot) == 0 || e.Name != "boot_aggregate" {
		return
	}
	alg, ok := measFromName(e.Algo)
	if !ok || alg != bank {
		s.log.info("boot aggregate is a %s digest, the PCR bank %s: not checked", e.Algo, measName(s.measAlgo))
		return
	}
	for _, last := range []int{9, 7} {
		var all []byte
		for i := 0; i <= last; i++ {
			all = append(all, b.boot[i]...)
		}
		d, err := s.h.Hash(bank, all)
		if err == nil && bytes.Equal(d, e.FileDigest) {
			s.log.info("boot aggregate computed over PCR0..PCR%d is correct", last)
			return
		}
	}
	s.log.err("boot aggregate computed over PCR0..PCR9 is incorrect")
}

// measFromName maps an IMA digest algorithm name to a TPM_ALG_ID.
func measFromName(name string) (uint16, bool) {
	for _, a := range measAlgos {
		if a.conf == name {
			return a.tpm, true
		}
	}
	return 0, false
}
