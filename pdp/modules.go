package pdp

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
)

// checkModules verifies the host's module report (abi/README.md): the
// module measurement log replays to the module PCR as a second quote,
// signed by the same AK over the same nonce as the PTS quote, attests it;
// then every module that ran must be allowed by the policy's module
// allowlist (a digest in ModuleDigests or a signer in ModuleSigners). A
// client that sends no report passes unless the policy asks for one
// (RequireModuleReport, or an allowlist). It returns the reasons for a
// non-compliant verdict.
func (a *attIMV) checkModules() []string {
	pol := a.c.env.policy
	required := pol.RequireModuleReport || len(pol.ModuleDigests) > 0 || len(pol.ModuleSigners) > 0
	if a.modErr != nil {
		return []string{"module report invalid: " + a.modErr.Error()}
	}
	r := a.modReport
	if r == nil {
		if required {
			return []string{"no module report (the host measures no modules: [tpm] module_pcr)"}
		}
		return nil
	}
	ml, err := abi.ParseModuleLog(bytes.NewReader(r.Log))
	if err != nil {
		return []string{"module report invalid: " + err.Error()}
	}
	bank := tpmhost.Alg(r.Bank)
	h, sigHash := bank.Hash(), tpmhost.Alg(r.HashAlg).Hash()
	if h == 0 || !h.Available() || sigHash == 0 || !sigHash.Available() {
		return []string{fmt.Sprintf("module report: unsupported bank %s or hash %s", bank, tpmhost.Alg(r.HashAlg))}
	}
	var q patnc.SimpleEvidFinal
	if _, err := q.FromTPMSAttest(r.Attest); err != nil {
		return []string{"module report quote invalid: " + err.Error()}
	}
	sels, err := tpmhost.ParsePCRSelection(q.PCRSelect)
	if err != nil || len(sels) != 1 || sels[0].Bank != bank || !slices.Equal(sels[0].PCRs, []int{int(r.PCR)}) {
		return []string{fmt.Sprintf("module report quote does not cover exactly PCR %d of bank %s", r.PCR, bank)}
	}
	replay := abi.ReplayModuleLog(ml, int(r.PCR), h)
	// As for the evidence: rebuild what the TPM must have signed with the
	// own secret and the replayed PCR, and check the signature over it.
	raw, err := q.TPMSAttest(a.secret, tpmhost.PCRDigest(sigHash, [][]byte{replay}))
	if err == nil {
		err = tpmhost.VerifySignature(a.ak.pub, raw, r.Signature, sigHash)
	}
	if err != nil {
		return []string{fmt.Sprintf("module measurements do not replay to the quoted PCR %d: %v", r.PCR, err)}
	}
	a.log.Info(fmt.Sprintf("module report: %d module measurements replay to the quoted PCR %d", len(ml), r.PCR))
	var reasons []string
	for _, m := range ml {
		if m.PCR != int(r.PCR) {
			continue
		}
		signer := m.Signer
		if signer == "" {
			signer = "none"
		}
		a.log.Debug(fmt.Sprintf("  IMC %d %q sha256 %s signer %s abi %d grants %v", m.IMCID, m.Name, m.SHA256, signer, m.ABI, m.Grants))
		if len(pol.ModuleDigests) == 0 && len(pol.ModuleSigners) == 0 {
			continue
		}
		if slices.Contains(pol.ModuleDigests, m.SHA256) || m.Signer != "" && slices.Contains(pol.ModuleSigners, m.Signer) {
			continue
		}
		reasons = append(reasons, fmt.Sprintf("module IMC %d %q (sha256 %s, signer %s) is not allowed", m.IMCID, m.Name, m.SHA256, signer))
	}
	return reasons
}
