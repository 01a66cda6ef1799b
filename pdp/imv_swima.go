package pdp

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
)

// SWIMAIMVID is the SWIMA IMV's ID.
const SWIMAIMVID uint16 = 3

// subtypeSWIMA is IETF / SWIMA (RFC 8412 §5.3).
const subtypeSWIMA uint32 = 9

// SWDenyRule is one entry of the software deny list: software with this
// name (and this version, when set) makes an endpoint non-compliant.
type SWDenyRule struct {
	Name        string `toml:"name"`
	Version     string `toml:"version"`
	Remediation string `toml:"remediation"`
}

// matches reports whether p is the denied software: the name and version
// of its SWID tag, or, for an identifier without a record, an identifier
// "…-name-version" ("…-name-" any version).
func (r SWDenyRule) matches(p SWPackage) bool {
	if p.Name != "" {
		return p.Name == r.Name && (r.Version == "" || p.Version == r.Version)
	}
	id := strings.NewReplacer(":", "~", "+", "~").Replace
	if r.Version != "" {
		return strings.HasSuffix(p.SWID, "-"+id(r.Name)+"-"+id(r.Version))
	}
	return strings.Contains(p.SWID, "-"+id(r.Name)+"-")
}

// swIMV is the SWIMA IMV's state for one connection (strongSwan's
// imv_swima): it asks for the inventory on a device's first contact and
// for the events since the last EID it stored afterwards.
type swIMV struct {
	c   *conn
	log hclog.Logger

	requestID uint32
	requested int // SW Requests sent
	answered  bool
	device    int64 // 0: no device row
	records   int   // software records received in an inventory
	events    int   // events received
	pkgs      []SWPackage

	decided bool
	sent    bool
	v       IMVVerdict
}

func newSWIMV(c *conn) *swIMV {
	log := c.env.swLog
	if log == nil {
		log = hclog.NewNullLogger()
	}
	w := &swIMV{c: c, log: log.With("conn_id", uint32(c.id)), requestID: randomID(),
		v: IMVVerdict{IMV: "SWIMA", ID: SWIMAIMVID, Recommendation: NoRecommendation, Result: DontKnow}}
	if c.swSub != 0 {
		w.requestID = c.swSub // the subscription stands: ask under its ID
	}
	return w
}

// deviceRow finds (or records) the device the OS IMC reported.
func (w *swIMV) deviceRow(ctx context.Context) int64 {
	if w.device != 0 || w.c.facts.deviceID == "" {
		return w.device
	}
	st := w.c.env.store
	d, err := st.Device(ctx, w.c.facts.deviceID)
	if err == nil && d == nil {
		d, err = st.AddDevice(ctx, w.c.facts.deviceID, w.c.facts.product, false)
	}
	if err != nil {
		w.log.Error("database error", "err", err)
		return 0
	}
	w.device = d.ID
	return w.device
}

// request queues a SW Request: the events since the stored last EID, or
// the whole inventory (with records: the SWID tags carry name and version).
func (w *swIMV) request(ctx context.Context, inventory bool) {
	req := &patnc.SWRequest{RequestID: w.requestID}
	if w.c.env.policy.SWIdentifiers {
		req.Flags |= patnc.SWReqIdentifiersOnly
	}
	if w.c.env.policy.SWReassess && w.c.swSub == 0 {
		// Subscribe once per connection (RFC 8412 §3.6): the IMC pushes
		// the events of each later assessment of a kept session.
		req.Flags |= patnc.SWReqSubscribe
		w.c.swSub = w.requestID
	}
	if dev := w.deviceRow(ctx); dev != 0 && !inventory {
		_, last, ok, err := w.c.env.store.SWState(ctx, dev)
		if err != nil {
			w.log.Error("database error", "err", err)
		}
		if ok {
			req.EarliestEID = last + 1
		}
	}
	kind := "software"
	if req.Flags&patnc.SWReqIdentifiersOnly != 0 {
		kind = "software identifier"
	}
	if req.EarliestEID == 0 {
		w.log.Info(fmt.Sprintf("requesting the %s inventory (request %d)", kind, req.RequestID))
	} else {
		w.log.Info(fmt.Sprintf("requesting the %s events from EID %d (request %d)", kind, req.EarliestEID, req.RequestID))
	}
	w.requested++
	attrs := []patnc.Attr{req}
	if w.c.env.policy.SWReassess && req.Flags&patnc.SWReqSubscribe == 0 && w.c.swSub != 0 {
		// A re-assessment under a standing subscription: check that the
		// IMC still holds it (RFC 8412 §3.8.4; an IMC that does not know
		// the skippable attribute ignores it).
		attrs = append(attrs, &patnc.SubscriptionStatusRequest{})
	}
	w.c.queue(outMsg{vendor: abi.PENIETF, subtype: subtypeSWIMA, validator: SWIMAIMVID, attrs: attrs})
}

// receive processes a SWIMA message from the SWIMA IMC.
func (w *swIMV) receive(ctx context.Context, msg *patnc.Message) {
	for _, a := range msg.Attrs {
		switch a := a.(type) {
		case *patnc.SWInventory:
			w.answered = true
			w.records = len(a.Records)
			w.pkgs = w.pkgs[:0]
			for _, r := range a.Records {
				w.pkgs = append(w.pkgs, swPackage(r))
			}
			w.log.Info(fmt.Sprintf("received %d software records, EID epoch 0x%08x, last EID %d", len(a.Records), a.EIDEpoch, a.LastEID))
			if dev := w.deviceRow(ctx); dev != 0 {
				if err := w.c.env.store.SetSWInventory(ctx, dev, a.EIDEpoch, a.LastEID, w.pkgs); err != nil {
					w.log.Error("database error", "err", err)
				}
			}
		case *patnc.SWEvents:
			w.answered = true
			w.receiveEvents(ctx, a)
		case *patnc.SubscriptionStatusResponse:
			w.receiveStatus(ctx, a)
		case *patnc.PATNCError:
			if a.Vendor == abi.PENIETF {
				if info, err := patnc.ParseSWIMAErrorInfo(patnc.ErrorCode(a.Code), a.Info); err == nil {
					w.log.Info(fmt.Sprintf("received SWIMA error '%s' for request %d: %s", patnc.ErrorCode(a.Code), info.RequestID, info.Description))
					if patnc.ErrorCode(a.Code) == patnc.ErrSWIMASubscriptionDenied && info.RequestID == w.c.swSub {
						w.c.swSub = 0 // no subscription: each assessment asks
					}
					continue
				}
			}
			w.log.Error(fmt.Sprintf("received PA-TNC error 0x%06x/%d", a.Vendor, a.Code))
		default:
			w.log.Debug("ignored attribute", "attr", a.Type().String())
		}
	}
}

// receiveStatus checks the endpoint's list of our subscriptions: one that
// is no longer there (the IMC forgot it) is established again with the
// next request, so that the next re-assessment gets its push.
func (w *swIMV) receiveStatus(ctx context.Context, a *patnc.SubscriptionStatusResponse) {
	sub := w.c.swSub
	if sub == 0 {
		return
	}
	for _, r := range a.Subscriptions {
		if r.RequestID == sub {
			w.log.Info(fmt.Sprintf("SWIMA subscription %d is active on the endpoint", sub))
			return
		}
	}
	w.log.Info(fmt.Sprintf("SWIMA subscription %d is not active on the endpoint (%d listed): subscribing again", sub, len(a.Subscriptions)))
	w.c.swSub = 0
	if w.requested < 3 {
		w.answered = false
		w.request(ctx, false)
	}
}

// receiveEvents applies events, or asks for the inventory again when the
// endpoint's EID epoch is not the stored one (its record was made anew).
func (w *swIMV) receiveEvents(ctx context.Context, a *patnc.SWEvents) {
	dev := w.deviceRow(ctx)
	w.events = len(a.Events)
	w.log.Info(fmt.Sprintf("received %d software events, EID epoch 0x%08x, last EID %d", len(a.Events), a.EIDEpoch, a.LastEID))
	if dev == 0 {
		return
	}
	st := w.c.env.store
	epoch, stored, ok, err := st.SWState(ctx, dev)
	if err != nil {
		w.log.Error("database error", "err", err)
		return
	}
	if !ok || epoch != a.EIDEpoch {
		w.log.Info(fmt.Sprintf("EID epoch changed from 0x%08x to 0x%08x: requesting the inventory", epoch, a.EIDEpoch))
		if w.requested < 2 {
			w.answered = false
			w.request(ctx, true)
		}
		return
	}
	// Events already stored (another connection of the device, or a
	// subscription's push of what a request fetched) are not applied
	// again: a replayed deletion would undo a later creation.
	evs := make([]SWEventRecord, 0, len(a.Events))
	for _, e := range a.Events {
		if e.EID <= stored {
			continue
		}
		evs = append(evs, SWEventRecord{Epoch: a.EIDEpoch, EID: e.EID, Time: e.Timestamp, Action: e.Action, SWPackage: swPackage(e.Record)})
	}
	if len(evs) == 0 && a.LastEID <= stored {
		return
	}
	if err := st.AddSWEvents(ctx, dev, a.EIDEpoch, max(a.LastEID, stored), evs); err != nil {
		w.log.Error("database error", "err", err)
		return
	}
	if w.c.env.policy.SWReassess {
		w.reassessPeers(evs)
	}
}

// reassessPeers asks the device's other connections that wait after a
// decision for a re-assessment (SRETRY) when one of the events concerns
// denied software: their verdict did not see it (SWReassess).
func (w *swIMV) reassessPeers(evs []SWEventRecord) {
	hit := ""
	for _, e := range evs {
		for _, r := range w.c.env.policy.SWDeny {
			if r.matches(e.SWPackage) {
				hit = e.SWID
				break
			}
		}
		if hit != "" {
			break
		}
	}
	if hit == "" || w.c.env.decidedPeers == nil || w.c.env.retry == nil {
		return
	}
	for _, id := range w.c.env.decidedPeers(w.c.facts.deviceID, w.c.id) {
		if w.c.env.retry(id) {
			w.log.Info(fmt.Sprintf("software event of '%s' concerns the deny list: asking Connection ID %d of device '%s' for a re-assessment", hit, id, w.c.facts.deviceID))
		}
	}
}

// swPackage reads the name and version from a record's SWID tag
// (ISO/IEC 19770-2 SoftwareIdentity name and version attributes).
func swPackage(r patnc.SWRecord) SWPackage {
	p := SWPackage{SWID: r.SoftwareID}
	if len(r.Record) == 0 || len(r.Record) > 1<<20 {
		return p
	}
	var tag struct {
		XMLName xml.Name `xml:"SoftwareIdentity"`
		Name    string   `xml:"name,attr"`
		Version string   `xml:"version,attr"`
	}
	if xml.Unmarshal(r.Record, &tag) == nil {
		p.Name, p.Version = tag.Name, tag.Version
	}
	return p
}

// batchEnding sends the first request, assesses once answered.
func (w *swIMV) batchEnding(ctx context.Context) {
	switch {
	case w.decided:
	case w.requested == 0:
		w.request(ctx, false)
		return
	case !w.answered:
		return // waiting for the answer (or the client has no SWIMA IMC)
	default:
		w.assess(ctx)
	}
	w.sendAssessment()
}

// assess checks the device's software against the deny list.
func (w *swIMV) assess(ctx context.Context) {
	pkgs := w.pkgs
	if dev := w.deviceRow(ctx); dev != 0 {
		stored, err := w.c.env.store.SWPackages(ctx, dev)
		if err != nil {
			w.log.Error("database error", "err", err)
			w.finish(ResultError, NoRecommendation, "policy database error")
			return
		}
		pkgs = stored
	}
	w.v.Info = fmt.Sprintf("%d software records, %d events since last time", len(pkgs), w.events)
	w.log.Info(w.v.Info)
	var reasons []string
	var rem []Remediation
	for _, r := range w.c.env.policy.SWDeny {
		for _, p := range pkgs {
			if !r.matches(p) {
				continue
			}
			w.log.Info(fmt.Sprintf("isolate - software '%s' is denied", p.SWID))
			reasons = append(reasons, fmt.Sprintf("software '%s' is not allowed", p.SWID))
			text := r.Remediation
			if text == "" {
				text = "Please remove " + r.Name
			}
			rem = append(rem, Remediation{Title: "Software " + r.Name, Text: text, Lang: "en"})
			break
		}
	}
	if len(reasons) > 0 {
		w.finish(NonCompliantMajor, Isolate, reasons...)
	} else {
		w.finish(Compliant, Allow)
	}
	w.v.Remediation = rem
}

func (w *swIMV) finish(res Result, rec Recommendation, reasons ...string) {
	if w.decided {
		return
	}
	w.decided = true
	w.v.Result, w.v.Recommendation, w.v.Reasons = res, rec, reasons
	logDecision(w.log, SWIMAIMVID, rec, res)
}

// sendAssessment queues the Assessment Result (+ Remediation
// Instructions) for the SWIMA IMC once.
func (w *swIMV) sendAssessment() {
	if w.sent || !w.decided || !w.answered {
		return
	}
	w.sent = true
	w.c.queue(outMsg{vendor: abi.PENIETF, subtype: subtypeSWIMA, validator: SWIMAIMVID, attrs: assessmentAttrs(w.v), final: true})
}

// solicit forces a decision: without an answer the IMV has none to give.
func (w *swIMV) solicit(ctx context.Context) {
	if !w.decided && w.answered {
		w.assess(ctx)
	}
	if !w.decided {
		w.log.Info("no software inventory received")
		w.finish(DontKnow, NoRecommendation)
	}
	w.sendAssessment()
}

func (w *swIMV) verdict() IMVVerdict { return w.v }
