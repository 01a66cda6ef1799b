package pdp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
	"github.com/imchost/imchost/tnccs"
	"github.com/imchost/imchost/tnccs/pb"
)

// anyIMC is the Posture Collector Identifier "any" (TNC_IMCID_ANY). Every
// PB-PA strongSwan's PDP sends carries it, with EXCL clear.
const anyIMC uint16 = 0xffff

// imvEnv is what every connection's IMVs share: the store, the policy, the
// limits and the loggers.
type imvEnv struct {
	store  Store
	policy *Policy
	maxMsg int // maximum PA-TNC message size
	osLog  hclog.Logger
	attLog hclog.Logger
	swLog  hclog.Logger
	log    hclog.Logger
	now    func() time.Time
	// retry asks a running connection for a re-assessment
	// (Server.RequestReassessment); nil outside Serve.
	retry func(tnccs.ConnID) bool
	// decidedPeers lists the other connections of a device that wait
	// after a decision (imvSet.decidedPeers); nil outside Serve.
	decidedPeers func(device string, except tnccs.ConnID) []tnccs.ConnID
}

// facts are what the OS IMC reported, shared by both IMVs of a connection
// (strongSwan's imv_session_t).
type facts struct {
	product       string // "<name> <version string>", e.g. "Debian 12 x86_64"
	productName   string
	stringVersion string
	deviceID      string
}

// outMsg is a PA message an IMV wants to send.
type outMsg struct {
	vendor, subtype uint32
	validator       uint16
	attrs           []patnc.Attr
	final           bool // carries only the final assessment
}

// conn is the IMV set of one PB-TNC connection. It implements tnccs.IMVConn.
type conn struct {
	env  *imvEnv
	id   tnccs.ConnID
	peer tnccs.Peer
	send tnccs.SendFunc
	log  hclog.Logger

	mu       sync.Mutex
	facts    facts
	os       *osIMV
	att      *attIMV
	sw       *swIMV // nil unless the policy asks for SWIMA
	batches  int    // client batches seen
	received int    // PB-PA messages in the current batch
	held     []outMsg
	verdict  *Verdict
	decision *tnccs.Decision
	start    time.Time
	// swSub is the Request ID of the SWIMA subscription the SWIMA IMV
	// established on this connection (0: none); it outlives re-assessments
	// as the subscription does in the IMC (RFC 8412 §3.6).
	swSub uint32

	// What other connections read without taking mu: the device the OS
	// IMC reported and whether the connection waits after a decision.
	device  atomic.Pointer[string]
	decided atomic.Bool
}

func newConn(env *imvEnv, id tnccs.ConnID, peer tnccs.Peer, send tnccs.SendFunc) *conn {
	c := &conn{env: env, id: id, peer: peer, send: send, start: env.now(),
		log: env.log.With("conn_id", uint32(id))}
	c.os = newOSIMV(c)
	c.att = newAttIMV(c)
	if env.policy.SWIMA {
		c.sw = newSWIMV(c)
	}
	c.log.Debug(fmt.Sprintf("IMV %d \"OS\" created a state for Connection ID %d", OSIMVID, id))
	c.log.Debug(fmt.Sprintf("IMV %d \"Attestation\" created a state for Connection ID %d", AttestationIMVID, id))
	return c
}

// Receive implements tnccs.IMVConn: it dispatches a PB-PA by (vendor,
// subtype) — OS messages to both IMVs (the Attestation IMV reads the device
// facts from them), PTS messages to the Attestation IMV — honouring EXCL.
func (c *conn) Receive(ctx context.Context, m tnccs.PAMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.received++
	forOS := !m.Exclusive || m.Validator == OSIMVID
	forAtt := !m.Exclusive || m.Validator == AttestationIMVID
	switch {
	case m.Vendor == abi.PENIETF && m.Subtype == abi.SubtypeOS:
		msg, ok := c.parse(m, c.os.log, OSIMVID)
		if !ok {
			c.os.fail("invalid PA-TNC message received")
			return
		}
		c.learnFacts(msg)
		if forOS {
			c.os.receive(ctx, msg)
		}
		if forAtt {
			c.att.receiveOS(msg)
		}
	case m.Vendor == abi.PENTCG && m.Subtype == abi.SubtypePTS:
		if !forAtt {
			return
		}
		msg, ok := c.parse(m, c.att.log, AttestationIMVID)
		if !ok {
			c.att.fail(ResultError, NoRecommendation, "invalid PA-TNC message received")
			return
		}
		c.att.receive(ctx, msg)
	case m.Vendor == abi.PENIETF && m.Subtype == subtypeSWIMA && c.sw != nil:
		if m.Exclusive && m.Validator != SWIMAIMVID {
			return
		}
		if msg, ok := c.parse(m, c.sw.log, SWIMAIMVID); ok {
			c.sw.receive(ctx, msg)
		}
	default:
		c.log.Debug("no IMV subscribed to PA message type", "vendor", m.Vendor, "subtype", m.Subtype)
	}
}

// parse decodes a PA-TNC message; on a codec error it answers with an IETF
// PA-TNC Error attribute, as strongSwan's IMVs do.
func (c *conn) parse(m tnccs.PAMessage, log hclog.Logger, imv uint16) (*patnc.Message, bool) {
	msg, err := patnc.ParseMessage(m.Body)
	if err == nil {
		if log.IsDebug() {
			log.Debug("processing PA-TNC message with ID " + hexID(msg.ID))
			for _, a := range msg.Attrs {
				log.Debug("processing PA-TNC attribute type " + a.Type().String())
			}
		}
		return msg, true
	}
	log.Error("received invalid PA-TNC message", "err", err)
	var perr *patnc.Error
	if errors.As(err, &perr) {
		c.queue(outMsg{vendor: m.Vendor, subtype: m.Subtype, validator: imv,
			attrs: []patnc.Attr{perr.ErrorAttr()}})
	}
	return nil, false
}

// learnFacts records the product and device the OS IMC reported.
func (c *conn) learnFacts(msg *patnc.Message) {
	for _, a := range msg.Attrs {
		switch a := a.(type) {
		case *patnc.ProductInfo:
			c.facts.productName = a.Name
		case *patnc.StringVersion:
			c.facts.stringVersion = a.Version
		case *patnc.ITADeviceID:
			c.facts.deviceID = a.ID
		}
	}
	if c.facts.productName != "" && c.facts.stringVersion != "" {
		c.facts.product = c.facts.productName + " " + c.facts.stringVersion
	}
	if id := c.facts.deviceID; id != "" {
		c.device.Store(&id)
	}
}

// queue schedules a message for the next server batch.
func (c *conn) queue(m outMsg) {
	if len(m.attrs) == 0 {
		return
	}
	c.held = append(c.held, m)
}

// BatchEnding implements tnccs.IMVConn. The IMVs act on the batch; if any
// of them asks for more, everything queued (assessments of IMVs that are
// done included) goes out in an SDATA. If nobody asks for more, final
// assessments are held back for Decide, so that they travel in the RESULT
// batch as with strongSwan. A client batch without any PB-PA after the
// first one ("nothing more to say") makes the IMVs ask nothing.
func (c *conn) BatchEnding(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
	empty := c.batches > 1 && c.received == 0
	c.received = 0
	if empty {
		c.log.Debug("client has nothing more to send, IMVs are asked for a decision")
		return
	}
	c.os.batchEnding(ctx)
	c.att.batchEnding(ctx)
	if c.sw != nil {
		c.sw.batchEnding(ctx)
	}
	working := false
	for _, m := range c.held {
		if !m.final {
			working = true
		}
	}
	if working {
		c.flush()
	}
}

// flush sends every queued message, OS IMV first (queue order).
func (c *conn) flush() {
	for _, m := range c.held {
		body, err := (&patnc.Message{ID: randomID(), Attrs: m.attrs}).Marshal()
		if err != nil {
			c.log.Error("building PA-TNC message failed", "err", err)
			continue
		}
		for _, part := range splitBody(body, m.attrs, c.env.maxMsg) {
			if err := c.send(tnccs.PAMessage{Vendor: m.vendor, Subtype: m.subtype,
				Collector: anyIMC, Validator: m.validator, Body: part}); err != nil {
				c.log.Error("sending PA message failed", "err", err)
			}
		}
	}
	c.held = nil
}

// splitBody keeps a PA-TNC message within the maximum size by starting a new
// message when the next attribute would not fit (attributes the IMVs send
// are small; one that does not fit an empty message is dropped, as in
// strongSwan).
func splitBody(body []byte, attrs []patnc.Attr, max int) [][]byte {
	if len(body) <= max {
		return [][]byte{body}
	}
	var out [][]byte
	var cur []patnc.Attr
	size := patnc.MsgHeaderLen
	emit := func() {
		if len(cur) > 0 {
			if b, err := (&patnc.Message{ID: randomID(), Attrs: cur}).Marshal(); err == nil {
				out = append(out, b)
			}
		}
		cur, size = nil, patnc.MsgHeaderLen
	}
	for _, a := range attrs {
		enc, err := patnc.MarshalAttr(a)
		if err != nil || patnc.MsgHeaderLen+len(enc) > max {
			continue
		}
		if size+len(enc) > max {
			emit()
		}
		cur, size = append(cur, a), size+len(enc)
	}
	emit()
	return out
}

// Decide implements tnccs.IMVConn: undecided IMVs are asked for their
// recommendation (strongSwan's solicit_recommendation), final assessments
// are sent with the RESULT batch and the verdicts are combined.
func (c *conn) Decide(ctx context.Context) tnccs.Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.decision != nil {
		return *c.decision
	}
	c.os.solicit()
	c.att.solicit()
	verdicts := []IMVVerdict{c.os.verdict(), c.att.verdict()}
	if c.sw != nil {
		c.sw.solicit(ctx)
		verdicts = append(verdicts, c.sw.verdict())
	}
	c.flush()
	v := Combine(verdicts)
	v.Device, v.Product = c.facts.deviceID, c.facts.product
	c.verdict = &v
	c.log.Info(fmt.Sprintf("final recommendation is '%s' and evaluation is '%s'", v.Recommendation, v.Result))
	d := tnccs.Decision{Result: pb.AssessmentResult(v.Result), Recommendation: pb.Recommendation(v.Access)}
	for _, r := range v.Reasons {
		d.Reasons = append(d.Reasons, tnccs.Reason{Text: r, Lang: "en"})
	}
	d.Remediation = remediationParams(v.Remediation)
	c.record(ctx, v)
	c.decision = &d
	c.decided.Store(true)
	return d
}

// record stores the verdict in the sessions table.
func (c *conn) record(ctx context.Context, v Verdict) {
	err := c.env.store.AddSession(ctx, SessionRecord{Time: c.env.now(), Device: v.Device,
		Product: v.Product, Result: v.Result, Recommendation: v.Recommendation,
		Reasons: strings.Join(v.Reasons, "; ")})
	if err != nil {
		c.log.Error("recording the session failed", "err", err)
	}
}

// Restart implements tnccs.IMVRestarter: a re-assessment within the
// connection (the client's CRETRY, or its answer to our SRETRY; RFC 5793
// Section 3.2) starts every IMV over, as strongSwan's IMVs do when the
// connection goes back to Handshake: new IMV states, new device facts, the
// last decision forgotten (its verdict stays recorded in the store). An
// IMV added to conn must be created anew here too.
func (c *conn) Restart(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log.Debug(fmt.Sprintf("IMV %d \"OS\" changed state of Connection ID %d to 'Handshake'", OSIMVID, c.id))
	c.log.Debug(fmt.Sprintf("IMV %d \"Attestation\" changed state of Connection ID %d to 'Handshake'", AttestationIMVID, c.id))
	c.facts = facts{}
	c.os = newOSIMV(c)
	c.att = newAttIMV(c)
	if c.env.policy.SWIMA {
		c.sw = newSWIMV(c) // asks for the events since the last EID stored
	}
	c.batches, c.received, c.held = 0, 0, nil
	c.verdict, c.decision = nil, nil
	c.decided.Store(false)
	c.start = c.env.now()
}

// requestReassessment asks the client of this connection for a new
// assessment within its session (an SRETRY batch): the hook for an IMV
// that learns something the last verdict did not see (e.g. a software
// event of a SWIMA subscription). It reports whether the request was
// passed on; it may be called from any goroutine, holding c.mu or not.
func (c *conn) requestReassessment() bool {
	if c.env.retry == nil {
		return false
	}
	return c.env.retry(c.id)
}

// Close implements tnccs.IMVConn.
func (c *conn) Close(ctx context.Context) {
	c.log.Debug("IMV states deleted")
}

// result returns the combined verdict, or nil if Decide was never called.
func (c *conn) result() *Verdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verdict
}

func randomID() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

func hexID(id uint32) string {
	const hexd = "0123456789abcdef"
	b := []byte("0x00000000")
	for i := 0; i < 8; i++ {
		b[9-i] = hexd[id>>(4*i)&0xf]
	}
	return string(b)
}

// remediationParams folds the IMVs' remediation instructions into the one
// PB-Remediation-Parameters message a RESULT may carry: the first URI if
// any, else the instructions as text.
func remediationParams(rs []Remediation) *tnccs.Remediation {
	var texts []string
	for _, r := range rs {
		if r.URI != "" {
			return &tnccs.Remediation{URI: r.URI}
		}
		t := r.Text
		if r.Title != "" {
			t = r.Title + ": " + r.Text
		}
		texts = append(texts, t)
	}
	if len(texts) == 0 {
		return nil
	}
	return &tnccs.Remediation{Text: strings.Join(texts, "\n"), Lang: "en"}
}
