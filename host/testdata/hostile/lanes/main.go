// Command lanes is a hostile IMC that tries to leave its lane. Its own PA
// type is 32473/3; the "mode" setting picks what it does in
// BeginHandshake:
//
//   - "all" (the default): speak IETF/Operating System and TCG/PTS
//     without subscribing to them, send a 3-byte PA body and an attribute
//     of length 0xffffffff, queue 2000 well-formed 60 KB messages, log
//     100,000 lines and one at level 99, and report a compliant result
//     from IMV 1, which never assessed it; then send one message of its own
//     type saying what each attempt returned ("name=result" lines).
//   - "forge": send one IETF/Operating System message saying IP forwarding
//     is disabled and naming an "Evil Vendor OS", and report itself
//     compliant from IMV 1 at every batch end: a vendor module forging
//     the OS collector's posture.
//   - "os": send one IETF/Operating System message with the product
//     name "Granted OS" (for a configuration whose pa_send grants it).
package main

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
	"github.com/imchost/imchost/sdk/patnc"
)

//go:wasmimport imchost log
func hostLog(level int32, ptr, n uint32) int32

var (
	own    = abi.MsgType{Vendor: 32473, Subtype: 3}
	ietfOS = abi.MsgType{Vendor: 0, Subtype: 1}
	tcgPTS = abi.MsgType{Vendor: 0x5597, Subtype: 1}
)

type lanes struct {
	h    imc.Host
	mode string
}

func (m *lanes) Initialize(h imc.Host, _ uint32) error {
	m.h, m.mode = h, "all"
	if v, ok := h.Config("mode"); ok {
		m.mode = v
	}
	return h.Subscribe(own)
}

func (m *lanes) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }

// result names what a host call returned: "ok" or the SDK's status text.
func result(err error) string {
	if err == nil {
		return "ok"
	}
	if se, ok := err.(*imc.StatusError); ok {
		return "status " + strconv.Itoa(int(se.Status))
	}
	return err.Error()
}

func osMessage(product string, forwarding patnc.ForwardingStatus) []byte {
	b, _ := (&patnc.Message{ID: 7, Attrs: []patnc.Attr{
		&patnc.ProductInfo{VendorID: 0, Name: product},
		&patnc.ForwardingEnabled{Status: forwarding},
	}}).Marshal()
	return b
}

func (m *lanes) BeginHandshake(conn imc.ConnID) error {
	switch m.mode {
	case "forge":
		return m.h.Send(conn, imc.Message{Type: ietfOS, Validator: abi.IDAny, Body: osMessage("Evil Vendor OS", patnc.ForwardingStatusDisabled)})
	case "os":
		return m.h.Send(conn, imc.Message{Type: ietfOS, Validator: abi.IDAny, Body: osMessage("Granted OS", patnc.ForwardingStatusDisabled)})
	}
	var out []string
	say := func(name string, v string) { out = append(out, name+"="+v) }
	valid := osMessage("Evil Vendor OS", patnc.ForwardingStatusDisabled)
	say("ietf_os", result(m.h.Send(conn, imc.Message{Type: ietfOS, Validator: 1, Exclusive: true, Body: valid})))
	say("tcg_pts", result(m.h.Send(conn, imc.Message{Type: tcgPTS, Validator: 2, Exclusive: true, Body: valid})))
	say("short_body", result(m.h.Send(conn, imc.Message{Type: own, Validator: abi.IDAny, Body: []byte{1, 0, 0}})))
	huge := append([]byte{1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x7e, 0xd9, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}, "x"...)
	say("attr_length", result(m.h.Send(conn, imc.Message{Type: own, Validator: abi.IDAny, Body: huge})))
	big := make([]byte, 60000)
	copy(big, []byte{1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0x7e, 0xd9, 0, 0, 0, 2, 0, 0, 0xea, 0x58})
	accepted, last := 0, "ok"
	for range 2000 {
		err := m.h.Send(conn, imc.Message{Type: own, Validator: abi.IDAny, Body: big})
		if err != nil {
			last = result(err)
			continue
		}
		accepted++
	}
	say("flood_accepted", strconv.Itoa(accepted))
	say("flood_refused", last)
	line := []byte("\x1b[2J\x1b[31moverall: compliant, Access Allowed\n[TNC] forged line")
	floodStatus := int32(0)
	for range 100000 {
		if st := hostLog(int32(abi.LogError), uint32(uintptr(unsafe.Pointer(&line[0]))), uint32(len(line))); st != 0 {
			floodStatus = st
		}
	}
	say("log_flood", strconv.Itoa(int(floodStatus)))
	say("log_level_99", strconv.Itoa(int(hostLog(99, uint32(uintptr(unsafe.Pointer(&line[0]))), uint32(len(line))))))
	say("report", result(m.h.Report(abi.Report{Validator: 1, Result: 0})))
	body, _ := (&patnc.Message{ID: 9, Attrs: []patnc.Attr{
		&patnc.Unknown{T: patnc.Type{Vendor: 32473, Type: 3}, Value: []byte(strings.Join(out, "\n"))},
	}}).Marshal()
	return m.h.Send(conn, imc.Message{Type: own, Validator: abi.IDAny, Body: body})
}

func (m *lanes) Receive(imc.ConnID, imc.Message) error { return nil }

func (m *lanes) BatchEnding(imc.ConnID) error {
	if m.mode == "forge" {
		m.h.Report(abi.Report{Validator: 1, Result: 0})
	}
	return nil
}

func (m *lanes) Terminate() error { return nil }

func init() { imc.Run(&lanes{}) }

func main() {}
