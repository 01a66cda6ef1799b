package loadgen

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tpmhost"
)

// PTS constants the endpoint answers with (TCG Attestation PTS §3.19, as the
// Attestation IMC sends them): the "BIOS" component of ITA-HSR with
// qualifier K + trusted platform.
const (
	compQualifier = 0x21
	compName      = 3
	ptsSubtype    = 1 // TCG PTS
	osSubtype     = 1 // IETF Operating System
	osIMCID       = 1
	attIMCID      = 2
	anyIMV        = 0xffff
)

// event is one boot log entry: a SHA-256 digest extended into a PCR.
type event struct {
	pcr    uint32
	digest []byte
}

// Endpoint is one simulated endpoint: a P-256 Attestation Key the generator
// holds in memory (standing in for the TPM), a boot log of its own and the
// PCRs it replays to, and OS facts. It implements tnccs.IMCs with the OS and
// Attestation IMCs' answers, natively (no wasm, no TPM).
type Endpoint struct {
	// KeyID is the AK keyid (SHA-1 of the SubjectPublicKeyInfo, hex), also
	// the endpoint's ITA Device ID.
	KeyID string
	// Product and Version are the OS facts ("Debian", "12 x86_64").
	Product, Version string

	ak     *ecdsa.PrivateKey
	spki   []byte
	name   []byte // TPM2B_NAME contents of the AK: nameAlg + SHA-256(spki)
	events []event
	pcrs   [24][]byte
	sel    []int // the PCRs the log extends, ascending
	boot   time.Time
	clock  atomic.Uint64 // the TPM clock: one endpoint may attest on two connections at once
}

// NewEndpoint makes endpoint i of a fleet: a fresh AK and a boot log of n
// events over PCRs 0-7 whose digests are unique to the endpoint (as two
// machines' firmware and bootloader configurations differ).
func NewEndpoint(i, n int) (*Endpoint, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki)
	nameDigest := sha256.Sum256(spki)
	e := &Endpoint{KeyID: hex.EncodeToString(sum[:]), Product: "Debian",
		Version: fmt.Sprintf("12.%d x86_64", i%4), ak: k, spki: spki,
		name: append([]byte{0x00, 0x0b}, nameDigest[:]...), boot: time.Now().Add(-time.Duration(i+1) * time.Minute)}
	for p := range e.pcrs {
		e.pcrs[p] = make([]byte, sha256.Size)
	}
	var seed [16]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	used := map[int]bool{}
	for j := 0; j < n; j++ {
		pcr := uint32(j % 8)
		d := sha256.Sum256(fmt.Appendf(seed[:], "event %d", j))
		e.events = append(e.events, event{pcr: pcr, digest: d[:]})
		h := sha256.New()
		h.Write(e.pcrs[pcr])
		h.Write(d[:])
		e.pcrs[pcr] = h.Sum(nil)
		used[int(pcr)] = true
	}
	for p := 0; p < 24; p++ {
		if used[p] {
			e.sel = append(e.sel, p)
		}
	}
	return e, nil
}

// Open implements tnccs.IMCs: one connection's collectors.
func (e *Endpoint) Open(ctx context.Context, id tnccs.ConnID, send tnccs.SendFunc) (tnccs.IMCConn, error) {
	return &endpointConn{e: e, send: send}, nil
}

// endpointConn answers one assessment.
type endpointConn struct {
	e        *Endpoint
	send     tnccs.SendFunc
	dh       *tpmhost.DHSession
	secret   []byte
	contract *patnc.Contract
	err      error
}

func (c *endpointConn) ChangeState(ctx context.Context, s abi.ConnState) {}
func (c *endpointConn) BatchEnding(ctx context.Context)                  {}
func (c *endpointConn) Close(ctx context.Context)                        {}

func (c *endpointConn) sendAttrs(vendor, subtype uint32, collector, validator uint16, excl bool, attrs ...patnc.Attr) {
	body, err := (&patnc.Message{ID: randomID(), Attrs: attrs}).Marshal()
	if err != nil {
		c.fail(err)
		return
	}
	if err := c.send(tnccs.PAMessage{Vendor: vendor, Subtype: subtype, Collector: collector,
		Validator: validator, Exclusive: excl, Body: body}); err != nil {
		c.fail(err)
	}
}

func (c *endpointConn) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// BeginHandshake sends the OS facts as the OS IMC does unasked.
func (c *endpointConn) BeginHandshake(ctx context.Context) {
	e := c.e
	c.sendAttrs(abi.PENIETF, osSubtype, osIMCID, anyIMV, false,
		&patnc.ProductInfo{VendorID: abi.PENDebian, Name: e.Product},
		&patnc.StringVersion{Version: e.Version},
		&patnc.NumericVersion{Major: 12},
		&patnc.OpStatus{Status: 3, Result: 1, LastUse: patnc.NewDateTime(e.boot)},
		&patnc.ForwardingEnabled{Status: patnc.ForwardingStatusDisabled},
		&patnc.FactoryDefaultPwdEnabled{},
		&patnc.ITADeviceID{ID: e.KeyID})
}

// Receive answers the IMVs' requests.
func (c *endpointConn) Receive(ctx context.Context, m tnccs.PAMessage) {
	msg, err := patnc.ParseMessage(m.Body)
	if err != nil {
		c.fail(err)
		return
	}
	var out []patnc.Attr
	for _, a := range msg.Attrs {
		out = append(out, c.answer(a)...)
	}
	if len(out) == 0 {
		return
	}
	collector := uint16(osIMCID)
	if m.Vendor == abi.PENTCG {
		collector = attIMCID
	}
	if c.contract == nil {
		c.sendAttrs(m.Vendor, m.Subtype, collector, m.Validator, true, out...)
		return
	}
	msgs, dropped, err := c.contract.Split(out, maxPA)
	if err != nil || len(dropped) > 0 {
		c.fail(fmt.Errorf("segmentation: %v, %d attributes dropped", err, len(dropped)))
		return
	}
	for _, attrs := range msgs {
		c.sendAttrs(m.Vendor, m.Subtype, collector, m.Validator, true, attrs...)
	}
}

// maxPA is the collector's maximum PA-TNC message size (PT-TLS's).
const maxPA = 2097104

func (c *endpointConn) answer(a patnc.Attr) []patnc.Attr {
	e := c.e
	switch x := a.(type) {
	case *patnc.AttrRequest:
		// The OS facts again (an IMV that missed them).
		return []patnc.Attr{&patnc.ProductInfo{VendorID: abi.PENDebian, Name: e.Product},
			&patnc.StringVersion{Version: e.Version}, &patnc.ITADeviceID{ID: e.KeyID}}
	case *patnc.SegContractRequest:
		var resp *patnc.SegContractResponse
		c.contract, resp = patnc.RespondToContract(x, maxPA)
		return []patnc.Attr{resp}
	case *patnc.NextSegment:
		env, err := c.contract.NextSegment(x)
		if err != nil {
			c.fail(err)
			return nil
		}
		return []patnc.Attr{env}
	case *patnc.ReqProtoCaps:
		return []patnc.Attr{&patnc.ProtoCaps{Caps: x.Caps & (patnc.CapV | patnc.CapD | patnc.CapT)}}
	case *patnc.MeasAlgoRequest:
		return []patnc.Attr{&patnc.MeasAlgoSelection{Alg: patnc.HashSHA256}}
	case *patnc.DHNonceParamsReq:
		dh, err := tpmhost.NewDHSession(tpmhost.DHResponder, tpmhost.DHECP256, 20, nil)
		if err != nil {
			c.fail(err)
			return nil
		}
		c.dh = dh
		return []patnc.Attr{&patnc.DHNonceParamsResp{Group: patnc.DHGroups(0x1000), HashAlgs: patnc.HashSHA256,
			Nonce: dh.Nonce, Public: dh.Key.PublicValue()}}
	case *patnc.DHNonceFinish:
		if c.dh == nil {
			c.fail(fmt.Errorf("D-H finish before parameters"))
			return nil
		}
		s, _, err := c.dh.Finish(crypto.SHA256, x.Public, x.Nonce)
		if err != nil {
			c.fail(err)
			return nil
		}
		c.secret = s
	case *patnc.GetTPMVersionInfo:
		return []patnc.Attr{&patnc.TPMVersionInfo{Info: []byte{2, 0, 0, 0,
			0, 0, 0, 0xa4, 0, 0, 0x07, 0xe5, 'S', 'I', 'M', 0}}}
	case *patnc.GetAIK:
		return []patnc.Attr{&patnc.AIK{Naked: true, DER: e.spki}}
	case *patnc.ITAGetSymlinks:
		return []patnc.Attr{&patnc.ITASymlinks{Links: []patnc.Symlink{{Path: "/bin", Target: "/usr/bin"}}}}
	case *patnc.GenAttestEvid:
		return c.evidence()
	}
	return nil
}

// evidence is one Simple Component Evidence per boot event and the quote
// over the extended PCRs with the D-H secret as qualifying data, signed
// by the AK like TPM2_Quote signs: ECDSA P-256 over SHA-256(TPMS_ATTEST).
func (c *endpointConn) evidence() []patnc.Attr {
	e := c.e
	if c.secret == nil {
		c.fail(fmt.Errorf("evidence requested before the D-H exchange finished"))
		return nil
	}
	now := patnc.NewDateTime(time.Now())
	out := make([]patnc.Attr, 0, len(e.events)+1)
	for _, ev := range e.events {
		out = append(out, &patnc.SimpleCompEvid{
			Name:     patnc.ComponentName{Vendor: abi.PENITAHSR, Qualifier: compQualifier, Name: compName},
			MeasType: patnc.MeasTypeHash, PCR: ev.pcr, HashAlg: patnc.HashSHA256,
			Transform: patnc.TransformMatch, Time: now, Measurement: ev.digest})
	}
	sef, err := c.quote()
	if err != nil {
		c.fail(err)
		return nil
	}
	attest, err := sef.TPMSAttest(c.secret, sef.PCRComposite)
	if err != nil {
		c.fail(err)
		return nil
	}
	digest := sha256.Sum256(attest)
	r, s, err := ecdsa.Sign(rand.Reader, e.ak, digest[:])
	if err != nil {
		c.fail(err)
		return nil
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	sef.QuoteSig = sig
	return append(out, sef)
}

// quote builds the Simple Evidence Final pieces of the TPMS_ATTEST a TPM
// would sign: the AK's name, a clock that advances per quote, and the PCR
// selection and digest; the caller encodes it with the qualifying data.
func (c *endpointConn) quote() (*patnc.SimpleEvidFinal, error) {
	e := c.e
	sel, err := tpmhost.MarshalPCRSelection(tpmhost.AlgSHA256, e.sel)
	if err != nil {
		return nil, err
	}
	var values [][]byte
	for _, p := range e.sel {
		values = append(values, e.pcrs[p])
	}
	clock := make([]byte, 17)
	binary.BigEndian.PutUint64(clock, e.clock.Add(1000))
	clock[16] = 1 // safe
	return &patnc.SimpleEvidFinal{QuoteMode: patnc.QuoteTPM2, CompositeHashAlg: patnc.HashSHA256,
		QualifiedSigner: e.name, ClockInfo: clock, VersionInfo: []byte{0, 0, 0, 0, 0x20, 0x19, 0x12, 0x06},
		PCRSelect: sel, PCRComposite: tpmhost.PCRDigest(crypto.SHA256, values)}, nil
}

func randomID() uint32 {
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<32))
	return uint32(n.Uint64())
}
