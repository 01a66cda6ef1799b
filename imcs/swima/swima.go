package main

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/patnc"
)

// imcName is the IMC's name in logs.
const imcName = "SWIMA"

// msgTypeSWIMA is IETF / SWIMA (RFC 8412 §5.3: PA Subtype 9).
var msgTypeSWIMA = abi.MsgType{Vendor: abi.PENIETF, Subtype: abi.SubtypeSWIMA}

// Settings (config.toml [imc.settings]); the names follow strongSwan's
// libimcv options.
const (
	// settingSubscriptions: "true" (default) lets an IMV subscribe; "false"
	// answers a subscription with SWIMA Subscription Denied, as strongSwan's
	// imc-swima does unless libimcv.plugins.imc-swima.subscriptions is set.
	settingSubscriptions = "subscriptions"
	// settingRegID and settingCreator name the tag creator of the
	// generated SWID tags and the prefix of software identifiers
	// (libimcv.swid_gen.tag_creator.regid and .name).
	settingRegID   = "tag_creator_regid"
	settingCreator = "tag_creator_name"
	// settingOSName and settingOSVersion override the OS part of software
	// identifiers (libimcv.os_info.name, .version: "12 x86_64").
	settingOSName    = "os_name"
	settingOSVersion = "os_version"
	// settingMaxMessageSize caps the PA-TNC messages sent (default: what
	// the host's send accepts).
	settingMaxMessageSize = "max_message_size"
)

// sourceID is the Source ID of every software record: the IMC has one
// source, the host's inventory (RFC 8412 §5.14 describes it).
const sourceID = 0

// sourceMetadata describes that source in a Source Metadata Response.
const sourceMetadata = "imchost sw_inventory: the dpkg, rpm and apk package databases and the SWID tags under /usr/share/swidtag; events from the host's record of changes"

// pageSize is how many entries one host call returns.
const pageSize = 1024

// subscription is an IMV's standing request (RFC 8412 §3.8): its
// establishing SWIMA Request's fields (a Subscription Status Response
// copies them) and how far it has been fulfilled.
type subscription struct {
	imv         uint32
	requestID   uint32
	flags       uint8
	earliestEID uint32
	idsOnly     bool
	targets     []string
	nextEID     uint32 // the first EID not yet sent
	epoch       uint32
}

// SWIMAIMC is the SWIMA IMC. One instance serves one connection.
type SWIMAIMC struct {
	h        imc.Host
	id       uint32
	regID    string
	creator  string
	osPart   string // "Debian_12-x86_64"
	allowSub bool
	maxMsg   uint32

	sub *subscription

	msgID func() uint32
}

// New returns a SWIMA IMC.
func New() *SWIMAIMC { return &SWIMAIMC{msgID: rand.Uint32} }

var _ imc.IMC = (*SWIMAIMC)(nil)

func (s *SWIMAIMC) logf(level abi.LogLevel, format string, args ...any) {
	if s.h == nil || level > s.h.LogLevel() {
		return
	}
	s.h.Log(level, fmtlite.Sprintf(format, args...))
}

// Initialize implements imc.IMC.
func (s *SWIMAIMC) Initialize(h imc.Host, id uint32) error {
	s.h, s.id = h, id
	if err := h.Subscribe(msgTypeSWIMA); err != nil {
		return fmtlite.Errorf("imc-swima: subscribe: %w", err)
	}
	s.regID, s.creator, s.allowSub, s.maxMsg = "strongswan.org", "strongSwan Project", true, abi.MaxMessageLen
	if v, ok := h.Config(settingRegID); ok && v != "" {
		s.regID = v
	}
	if v, ok := h.Config(settingCreator); ok && v != "" {
		s.creator = v
	}
	if v, ok := h.Config(settingSubscriptions); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmtlite.Errorf("imc-swima: setting %s: %q is not a boolean", settingSubscriptions, v)
		}
		s.allowSub = b
	}
	if v, ok := h.Config(settingMaxMessageSize); ok && v != "" {
		n, err := strconv.ParseUint(v, 0, 32)
		if err != nil || n < 256 || n > abi.MaxMessageLen {
			return fmtlite.Errorf("imc-swima: setting %s: %q is not a size in 256..%d", settingMaxMessageSize, v, abi.MaxMessageLen)
		}
		s.maxMsg = uint32(n)
	}
	name, okN := h.Config(settingOSName)
	version, okV := h.Config(settingOSVersion)
	if !okN || !okV || name == "" || version == "" {
		rel, err := h.OSRelease()
		if err != nil {
			return fmtlite.Errorf("imc-swima: os-release: %w", err)
		}
		facts, err := h.SystemFacts()
		if err != nil {
			return fmtlite.Errorf("imc-swima: system facts: %w", err)
		}
		name, version = osNameVersion(rel, facts.Arch)
		if name == "" {
			return errors.New("imc-swima: os-release has no ID")
		}
	}
	s.osPart = osPart(name, version)
	s.logf(abi.LogInfo, "IMC %d \"%s\" initialized", id, imcName)
	return nil
}

// osNameVersion derives strongSwan's OS name ("Debian": the os-release ID
// with a capital first letter) and version ("12 x86_64": VERSION_ID and
// the machine), as strongSwan's imc_os_info reads os-release.
func osNameVersion(rel []byte, arch string) (name, version string) {
	var id, vid string
	for _, line := range strings.Split(string(rel), "\n") {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\r"), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, "\"'")
		switch {
		case k == "ID" && id == "":
			id = v
		case k == "VERSION_ID" && vid == "":
			vid = v
		}
	}
	if id == "" {
		return "", ""
	}
	name = strings.ToUpper(id[:1]) + id[1:]
	if id == "rhel" {
		name = "Red Hat" // strongSwan's os_type name for RHEL
	}
	return name, strings.TrimSpace(vid + " " + arch)
}

// osPart is the OS part of a software identifier: "name_version-arch"
// (strongSwan's swid_gen_info: the version's first word, then the rest).
func osPart(name, version string) string {
	v, arch, _ := strings.Cut(version, " ")
	return name + "_" + v + "-" + arch
}

// softwareID forms the identifier of an installed package the way
// strongSwan's swid_gen_info does for dpkg: "regid__OS-package-version"
// with every ':' and '+' replaced by '~'; rpm and apk packages get the same
// form (the version as the package manager prints it, rpm's epoch
// included). A SWID tag file is identified by "regid__tagId" (RFC 8412 §3.4,
// strongSwan's extract_sw_id).
func (s *SWIMAIMC) softwareID(it abi.SWItem) string {
	if it.Source == "swidtag" {
		return it.RegID + "__" + it.TagID
	}
	id := s.regID + "__" + s.osPart + "-" + it.Name
	if it.Version != "" {
		id += "-" + it.Version
	}
	return strings.NewReplacer(":", "~", "+", "~").Replace(id)
}

// swidTag is a minimal ISO/IEC 19770-2:2015 SWID tag for a package (as
// strongSwan's SWID generator makes for dpkg packages), or the tag file.
func (s *SWIMAIMC) swidTag(it abi.SWItem, swID string) []byte {
	if it.Source == "swidtag" {
		return it.Tag
	}
	tagID := strings.TrimPrefix(swID, s.regID+"__")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(`<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" name="`)
	b.WriteString(xmlEscape(it.Name))
	b.WriteString(`" tagId="`)
	b.WriteString(xmlEscape(tagID))
	b.WriteString(`" version="`)
	b.WriteString(xmlEscape(it.Version))
	b.WriteString(`" versionScheme="alphanumeric"><Entity name="`)
	b.WriteString(xmlEscape(s.creator))
	b.WriteString(`" regid="`)
	b.WriteString(xmlEscape(s.regID))
	b.WriteString(`" role="tagCreator"/><Meta product="`)
	b.WriteString(xmlEscape(it.Source + " package"))
	if it.Arch != "" {
		b.WriteString(`" arch="`)
		b.WriteString(xmlEscape(it.Arch))
	}
	b.WriteString(`"/></SoftwareIdentity>`)
	return []byte(b.String())
}

func xmlEscape(v string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(v)
}

// ConnectionChange implements imc.IMC: a new connection has no subscription.
func (s *SWIMAIMC) ConnectionChange(conn imc.ConnID, state abi.ConnState) error {
	if state == abi.ConnCreate || state == abi.ConnDelete {
		s.sub = nil
	}
	return nil
}

// BeginHandshake implements imc.IMC: a new handshake within the session
// (a retry) pushes the events since the last ones sent to a subscribed
// IMV (RFC 8412 §3.6: a subscription is fulfilled whenever the inventory
// changes), none at all included: a subscribed IMV may wait for the push
// instead of asking again (strongSwan's imv-swima does, and without one
// it has no verdict; its imc-swima pushes at every handshake too).
func (s *SWIMAIMC) BeginHandshake(conn imc.ConnID) error {
	if s.h == nil || s.osPart == "" {
		return errors.New(`imc-swima: IMC "SWIMA" has not been initialized`)
	}
	if s.sub == nil {
		return nil
	}
	return s.pushSubscription(conn)
}

// pushSubscription sends the subscribing IMV the events since the last
// ones it got (maybe none).
func (s *SWIMAIMC) pushSubscription(conn imc.ConnID) error {
	sub := s.sub
	ev, err := s.collectEvents(sub.nextEID, sub.targets)
	if err != nil {
		return s.send(conn, sub.imv, []patnc.Attr{patnc.NewSWIMAError(patnc.ErrSWIMASubscriptionFulfil, sub.requestID, 0, err.Error())})
	}
	s.logf(abi.LogInfo, "SWIMA subscription %d: %d new event%s", sub.requestID, len(ev.list), plural(len(ev.list)))
	sub.nextEID = ev.lastEID + 1
	return s.send(conn, sub.imv, []patnc.Attr{s.eventsAttr(sub.requestID, sub.idsOnly, ev)})
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// BatchEnding implements imc.IMC.
func (s *SWIMAIMC) BatchEnding(conn imc.ConnID) error { return nil }

// Terminate implements imc.IMC.
func (s *SWIMAIMC) Terminate() error { return nil }

// Receive implements imc.IMC: a malformed message gets a PA-TNC Error; the
// first SW Request of the message is fulfilled (strongSwan's imc-swima
// answers one per message), its C and S flags handled first; a
// Subscription Status Request is answered with the subscriptions of the
// asking IMV (RFC 8412 §5.12), a Source Metadata Request with the one
// source (§5.14). The answers travel in one message.
func (s *SWIMAIMC) Receive(conn imc.ConnID, msg imc.Message) error {
	if s.h == nil || s.osPart == "" {
		return errors.New(`imc-swima: IMC "SWIMA" has not been initialized`)
	}
	imv := msg.Validator
	m, err := patnc.ParseMessage(msg.Body)
	if err != nil {
		var perr *patnc.Error
		if !errors.As(err, &perr) {
			return fmtlite.Errorf("imc-swima: %w", err)
		}
		s.logf(abi.LogInfo, "%v", perr)
		return s.send(conn, imv, []patnc.Attr{perr.ErrorAttr()})
	}
	s.logf(abi.LogInfo, "[TNC] processing PA-TNC message with ID 0x%08x", m.ID)
	for _, a := range m.Attrs {
		s.logf(abi.LogDebug, "[TNC] processing PA-TNC attribute type %s", a.Type())
	}
	var out []patnc.Attr
	answered := false
	for _, a := range m.Attrs {
		switch a := a.(type) {
		case *patnc.PATNCError:
			s.logf(abi.LogInfo, "received PA-TNC error: %s", a)
		case *patnc.AssessmentResult:
			s.logf(abi.LogInfo, "assessment result is '%s'", a.Result.String())
			if err := s.h.Report(abi.Report{Validator: imv, Result: uint32(a.Result)}); err != nil {
				s.logf(abi.LogError, "could not report the assessment: %v", err)
			}
		case *patnc.RemediationInstructions:
			s.logf(abi.LogInfo, "remediation string: [%s]", a.Lang)
			s.logf(abi.LogInfo, "%s", a.Text)
		case *patnc.SWRequest:
			if !answered {
				answered = true
				out = append(out, s.request(imv, a)...)
			}
		case *patnc.SubscriptionStatusRequest:
			out = append(out, s.subscriptionStatus(imv))
		case *patnc.SourceMetadataRequest:
			out = append(out, &patnc.SourceMetadataResponse{Sources: []patnc.SourceMetadata{{SourceID: sourceID, Metadata: sourceMetadata}}})
		}
	}
	return s.send(conn, imv, out)
}

// subscriptionStatus lists the active subscriptions of IMV imv on this
// connection (RFC 8412 §3.8.4, §5.12): none or the one this IMC keeps,
// each as the fields of its establishing request.
func (s *SWIMAIMC) subscriptionStatus(imv uint32) *patnc.SubscriptionStatusResponse {
	a := &patnc.SubscriptionStatusResponse{Subscriptions: []patnc.SubscriptionRecord{}}
	if sub := s.sub; sub != nil && sub.imv == imv {
		a.Subscriptions = append(a.Subscriptions, patnc.SubscriptionRecord{Flags: sub.flags, RequestID: sub.requestID,
			EarliestEID: sub.earliestEID, SoftwareIDs: sub.targets})
	}
	s.logf(abi.LogInfo, "SWIMA subscription status: %d active subscription%s", len(a.Subscriptions), plural(len(a.Subscriptions)))
	return a
}

// request handles one SW Request and returns the answer.
func (s *SWIMAIMC) request(imv uint32, req *patnc.SWRequest) []patnc.Attr {
	idsOnly := req.Flags&patnc.SWReqIdentifiersOnly != 0
	var out []patnc.Attr
	if req.Flags&(patnc.SWReqSubscribe|patnc.SWReqClearSubscriptions) != 0 {
		switch {
		case !s.allowSub:
			out = append(out, patnc.NewSWIMAError(patnc.ErrSWIMASubscriptionDenied, req.RequestID, 0, "subscriptions not enabled"))
		case req.Flags&patnc.SWReqClearSubscriptions != 0:
			if s.sub != nil {
				s.logf(abi.LogInfo, "SWIMA subscription %d cleared", s.sub.requestID)
			}
			s.sub = nil
		case s.sub != nil && s.sub.requestID == req.RequestID:
			out = append(out, patnc.NewSWIMAError(patnc.ErrSWIMASubscriptionIDReuse, req.RequestID, 0, "subscription ID in use"))
		default:
			s.sub = &subscription{imv: imv, requestID: req.RequestID, flags: req.Flags, earliestEID: req.EarliestEID,
				idsOnly: idsOnly, targets: req.SoftwareIDs}
			s.logf(abi.LogInfo, "SWIMA subscription %d established", req.RequestID)
		}
	}
	return append(out, s.fulfil(req.RequestID, idsOnly, req.EarliestEID, req.SoftwareIDs)...)
}

// fulfil answers a request: the events from earliest, else (earliest 0,
// or events no longer kept) the inventory.
func (s *SWIMAIMC) fulfil(requestID uint32, idsOnly bool, earliest uint32, targets []string) []patnc.Attr {
	kind := ""
	if idsOnly {
		kind = " ID"
	}
	var out []patnc.Attr
	if earliest > 0 {
		ev, err := s.collectEvents(earliest, targets)
		if err == nil {
			s.logf(abi.LogInfo, "collected %d SW%s event%s at last eid %d of epoch 0x%08x", len(ev.list), kind, plural(len(ev.list)), ev.lastEID, ev.epoch)
			if s.sub != nil && s.sub.requestID == requestID {
				s.sub.nextEID, s.sub.epoch = ev.lastEID+1, ev.epoch
			}
			return append(out, s.eventsAttr(requestID, idsOnly, ev))
		}
		out = append(out, patnc.NewSWIMAError(patnc.ErrSWIMA, requestID, 0,
			fmtlite.Sprintf("failed to collect SW%s events, fallback to SW%s inventory", kind, kind)))
		s.logf(abi.LogInfo, "%v", err)
	}
	inv, err := s.collectInventory(idsOnly, targets)
	if err != nil {
		s.logf(abi.LogError, "%v", err)
		return append(out, patnc.NewSWIMAError(patnc.ErrSWIMA, requestID, 0, fmtlite.Sprintf("failed to collect SW%s inventory", kind)))
	}
	inv.RequestID = requestID
	s.logf(abi.LogInfo, "collected %d SW%s record%s", len(inv.Records), kind, plural(len(inv.Records)))
	if s.sub != nil && s.sub.requestID == requestID {
		s.sub.nextEID, s.sub.epoch = inv.LastEID+1, inv.EIDEpoch
	}
	return append(out, inv)
}

// collectInventory pages the host's inventory into one attribute.
func (s *SWIMAIMC) collectInventory(idsOnly bool, targets []string) (*patnc.SWInventory, error) {
	want := targetSet(targets)
	a := &patnc.SWInventory{IDsOnly: idsOnly}
	next := uint32(0)
	for {
		page, err := s.h.SWInventory(abi.SWRequest{Start: next, Max: pageSize})
		if err != nil {
			return nil, fmtlite.Errorf("imc-swima: sw_inventory: %w", err)
		}
		a.EIDEpoch, a.LastEID = page.Epoch, page.LastEID
		for _, it := range page.Items {
			id := s.softwareID(it)
			if want != nil && !want[id] {
				continue
			}
			rec := patnc.SWRecord{RecordID: uint32(len(a.Records) + 1), DataModelPEN: patnc.SWDataModelPEN,
				DataModelType: patnc.SWDataModelISO2015, SoftwareID: id}
			if !idsOnly {
				rec.Record = s.swidTag(it, id)
			}
			a.Records = append(a.Records, rec)
		}
		if page.End || page.Next == next {
			return a, nil
		}
		next = page.Next
	}
}

// events is what collectEvents gathered.
type events struct {
	epoch, lastEID uint32
	list           []abi.SWEvent
}

// errEventsGone says the events asked for were dropped from the record.
var errEventsGone = errors.New("imc-swima: the events asked for are no longer kept")

// collectEvents pages the host's events from earliest on.
func (s *SWIMAIMC) collectEvents(earliest uint32, targets []string) (events, error) {
	want := targetSet(targets)
	var ev events
	next := earliest
	for {
		page, err := s.h.SWEvents(abi.SWRequest{Start: next, Max: pageSize})
		if err != nil {
			return ev, fmtlite.Errorf("imc-swima: sw_events: %w", err)
		}
		if next == earliest && earliest > 1 && (page.FirstEID == 0 || page.FirstEID > earliest) && earliest <= page.LastEID {
			return ev, errEventsGone
		}
		ev.epoch, ev.lastEID = page.Epoch, page.LastEID
		for _, e := range page.Events {
			if want != nil && !want[s.softwareID(e.Item)] {
				continue
			}
			ev.list = append(ev.list, e)
		}
		if page.End || page.Next == next {
			return ev, nil
		}
		next = page.Next
	}
}

func targetSet(targets []string) map[string]bool {
	if len(targets) == 0 {
		return nil
	}
	m := make(map[string]bool, len(targets))
	for _, t := range targets {
		m[t] = true
	}
	return m
}

// eventsAttr builds Software [Identifier] Events.
func (s *SWIMAIMC) eventsAttr(requestID uint32, idsOnly bool, ev events) *patnc.SWEvents {
	a := &patnc.SWEvents{IDsOnly: idsOnly, RequestID: requestID, EIDEpoch: ev.epoch, LastEID: ev.lastEID, LastConsultedEID: ev.lastEID}
	for i, e := range ev.list {
		id := s.softwareID(e.Item)
		rec := patnc.SWRecord{RecordID: uint32(i + 1), DataModelPEN: patnc.SWDataModelPEN, DataModelType: patnc.SWDataModelISO2015, SoftwareID: id}
		if !idsOnly {
			rec.Record = s.swidTag(e.Item, id)
		}
		a.Events = append(a.Events, patnc.SWEvent{EID: e.EID, Timestamp: patnc.DateTimeFromUnix(e.Time).String(),
			Action: e.Action, Record: rec})
	}
	return a
}

// send sends attrs in one PA-TNC message EXCL to imv. An answer larger than
// the largest message is replaced by SWIMA Response Too Large (RFC 8412
// §5.16) with the size that would fit.
func (s *SWIMAIMC) send(conn imc.ConnID, imv uint32, attrs []patnc.Attr) error {
	if len(attrs) == 0 {
		return nil
	}
	m := patnc.Message{ID: s.msgID(), Attrs: attrs}
	body, err := m.Marshal()
	if err == nil && uint32(len(body)) > s.maxMsg {
		err = fmtlite.Errorf("%d bytes", len(body))
	}
	if err != nil {
		s.logf(abi.LogError, "SWIMA answer too large: %v", err)
		var reqID uint32
		for _, a := range attrs {
			switch a := a.(type) {
			case *patnc.SWInventory:
				reqID = a.RequestID
			case *patnc.SWEvents:
				reqID = a.RequestID
			}
		}
		m.Attrs = []patnc.Attr{patnc.NewSWIMAError(patnc.ErrSWIMAResponseTooLarge, reqID, s.maxMsg-patnc.MsgHeaderLen, "response too large")}
		if body, err = m.Marshal(); err != nil {
			return fmtlite.Errorf("imc-swima: %w", err)
		}
	}
	s.logf(abi.LogInfo, "[TNC] creating PA-TNC message with ID 0x%08x", m.ID)
	for _, a := range m.Attrs {
		s.logf(abi.LogDebug, "[TNC] creating PA-TNC attribute type %s", a.Type())
	}
	if err := s.h.Send(conn, imc.Message{Type: msgTypeSWIMA, Validator: imv, Exclusive: imv != abi.IDAny, Body: body}); err != nil {
		return fmtlite.Errorf("imc-swima: send: %w", err)
	}
	return nil
}
