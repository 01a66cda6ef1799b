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

// imcName is the IMC's name in logs ("IMC 1 "OS" ...").
const imcName = "OS"

// msgTypeOS is the PA message type the OS IMC sends and subscribes to:
// IETF / Operating System.
var msgTypeOS = abi.MsgType{Vendor: abi.PENIETF, Subtype: abi.SubtypeOS}

// OSIMC is strongSwan's imc-os as an imc.IMC: it pushes the operating
// system's facts in the first message of a handshake, answers Attribute
// Requests for them (and for the installed packages), and shows the
// assessment the OS IMV sends back. One instance serves one connection.
type OSIMC struct {
	h    imc.Host
	id   uint32
	info osInfo
	cfg  settings

	// contracts holds the segmentation contracts by IMV ID (the message
	// type is always IETF/Operating System); see TCG IF-M Segmentation §5.
	contracts map[uint32]*patnc.Contract
	// results keeps the last assessment result per IMV, for a
	// Remediation Instructions attribute that arrives without one.
	results map[uint32]patnc.AssessmentResultCode

	now   func() int64  // the guest clock in Unix seconds, replaced in tests
	msgID func() uint32 // PA-TNC message identifiers, random
}

// settings are the IMC's [[imc]] settings, read once in Initialize.
type settings struct {
	pushInfo     bool
	defaultPwd   bool
	deviceID     string
	deviceHandle uint32 // 0: not set
	maxMsgLen    uint32
}

// New returns an OS IMC; the host drives it through the imc.IMC methods.
func New() *OSIMC {
	return &OSIMC{
		contracts: map[uint32]*patnc.Contract{},
		results:   map[uint32]patnc.AssessmentResultCode{},
		now:       imc.UnixNow,
		msgID:     rand.Uint32,
	}
}

var _ imc.IMC = (*OSIMC)(nil)

func (o *OSIMC) logf(level abi.LogLevel, format string, args ...any) {
	if o.h == nil || level > o.h.LogLevel() {
		return
	}
	o.h.Log(level, fmtlite.Sprintf(format, args...))
}

// Initialize implements imc.IMC: it subscribes to IETF/Operating System,
// reads the settings and determines the OS name and version (strongSwan's
// imc_os_info_create). Without usable os-release data and without the
// os_name/os_version settings the IMC fails to initialise, as strongSwan's.
func (o *OSIMC) Initialize(h imc.Host, id uint32) error {
	o.h, o.id = h, id
	if err := h.Subscribe(msgTypeOS); err != nil {
		return fmtlite.Errorf("imc-os: subscribe: %w", err)
	}
	cfg, err := readSettings(h)
	if err != nil {
		return err
	}
	o.cfg = cfg
	o.logf(abi.LogInfo, "IMC %d \"%s\" initialized", id, imcName)

	name, okName := h.Config(settingOSName)
	version, okVersion := h.Config(settingOSVersion)
	if okName && okVersion && name != "" && version != "" {
		o.info = newOSInfoOverride(name, version)
	} else {
		data, err := h.OSRelease()
		if err != nil {
			o.logf(abi.LogError, "no distribution release file found")
			return fmtlite.Errorf("imc-os: os-release: %w", err)
		}
		facts, err := h.SystemFacts()
		if err != nil {
			o.logf(abi.LogError, "could not retrieve machine architecture")
			return fmtlite.Errorf("imc-os: system facts: %w", err)
		}
		o.logf(abi.LogInfo, "processing \"os-release\" file")
		if o.info, err = newOSInfo(data, facts.Arch); err != nil {
			o.logf(abi.LogError, "%v", err)
			return err
		}
	}
	o.logf(abi.LogInfo, "operating system type is '%s'", o.info.Type)
	o.logf(abi.LogInfo, "operating system name is '%s'", o.info.Name)
	o.logf(abi.LogInfo, "operating system version is '%s'", o.info.Version)
	return nil
}

// readSettings reads and checks the settings keys (README.md).
func readSettings(h imc.Host) (settings, error) {
	s := settings{pushInfo: true, maxMsgLen: defaultMaxMessageSize}
	var err error
	if v, ok := h.Config(settingPushInfo); ok {
		if s.pushInfo, err = parseBool(v); err != nil {
			return s, fmtlite.Errorf("imc-os: setting %s: %w", settingPushInfo, err)
		}
	}
	if v, ok := h.Config(settingDefaultPassword); ok {
		if s.defaultPwd, err = parseBool(v); err != nil {
			return s, fmtlite.Errorf("imc-os: setting %s: %w", settingDefaultPassword, err)
		}
	}
	if v, ok := h.Config(settingDeviceID); ok {
		if v != "" && !validDeviceID(v) {
			return s, fmtlite.Errorf("imc-os: setting %s contains a NUL byte", settingDeviceID)
		}
		s.deviceID = v
	}
	if v, ok := h.Config(settingDeviceHandle); ok && v != "" {
		if s.deviceHandle, err = parseHandle(v); err != nil {
			return s, err
		}
	}
	if v, ok := h.Config(settingMaxMessageSize); ok && v != "" {
		n, err := strconv.ParseUint(v, 0, 32)
		// room for the PA-TNC header, an envelope and a contract response
		if err != nil || n < 64 || n > abi.MaxMessageLen {
			return s, fmtlite.Errorf("imc-os: setting %s: %q is not a size in 64..%d", settingMaxMessageSize, v, abi.MaxMessageLen)
		}
		s.maxMsgLen = uint32(n)
	}
	return s, nil
}

// ConnectionChange implements imc.IMC. A created connection starts without
// contracts or results.
func (o *OSIMC) ConnectionChange(conn imc.ConnID, state abi.ConnState) error {
	if state == abi.ConnCreate {
		o.contracts = map[uint32]*patnc.Contract{}
		o.results = map[uint32]patnc.AssessmentResultCode{}
	}
	return nil
}

// BeginHandshake implements imc.IMC: unless push_info is off, it sends the
// seven attributes of strongSwan's first OS message, in strongSwan's order,
// unsolicited (validator 0xFFFF, EXCL clear).
func (o *OSIMC) BeginHandshake(conn imc.ConnID) error {
	if !o.ready() {
		return errNotInitialized
	}
	if !o.cfg.pushInfo {
		return nil
	}
	c := o.collector()
	attrs := []patnc.Attr{
		c.productInfo(),
		c.stringVersion(),
		c.numericVersion(),
		c.opStatus(),
		c.forwardingEnabled(),
		c.defaultPwdEnabled(),
	}
	if a := c.deviceID(); a != nil {
		attrs = append(attrs, a)
	}
	return o.send(conn, abi.IDAny, false, attrs)
}

// errNotInitialized is returned by calls that need a successful Initialize.
var errNotInitialized = errors.New(`imc-os: IMC "OS" has not been initialized`)

// ready reports whether Initialize succeeded.
func (o *OSIMC) ready() bool { return o.h != nil && o.info.Name != "" }

// BatchEnding implements imc.IMC.
func (o *OSIMC) BatchEnding(conn imc.ConnID) error { return nil }

// Terminate implements imc.IMC.
func (o *OSIMC) Terminate() error { return nil }

// Receive implements imc.IMC (strongSwan's imc_msg receive followed by
// imc_os's receive_message): it answers a malformed message with a PA-TNC
// Error, handles segmentation, logs and reports an assessment, and answers
// Attribute Requests. Every reply goes EXCL to the IMV that sent msg.
func (o *OSIMC) Receive(conn imc.ConnID, msg imc.Message) error {
	if !o.ready() {
		return errNotInitialized
	}
	imv := msg.Validator
	// The host has said "IMC n "OS" received message for Connection ID".
	m, err := patnc.ParseMessage(msg.Body)
	if err != nil {
		var perr *patnc.Error
		if !errors.As(err, &perr) {
			return fmtlite.Errorf("imc-os: %w", err)
		}
		o.logf(abi.LogInfo, "%v", perr)
		return o.send(conn, imv, true, []patnc.Attr{perr.ErrorAttr()})
	}
	// strongSwan's levels: the message DBG1, its attributes DBG2, [TNC].
	o.logf(abi.LogInfo, "[TNC] processing PA-TNC message with ID 0x%08x", m.ID)
	for _, a := range m.Attrs {
		o.logf(abi.LogDebug, "[TNC] processing PA-TNC attribute type %s", a.Type())
	}

	var out []patnc.Attr
	attrs := o.segmentation(imv, m.Attrs, &out)
	o.assessment(msg, attrs)

	var c *collector
	fatal := false
	for _, a := range attrs {
		switch a := a.(type) {
		case *patnc.PATNCError:
			// strongSwan's process_ietf_std_errors: an IETF error is fatal
			// for the IMC's answer to this message.
			o.logf(abi.LogInfo, "received PA-TNC error: %s", a)
			fatal = fatal || a.Vendor == abi.PENIETF
		case *patnc.AttrRequest:
			if c == nil {
				c = o.collector()
			}
			out = append(out, c.requested(a.Types)...)
		case *patnc.ITAGetSettings:
			// The module cannot read files; strongSwan answers only for
			// paths under /etc, /proc, /sys and /var.
			o.logf(abi.LogInfo, "ITA Get Settings is not supported, ignored")
		}
	}
	if fatal {
		o.logf(abi.LogInfo, "fatal PA-TNC error received, no answer sent")
		return nil
	}
	if len(out) == 0 {
		return nil
	}
	return o.send(conn, imv, true, out)
}

// assessment logs the IMV's Assessment Result and Remediation Instructions
// in strongSwan's words and hands them to the host for the user.
func (o *OSIMC) assessment(msg imc.Message, attrs []patnc.Attr) {
	imv := msg.Validator
	target := o.id
	if msg.Collector != abi.IDAny {
		target = msg.Collector
	}
	first := true
	header := func() {
		if !first {
			return
		}
		first = false
		if imv == abi.IDAny {
			o.logf(abi.LogInfo, "***** assessment of IMC %d \"%s\" *****", target, imcName)
		} else {
			o.logf(abi.LogInfo, "***** assessment of IMC %d \"%s\" from IMV %d *****", target, imcName, imv)
		}
	}
	var rep abi.Report
	rep.Validator = imv
	seen := false
	for _, a := range attrs {
		switch a := a.(type) {
		case *patnc.AssessmentResult:
			header()
			o.results[imv] = a.Result
			o.logf(abi.LogInfo, "assessment result is '%s'", a.Result.String())
			seen = true
		case *patnc.RemediationInstructions:
			header()
			text, lang := o.remediation(a)
			if rep.Remediation != "" {
				rep.Remediation += "\n"
			}
			rep.Remediation += text
			if rep.Language == "" {
				rep.Language = lang
			}
			seen = true
		}
	}
	if first {
		return
	}
	o.logf(abi.LogInfo, "***** end of assessment *****")
	if !seen {
		return
	}
	res, ok := o.results[imv]
	if !ok {
		res = patnc.ResultDontKnow
	}
	rep.Result = uint32(res)
	if err := o.h.Report(rep); err != nil {
		o.logf(abi.LogError, "could not report the assessment: %v", err)
	}
}

// send packs attrs into PA-TNC messages of at most the maximum message size
// (strongSwan's imc_msg send): with a segmentation contract for imv the
// contract splits them and envelopes oversized ones; without one an
// attribute too large for an empty message is dropped.
func (o *OSIMC) send(conn imc.ConnID, imv uint32, excl bool, attrs []patnc.Attr) error {
	msgs, err := o.split(imv, attrs)
	if err != nil {
		return fmtlite.Errorf("imc-os: %w", err)
	}
	for _, as := range msgs {
		m := patnc.Message{ID: o.msgID(), Attrs: as}
		o.logf(abi.LogInfo, "[TNC] creating PA-TNC message with ID 0x%08x", m.ID)
		for _, a := range as {
			o.logf(abi.LogDebug, "[TNC] creating PA-TNC attribute type %s", a.Type())
		}
		body, err := m.Marshal()
		if err != nil {
			return fmtlite.Errorf("imc-os: %w", err)
		}
		err = o.h.Send(conn, imc.Message{Type: msgTypeOS, Validator: imv, Exclusive: excl && imv != abi.IDAny, Body: body})
		if err != nil {
			return fmtlite.Errorf("imc-os: send: %w", err)
		}
	}
	return nil
}

// remediation logs one Remediation Instructions attribute as strongSwan
// does (the text line by line) and returns its text and language.
func (o *OSIMC) remediation(a *patnc.RemediationInstructions) (text, lang string) {
	switch {
	case a.ParamsVendor == abi.PENIETF && a.ParamsType == patnc.RemediationURI:
		o.logf(abi.LogInfo, "remediation uri: %s", a.URI)
		return a.URI, ""
	case a.ParamsVendor == abi.PENIETF && a.ParamsType == patnc.RemediationString:
		o.logf(abi.LogInfo, "remediation string: [%s]", a.Lang)
		for _, line := range strings.Split(a.Text, "\n") {
			o.logf(abi.LogInfo, "%s", line)
		}
		return a.Text, a.Lang
	}
	o.logf(abi.LogInfo, "remediation parameters: %x", a.Params)
	return fmtlite.Sprintf("%x", a.Params), ""
}
