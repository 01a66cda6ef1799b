package tpmhost

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// QuoteResult is a TPM2_Quote answer in the form PTS carries it.
type QuoteResult struct {
	Attest    []byte // TPMS_ATTEST (the TPM2B_ATTEST contents)
	Signature []byte // ECDSA: R‖S, each left-padded to the curve size; RSASSA: PKCS#1 v1.5
	SigAlg    Alg    // AlgECDSA or AlgRSASSA
	HashAlg   Alg    // signature hash, also the pcrDigest hash
}

// Quote runs TPM2_Quote with ak over the PCRs of one bank (one
// TPMS_PCR_SELECTION, sizeofSelect 3) with qualifyingData as extraData. The
// scheme is the AK's own (inScheme NULL) unless the AK has none.
func (t *TPM) Quote(ak *AK, bank Alg, pcrs []int, qualifyingData []byte) (*QuoteResult, error) {
	if len(pcrs) == 0 {
		return nil, fmt.Errorf("tpmhost: quote: no PCRs selected")
	}
	bm, err := pcrBitmap(pcrs)
	if err != nil {
		return nil, err
	}
	scheme := tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgNull}
	if ak.explicitScheme {
		scheme = tpm2.TPMTSigScheme{
			Scheme:  tpm2.TPMIAlgSigScheme(ak.SigAlg),
			Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgID(ak.SigAlg), &tpm2.TPMSSchemeHash{HashAlg: tpm2.TPMIAlgHash(ak.HashAlg)}),
		}
	}
	if err := t.lock(); err != nil {
		return nil, err
	}
	defer t.unlock()
	op := fmt.Sprintf("TPM2_Quote(0x%08x)", ak.Handle)
	rsp, err := tpm2.Quote{
		SignHandle:     tpm2.AuthHandle{Handle: tpm2.TPMHandle(ak.Handle), Name: tpm2.TPM2BName{Buffer: ak.Name}, Auth: tpm2.PasswordAuth(nil)},
		QualifyingData: tpm2.TPM2BData{Buffer: qualifyingData},
		InScheme:       scheme,
		PCRSelect: tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{
			{Hash: tpm2.TPMIAlgHash(bank), PCRSelect: bm},
		}},
	}.Execute(t.tr)
	if err != nil {
		return nil, tpmErr(op, err)
	}
	q := &QuoteResult{Attest: rsp.Quoted.Bytes(), SigAlg: Alg(rsp.Signature.SigAlg)}
	switch rsp.Signature.SigAlg {
	case tpm2.TPMAlgECDSA:
		sig, err := rsp.Signature.Signature.ECDSA()
		if err != nil {
			return nil, &TPMError{Op: op, Kind: ErrTransport, Err: err}
		}
		pub, ok := ak.Public.(*ecdsa.PublicKey)
		if !ok {
			return nil, &TPMError{Op: op, Kind: ErrWrongKeyType, Err: fmt.Errorf("ECDSA signature from a %T key", ak.Public)}
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		r, s := sig.SignatureR.Buffer, sig.SignatureS.Buffer
		if len(r) > size || len(s) > size {
			return nil, &TPMError{Op: op, Kind: ErrTransport, Err: fmt.Errorf("ECDSA R/S longer than %d bytes", size)}
		}
		q.Signature = make([]byte, 2*size)
		copy(q.Signature[size-len(r):size], r)
		copy(q.Signature[2*size-len(s):], s)
		q.HashAlg = Alg(sig.Hash)
	case tpm2.TPMAlgRSASSA:
		sig, err := rsp.Signature.Signature.RSASSA()
		if err != nil {
			return nil, &TPMError{Op: op, Kind: ErrTransport, Err: err}
		}
		q.Signature = sig.Sig.Buffer
		q.HashAlg = Alg(sig.Hash)
	default:
		return nil, &TPMError{Op: op, Kind: ErrWrongKeyType,
			Err: fmt.Errorf("signature scheme %s (want ECDSA or RSASSA)", Alg(rsp.Signature.SigAlg))}
	}
	t.log.Debug(fmt.Sprintf("TPM2_Quote with AK 0x%08x over PCRs %v of the %s bank", ak.Handle, pcrs, bank), "handle", fmt.Sprintf("0x%08x", ak.Handle), "bank", bank, "pcrs", pcrs,
		"sig_alg", q.SigAlg, "hash", q.HashAlg)
	if t.log.IsTrace() {
		t.log.Trace("TPM Quote Info", "attest", fmt.Sprintf("%x", q.Attest))
	}
	return q, nil
}
