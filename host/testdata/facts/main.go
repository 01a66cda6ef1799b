// Command facts calls every non-TPM host function from BeginHandshake and
// sends one message per result ("name=value"), so host tests can check the
// wasm path of each function: input encoding, result decoding, and
// result_take when a result exceeds the SDK's 4096-byte buffer (os_release
// of the fixture is larger).
package main

import (
	"strconv"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/imc"
)

var typ = abi.MsgType{Vendor: 32473, Subtype: 2}

type facts struct{ h imc.Host }

func (m *facts) Initialize(h imc.Host, _ uint32) error {
	m.h = h
	return h.Subscribe(typ)
}

func (m *facts) ConnectionChange(imc.ConnID, abi.ConnState) error { return nil }

func (m *facts) BeginHandshake(conn imc.ConnID) error {
	out := func(name, v string, err error) {
		if err != nil {
			v = "error " + err.Error()
		}
		m.h.Send(conn, imc.Message{Type: typ, Validator: abi.IDAny, Body: pa(name + "=" + v)})
	}
	osr, err := m.h.OSRelease()
	out("os_release_len", strconv.Itoa(len(osr)), err)
	sf, err := m.h.SystemFacts()
	out("system_facts", strconv.FormatInt(sf.BootTime, 10)+" "+strconv.FormatBool(sf.IPv4Forwarding)+" "+
		strconv.FormatBool(sf.IPv6Forwarding)+" "+sf.MachineID, err)
	pkgs, err := m.h.Packages()
	s := ""
	for _, p := range pkgs {
		s += p.Name + ":" + p.Version + " "
	}
	out("packages", s, err)
	links, err := m.h.Symlinks("/")
	s = ""
	for _, l := range links {
		s += l.Path + "->" + l.Target + " "
	}
	out("symlinks", strconv.Itoa(len(links))+" "+s, err)
	d, err := m.h.Hash(abi.AlgSHA1, []byte("abc"))
	out("hash", hexs(d), err)
	r, err := m.h.Random(16)
	out("random_len", strconv.Itoa(len(r)), err)
	dh, err := m.h.DHCreate(19)
	out("dh_public_len", strconv.Itoa(len(dh.Public)), err)
	v, ok := m.h.Config("k")
	out("config", v+" "+strconv.FormatBool(ok), nil)
	_, ok = m.h.Config("missing")
	out("config_missing", strconv.FormatBool(ok), nil)
	out("report", "", m.h.Report(abi.Report{Validator: 1, Result: 4, Remediation: "fix it", Language: "en"}))
	_, err = m.h.TPMBanks()
	out("tpm_banks", "", err)
	out("subscribe_late", "", m.h.Subscribe(typ))
	return nil
}

// pa wraps text in a PA-TNC message (RFC 5792: version 1, message ID 0)
// of one attribute (vendor 32473, type 1): the host sends only well-formed
// PA-TNC messages.
func pa(text string) []byte {
	n := 12 + len(text)
	b := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7e, 0xd9, 0, 0, 0, 1, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	return append(b, text...)
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

func (m *facts) Receive(imc.ConnID, imc.Message) error { return nil }
func (m *facts) BatchEnding(imc.ConnID) error          { return nil }
func (m *facts) Terminate() error                      { return nil }

func init() { imc.Run(&facts{}) }

func main() {}
