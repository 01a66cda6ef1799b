package pdp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"github.com/imchost/imchost/internal/testutil"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
	"github.com/imchost/imchost/tnccs/pttls"
	"github.com/imchost/imchost/tpmhost"
	"github.com/imchost/imchost/tpmhost/tpmsim"
)

// The live tests run the PDP on 127.0.0.1 with real TLS against the tnccs
// client, whose IMCs are a native test collector (testIMC) answering from
// the go-tpm-tools simulator: a real AK, PCRs extended from a real boot log,
// real quotes over the IMV's secret.

// tpmFixture is the simulator shared by the live tests (one per process).
type tpmFixture struct {
	tpm      *tpmhost.TPM
	ak       *tpmhost.AK
	log      *tpmhost.EventLog
	locality uint8
}

var (
	fixtureOnce sync.Once
	fixture     *tpmFixture
	fixtureErr  error
)

var eventLogFile = testutil.Data("eventlogs", "ubuntu_2104_shielded_vm_no_secure_boot_eventlog")

func getTPM(t *testing.T) *tpmFixture {
	t.Helper()
	fixtureOnce.Do(func() {
		tp, err := tpmsim.Open(nil)
		if err != nil {
			fixtureErr = err
			return
		}
		f := &tpmFixture{tpm: tp}
		if f.ak, err = tp.ProvisionAK(0x81010003, tpmhost.AKECCP256, true); err != nil {
			fixtureErr = err
			return
		}
		if f.log, err = tpmhost.ReadEventLog(eventLogFile); err != nil {
			fixtureErr = err
			return
		}
		if _, err = tp.ExtendFromLog(f.log); err != nil {
			fixtureErr = err
			return
		}
		loc, ok, err := tp.StartupLocality(f.log, tpmhost.AlgSHA256)
		if err != nil || !ok {
			fixtureErr = errors.New("simulator PCR 0 matches no locality seed")
			return
		}
		f.locality = loc
		fixture = f
	})
	if fixtureErr != nil {
		if errors.Is(fixtureErr, tpmhost.ErrNotSupported) {
			t.Skipf("TPM simulator unavailable: %v", fixtureErr)
		}
		t.Fatalf("TPM fixture: %v", fixtureErr)
	}
	return fixture
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopPG()
	if fixture != nil {
		fixture.tpm.Close()
	}
	os.Exit(code)
}

// testIMC is a native collector pair (OS IMC 1 and Attestation IMC 2) that
// answers the IMVs as strongSwan's IMCs do. It implements tnccs.IMCs.
type testIMC struct {
	f *tpmFixture
	// changeSeq, when > 0, flips the digest of that (1-based) evidence
	// entry, as if the boot had measured something else.
	changeSeq int
	// forwarding is the reported IPv4 forwarding status.
	forwarding patnc.ForwardingStatus
	// maxPA is the collector's maximum PA-TNC message size (0: PT-TLS
	// default); a small one lowers the contract's segment size so that
	// large attributes travel in Segmentation Envelopes.
	maxPA uint32
	// segments counts the envelopes sent.
	segments int
	// akCert, when set, is sent as the AIK (an X.509 certificate) instead
	// of the naked key.
	akCert []byte
}

type testIMCConn struct {
	imc      *testIMC
	send     tnccs.SendFunc
	t        testing.TB
	dh       *tpmhost.DHSession
	secret   []byte
	evidReq  bool
	reports  []patnc.AssessmentResultCode
	contract *patnc.Contract
}

func (i *testIMC) Open(ctx context.Context, id tnccs.ConnID, send tnccs.SendFunc) (tnccs.IMCConn, error) {
	return &testIMCConn{imc: i, send: send}, nil
}

func (c *testIMCConn) ChangeState(ctx context.Context, s abi.ConnState) {}
func (c *testIMCConn) BatchEnding(ctx context.Context)                  {}
func (c *testIMCConn) Close(ctx context.Context)                        {}

func (c *testIMCConn) sendAttrs(subtype, vendor uint32, collector, validator uint16, excl bool, attrs ...patnc.Attr) {
	body, err := (&patnc.Message{ID: randomID(), Attrs: attrs}).Marshal()
	if err != nil {
		panic(err) // our own attributes
	}
	c.send(tnccs.PAMessage{Vendor: vendor, Subtype: subtype, Collector: collector, Validator: validator,
		Exclusive: excl, Body: body})
}

// BeginHandshake pushes the OS facts like strongSwan's OS IMC.
func (c *testIMCConn) BeginHandshake(ctx context.Context) {
	c.sendAttrs(1, abi.PENIETF, 1, anyIMC, false,
		&patnc.ProductInfo{VendorID: abi.PENDebian, Name: "Debian"},
		&patnc.StringVersion{Version: "12 x86_64"},
		&patnc.NumericVersion{Major: 12},
		&patnc.OpStatus{Status: 3, Result: 1, LastUse: patnc.NewDateTime(time.Now().Add(-time.Hour))},
		&patnc.ForwardingEnabled{Status: c.imc.forwarding},
		&patnc.FactoryDefaultPwdEnabled{},
		&patnc.ITADeviceID{ID: c.imc.f.ak.KeyID})
}

func (c *testIMCConn) Receive(ctx context.Context, m tnccs.PAMessage) {
	msg, err := patnc.ParseMessage(m.Body)
	if err != nil {
		return
	}
	var out []patnc.Attr
	for _, a := range msg.Attrs {
		out = append(out, c.answer(a)...)
	}
	if len(out) == 0 {
		return
	}
	if c.contract == nil {
		c.sendAttrs(m.Subtype, m.Vendor, 2, m.Validator, true, out...)
		return
	}
	msgs, dropped, err := c.contract.Split(out, c.maxPA())
	if err != nil || len(dropped) > 0 {
		panic(fmt.Sprintf("split: %v, %d dropped", err, len(dropped)))
	}
	for _, attrs := range msgs {
		for _, a := range attrs {
			if _, ok := a.(*patnc.SegEnvelope); ok {
				c.imc.segments++
			}
		}
		c.sendAttrs(m.Subtype, m.Vendor, 2, m.Validator, true, attrs...)
	}
}

func (c *testIMCConn) maxPA() uint32 {
	if c.imc.maxPA == 0 {
		return defaultMaxMessageSize
	}
	return c.imc.maxPA
}

// answer is the Attestation IMC's reaction to one attribute.
func (c *testIMCConn) answer(a patnc.Attr) []patnc.Attr {
	f := c.imc.f
	switch x := a.(type) {
	case *patnc.AssessmentResult:
		c.reports = append(c.reports, x.Result)
	case *patnc.SegContractRequest:
		var resp *patnc.SegContractResponse
		c.contract, resp = patnc.RespondToContract(x, c.maxPA())
		return []patnc.Attr{resp}
	case *patnc.NextSegment:
		env, err := c.contract.NextSegment(x)
		if err != nil {
			panic(err)
		}
		c.imc.segments++
		return []patnc.Attr{env}
	case *patnc.ReqProtoCaps:
		return []patnc.Attr{&patnc.ProtoCaps{Caps: x.Caps & (patnc.CapV | patnc.CapD | patnc.CapT)}}
	case *patnc.MeasAlgoRequest:
		return []patnc.Attr{&patnc.MeasAlgoSelection{Alg: patnc.HashSHA256}}
	case *patnc.DHNonceParamsReq:
		dh, err := tpmhost.NewDHSession(tpmhost.DHResponder, tpmhost.DHECP256, 20, nil)
		if err != nil {
			panic(err)
		}
		c.dh = dh
		return []patnc.Attr{&patnc.DHNonceParamsResp{Group: 0x1000, HashAlgs: patnc.HashSHA256,
			Nonce: dh.Nonce, Public: dh.Key.PublicValue()}}
	case *patnc.DHNonceFinish:
		s, _, err := c.dh.Finish(crypto.SHA256, x.Public, x.Nonce)
		if err == nil {
			c.secret = s
		}
	case *patnc.GetTPMVersionInfo:
		return []patnc.Attr{&patnc.TPMVersionInfo{Info: []byte{2, 0, 0, f.locality,
			0, 0, 0, 0xa4, 0, 0, 0x07, 0xe5, 'I', 'B', 'M', 0}}}
	case *patnc.GetAIK:
		if c.imc.akCert != nil {
			return []patnc.Attr{&patnc.AIK{DER: c.imc.akCert}}
		}
		return []patnc.Attr{&patnc.AIK{Naked: true, DER: f.ak.SPKI}}
	case *patnc.ITAGetSymlinks:
		return []patnc.Attr{&patnc.ITASymlinks{Links: []patnc.Symlink{{Path: "/bin", Target: "/usr/bin"}}}}
	case *patnc.ReqFuncCompEvid:
		c.evidReq = true
	case *patnc.GenAttestEvid:
		return c.evidence()
	}
	return nil
}

// evidence is one Simple Component Evidence per extended SHA-256 event and
// the quote over exactly those PCRs.
func (c *testIMCConn) evidence() []patnc.Attr {
	f := c.imc.f
	var out []patnc.Attr
	pcrSet := map[int]bool{}
	now := patnc.NewDateTime(time.Now())
	for _, ev := range f.log.Events {
		d, ok := ev.Digest(tpmhost.AlgSHA256)
		if ev.Type == tpmhost.EvNoAction || !ok {
			continue
		}
		d = append([]byte(nil), d...)
		if len(out)+1 == c.imc.changeSeq {
			d[0] ^= 0x01
		}
		pcrSet[int(ev.PCR)] = true
		out = append(out, &patnc.SimpleCompEvid{
			Name:     patnc.ComponentName{Vendor: abi.PENITAHSR, Qualifier: 0x21, Name: 3},
			MeasType: patnc.MeasTypeHash, PCR: ev.PCR, HashAlg: patnc.HashSHA256,
			Transform: patnc.TransformMatch, Time: now, Measurement: d})
	}
	var pcrs []int
	for i := 0; i < 24; i++ {
		if pcrSet[i] {
			pcrs = append(pcrs, i)
		}
	}
	q, err := f.tpm.Quote(f.ak, tpmhost.AlgSHA256, pcrs, c.secret)
	if err != nil {
		panic(err)
	}
	sef := &patnc.SimpleEvidFinal{CompositeHashAlg: patnc.HashSHA256, QuoteSig: q.Signature}
	if _, err := sef.FromTPMSAttest(q.Attest); err != nil {
		panic(err)
	}
	return append(out, sef)
}

// testPKI is a CA and a server certificate for 127.0.0.1 / pdp.test.
type testPKI struct {
	pool *x509.CertPool
	cert tls.Certificate
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	cert, pool, err := SelfSignedCertificate(time.Hour, "pdp.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{pool: pool, cert: cert}
}

// startPDP runs a Server on 127.0.0.1 until the test ends.
func startPDP(t *testing.T, pki *testPKI, cfg Config) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Certificates = []tls.Certificate{pki.cert}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "pdp-test", Level: hclog.Info, Output: testutil.LogWriter(t)})
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background()) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s
}

// attest runs one client assessment against s.
func attest(t *testing.T, s *Server, pki *testPKI, imc *testIMC, user, password string) (*tnccs.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := tnccs.ClientConfig{Addr: s.Addr().String()}
	cfg.PTTLS.RootCAs = pki.pool
	cfg.PTTLS.ServerName = "pdp.test"
	cfg.PTTLS.Username, cfg.PTTLS.Password = user, password
	return tnccs.Dial(ctx, cfg, imc)
}

func TestLiveLearningThenEnforcement(t *testing.T) {
	f := getTPM(t)
	pki := newTestPKI(t)
	db := filepath.Join(t.TempDir(), "pdp.db")
	s := startPDP(t, pki, Config{DBPath: db, Policy: DefaultPolicy(),
		Referral: &Referral{Host: "pdp.test", Port: 271}})

	// First contact: everything is learned, the quote verifies.
	res, err := attest(t, s, pki, &testIMC{f: f}, "", "")
	if err != nil {
		t.Fatalf("first attestation: %v", err)
	}
	if !res.Decided || res.Recommendation != 1 || res.AssessmentResult != 0 {
		t.Fatalf("first attestation: %+v", res)
	}
	if res.PDPReferral == nil || res.PDPReferral.FQDN != "pdp.test" || res.PDPReferral.Port != 271 {
		t.Fatalf("PDP referral %+v", res.PDPReferral)
	}
	outs, err := s.WaitOutcomes(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	o := outs[0]
	if o.Err != nil || !o.Decided || o.Verdict.Result != Compliant || o.Verdict.Device != f.ak.KeyID ||
		o.Verdict.Product != "Debian 12 x86_64" {
		t.Fatalf("outcome %+v", o)
	}

	// Second contact with one measurement changed: the IMV names it.
	res, err = attest(t, s, pki, &testIMC{f: f, changeSeq: 23}, "", "")
	if err != nil {
		t.Fatalf("second attestation: %v", err)
	}
	if res.Recommendation != 3 || res.AssessmentResult != 1 {
		t.Fatalf("changed measurement: %+v", res)
	}
	pcr := -1
	n := 0
	for _, ev := range f.log.Events {
		if _, ok := ev.Digest(tpmhost.AlgSHA256); ok && ev.Type != tpmhost.EvNoAction {
			if n++; n == 23 {
				pcr = int(ev.PCR)
			}
		}
	}
	want := "PCR " + strconv.Itoa(pcr) + " measurement 23 differs"
	var reasons []string
	for _, r := range res.Reasons {
		reasons = append(reasons, r.Text)
	}
	if !contains(reasons, want) {
		t.Fatalf("reasons %q, want %q", reasons, want)
	}

	// The database survives a PDP restart: a third contact on a new server
	// is enforced against the first one's measurements.
	s.Close()
	s2 := startPDP(t, pki, Config{DBPath: db, Policy: DefaultPolicy()})
	res, err = attest(t, s2, pki, &testIMC{f: f}, "", "")
	if err != nil || res.Recommendation != 1 {
		t.Fatalf("after restart: %+v %v", res, err)
	}
	sess, _ := s2.Store().Sessions(context.Background(), 10)
	if len(sess) != 3 {
		t.Fatalf("%d sessions recorded, want 3", len(sess))
	}
}

func TestLiveUnknownAKWithSASL(t *testing.T) {
	f := getTPM(t)
	pki := newTestPKI(t)
	p := DefaultPolicy()
	p.LearnAKs = false
	p.AllowForwarding = false
	s := startPDP(t, pki, Config{Policy: p, Users: map[string]string{"alice": "secret"}})

	if _, err := attest(t, s, pki, &testIMC{f: f}, "alice", "wrong"); err == nil {
		t.Fatal("wrong SASL password accepted")
	}
	res, err := attest(t, s, pki, &testIMC{f: f, forwarding: patnc.ForwardingStatusEnabled}, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range res.Reasons {
		reasons = append(reasons, r.Text)
	}
	// Forwarding (OS IMV, major) and the unknown AK (Attestation IMV).
	if res.AssessmentResult != 2 || res.Recommendation != 3 || !contains(reasons, "unknown AK "+f.ak.KeyID) ||
		!contains(reasons, "IPv4 forwarding is enabled") {
		t.Fatalf("result %+v reasons %q", res, reasons)
	}
	if r := res.Remediation; r == nil || r.Text != "IP Packet Forwarding: Please disable the forwarding of IP packets" || r.Lang != "en" {
		t.Fatalf("remediation parameters %+v", r)
	}
	outs, err := s.WaitOutcomes(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	// The refused connection's outcome may be recorded after the decided
	// one (its end races the next connection under load): find the
	// decided one.
	var decided *Outcome
	for i := range outs {
		if outs[i].Decided {
			decided = &outs[i]
		}
	}
	if decided == nil || decided.User != "alice" {
		t.Fatalf("outcomes %+v: want one decided for user alice", outs)
	}
}

// TestLiveMisbehavingClient: a client that opens TCP and goes silent, and
// one that sends garbage, do not stop a good client from being assessed,
// and the silent one is dropped after the idle timeout.
func TestLiveMisbehavingClient(t *testing.T) {
	f := getTPM(t)
	pki := newTestPKI(t)
	s := startPDP(t, pki, Config{Policy: DefaultPolicy(), IdleTimeout: 2 * time.Second})

	silent, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	garbage, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	garbage.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	defer garbage.Close()

	res, err := attest(t, s, pki, &testIMC{f: f}, "", "")
	if err != nil || res.Recommendation != 1 {
		t.Fatalf("good client next to bad ones: %+v %v", res, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	outs, err := s.WaitOutcomes(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, o := range outs {
		if o.Err != nil && !o.Decided {
			bad++
		}
	}
	if bad != 2 {
		t.Fatalf("outcomes %+v: want 2 failed connections", outs)
	}
}

// TestLiveSegmentedEvidence: a collector with a 120-byte PA-TNC message limit
// lowers the segment size to 96, so the AIK and the Simple Evidence Final
// arrive in Segmentation Envelopes that the Attestation IMV reassembles with
// Next Segment requests.
func TestLiveSegmentedEvidence(t *testing.T) {
	f := getTPM(t)
	pki := newTestPKI(t)
	s := startPDP(t, pki, Config{Policy: DefaultPolicy()})
	imc := &testIMC{f: f, maxPA: 120}
	res, err := attest(t, s, pki, imc, "", "")
	if err != nil || res.Recommendation != 1 || res.AssessmentResult != 0 {
		t.Fatalf("segmented attestation: %+v %v", res, err)
	}
	// AIK (104 bytes) in 2 segments, Simple Evidence Final (197) in 3.
	if imc.segments < 5 {
		t.Fatalf("only %d segments sent", imc.segments)
	}
}

// akCertificate issues an X.509 certificate for the simulator's AK from a
// fresh CA and returns it with a pool holding that CA.
func akCertificate(t *testing.T, f *tpmFixture) ([]byte, *x509.CertPool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "AK CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "AK " + f.ak.KeyID},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, f.ak.Public, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return der, pool
}

// TestLiveAKCertificate: with LearnAKs off, an AK certificate chaining to
// the configured CA is trusted; one from another CA is not.
func TestLiveAKCertificate(t *testing.T) {
	f := getTPM(t)
	pki := newTestPKI(t)
	cert, pool := akCertificate(t, f)
	other, _ := akCertificate(t, f)
	p := DefaultPolicy()
	p.LearnAKs = false
	p.AKCAs = pool
	s := startPDP(t, pki, Config{Policy: p})
	res, err := attest(t, s, pki, &testIMC{f: f, akCert: cert}, "", "")
	if err != nil || res.Recommendation != 1 || res.AssessmentResult != 0 {
		t.Fatalf("certified AK: %+v %v", res, err)
	}
	res, err = attest(t, s, pki, &testIMC{f: f, akCert: other}, "", "")
	if err != nil || res.Recommendation != 3 || len(res.Reasons) != 1 ||
		res.Reasons[0].Text != "unknown AK "+f.ak.KeyID {
		t.Fatalf("AK certified by another CA: %+v %v", res, err)
	}
}

// TestLiveConcurrentClients: several clients at once share the store and
// the TPM-backed collector; each gets its own verdict.
func TestLiveConcurrentClients(t *testing.T) {
	f := getTPM(t)
	pki := newTestPKI(t)
	s := startPDP(t, pki, Config{DBPath: filepath.Join(t.TempDir(), "pdp.db"), Policy: DefaultPolicy()})
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			res, err := attest(t, s, pki, &testIMC{f: f}, "", "")
			if err == nil && (res.Recommendation != 1 || res.AssessmentResult != 0) {
				err = fmt.Errorf("result %+v", res)
			}
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	outs, err := s.WaitOutcomes(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[uint32]bool{}
	for _, o := range outs {
		ids[o.ConnID] = true
	}
	if len(ids) != n {
		t.Fatalf("connection IDs %v", ids)
	}
}

// TestLiveClientVanishes: a client that sends its first batch and then
// drops the connection is cleaned up: its outcome is recorded as failed and
// no IMV state stays behind.
func TestLiveClientVanishes(t *testing.T) {
	pki := newTestPKI(t)
	s := startPDP(t, pki, Config{Policy: DefaultPolicy()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pttls.Client(ctx, nc, pttls.ClientConfig{RootCAs: pki.pool, ServerName: "pdp.test"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := (&pb.Batch{Type: pb.BatchCDATA, Messages: []pb.Message{
		&pb.MsgLanguagePreference{Languages: "en"},
		&pb.MsgPA{Vendor: 0, Subtype: 1, Collector: 1, Validator: 0xffff, Body: loadVector(t, "01_02_c2s_*").pa.Body},
	}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.WriteBatch(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.ReadBatch(ctx); err != nil { // the SDATA: the IMVs hold state now
		t.Fatal(err)
	}
	pc.Close()
	outs, err := s.WaitOutcomes(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Err == nil || outs[0].Decided || outs[0].Verdict.Access != AccessDenied {
		t.Fatalf("outcome %+v", outs[0])
	}
	if n := s.set.open(); n != 0 {
		t.Fatalf("%d connections' IMV state left behind", n)
	}
}
