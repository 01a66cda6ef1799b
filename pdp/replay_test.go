package pdp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imchost/imchost/internal/testutil"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
)

var vectors = testutil.Data("strongswan")

// vectorMsg is one recorded PA message (pa/NN_MM_*.txt).
type vectorMsg struct {
	name string
	pa   tnccs.PAMessage
}

// loadVector reads one pa/*.txt file: its PB-PA header fields and hex body.
func loadVector(t testing.TB, glob string) vectorMsg {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(vectors, "pa", glob))
	if err != nil || len(files) != 1 {
		t.Fatalf("vector %s: %v %v", glob, files, err)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := vectorMsg{name: filepath.Base(files[0])}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		k, val, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		switch k {
		case "pa_subtype":
			if strings.HasPrefix(val, "TCG/PTS") {
				v.pa.Vendor, v.pa.Subtype = abi.PENTCG, 1
			} else {
				v.pa.Vendor, v.pa.Subtype = abi.PENIETF, 1
			}
		case "excl":
			v.pa.Exclusive = val == "True"
		case "posture_collector_id":
			n, _ := strconv.Atoi(val)
			v.pa.Collector = uint16(n)
		case "posture_validator_id":
			n, _ := strconv.Atoi(val)
			v.pa.Validator = uint16(n)
		case "hex":
			b, err := hex.DecodeString(val)
			if err != nil {
				t.Fatal(err)
			}
			v.pa.Body = b
		}
	}
	if v.pa.Body == nil {
		t.Fatalf("vector %s has no hex", glob)
	}
	return v
}

// testEnv is an IMV environment on a store for direct conn tests.
func testEnv(t testing.TB, st Store, p Policy) *imvEnv {
	log := hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Info, Output: testutil.LogWriter(t)})
	if testing.Verbose() {
		log.SetLevel(hclog.Debug)
	}
	return &imvEnv{store: st, policy: &p, maxMsg: defaultMaxMessageSize, osLog: log.Named("imv.os"),
		attLog: log.Named("imv.attestation"), log: log.Named("pdp"), now: time.Now}
}

// recorder collects what a conn sends.
type recorder struct{ msgs []tnccs.PAMessage }

func (r *recorder) send(m tnccs.PAMessage) error {
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *recorder) take() []tnccs.PAMessage {
	m := r.msgs
	r.msgs = nil
	return m
}

// attrShape is what the replay compares: header fields, attribute types and
// flags (values such as nonces differ per run).
func attrShape(t testing.TB, m tnccs.PAMessage) string {
	t.Helper()
	msg, err := patnc.ParseMessage(m.Body)
	if err != nil {
		t.Fatalf("our own PA message does not parse: %v", err)
	}
	var b strings.Builder
	b.WriteString(strconv.FormatUint(uint64(m.Vendor), 16) + "/" + strconv.Itoa(int(m.Subtype)) +
		" imc=" + strconv.Itoa(int(m.Collector)) + " imv=" + strconv.Itoa(int(m.Validator)) +
		" excl=" + strconv.FormatBool(m.Exclusive) + ":")
	for _, a := range msg.Attrs {
		b.WriteString(" " + a.Type().FullName())
		if patnc.NoSkip(a) {
			b.WriteString("[NOSKIP]")
		}
	}
	return b.String()
}

// sameValues reports whether two PA-TNC messages are equal apart from the
// message identifier.
func sameValues(a, b []byte) bool {
	return len(a) == len(b) && len(a) >= 8 && bytes.Equal(a[:4], b[:4]) && bytes.Equal(a[8:], b[8:])
}

func recordedSecret(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join(vectors, "secret_assessment_value.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			s, err := hex.DecodeString(strings.TrimSpace(l))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatal("no secret in testdata")
	return nil
}

// replayRun drives one conn through the recorded client messages. With
// inject, the recorded secret replaces the one the IMV derived (the
// recorded DH private keys are unknown), so that the recorded quote can
// verify. mutate may change the evidence message before it is delivered.
// It checks every server message against the recorded shape and returns
// the conn and what it sent in the RESULT round.
func replayRun(t *testing.T, st Store, p Policy, inject bool, mutate func([]byte) []byte) (*conn, []tnccs.PAMessage) {
	t.Helper()
	ctx := context.Background()
	rec := &recorder{}
	c := newConn(testEnv(t, st, p), 1, tnccs.Peer{RemoteAddr: "test"}, rec.send)

	round := func(in string, want ...string) []tnccs.PAMessage {
		t.Helper()
		if in != "" {
			c.Receive(ctx, loadVector(t, in).pa)
		}
		c.BatchEnding(ctx)
		got := rec.take()
		if len(got) != len(want) {
			for _, g := range got {
				t.Logf("sent %s", attrShape(t, g))
			}
			t.Fatalf("after %s: sent %d PA messages, want %d", in, len(got), len(want))
		}
		for i, w := range want {
			wv := loadVector(t, w)
			if gs, ws := attrShape(t, got[i]), attrShape(t, wv.pa); gs != ws {
				t.Errorf("after %s message %d:\n got %s\nwant %s (%s)", in, i, gs, ws, wv.name)
			}
		}
		return got
	}

	got := round("01_02_c2s_*", "02_01_s2c_*", "02_02_s2c_*")
	// Without remediation the OS assessment and the PTS opening are the
	// recorded bytes apart from the message IDs.
	if !sameValues(got[0].Body, loadVector(t, "02_01_s2c_*").pa.Body) ||
		!sameValues(got[1].Body, loadVector(t, "02_02_s2c_*").pa.Body) {
		t.Errorf("round 1 values differ from the recording")
	}
	got = round("03_01_c2s_*", "04_01_s2c_*")
	if !sameValues(got[0].Body, loadVector(t, "04_01_s2c_*").pa.Body) {
		t.Errorf("D-H Nonce Parameters Request differs from the recording")
	}
	got = round("05_01_c2s_*", "06_01_s2c_*")
	if len(got[0].Body) != len(loadVector(t, "06_01_s2c_*").pa.Body) {
		t.Errorf("D-H Nonce Finish message has %d bytes, recorded %d", len(got[0].Body),
			len(loadVector(t, "06_01_s2c_*").pa.Body))
	}
	if inject {
		c.att.secret = recordedSecret(t)
	}
	c.Receive(ctx, loadVector(t, "07_01_c2s_*").pa)
	c.BatchEnding(ctx)
	if c.att.decided() {
		// Refused before the evidence: the assessment waits for RESULT.
		if len(rec.msgs) != 0 {
			t.Fatalf("%d PA messages sent after a refused AIK", len(rec.msgs))
		}
		c.Decide(ctx)
		return c, rec.take()
	}
	got = rec.take()
	if len(got) != 1 || attrShape(t, got[0]) != attrShape(t, loadVector(t, "08_01_s2c_*").pa) ||
		!sameValues(got[0].Body, loadVector(t, "08_01_s2c_*").pa.Body) {
		t.Fatalf("evidence request differs from the recording")
	}
	ev := loadVector(t, "09_01_c2s_*")
	if mutate != nil {
		ev.pa.Body = mutate(append([]byte(nil), ev.pa.Body...))
	}
	c.Receive(ctx, ev.pa)
	c.BatchEnding(ctx)
	if n := len(rec.msgs); n != 0 {
		t.Fatalf("after the evidence %d PA messages went out before the decision", n)
	}
	d := c.Decide(ctx)
	final := rec.take()
	v := c.result()
	if v == nil || uint32(d.Result) != uint32(v.Result) || uint16(d.Recommendation) != uint16(v.Access) {
		t.Fatalf("decision %+v does not match verdict %+v", d, v)
	}
	return c, final
}

func TestReplayRecordedExchange(t *testing.T) {
	st, err := OpenStore(filepath.Join(t.TempDir(), "pdp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// First contact: learn, verify the recorded quote with the recorded
	// secret, and answer exactly like the recorded RESULT.
	c, final := replayRun(t, st, DefaultPolicy(), true, nil)
	v := c.result()
	if v.Result != Compliant || v.Access != AccessAllowed || len(v.Reasons) != 0 {
		t.Fatalf("first contact: %v / %v %q", v.Result, v.Access, v.Reasons)
	}
	if len(final) != 1 || !sameValues(final[0].Body, loadVector(t, "10_01_s2c_*").pa.Body) ||
		attrShape(t, final[0]) != attrShape(t, loadVector(t, "10_01_s2c_*").pa) {
		t.Fatalf("RESULT PA messages differ from the recording: %d", len(final))
	}
	// The replayed shadow PCRs are the TPM's PCRs at quote time.
	checkPCRs(t, c.att.shadow)
	dev, err := st.Device(context.Background(), "d41bcf69169cbbcbb9fa29a895264bff2224fc95")
	if err != nil || dev == nil || dev.Product != "Debian 12 x86_64" {
		t.Fatalf("device row: %+v %v", dev, err)
	}
	if ms, _ := st.Measurements(context.Background(), dev.ID, MeasSHA256); len(ms) != 105 {
		t.Fatalf("registered %d measurements, want 105", len(ms))
	}
	if ok, _ := st.AKTrusted(context.Background(), dev.Value); !ok {
		t.Fatal("AK not learned after a verified first contact")
	}

	// Second contact: enforcement, everything matches.
	c, _ = replayRun(t, st, DefaultPolicy(), true, nil)
	if v := c.result(); v.Result != Compliant || v.Access != AccessAllowed {
		t.Fatalf("second contact: %v / %v %q", v.Result, v.Access, v.Reasons)
	}

	// Third contact: measurement 23 changed → its PCR and sequence named,
	// and the quote no longer matches the replay.
	c, final = replayRun(t, st, DefaultPolicy(), true, func(b []byte) []byte {
		return changeEvidence(t, b, 23)
	})
	v = c.result()
	if v.Result != NonCompliantMinor || v.Access != Quarantined {
		t.Fatalf("changed digest: %v / %v", v.Result, v.Access)
	}
	pcr := evidencePCR(t, loadVector(t, "09_01_c2s_*").pa.Body, 23)
	want := "PCR " + strconv.Itoa(pcr) + " measurement 23 differs"
	if !contains(v.Reasons, want) || !contains(v.Reasons, "received PCR Composite digest does not match constructed one") {
		t.Fatalf("reasons %q, want %q and the composite mismatch", v.Reasons, want)
	}
	if len(final) != 1 || attrShape(t, final[0]) != attrShape(t, loadVector(t, "10_01_s2c_*").pa) {
		t.Fatal("no assessment for the attestation IMC")
	}
}

// TestReplayStaleQuoteRejected replays the recorded quote into a new
// session: its qualifying data is the old session's secret, so the
// signature cannot verify over the TPMS_ATTEST rebuilt with the new one.
func TestReplayStaleQuoteRejected(t *testing.T) {
	st, err := OpenStore(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, _ := replayRun(t, st, DefaultPolicy(), false, nil)
	v := c.result()
	if v.Result != NonCompliantMinor || v.Access != Quarantined || !contains(v.Reasons, "quote signature invalid") {
		t.Fatalf("stale quote: %v / %v %q", v.Result, v.Access, v.Reasons)
	}
	// Nothing is learned from an unverified attestation.
	dev, _ := st.Device(context.Background(), "d41bcf69169cbbcbb9fa29a895264bff2224fc95")
	if dev != nil {
		if ms, _ := st.Measurements(context.Background(), dev.ID, MeasSHA256); len(ms) != 0 {
			t.Fatalf("%d measurements registered from a rejected quote", len(ms))
		}
	}
	if ok, _ := st.AKTrusted(context.Background(), "d41bcf69169cbbcbb9fa29a895264bff2224fc95"); ok {
		t.Fatal("AK learned from a rejected quote")
	}
}

func TestReplayUnknownAK(t *testing.T) {
	st, err := OpenStore(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := DefaultPolicy()
	p.LearnAKs = false
	c, _ := replayRun(t, st, p, true, nil)
	d := c.Decide(context.Background()) // idempotent: same verdict
	v := c.result()
	if v.Result != NonCompliantMinor || v.Access != Quarantined || uint16(d.Recommendation) != uint16(Quarantined) ||
		!contains(v.Reasons, "unknown AK d41bcf69169cbbcbb9fa29a895264bff2224fc95") {
		t.Fatalf("unknown AK: %v / %v %q", v.Result, v.Access, v.Reasons)
	}

	// Enrolled by the operator, the same AK is accepted.
	if err := st.TrustAK(context.Background(), "d41bcf69169cbbcbb9fa29a895264bff2224fc95"); err != nil {
		t.Fatal(err)
	}
	c, _ = replayRun(t, st, p, true, nil)
	if v := c.result(); v.Result != Compliant {
		t.Fatalf("enrolled AK: %v %q", v.Result, v.Reasons)
	}
}

func TestReplayProductAndForwardingPolicy(t *testing.T) {
	st, err := OpenStore(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	p := DefaultPolicy()
	p.LearnProducts = false
	p.Products = []string{"Ubuntu 22.04 x86_64"}
	if err := st.AllowProduct(ctx, p.Products[0]); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c := newConn(testEnv(t, st, p), 7, tnccs.Peer{}, rec.send)
	// The recorded OS message with forwarding enabled (value 1).
	m := loadVector(t, "01_02_c2s_*").pa
	m.Body = setForwarding(t, m.Body, patnc.ForwardingStatusEnabled)
	c.Receive(ctx, m)
	c.BatchEnding(ctx)
	out := rec.take()
	if len(out) != 2 {
		t.Fatalf("sent %d messages", len(out))
	}
	msg, err := patnc.ParseMessage(out[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Attrs) != 2 {
		t.Fatalf("OS IMV sent %d attributes, want Assessment Result + Remediation Instructions", len(msg.Attrs))
	}
	ar, ok1 := msg.Attrs[0].(*patnc.AssessmentResult)
	ri, ok2 := msg.Attrs[1].(*patnc.RemediationInstructions)
	if !ok1 || !ok2 || ar.Result != patnc.ResultNonCompliantMajor ||
		!strings.Contains(ri.Text, "Please disable the forwarding of IP packets") || ri.Lang != "en" {
		t.Fatalf("OS assessment %+v %+v", msg.Attrs[0], msg.Attrs[1])
	}
	d := c.Decide(ctx)
	v := c.result()
	if v.Result != NonCompliantMajor || v.Access != Quarantined || uint32(d.Result) != 2 ||
		!contains(v.Reasons, "IPv4 forwarding is enabled") ||
		!contains(v.Reasons, "product 'Debian 12 x86_64' is not allowed") {
		t.Fatalf("verdict %v / %v %q", v.Result, v.Access, v.Reasons)
	}
	// The attestation never finished: strongSwan's "don't know" for it.
	if v.IMVs[1].Recommendation != NoRecommendation {
		t.Fatalf("attestation IMV: %+v", v.IMVs[1])
	}
}

// TestMissingOSAttributes: a first batch without the OS push gets the
// Attribute Requests of the recorded probe, and an empty answer an error.
func TestMissingOSAttributes(t *testing.T) {
	st, _ := OpenStore(":memory:")
	defer st.Close()
	ctx := context.Background()
	rec := &recorder{}
	c := newConn(testEnv(t, st, DefaultPolicy()), 3, tnccs.Peer{}, rec.send)
	c.BatchEnding(ctx) // first CDATA: Language-Preference only
	out := rec.take()
	want := []string{
		"0/1 imc=65535 imv=1 excl=false: TCG/Segmentation Contract Request IETF/Attribute Request",
		"0/1 imc=65535 imv=2 excl=false: IETF/Attribute Request",
		"5597/1 imc=65535 imv=2 excl=false: TCG/Segmentation Contract Request TCG/Request PTS Protocol Capabilities[NOSKIP] TCG/PTS Measurement Algorithm Request[NOSKIP]",
	}
	if len(out) != len(want) {
		t.Fatalf("sent %d messages, want %d", len(out), len(want))
	}
	for i := range want {
		if got := attrShape(t, out[i]); got != want[i] {
			t.Errorf("message %d: got %s, want %s", i, got, want[i])
		}
	}
	msg, _ := patnc.ParseMessage(out[0].Body)
	req := msg.Attrs[1].(*patnc.AttrRequest)
	if len(req.Types) != 7 || req.Types[6] != patnc.TypeITADeviceID || req.Types[4] != patnc.TypeForwardingEnabled {
		t.Fatalf("attribute request %v", req.Types)
	}
	c.BatchEnding(ctx) // empty CDATA
	if len(rec.msgs) != 0 {
		t.Fatal("IMVs asked again after an empty CDATA")
	}
	c.Decide(ctx)
	out = rec.take()
	if len(out) != 1 || attrShape(t, out[0]) != "0/1 imc=65535 imv=1 excl=false: IETF/Assessment Result" {
		t.Fatalf("after the empty CDATA: %d messages", len(out))
	}
	if v := c.result(); v.Result != ResultError || v.Access != AccessDenied {
		t.Fatalf("verdict %v / %v", v.Result, v.Access)
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// forEachAttr walks a PA-TNC message body, calling fn with each attribute's
// offset, type and length.
func forEachAttr(t testing.TB, body []byte, fn func(off int, typ patnc.Type, n int)) {
	t.Helper()
	for off := 8; off+12 <= len(body); {
		v := uint32(body[off+1])<<16 | uint32(body[off+2])<<8 | uint32(body[off+3])
		ty := uint32(body[off+4])<<24 | uint32(body[off+5])<<16 | uint32(body[off+6])<<8 | uint32(body[off+7])
		n := int(uint32(body[off+8])<<24 | uint32(body[off+9])<<16 | uint32(body[off+10])<<8 | uint32(body[off+11]))
		fn(off, patnc.Type{Vendor: v, Type: ty}, n)
		off += n
	}
}

// changeEvidence flips the last digest byte of the seq-th (1-based) Simple
// Component Evidence.
func changeEvidence(t testing.TB, body []byte, seq int) []byte {
	k := 0
	forEachAttr(t, body, func(off int, typ patnc.Type, n int) {
		if typ == patnc.TypeSimpleCompEvid {
			k++
			if k == seq {
				body[off+n-1] ^= 0xff
			}
		}
	})
	return body
}

// evidencePCR returns the PCR of the seq-th Simple Component Evidence.
func evidencePCR(t testing.TB, body []byte, seq int) int {
	k, pcr := 0, -1
	forEachAttr(t, body, func(off int, typ patnc.Type, n int) {
		if typ == patnc.TypeSimpleCompEvid {
			k++
			if k == seq {
				v := off + 12
				pcr = int(body[v+13])<<16 | int(body[v+14])<<8 | int(body[v+15])
			}
		}
	})
	return pcr
}

// setForwarding rewrites the Forwarding Enabled value of an OS message.
func setForwarding(t testing.TB, body []byte, s patnc.ForwardingStatus) []byte {
	body = append([]byte(nil), body...)
	forEachAttr(t, body, func(off int, typ patnc.Type, n int) {
		if typ == patnc.TypeForwardingEnabled {
			body[off+15] = byte(s)
		}
	})
	return body
}

// checkPCRs compares the shadow PCRs with pcrs_sha256_after_replay.txt.
func checkPCRs(t testing.TB, s *shadowPCRs) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, "pcrs_sha256_after_replay.txt"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		idx, val, ok := strings.Cut(l, ": 0x")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(strings.TrimSpace(idx))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := hex.DecodeString(strings.TrimSpace(val))
		if !bytes.Equal(s.pcr[i], want) {
			t.Errorf("PCR %d: replay %x, TPM %x", i, s.pcr[i], want)
		}
		n++
	}
	if n != 11 || s.selected != 0x43ff {
		t.Fatalf("compared %d PCRs, selection %06x", n, s.selected)
	}
}

// TestAIKSwapRefused: an IMC whose AK passed the trust check in the TPM
// phase sends another AIK with the evidence and signs the quote with that
// key. The old IMV took the second AIK (and, learning AKs, trusted it) and
// judged the forged quote compliant; an answer outside its phase now ends
// the work item.
func TestAIKSwapRefused(t *testing.T) {
	st, err := OpenStore(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	forger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&forger.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := recordedSecret(t)
	c, _ := replayRun(t, st, DefaultPolicy(), true, func(body []byte) []byte {
		m, err := patnc.ParseMessage(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range m.Attrs {
			sef, ok := at.(*patnc.SimpleEvidFinal)
			if !ok {
				continue
			}
			raw, err := sef.TPMSAttest(secret, sef.PCRComposite)
			if err != nil {
				t.Fatal(err)
			}
			d := sha256.Sum256(raw)
			r, s, err := ecdsa.Sign(rand.Reader, forger, d[:])
			if err != nil {
				t.Fatal(err)
			}
			sef.QuoteSig = make([]byte, 64)
			r.FillBytes(sef.QuoteSig[:32])
			s.FillBytes(sef.QuoteSig[32:])
		}
		m.Attrs = append([]patnc.Attr{&patnc.AIK{Naked: true, DER: spki}}, m.Attrs...)
		out, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
	v := c.result()
	if v.Result != ResultError || v.Access != AccessDenied ||
		!contains(v.Reasons, "Attestation Identity Key received in the evidence phase (it answers the TPM phase)") {
		t.Fatalf("swapped AIK: %v / %v %q", v.Result, v.Access, v.Reasons)
	}
	sum := sha1.Sum(spki)
	if ok, _ := st.AKTrusted(context.Background(), hex.EncodeToString(sum[:])); ok {
		t.Fatal("the forger's AK was learned")
	}
}

func TestAttPhaseString(t *testing.T) {
	for p, want := range map[attPhase]string{phaseStart: "start", phaseTPM: "TPM", phaseDone: "done", attPhase(9): "phase 9"} {
		if got := p.String(); got != want {
			t.Errorf("%d: %q, want %q", p, got, want)
		}
	}
}
