package pdp

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
)

// osRequired are the attributes the OS IMV needs, in the order strongSwan's
// Attribute Request lists them (RFC 5792 §4.2.1).
var osRequired = []patnc.Type{
	patnc.TypeProductInfo, patnc.TypeStringVersion, patnc.TypeNumericVersion,
	patnc.TypeOpStatus, patnc.TypeForwardingEnabled, patnc.TypeFactoryDefaultPwd,
	patnc.TypeITADeviceID,
}

// osIMV is the OS IMV's state for one connection (strongSwan imv_os).
type osIMV struct {
	c   *conn
	log hclog.Logger

	got        map[patnc.Type]bool
	forwarding patnc.ForwardingStatus
	defaultPwd bool
	numeric    *patnc.NumericVersion
	opStatus   *patnc.OpStatus

	requested bool // an Attribute Request was sent
	decided   bool
	sent      bool // the assessment was queued
	v         IMVVerdict
}

func newOSIMV(c *conn) *osIMV {
	return &osIMV{c: c, log: c.env.osLog.With("conn_id", uint32(c.id)), got: map[patnc.Type]bool{},
		v: IMVVerdict{IMV: "OS", ID: OSIMVID, Recommendation: NoRecommendation, Result: DontKnow}}
}

// receive processes an OS message from the OS IMC.
func (o *osIMV) receive(ctx context.Context, msg *patnc.Message) {
	for _, a := range msg.Attrs {
		o.got[a.Type()] = true
		switch a := a.(type) {
		case *patnc.ProductInfo:
			o.log.Info(fmt.Sprintf("operating system name is '%s' from vendor %s", a.Name, vendorName(a.VendorID)))
		case *patnc.StringVersion:
			o.log.Info(fmt.Sprintf("operating system version is '%s'", a.Version))
		case *patnc.NumericVersion:
			o.numeric = a
			o.log.Info(fmt.Sprintf("operating system numeric version is %d.%d", a.Major, a.Minor))
		case *patnc.OpStatus:
			o.opStatus = a
			o.log.Info(fmt.Sprintf("operational status: %d, result: %d", a.Status, a.Result))
			o.log.Info(fmt.Sprintf("last boot: %s", a.LastUse.String()))
		case *patnc.ForwardingEnabled:
			o.forwarding = a.Status
			o.log.Info(fmt.Sprintf("IPv4 forwarding is %s", forwardingText(a.Status)))
		case *patnc.FactoryDefaultPwdEnabled:
			o.defaultPwd = a.Enabled
			o.log.Info(fmt.Sprintf("factory default password is %sabled", map[bool]string{true: "en", false: "dis"}[a.Enabled]))
		case *patnc.ITADeviceID:
			o.log.Info(fmt.Sprintf("device ID is %s", a.ID))
		case *patnc.PATNCError:
			o.log.Error(fmt.Sprintf("received PA-TNC error 0x%06x/%d", a.Vendor, a.Code))
		default:
			o.log.Debug("ignored attribute", "attr", a.Type().String())
		}
	}
}

// vendorName is strongSwan's name of a PEN ("Debian", "IETF"), or its
// number.
func vendorName(pen uint32) string {
	if n := abi.PENName(pen); n != "" {
		return n
	}
	return fmt.Sprintf("0x%06x", pen)
}

func forwardingText(s patnc.ForwardingStatus) string {
	switch s {
	case patnc.ForwardingStatusDisabled:
		return "disabled"
	case patnc.ForwardingStatusEnabled:
		return "enabled"
	}
	return "unknown"
}

// missing lists the required attributes not received yet.
func (o *osIMV) missing() []patnc.Type {
	var m []patnc.Type
	for _, t := range osRequired {
		if !o.got[t] {
			m = append(m, t)
		}
	}
	return m
}

// batchEnding asks for missing attributes once, else assesses.
func (o *osIMV) batchEnding(ctx context.Context) {
	if o.decided {
		o.sendAssessment()
		return
	}
	if miss := o.missing(); len(miss) > 0 {
		if o.requested {
			o.finish(ResultError, NoAccess, fmt.Sprintf("%d required OS attributes missing", len(miss)))
			o.sendAssessment()
			return
		}
		o.requested = true
		o.log.Info(fmt.Sprintf("requesting %d missing OS attributes", len(miss)))
		o.c.queue(outMsg{vendor: abi.PENIETF, subtype: abi.SubtypeOS, validator: OSIMVID, attrs: []patnc.Attr{
			contractRequest(o.c.env.maxMsg), &patnc.AttrRequest{Types: miss}}})
		return
	}
	o.assess(ctx)
	o.sendAssessment()
}

// contractRequest is the Segmentation Contract Request strongSwan's IMVs
// send: no message size limit, segments of max PA-TNC message size - 24.
func contractRequest(maxMsg int) patnc.Attr {
	_, req := patnc.NewContractRequest(uint32(maxMsg))
	return req
}

// assess runs the OS work items: forwarding, factory default password,
// product and device.
func (o *osIMV) assess(ctx context.Context) {
	p := o.c.env.policy
	st := o.c.env.store
	res, rec := Compliant, Allow
	var reasons []string
	var rem []Remediation
	worse := func(r Result, why string) {
		if r == ResultError || (res != ResultError && r > res) {
			res = r
		}
		rec = Isolate
		reasons = append(reasons, why)
	}
	switch {
	case p.AllowForwarding:
	case o.forwarding == patnc.ForwardingStatusEnabled:
		o.log.Info("isolate - forwarding enabled")
		worse(NonCompliantMajor, "IPv4 forwarding is enabled")
		rem = append(rem, Remediation{Title: "IP Packet Forwarding",
			Text: "Please disable the forwarding of IP packets", Lang: "en"})
	case o.forwarding == patnc.ForwardingStatusUnknown:
		o.log.Info("isolate - forwarding status unknown")
		worse(NonCompliantMinor, "IPv4 forwarding status is unknown")
	default:
		o.log.Info("allow - forwarding not enabled")
	}
	switch {
	case p.AllowDefaultPassword:
	case o.defaultPwd:
		o.log.Info("isolate - factory default password enabled")
		worse(NonCompliantMajor, "factory default password is enabled")
		rem = append(rem, Remediation{Title: "Factory Default Password",
			Text: "Please change the factory default password", Lang: "en"})
	default:
		o.log.Info("allow - factory default password not enabled")
	}

	product := o.c.facts.product
	known, allowed, err := st.Product(ctx, product)
	switch {
	case product == "":
		o.log.Info("isolate - no product information")
		worse(NonCompliantMinor, "no product information")
	case err != nil:
		o.log.Error("database error", "err", err)
		worse(ResultError, "policy database error")
	case allowed:
		o.log.Info(fmt.Sprintf("allow - product '%s' is allowed", product))
	case p.LearnProducts:
		if err := st.LearnProduct(ctx, product); err != nil {
			o.log.Error("database error", "err", err)
		}
		o.log.Info(fmt.Sprintf("allow - product '%s' learned", product), "known", known)
	default:
		o.log.Info(fmt.Sprintf("isolate - product '%s' is not allowed", product))
		worse(NonCompliantMinor, fmt.Sprintf("product '%s' is not allowed", product))
	}

	dev := o.c.facts.deviceID
	d, err := st.Device(ctx, dev)
	switch {
	case dev == "" && p.RequireKnownDevice:
		o.log.Info("isolate - no device ID")
		worse(NonCompliantMinor, "no device ID")
	case dev == "":
		o.log.Info("no device ID reported")
	case err != nil:
		o.log.Error("database error", "err", err)
		worse(ResultError, "policy database error")
	case d != nil:
		if _, err := st.AddDevice(ctx, dev, product, false); err != nil {
			o.log.Error("database error", "err", err)
		}
		o.log.Info(fmt.Sprintf("allow - device '%s' is known", dev))
	case p.LearnDevices || !p.RequireKnownDevice:
		if _, err := st.AddDevice(ctx, dev, product, false); err != nil {
			o.log.Error("database error", "err", err)
		}
		o.log.Info(fmt.Sprintf("allow - device '%s' recorded", dev))
	default:
		o.log.Info(fmt.Sprintf("isolate - device '%s' is unknown", dev))
		worse(NonCompliantMinor, fmt.Sprintf("device '%s' is unknown", dev))
	}
	o.finish(res, rec, reasons...)
	o.v.Remediation = rem
}

// finish records the OS IMV's verdict.
func (o *osIMV) finish(res Result, rec Recommendation, reasons ...string) {
	if o.decided {
		return
	}
	o.decided = true
	o.v.Result, o.v.Recommendation, o.v.Reasons = res, rec, reasons
	logDecision(o.log, OSIMVID, rec, res)
}

// fail ends the OS IMV with an error verdict (invalid message).
func (o *osIMV) fail(why string) {
	o.finish(ResultError, NoAccess, why)
}

// sendAssessment queues the IETF Assessment Result (+ Remediation
// Instructions) for the OS IMC once.
func (o *osIMV) sendAssessment() {
	if o.sent || !o.decided {
		return
	}
	o.sent = true
	o.c.queue(outMsg{vendor: abi.PENIETF, subtype: abi.SubtypeOS, validator: OSIMVID, attrs: assessmentAttrs(o.v), final: true})
}

// assessmentAttrs are the IETF Assessment Result of v and a Remediation
// Instructions attribute for each of its remediations (RFC 5792 §4.2.10,
// §4.2.11).
func assessmentAttrs(v IMVVerdict) []patnc.Attr {
	attrs := []patnc.Attr{&patnc.AssessmentResult{Result: patnc.AssessmentResultCode(v.Result)}}
	for _, r := range v.Remediation {
		attrs = append(attrs, remediationAttr(r))
	}
	return attrs
}

// logDecision logs an IMV's verdict as strongSwan's IMVs do.
func logDecision(log hclog.Logger, imv uint16, rec Recommendation, res Result) {
	log.Info(fmt.Sprintf("IMV %d provides recommendation '%s' and evaluation '%s'", imv, rec, res))
}

// remediationAttr builds an IETF Remediation Instructions attribute: the
// title line and the instruction, as strongSwan's OS IMV phrases them.
func remediationAttr(r Remediation) patnc.Attr {
	if r.URI != "" {
		return &patnc.RemediationInstructions{ParamsVendor: abi.PENIETF,
			ParamsType: patnc.RemediationURI, URI: r.URI}
	}
	text := r.Text
	if r.Title != "" {
		text = r.Title + "\n  " + r.Text
	}
	return &patnc.RemediationInstructions{ParamsVendor: abi.PENIETF,
		ParamsType: patnc.RemediationString, Text: text, Lang: r.Lang}
}

// solicit forces a decision (strongSwan's solicit_recommendation).
func (o *osIMV) solicit() {
	if !o.decided {
		if len(o.missing()) > 0 {
			o.finish(ResultError, NoAccess, "required OS attributes missing")
		} else {
			o.finish(DontKnow, NoRecommendation)
		}
	}
	o.sendAssessment()
}

func (o *osIMV) verdict() IMVVerdict { return o.v }
