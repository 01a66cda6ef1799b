package pdp

import (
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
)

// attPhase is where the Attestation IMV is in the PTS exchange (PTS IF-M
// Binding §3.7–§3.15): it has sent the requests of the phase and waits for
// their answers. The only transitions are in (*attIMV).advance, at the end
// of an IMC batch, and in finish (to phaseDone); which answers belong to
// which phase is answerPhase.
type attPhase uint8

const (
	phaseStart    attPhase = iota // nothing sent yet
	phaseCaps                     // PTS protocol capabilities and measurement algorithm requested
	phaseDH                       // D-H nonce parameters requested
	phaseTPM                      // D-H finished; TPM version information and AIK requested
	phaseEvidence                 // component evidence (and file measurements) requested
	phaseDone                     // verdict reached
)

var attPhaseNames = [...]string{
	phaseStart:    "start",
	phaseCaps:     "capabilities",
	phaseDH:       "D-H nonce",
	phaseTPM:      "TPM",
	phaseEvidence: "evidence",
	phaseDone:     "done",
}

// String names the phase in reasons ("the TPM phase").
func (p attPhase) String() string {
	if int(p) < len(attPhaseNames) {
		return attPhaseNames[p]
	}
	return fmt.Sprintf("phase %d", uint8(p))
}

// answerPhase is the phase whose requests an attribute answers; ok is false
// for attributes that may come in any phase (segmentation, PA-TNC errors,
// the host's module report, attributes the IMV ignores).
func answerPhase(at patnc.Attr) (p attPhase, ok bool) {
	switch at.(type) {
	case *patnc.ProtoCaps, *patnc.MeasAlgoSelection:
		return phaseCaps, true
	case *patnc.DHNonceParamsResp:
		return phaseDH, true
	case *patnc.TPMVersionInfo, *patnc.AIK:
		return phaseTPM, true
	case *patnc.ITASymlinks, *patnc.SimpleCompEvid, *patnc.SimpleEvidFinal, *patnc.FileMeas:
		return phaseEvidence, true
	}
	return 0, false
}

// The component strongSwan's IMV requests for BIOS evidence: ITA-HSR
// "Linux IMA" with qualifier K + trusted platform (PTS IF-M Binding §5.1).
const (
	biosCompVendor    = abi.PENITAHSR
	biosCompQualifier = 0x21
	biosCompName      = 3
	// measTypeHash is the Simple Component Evidence measurement type "hash".
	measTypeHash = 0x80
	// reqFlagPCR is the PCR flag of Request Functional Component Evidence.
	reqFlagPCR = 0x10
	// maxEvidence bounds how many Simple Component Evidence attributes one
	// connection may send.
	maxEvidence = 16384
)

// attIMV is the Attestation IMV's state for one connection (strongSwan
// imv_attestation with a TPM attestation work item for BIOS evidence).
type attIMV struct {
	c   *conn
	log hclog.Logger

	phase attPhase
	// batchPTS: a PTS message arrived in this batch; segRequested: a Next
	// Segment request went out in it, so the IMV waits for the rest
	// instead of judging what it has.
	batchPTS     bool
	segRequested bool
	askedOS      bool

	// The IMC's answers, nil until they arrive (each only in its phase).
	caps    *patnc.ProtoCaps         // phaseCaps
	algoSel *patnc.MeasAlgoSelection // phaseCaps
	dh      *patnc.DHNonceParamsResp // phaseDH
	final   *patnc.SimpleEvidFinal   // phaseEvidence
	// locality (TPM Version Information) and the AIK arrive in phaseTPM.
	locality uint8
	ak       *attAK

	// Set by the transitions: the measurement algorithm once the
	// capabilities phase accepted it, the secret once the D-H phase
	// finished, the shadow PCRs once evidence is requested.
	algo     patnc.HashAlgs
	secret   []byte
	evidence []Measurement
	imaEvid  []imaEvidence               // IMA entries (policy IMA), in list order
	imaSigs  map[uint32]abi.IMASignature // signed IMA entries by position (IMA signatures attributes)
	// fileReqs are the outstanding Request File Measurements (policy
	// file_measurements), files what they returned, fileMissing the paths
	// the endpoint answered with File Not Found.
	fileReqs    map[uint16]fileRequest
	files       []fileResult
	fileMissing []string
	shadow      *shadowPCRs
	contract    *patnc.Contract // TCG segmentation contract with the IMC

	// modReport is the host's module report (abi.ModuleReport), modErr
	// why the last one did not decode.
	modReport *abi.ModuleReport
	modErr    error

	sent bool // the Assessment Result went out
	v    IMVVerdict
}

// decided reports whether the verdict is reached.
func (a *attIMV) decided() bool { return a.phase == phaseDone }

// attAK is the AIK the IMC sent in the TPM phase.
type attAK struct {
	pub   crypto.PublicKey
	keyID string            // hex SHA-1 of the SubjectPublicKeyInfo
	cert  *x509.Certificate // nil for a naked key
	learn bool              // trusted on first use: record when the attestation succeeds
}

func newAttIMV(c *conn) *attIMV {
	return &attIMV{c: c, log: c.env.attLog.With("conn_id", uint32(c.id)),
		v: IMVVerdict{IMV: "Attestation", ID: AttestationIMVID, Recommendation: NoRecommendation, Result: DontKnow}}
}

// receiveOS reads an OS message: the Attestation IMV only needs the device
// facts, which conn already extracted.
func (a *attIMV) receiveOS(msg *patnc.Message) {}

// receive processes a PTS message from the Attestation IMC.
func (a *attIMV) receive(ctx context.Context, msg *patnc.Message) {
	a.batchPTS = true
	for _, at := range msg.Attrs {
		if a.decided() {
			return
		}
		a.process(at)
	}
}

// process handles one attribute (reassembled ones included). An answer
// that does not belong to the current phase ends the work item: a PTS
// answer counts only for the requests the IMV has made (an AIK sent again
// with the evidence must not replace the one whose trust was checked).
func (a *attIMV) process(at patnc.Attr) {
	if p, ok := answerPhase(at); ok && p != a.phase {
		a.unexpected(at, p)
		return
	}
	switch x := at.(type) {
	case *patnc.SegContractResponse:
		if a.contract != nil {
			a.contract.Accept(x)
			a.log.Info(fmt.Sprintf("IMV %d received a segmentation contract response from IMC for PA message type 'TCG/PTS'", AttestationIMVID))
			a.log.Info("  " + a.contract.String())
		}
	case *patnc.SegEnvelope:
		a.reassemble(x)
	case *patnc.ProtoCaps:
		a.caps = x
		a.log.Info("supported PTS protocol capabilities: " + x.Caps.String())
	case *patnc.MeasAlgoSelection:
		a.algoSel = x
		a.log.Info("selected PTS measurement algorithm is " + x.Alg.String())
	case *patnc.DHNonceParamsResp:
		a.dh = x
		a.log.Info("selected PTS DH group is "+x.Group.String(), "nonce_len", len(x.Nonce))
	case *patnc.TPMVersionInfo:
		a.processVersion(x)
	case *patnc.AIK:
		a.processAIK(x)
	case *patnc.ITASymlinks:
		a.log.Debug("received symbolic links", "count", len(x.Links))
	case *patnc.SimpleCompEvid:
		a.processEvidence(x)
	case *patnc.SimpleEvidFinal:
		a.processFinal(x)
	case *patnc.FileMeas:
		a.processFileMeas(x)
	case *patnc.PATNCError:
		if a.fileNotFound(x) {
			return
		}
		a.log.Error(fmt.Sprintf("received PA-TNC error 0x%06x/%d", x.Vendor, x.Code))
		a.fail(ResultError, NoAccess, fmt.Sprintf("PA-TNC error %d received from the IMC", x.Code))
	case *patnc.Unknown:
		if x.T.Vendor == abi.ModuleReportVendor && x.T.Type == abi.ModuleReportType {
			r, err := abi.ParseModuleReport(x.Value)
			a.modReport, a.modErr = &r, err
			if err != nil {
				a.modReport = nil
			}
			a.log.Debug("received the host's module report", "bytes", len(x.Value))
			return
		}
		if x.T.Vendor == abi.IMASignaturesVendor && x.T.Type == abi.IMASignaturesType {
			a.processIMASignatures(x.Value)
			return
		}
		a.log.Debug("ignored attribute", "attr", at.Type().String())
	default:
		a.log.Debug("ignored attribute", "attr", at.Type().String())
	}
}

// reassemble feeds a Segmentation Envelope to the contract (TCG IF-M
// Segmentation §5.3): a Next Segment request goes back while segments are due, the base
// attribute is processed when complete; a broken reassembly is answered with
// the PA-TNC error strongSwan sends and ends the work item.
func (a *attIMV) reassemble(e *patnc.SegEnvelope) {
	if a.contract == nil {
		a.fail(ResultError, NoAccess, "segment received without a segmentation contract")
		return
	}
	at, next, err := a.contract.Reassemble(e)
	switch {
	case err != nil:
		a.log.Error("reassembly of a segmented attribute failed", "base_msg_id", e.BaseMsgID, "err", err)
		var perr *patnc.Error
		if errors.As(err, &perr) {
			a.sendPTS(perr.ErrorAttr())
		}
		a.fail(ResultError, NoAccess, "invalid segmented attribute")
	case next != nil:
		a.log.Debug("requesting next segment", "base_msg_id", e.BaseMsgID)
		a.segRequested = true
		a.sendPTS(next)
	default:
		a.log.Debug("reassembled segmented attribute", "attr", at.Type().String())
		a.process(at)
	}
}

func (a *attIMV) processVersion(x *patnc.TPMVersionInfo) {
	v := x.Info
	if len(v) < 4 {
		a.log.Error("TPM version information too short", "len", len(v))
		return
	}
	if v[0] != 0x02 || v[1] != 0x00 {
		a.log.Info("TPM version information is not TPM 2.0", "tag", hex.EncodeToString(v[:2]))
		return
	}
	a.locality = v[3]
	a.log.Info(fmt.Sprintf("TPM 2.0 - startup locality: %d", a.locality))
}

func (a *attIMV) processAIK(x *patnc.AIK) {
	var ak attAK
	var spki []byte
	if x.Naked {
		pub, err := x509.ParsePKIXPublicKey(x.DER)
		if err != nil {
			a.fail(NonCompliantMinor, Isolate, "AIK public key invalid")
			return
		}
		ak.pub, spki = pub, x.DER
	} else {
		cert, err := x509.ParseCertificate(x.DER)
		if err != nil {
			a.fail(NonCompliantMinor, Isolate, "AIK certificate invalid")
			return
		}
		ak.pub, ak.cert, spki = cert.PublicKey, cert, cert.RawSubjectPublicKeyInfo
	}
	sum := sha1.Sum(spki)
	ak.keyID = hex.EncodeToString(sum[:])
	a.ak = &ak
	a.log.Info("verifying AIK with keyid " + colonHex(ak.keyID))
	if dev := a.c.facts.deviceID; dev != "" && dev != ak.keyID {
		a.log.Info("device ID does not match AIK keyid", "device_id", dev, "keyid", ak.keyID)
	}
}

func (a *attIMV) processEvidence(x *patnc.SimpleCompEvid) {
	seq := len(a.evidence) + 1
	switch {
	case len(a.evidence) >= maxEvidence:
		a.fail(ResultError, NoAccess, "too many evidence measurements")
		return
	case x.Name.Vendor == biosCompVendor && uint8(x.Name.Qualifier) == imaCompQualifier && x.Name.Name == biosCompName &&
		x.MeasType == measTypeHash && x.HashAlg == a.algo && len(x.Measurement) == a.algo.Size():
		a.processIMAEvidence(x)
		return
	case x.Name.Vendor != biosCompVendor || uint8(x.Name.Qualifier) != biosCompQualifier || x.Name.Name != biosCompName:
		a.fail(NonCompliantMinor, Isolate, "evidence for a component that was not requested")
		return
	case x.MeasType != measTypeHash:
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("measurement %d is not a hash", seq))
		return
	case x.HashAlg != a.algo:
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("measurement %d uses %s, not %s", seq, x.HashAlg, a.algo))
		return
	case len(x.Measurement) != a.algo.Size():
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("measurement %d has %d bytes", seq, len(x.Measurement)))
		return
	}
	if x.PCRInfo && x.PCR < numPCRs && !equalBytes(x.PCRBefore, a.shadow.pcr[x.PCR]) {
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("PCR %d measurement %d: reported PCR before differs", x.PCR, seq))
		return
	}
	if err := a.shadow.extend(int(x.PCR), x.Measurement); err != nil {
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("measurement %d: %v", seq, err))
		return
	}
	if x.PCRInfo && !equalBytes(x.PCRAfter, a.shadow.pcr[x.PCR]) {
		a.fail(NonCompliantMinor, Isolate, fmt.Sprintf("PCR %d measurement %d: reported PCR after differs", x.PCR, seq))
		return
	}
	a.evidence = append(a.evidence, Measurement{Seq: seq, PCR: int(x.PCR),
		Digest: append([]byte(nil), x.Measurement...)})
}

func (a *attIMV) processFinal(x *patnc.SimpleEvidFinal) { a.final = x }

// unexpected ends the work item for an answer outside its phase p.
func (a *attIMV) unexpected(at patnc.Attr, p attPhase) {
	if p == phaseEvidence && a.phase < phaseEvidence {
		a.fail(ResultError, NoAccess, "evidence received before it was requested")
		return
	}
	a.fail(ResultError, NoAccess, fmt.Sprintf("%s received in the %s phase (it answers the %s phase)",
		at.Type().Name(), a.phase, p))
}

// batchEnding sends the next round of requests, or verifies the evidence.
func (a *attIMV) batchEnding(ctx context.Context) {
	answered := a.batchPTS && !a.segRequested
	a.batchPTS, a.segRequested = false, false
	if a.decided() {
		a.sendAssessment()
		return
	}
	a.advance(ctx, answered)
}

// advance is the phase machine's one place of transitions: with the
// answers of the current phase complete it checks them, sends the next
// phase's requests and enters it (or verifies, in the evidence phase). An
// IMC that answered without what the phase needs fails the work item
// (stalled); with no answer at all the IMV keeps waiting.
func (a *attIMV) advance(ctx context.Context, answered bool) {
	p := a.c.env.policy
	switch a.phase {
	case phaseStart:
		if (a.c.facts.product == "" || a.c.facts.deviceID == "") && !a.askedOS {
			a.askedOS = true
			a.c.queue(outMsg{vendor: abi.PENIETF, subtype: abi.SubtypeOS, validator: AttestationIMVID,
				attrs: []patnc.Attr{&patnc.AttrRequest{Types: []patnc.Type{
					patnc.TypeProductInfo, patnc.TypeStringVersion, patnc.TypeITADeviceID}}}})
		}
		var req *patnc.SegContractRequest
		a.contract, req = patnc.NewContractRequest(uint32(a.c.env.maxMsg))
		a.sendPTS(req,
			patnc.WithNoSkip(&patnc.ReqProtoCaps{Caps: patnc.CapV | patnc.CapD | patnc.CapT}),
			patnc.WithNoSkip(&patnc.MeasAlgoRequest{Algs: patnc.HashAlgs(p.measAlgos())}))
		a.phase = phaseCaps
	case phaseCaps:
		if a.caps == nil || a.algoSel == nil {
			a.stalled(answered, "PTS protocol capabilities or measurement algorithm missing")
			return
		}
		a.algo = a.algoSel.Alg
		switch {
		case a.caps.Caps&patnc.CapT == 0:
			a.fail(ResultError, NoAccess, "no TPM available")
			return
		case a.caps.Caps&patnc.CapD == 0:
			a.fail(ResultError, NoAccess, "no DH nonce negotiation")
			return
		case !a.algo.Single() || a.algo&patnc.HashAlgs(p.measAlgos()) == 0 || tpmhost.Alg(a.algo.TPMAlg()).Hash() == 0:
			a.fail(ResultError, NoAccess, fmt.Sprintf("measurement algorithm %s was not offered", a.algo))
			return
		}
		a.sendPTS(patnc.WithNoSkip(&patnc.DHNonceParamsReq{MinNonceLen: uint8(p.MinNonceLen),
			Groups: patnc.DHGroups(p.dhGroups())}))
		a.phase = phaseDH
	case phaseDH:
		if a.dh == nil {
			a.stalled(answered, "D-H nonce parameters missing")
			return
		}
		finish, err := a.finishDH()
		if err != nil {
			a.fail(ResultError, NoAccess, err.Error())
			return
		}
		a.sendPTS(patnc.WithNoSkip(finish), patnc.WithNoSkip(&patnc.GetTPMVersionInfo{}),
			patnc.WithNoSkip(&patnc.GetAIK{}))
		a.phase = phaseTPM
	case phaseTPM:
		if a.ak == nil {
			a.stalled(answered, "no AIK received")
			return
		}
		if !a.trustAK(ctx) {
			return
		}
		a.shadow = newShadowPCRs(tpmhost.Alg(a.algo.TPMAlg()).Hash(), a.locality)
		reqs := []patnc.CompEvidRequest{{Flags: reqFlagPCR, Name: patnc.ComponentName{Vendor: biosCompVendor,
			Qualifier: biosCompQualifier, Name: biosCompName}}}
		if p.IMA {
			reqs = append(reqs, patnc.CompEvidRequest{Flags: reqFlagPCR, Name: patnc.ComponentName{Vendor: biosCompVendor,
				Qualifier: imaCompQualifier, Name: biosCompName}})
		}
		attrs := []patnc.Attr{&patnc.ITAGetSymlinks{Dir: "/"}, patnc.WithNoSkip(&patnc.ReqFuncCompEvid{Requests: reqs})}
		attrs = append(attrs, a.fileRequests()...)
		a.sendPTS(append(attrs, patnc.WithNoSkip(&patnc.GenAttestEvid{}))...)
		a.phase = phaseEvidence
	case phaseEvidence:
		if a.final == nil {
			a.stalled(answered, "no Simple Evidence Final received")
			return
		}
		a.verify(ctx)
	}
}

// stalled fails the work item when the IMC answered without what the IMV
// needs; with no answer at all the IMV keeps waiting.
func (a *attIMV) stalled(answered bool, why string) {
	if answered {
		a.fail(ResultError, NoAccess, why)
	}
}

func (a *attIMV) sendPTS(attrs ...patnc.Attr) {
	a.c.queue(outMsg{vendor: abi.PENTCG, subtype: abi.SubtypePTS, validator: AttestationIMVID, attrs: attrs})
}

// finishDH checks the IMC's D-H parameters and completes the exchange as the
// initiator: own key pair, own nonce of the responder nonce's length, hash =
// strongest common algorithm, secret assessment value.
func (a *attIMV) finishDH() (*patnc.DHNonceFinish, error) {
	p, r := a.c.env.policy, a.dh
	min := p.MinNonceLen
	if min < minNonceLen {
		min = minNonceLen
	}
	switch {
	case !r.Group.Single() || r.Group&patnc.DHGroups(p.dhGroups()) == 0:
		return nil, fmt.Errorf("DH group %s was not offered", r.Group)
	case len(r.Nonce) < min:
		return nil, fmt.Errorf("responder nonce has %d bytes, at least %d required", len(r.Nonce), min)
	}
	hashAlg := (r.HashAlgs & patnc.HashAlgs(p.measAlgos())).Best()
	h := tpmhost.Alg(hashAlg.TPMAlg()).Hash()
	if h == 0 {
		return nil, fmt.Errorf("no common DH hash algorithm in %s", r.HashAlgs)
	}
	dh, err := tpmhost.NewDHSession(tpmhost.DHInitiator, tpmhost.DHGroup(r.Group.IKEGroup()), len(r.Nonce), nil)
	if err != nil {
		return nil, fmt.Errorf("DH group %s: %w", r.Group, err)
	}
	secret, _, err := dh.Finish(h, r.Public, r.Nonce)
	if err != nil {
		return nil, fmt.Errorf("invalid DH public value: %w", err)
	}
	a.secret = secret
	a.log.Info("selected DH hash algorithm is " + hashAlg.String())
	return &patnc.DHNonceFinish{HashAlg: hashAlg, Public: dh.Key.PublicValue(), Nonce: dh.Nonce}, nil
}

// trustAK decides whether the AK is trusted: a keyid the database trusts, a
// certificate chaining to a configured CA, or first contact under LearnAKs.
func (a *attIMV) trustAK(ctx context.Context) bool {
	p := a.c.env.policy
	ok, err := a.c.env.store.AKTrusted(ctx, a.ak.keyID)
	if err != nil {
		a.log.Error("database error", "err", err)
		a.fail(ResultError, NoAccess, "policy database error")
		return false
	}
	switch {
	case ok:
		a.log.Info("AIK public key is trusted")
		return true
	case a.ak.cert != nil && p.AKCAs != nil:
		if _, err := a.ak.cert.Verify(x509.VerifyOptions{Roots: p.AKCAs,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
			a.log.Info("AIK certificate is trusted")
			return true
		}
		a.log.Info("AIK certificate is not trusted")
	case p.LearnAKs:
		a.ak.learn = true
		a.log.Info("AIK public key is not known, trusted on first contact")
		return true
	}
	a.log.Info("AIK public key is not trusted")
	a.fail(NonCompliantMinor, Isolate, "unknown AK "+a.ak.keyID)
	return false
}

// verify checks the received evidence and quote (PTS IF-M Binding §3.15,
// TPM 2.0 Part 3 §18.4) and reaches the verdict.
func (a *attIMV) verify(ctx context.Context) {
	if len(a.evidence) == 0 {
		a.fail(NonCompliantMinor, Isolate, "no BIOS evidence measurements received")
		return
	}
	var reasons []string
	quoteOK := false
	if err := a.verifyQuote(); err != nil {
		a.log.Info("TPM Quote Info verification failed: " + err.Error())
		reasons = append(reasons, err.Error())
	} else {
		quoteOK = true
		a.log.Info("TPM Quote Info signature verification successful")
	}
	reasons = append(reasons, a.checkModules()...)

	// Reference measurements hang off the AK's keyid (normally also the
	// Device ID the OS IMC reported): bound to the key that signs the
	// quote, a client cannot borrow another device's references by
	// claiming its Device ID.
	st := a.c.env.store
	devKey := a.ak.keyID
	dev, err := st.AddDevice(ctx, devKey, a.c.facts.product, false)
	if err != nil {
		a.log.Error("database error", "err", err)
		a.fail(ResultError, NoAccess, "policy database error")
		return
	}
	algo := uint16(a.algo)
	ref, err := st.Measurements(ctx, dev.ID, algo)
	if err != nil {
		a.log.Error("database error", "err", err)
		a.fail(ResultError, NoAccess, "policy database error")
		return
	}
	var summary string
	if len(ref) == 0 && a.c.env.policy.LearnMeasurements && quoteOK {
		// Registration only with a valid quote: the PDP never learns
		// measurements it could not tie to the TPM. Another connection
		// (here or on a replica) may register the same device first;
		// then its set is the reference this evidence is compared to.
		stored, registered, err := st.RegisterMeasurements(ctx, dev.ID, algo, a.evidence)
		if err != nil {
			a.log.Error("database error", "err", err)
			a.fail(ResultError, NoAccess, "policy database error")
			return
		}
		if registered {
			summary = fmt.Sprintf("registered %d BIOS evidence measurements", len(a.evidence))
		} else {
			a.log.Info("reference measurements were registered by another connection meanwhile")
			ref = stored
		}
	}
	switch {
	case summary != "":
	case len(ref) > 0:
		fails, notes := compareMeasurements(ref, a.evidence)
		for _, n := range notes {
			a.log.Info(n)
		}
		for _, f := range fails {
			a.log.Info(f)
		}
		reasons = append(reasons, fails...)
		if len(fails) == 0 {
			summary = fmt.Sprintf("%d BIOS evidence measurements are ok", len(a.evidence))
		}
	case !a.c.env.policy.LearnMeasurements:
		reasons = append(reasons, "no reference BIOS measurements for device "+devKey)
	}
	if a.c.env.policy.IMA {
		// Learning only from a valid quote and otherwise clean evidence.
		imaReasons, err := a.checkIMA(ctx, dev.ID, quoteOK && len(reasons) == 0 && a.c.env.policy.LearnMeasurements)
		if err != nil {
			a.log.Error("database error", "err", err)
			a.fail(ResultError, NoAccess, "policy database error")
			return
		}
		for _, r := range imaReasons {
			a.log.Info(r)
		}
		reasons = append(reasons, imaReasons...)
	}
	if len(a.c.env.policy.FileMeasurements) > 0 {
		fileReasons, err := a.checkFiles(ctx, quoteOK && len(reasons) == 0 && a.c.env.policy.LearnMeasurements)
		if err != nil {
			a.log.Error("database error", "err", err)
			a.fail(ResultError, NoAccess, "policy database error")
			return
		}
		for _, r := range fileReasons {
			a.log.Info(r)
		}
		reasons = append(reasons, fileReasons...)
	}
	if len(reasons) > 0 {
		a.fail(NonCompliantMinor, Isolate, reasons...)
		return
	}
	if a.ak.learn {
		if err := st.TrustAK(ctx, a.ak.keyID); err != nil {
			a.log.Error("database error", "err", err)
		}
	}
	a.log.Info(summary)
	a.finish(Compliant, Allow)
}

// verifyQuote checks the Simple Evidence Final against the replayed evidence
// and the own secret.
func (a *attIMV) verifyQuote() error {
	f := a.final
	if f.QuoteMode != patnc.QuoteTPM2 {
		return fmt.Errorf("no TPM 2.0 quote in Simple Evidence Final (flags 0x%02x)", uint8(f.QuoteMode))
	}
	sigHash := tpmhost.Alg(f.CompositeHashAlg.TPMAlg()).Hash()
	if sigHash == 0 || !f.CompositeHashAlg.Single() {
		return fmt.Errorf("unsupported composite hash algorithm %s", f.CompositeHashAlg)
	}
	sels, err := tpmhost.ParsePCRSelection(f.PCRSelect)
	if err != nil {
		return fmt.Errorf("quote PCR selection invalid: %w", err)
	}
	want := a.shadow.selected
	var got uint32
	for _, s := range sels {
		if s.Bank != tpmhost.Alg(a.algo.TPMAlg()) {
			return fmt.Errorf("quote covers bank %s, evidence uses %s", s.Bank, a.algo)
		}
		for _, i := range s.PCRs {
			if i < numPCRs {
				got |= 1 << i
			} else {
				return fmt.Errorf("quote covers PCR %d without evidence", i)
			}
		}
	}
	if len(sels) != 1 || got != want {
		return fmt.Errorf("quote covers PCRs %06x, evidence extended %06x", got, want)
	}
	var values [][]byte
	for i := 0; i < numPCRs; i++ {
		if want&(1<<i) != 0 {
			values = append(values, a.shadow.pcr[i])
		}
	}
	constructed := tpmhost.PCRDigest(sigHash, values)
	if !equalBytes(constructed, f.PCRComposite) {
		return errors.New("received PCR Composite digest does not match constructed one")
	}
	// The TPMS_ATTEST the TPM must have signed: the received pieces, the own
	// secret as extraData and the own digest. A valid signature over it
	// proves the nonce and the PCR values at once.
	raw, err := f.TPMSAttest(a.secret, constructed)
	if err != nil {
		return fmt.Errorf("quote info invalid: %w", err)
	}
	if err := tpmhost.VerifySignature(a.ak.pub, raw, f.QuoteSig, sigHash); err != nil {
		if errors.Is(err, tpmhost.ErrQuoteSignature) {
			return errors.New("quote signature invalid")
		}
		return fmt.Errorf("quote invalid: %w", err)
	}
	return nil
}

// colonHex renders a hex keyid as strongSwan does ("d4:1b:cf:...").
func colonHex(h string) string {
	var b strings.Builder
	for i := 0; i+1 < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

func equalBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := range a {
		d |= a[i] ^ b[i]
	}
	return d == 0
}

// fail ends the work item with a non-compliant or error verdict. Errors
// (protocol violations, missing answers) recommend "no access": a strict
// PDP lets nobody in whose attestation broke, whatever the other IMVs say.
func (a *attIMV) fail(res Result, rec Recommendation, reasons ...string) {
	for _, r := range reasons {
		a.log.Info("isolate - " + r)
	}
	a.finish(res, rec, reasons...)
}

func (a *attIMV) finish(res Result, rec Recommendation, reasons ...string) {
	if a.decided() {
		return
	}
	a.phase = phaseDone
	a.v.Result, a.v.Recommendation, a.v.Reasons = res, rec, reasons
	logDecision(a.log, AttestationIMVID, rec, res)
}

// sendAssessment queues the IETF Assessment Result for the Attestation IMC
// once (vector 10_01: a PTS-subtype message).
func (a *attIMV) sendAssessment() {
	if a.sent || !a.decided() {
		return
	}
	a.sent = true
	a.c.queue(outMsg{vendor: abi.PENTCG, subtype: abi.SubtypePTS, validator: AttestationIMVID, final: true,
		attrs: []patnc.Attr{&patnc.AssessmentResult{Result: patnc.AssessmentResultCode(a.v.Result)}}})
}

// solicit forces a decision. An unfinished attestation gives "don't know" /
// no recommendation as in strongSwan (the other IMVs then decide), unless
// the policy requires attestation.
func (a *attIMV) solicit() {
	if !a.decided() {
		if a.c.env.policy.AllowMissingAttestation {
			a.v.Result, a.v.Recommendation = DontKnow, NoRecommendation
			a.log.Info("IMV 2 has no recommendation: attestation not finished")
			return
		}
		a.fail(ResultError, NoAccess, "attestation not finished")
	}
	a.sendAssessment()
}

func (a *attIMV) verdict() IMVVerdict { return a.v }
