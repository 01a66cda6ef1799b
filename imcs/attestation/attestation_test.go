//go:build !wasip1

package main

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"github.com/imchost/imchost/internal/testutil"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/imctest"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tpmhost"
)

var recordedLog = testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog")

const (
	imvID = 2 // the Attestation IMV's ID in the recorded run
	imcID = 2
)

// vector reads a recorded PA message (the shared testdata/strongswan/pa/*.txt: "key: value"
// lines, the PA-TNC message in "hex:").
func vector(t testing.TB, name string) imc.Message {
	t.Helper()
	f, err := os.Open(testutil.Data("strongswan", "pa", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := imc.Message{Type: msgTypePTS}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		switch k {
		case "hex":
			if m.Body, err = hex.DecodeString(v); err != nil {
				t.Fatal(err)
			}
		case "posture_collector_id":
			n, _ := strconv.Atoi(v)
			m.Collector = uint32(n)
		case "posture_validator_id":
			n, _ := strconv.Atoi(v)
			m.Validator = uint32(n)
		case "excl":
			m.Exclusive = v == "True"
		}
	}
	if m.Body == nil {
		t.Fatalf("%s: no hex line", name)
	}
	return m
}

// imvMessage builds a PA message from the IMV with the given attributes.
func imvMessage(t testing.TB, attrs ...patnc.Attr) imc.Message {
	t.Helper()
	body, err := (&patnc.Message{ID: 0x01020304, Attrs: attrs}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return imc.Message{Type: msgTypePTS, Collector: abi.IDAny, Validator: imvID, Body: body}
}

// imv is the verifier's side of a test: it sends messages to the IMC,
// checks the PB-PA framing of every reply, reassembles segmented
// attributes with patnc's Contract (sending Next Segment requests) and
// returns the reply attributes.
type imv struct {
	t        testing.TB
	h        *imctest.Harness
	contract *patnc.Contract
	bodies   []int // lengths of the PA-TNC messages of the last exchange
	segments int   // envelopes received in the last exchange
	maxBody  uint32
}

func newIMV(t testing.TB, h *imctest.Harness) *imv {
	return &imv{t: t, h: h, contract: &patnc.Contract{MaxMsgSize: patnc.NoLimit, MaxSegSize: patnc.NoLimit, MaxPending: 1 << 16}}
}

// exchange delivers m as one server batch and returns every attribute the
// IMC answered with, segmented ones reassembled.
func (v *imv) exchange(m imc.Message) []patnc.Attr {
	v.t.Helper()
	v.bodies, v.segments = nil, 0
	var out []patnc.Attr
	sent := v.h.Batch(m)
	for len(sent) > 0 {
		var next []patnc.Attr
		for _, s := range sent {
			if s.Type != msgTypePTS || !s.Exclusive || s.Validator != imvID {
				v.t.Fatalf("reply framing: type %+v excl %v validator %d", s.Type, s.Exclusive, s.Validator)
			}
			if v.maxBody != 0 && uint32(len(s.Body)) > v.maxBody {
				v.t.Fatalf("PA-TNC message of %d bytes exceeds max_message_size %d", len(s.Body), v.maxBody)
			}
			v.bodies = append(v.bodies, len(s.Body))
			pm, err := patnc.ParseMessage(s.Body)
			if err != nil {
				v.t.Fatalf("reply does not parse: %v", err)
			}
			for _, a := range pm.Attrs {
				env, ok := a.(*patnc.SegEnvelope)
				if !ok {
					out = append(out, a)
					continue
				}
				v.segments++
				whole, ns, err := v.contract.Reassemble(env)
				switch {
				case err != nil:
					v.t.Fatalf("reassembly: %v", err)
				case ns != nil:
					next = append(next, ns)
				default:
					out = append(out, whole)
				}
			}
		}
		if len(next) == 0 {
			break
		}
		sent = v.h.Batch(imvMessage(v.t, next...))
	}
	return out
}

// types lists the attribute types for messages.
func types(attrs []patnc.Attr) []patnc.Type {
	var out []patnc.Type
	for _, a := range attrs {
		out = append(out, a.Type())
	}
	return out
}

// attrLen is the encoded length of an attribute, header included.
func attrLen(t testing.TB, a patnc.Attr) int {
	b, err := patnc.MarshalAttr(a)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// fixtureRoot is a file system root whose "/" holds merged-/usr symlinks,
// and the facts the OS IMC reads (for TestInteropPDP).
func fixtureRoot(t testing.TB) string { return testutil.Machine{}.Root(t) }

// attestCase is one configuration of the full exchange.
type attestCase struct {
	name     string
	tpm      tpmKind // "" means swtpm
	ak       tpmhost.AKKind
	settings map[string]string
	bank     tpmhost.Alg               // the expected measurement algorithm's bank
	contract *patnc.SegContractRequest // replaces the recorded Contract Request
	logPath  string
	wantSCE  int // expected number of Simple Component Evidence attributes
	// dhGroup is the IKE D-H group the IMC must choose (0: 19, ECP_256).
	dhGroup uint16
	// segmented: the evidence must come as several PA-TNC messages with
	// Segmentation Envelopes.
	segmented bool
}

// harnessFor starts the IMC natively or, with wasm set, through the real
// host from the built module.
type harnessFor func(t *testing.T, env *tpmEnv, settings map[string]string) *imctest.Harness

func nativeHarness(t *testing.T, env *tpmEnv, settings map[string]string) *imctest.Harness {
	return imctest.New(t, newAttestation(), imctest.Options{
		ID: imcID, Name: "Attestation", Settings: settings,
		Platform: env.platform(t),
		Logger:   testLogger(t),
	})
}

// runExchange plays the recorded verifier's messages (with our own D-H
// Nonce Finish) against the IMC and checks every reply, the evidence and the
// quote.
func runExchange(t *testing.T, tc attestCase, newHarness harnessFor) {
	logPath := tc.logPath
	if logPath == "" {
		logPath = recordedLog
	}
	tk := tc.tpm
	if tk == "" {
		tk = useSwtpm
	}
	env := newTPMEnv(t, tk, tc.ak, logPath)
	settings := map[string]string{"aik_handle": "0x81010003", "eventlog": logPath}
	for k, v := range tc.settings {
		settings[k] = v
	}
	h := newHarness(t, env, settings)
	v := newIMV(t, h)
	if n, err := strconv.Atoi(settings["max_message_size"]); err == nil {
		v.maxBody = uint32(n)
	}
	if got := h.Subscriptions(); !slices.Equal(got, []abi.MsgType{msgTypePTS}) {
		t.Fatalf("subscriptions %v", got)
	}
	if first := h.Start(); len(first) != 0 {
		t.Fatalf("BeginHandshake sent %d messages", len(first))
	}
	measBit, _ := measFromTPMAlg(uint16(tc.bank))

	// Round 1: contract, capabilities, algorithm.
	m1 := vector(t, "02_02_s2c_TCG-PTS_imc65535_imv2.txt")
	if tc.contract != nil {
		pm, _ := patnc.ParseMessage(m1.Body)
		pm.Attrs[0] = tc.contract
		m1 = imvMessage(t, pm.Attrs...)
	}
	r := v.exchange(m1)
	wantTypes := []patnc.Type{patnc.TypeSegContractResponse, patnc.TypeProtoCaps, patnc.TypeMeasAlgoSelection}
	if !slices.Equal(types(r), wantTypes) {
		t.Fatalf("round 1 types %v", types(r))
	}
	resp := r[0].(*patnc.SegContractResponse)
	maxMsg := uint32(defaultMaxMessageSize)
	if n, err := strconv.Atoi(settings["max_message_size"]); err == nil {
		maxMsg = uint32(n)
	}
	req := patnc.SegContractRequest{MaxMsgSize: patnc.NoLimit, MaxSegSize: 0x1fffb8}
	if tc.contract != nil {
		req = *tc.contract
	}
	wantSeg := min(req.MaxSegSize, maxMsg-24)
	if resp.MaxMsgSize != req.MaxMsgSize || resp.MaxSegSize != wantSeg {
		t.Fatalf("contract response %+v, want seg %d", resp, wantSeg)
	}
	if c := r[1].(*patnc.ProtoCaps).Caps; c != patnc.CapV|patnc.CapD|patnc.CapT {
		t.Fatalf("caps %s", c)
	}
	if a := r[2].(*patnc.MeasAlgoSelection).Alg; uint16(a) != measBit {
		t.Fatalf("algorithm %s, want %s", a, patnc.HashAlgs(measBit))
	}
	if tc.contract == nil && (len(v.bodies) != 1 || v.bodies[0] != 60) {
		t.Fatalf("round 1 PA-TNC message sizes %v, want [60] as recorded", v.bodies)
	}
	v.contract.Accept(resp)

	// Round 2: D-H parameters.
	r = v.exchange(vector(t, "04_01_s2c_TCG-PTS_imc65535_imv2.txt"))
	if len(r) != 1 {
		t.Fatalf("round 2: %v", types(r))
	}
	group := tc.dhGroup
	if group == 0 {
		group = 19
	}
	dh, ok := r[0].(*patnc.DHNonceParamsResp)
	if !ok || dh.Group != patnc.DHGroupFromIKE(group) || uint16(dh.HashAlgs) != measBit || len(dh.Nonce) != 20 ||
		len(dh.Public) != tpmhost.DHGroup(group).PublicSize() {
		t.Fatalf("D-H parameters %+v", r[0])
	}
	if l := attrLen(t, dh); group == 19 && l != 104 {
		t.Fatalf("D-H Nonce Parameters Response is %d bytes, want 104", l)
	}

	// Round 3: our own D-H Nonce Finish (the recorded one's private key is
	// unknown), Get TPM Version Information, Get AIK, as recorded.
	ini, err := tpmhost.NewDHSession(tpmhost.DHInitiator, tpmhost.DHGroup(group), 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	dhHash := tpmhost.Alg(tc.bank).Hash()
	secret, _, err := ini.Finish(dhHash, dh.Public, dh.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	pm3, err := patnc.ParseMessage(vector(t, "06_01_s2c_TCG-PTS_imc65535_imv2.txt").Body)
	if err != nil {
		t.Fatal(err)
	}
	pm3.Attrs[0] = patnc.WithNoSkip(&patnc.DHNonceFinish{HashAlg: patnc.HashAlgs(measBit),
		Public: ini.Key.PublicValue(), Nonce: ini.Nonce})
	r = v.exchange(imvMessage(t, pm3.Attrs...))
	if !slices.Equal(types(r), []patnc.Type{patnc.TypeTPMVersionInfo, patnc.TypeAIK}) {
		t.Fatalf("round 3 types %v", types(r))
	}
	vi := r[0].(*patnc.TPMVersionInfo).Info
	tv, ok := patnc.ParseTPM2Version(vi)
	info, err := env.tpm.VersionInfo()
	if err != nil {
		t.Fatal(err)
	}
	if !ok || len(vi) != 16 || tv.Locality != env.locality || tv.Manufacturer != info.ManufacturerID ||
		tv.Revision != info.Revision || tv.Year != info.Year {
		t.Fatalf("TPM version info %x", vi)
	}
	aik := r[1].(*patnc.AIK)
	if !aik.Naked {
		t.Fatal("AIK sent as a certificate")
	}
	if err := checkSPKI(env.ak, aik.DER); err != nil {
		t.Fatal(err)
	}

	// Round 4: symlinks, component evidence, attestation evidence.
	r = v.exchange(vector(t, "08_01_s2c_TCG-PTS_imc65535_imv2.txt"))
	if len(r) < 2 || r[0].Type() != patnc.TypeITASymlinks || r[len(r)-1].Type() != patnc.TypeSimpleEvidFinal {
		t.Fatalf("round 4 types %v", types(r))
	}
	links := r[0].(*patnc.ITASymlinks).Links
	wantLinks := map[string]string{"/bin": "/usr/bin", "/sbin": "/usr/sbin", "/lib": "/usr/lib"}
	if len(links) != len(wantLinks) {
		t.Fatalf("symlinks %+v", links)
	}
	for _, l := range links {
		if wantLinks[l.Path] != l.Target {
			t.Fatalf("symlink %+v", l)
		}
	}
	if tc.segmented && (v.segments == 0 || len(v.bodies) < 2) {
		t.Fatalf("evidence not segmented: %d envelopes, %d messages", v.segments, len(v.bodies))
	}
	t.Logf("evidence: %d attributes in %d PA-TNC messages, %d envelopes", len(r), len(v.bodies), v.segments)
	sces := r[1 : len(r)-1]
	if len(sces) != tc.wantSCE {
		t.Fatalf("%d Simple Component Evidence attributes, want %d", len(sces), tc.wantSCE)
	}
	// Evidence k = accepted event k; the IMV's replay of it.
	var ctime int64
	if fi, err := os.Stat(logPath); err == nil {
		ctime = fi.Sys().(*syscall.Stat_t).Ctim.Sec
	}
	wantTime := time.Unix(ctime, 0).UTC().Format("2006-01-02T15:04:05Z")
	size := tc.bank.DigestSize()
	shadow := map[int][]byte{}
	k := 0
	for _, ev := range env.log.Events {
		d, ok := ev.Digest(tc.bank)
		if ev.Type == tpmhost.EvNoAction || !ok {
			continue
		}
		if k >= len(sces) {
			t.Fatalf("fewer evidence attributes than extended events")
		}
		sce, ok := sces[k].(*patnc.SimpleCompEvid)
		if !ok {
			t.Fatalf("attribute %d is %s", k+1, sces[k].Type())
		}
		if sce.PCR != ev.PCR || !bytes.Equal(sce.Measurement, d) || uint16(sce.HashAlg) != measBit ||
			sce.Name != patnc.BIOSComponent || sce.Transform != patnc.TransformMatch || sce.MeasType != patnc.MeasTypeHash ||
			sce.PCRInfo || sce.Validation != patnc.ValidationNone || sce.Depth != 0 || sce.Time.String() != wantTime {
			t.Fatalf("evidence %d: %+v (event %d, PCR %d)", k, sce, ev.Seq, ev.PCR)
		}
		if l := attrLen(t, sce); l != 52+size {
			t.Fatalf("evidence %d is %d bytes, want %d", k, l, 52+size)
		}
		pcr := int(sce.PCR)
		if shadow[pcr] == nil {
			shadow[pcr] = make([]byte, size)
			if pcr == 0 {
				shadow[0][size-1] = tv.Locality
			}
		}
		hh := tc.bank.Hash().New()
		hh.Write(shadow[pcr])
		hh.Write(sce.Measurement)
		shadow[pcr] = hh.Sum(nil)
		k++
	}
	if k != len(sces) {
		t.Fatalf("%d evidence attributes, %d extended events", len(sces), k)
	}
	if logPath == recordedLog && tc.bank == tpmhost.AlgSHA256 {
		compareRecordedEvidence(t, sces)
	}
	sef := r[len(r)-1].(*patnc.SimpleEvidFinal)
	verifyFinal(t, env, sef, secret, tc.bank, shadow)
	if tc.ak == tpmhost.AKECCP256 && tc.bank == tpmhost.AlgSHA256 && attrLen(t, sef) != 197 {
		t.Fatalf("Simple Evidence Final is %d bytes, want 197 as recorded", attrLen(t, sef))
	}

	// The same request again measures afresh and quotes again.
	r = v.exchange(vector(t, "08_01_s2c_TCG-PTS_imc65535_imv2.txt"))
	if len(r) != len(sces)+2 {
		t.Fatalf("repeated evidence request: %d attributes", len(r))
	}
	verifyFinal(t, env, r[len(r)-1].(*patnc.SimpleEvidFinal), secret, tc.bank, shadow)

	// Round 5: the assessment result is only logged.
	if r = v.exchange(vector(t, "10_01_s2c_TCG-PTS_imc65535_imv2.txt")); len(r) != 0 {
		t.Fatalf("answered the assessment with %v", types(r))
	}
}

// compareRecordedEvidence compares our Simple Component Evidence with the
// 6.0.6 client's of the recorded run (testdata/09_01_c2s...), byte for byte
// except the time (the ctime of another copy of the log).
func compareRecordedEvidence(t *testing.T, sces []patnc.Attr) {
	t.Helper()
	f, err := os.ReadFile(testutil.Data("strongswan", "pa", "09_01_c2s_TCG-PTS_imc2_imv2.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	for _, line := range strings.Split(string(f), "\n") {
		if v, ok := strings.CutPrefix(line, "hex: "); ok {
			body, _ = hex.DecodeString(v)
		}
	}
	rec, err := patnc.ParseMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	recSCE := rec.Attrs[1 : len(rec.Attrs)-1]
	if len(recSCE) != len(sces) {
		t.Fatalf("%d evidence attributes, the recorded client sent %d", len(sces), len(recSCE))
	}
	for i := range sces {
		ours := *sces[i].(*patnc.SimpleCompEvid)
		want := recSCE[i].(*patnc.SimpleCompEvid)
		ours.Time = want.Time
		a, b := mustMarshal(t, &ours), mustMarshal(t, want)
		if !bytes.Equal(a, b) {
			t.Fatalf("evidence %d:\n ours %x\n recorded %x", i, a, b)
		}
	}
}

func mustMarshal(t testing.TB, a patnc.Attr) []byte {
	b, err := patnc.MarshalAttr(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verifyFinal checks the quote as strongSwan's IMV does: pcrSelect names
// exactly the PCRs the evidence extended, in the evidence bank; the
// TPMS_ATTEST rebuilt with our secret and the digest of our replay verifies
// with the AK.
func verifyFinal(t *testing.T, env *tpmEnv, sef *patnc.SimpleEvidFinal, secret []byte, bank tpmhost.Alg, shadow map[int][]byte) {
	t.Helper()
	if sef.QuoteMode != patnc.QuoteTPM2 || uint16(sef.CompositeHashAlg) != measSHA256 {
		t.Fatalf("Simple Evidence Final mode %#x composite %s", sef.QuoteMode, sef.CompositeHashAlg)
	}
	var pcrs []int
	for p := range shadow {
		pcrs = append(pcrs, p)
	}
	slices.Sort(pcrs)
	wantSel, err := tpmhost.MarshalPCRSelection(bank, pcrs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sef.PCRSelect, wantSel) {
		t.Fatalf("pcrSelect %x, want %x", sef.PCRSelect, wantSel)
	}
	var values [][]byte
	for _, p := range pcrs {
		values = append(values, shadow[p])
	}
	real, err := env.tpm.ReadPCRs(bank, pcrs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pcrs {
		if !bytes.Equal(real[p], shadow[p]) {
			t.Fatalf("PCR %d: evidence replay %x, TPM %x", p, shadow[p], real[p])
		}
	}
	attest, err := sef.TPMSAttest(secret, tpmhost.PCRDigest(crypto.SHA256, values))
	if err != nil {
		t.Fatal(err)
	}
	// The rebuild carries the own secret and the replayed digest: a valid
	// signature over it proves both (the PDP's check).
	if err := tpmhost.VerifySignature(env.ak.Public, attest, sef.QuoteSig, crypto.SHA256); err != nil {
		t.Fatalf("quote does not verify: %v", err)
	}
}

func TestRecordedExchange(t *testing.T) {
	for _, tc := range []attestCase{
		{name: "ecc-p256/sha256", ak: tpmhost.AKECCP256, bank: tpmhost.AlgSHA256, wantSCE: 105,
			settings: map[string]string{"hash_algorithm": "sha256", "max_message_size": "32722"}},
		{name: "simulator ecc-p256/sha384", tpm: useSimulator, ak: tpmhost.AKECCP256, bank: tpmhost.AlgSHA384, wantSCE: 105,
			settings: map[string]string{"hash_algorithm": "sha384"}},
		// auto: SHA-256, which the TPM and the log have (not the strongest, SHA-384).
		{name: "rsa-2048 default settings", ak: tpmhost.AKRSA2048, bank: tpmhost.AlgSHA256, wantSCE: 105},
		{name: "ecc-p256/sha1", ak: tpmhost.AKECCP256, bank: tpmhost.AlgSHA1, wantSCE: 105,
			settings: map[string]string{"hash_algorithm": "sha1"}},
		{name: "modp2048 preferred", ak: tpmhost.AKECCP256, bank: tpmhost.AlgSHA256, wantSCE: 105, dhGroup: 14,
			settings: map[string]string{"hash_algorithm": "sha256", "dh_groups": "modp2048, ecp256"}},
		{name: "rsa-2048/sha1", ak: tpmhost.AKRSA2048, bank: tpmhost.AlgSHA1, wantSCE: 105,
			settings: map[string]string{"hash_algorithm": "sha1"}},
	} {
		t.Run(tc.name, func(t *testing.T) { runExchange(t, tc, nativeHarness) })
	}
}

// TestSegmentation: a small contract segment size and a small
// max_message_size make the IMC envelope its large attributes (AIK,
// Simple Evidence Final) and spread the evidence over many PA-TNC messages;
// the IMV side reassembles them with patnc's Contract.
func TestSegmentation(t *testing.T) {
	for _, tc := range []attestCase{
		{name: "segment 60", ak: tpmhost.AKECCP256, bank: tpmhost.AlgSHA256, wantSCE: 105, segmented: true,
			contract: &patnc.SegContractRequest{MaxMsgSize: patnc.NoLimit, MaxSegSize: 60},
			settings: map[string]string{"max_message_size": "1000", "hash_algorithm": "sha256"}},
		{name: "rsa segment 100", ak: tpmhost.AKRSA2048, bank: tpmhost.AlgSHA256, wantSCE: 105, segmented: true,
			contract: &patnc.SegContractRequest{MaxMsgSize: patnc.NoLimit, MaxSegSize: 100},
			settings: map[string]string{"max_message_size": "500", "hash_algorithm": "sha256"}},
	} {
		t.Run(tc.name, func(t *testing.T) { runExchange(t, tc, nativeHarness) })
	}
}

// TestLargeLog runs a synthetic crypto-agile log of 3000 events through the
// whole exchange with a segment size that envelopes the big attributes.
func TestLargeLog(t *testing.T) {
	if testing.Short() {
		t.Skip("extends 3000 events into swtpm")
	}
	path := filepath.Join(t.TempDir(), "large_eventlog")
	if err := os.WriteFile(path, syntheticLog(3000), 0o644); err != nil {
		t.Fatal(err)
	}
	runExchange(t, attestCase{name: "large", ak: tpmhost.AKECCP256, bank: tpmhost.AlgSHA256, wantSCE: 2997, segmented: true,
		logPath: path, contract: &patnc.SegContractRequest{MaxMsgSize: patnc.NoLimit, MaxSegSize: 150},
		settings: map[string]string{"max_message_size": "4096", "hash_algorithm": "sha256"}}, nativeHarness)
}

// syntheticLog builds a crypto-agile event log (SHA-1 and SHA-256 banks):
// the Spec ID event, then n events over PCRs 0-9 and 14 with distinct
// digests, every 1000th an EV_NO_ACTION that must not become evidence.
func syntheticLog(n int) []byte {
	le := binary.LittleEndian
	var b []byte
	// TCG_PCR_EVENT header of the Spec ID event.
	b = le.AppendUint32(b, 0) // PCR 0
	b = le.AppendUint32(b, 3) // EV_NO_ACTION
	b = append(b, make([]byte, 20)...)
	spec := []byte("Spec ID Event03\x00")
	spec = le.AppendUint32(spec, 0)    // platformClass
	spec = append(spec, 0, 2, 0, 2)    // minor, major, errata, uintnSize
	spec = le.AppendUint32(spec, 2)    // numberOfAlgorithms
	spec = le.AppendUint16(spec, 0x04) // SHA-1
	spec = le.AppendUint16(spec, 20)
	spec = le.AppendUint16(spec, 0x0b) // SHA-256
	spec = le.AppendUint16(spec, 32)
	spec = append(spec, 0) // vendorInfoSize
	b = le.AppendUint32(b, uint32(len(spec)))
	b = append(b, spec...)
	pcrs := []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14}
	for i := 1; i < n; i++ {
		typ := uint32(0x0d) // EV_IPL
		if i%1000 == 0 {
			typ = 3
		}
		data := []byte("synthetic event " + strconv.Itoa(i))
		b = le.AppendUint32(b, pcrs[i%len(pcrs)])
		b = le.AppendUint32(b, typ)
		b = le.AppendUint32(b, 2)
		d1, d2 := sha1.Sum(data), sha256.Sum256(data)
		b = le.AppendUint16(b, 0x04)
		b = append(b, d1[:]...)
		b = le.AppendUint16(b, 0x0b)
		b = append(b, d2[:]...)
		b = le.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
	}
	return b
}
