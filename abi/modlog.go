package abi

import (
	"bufio"
	"crypto"
	"errors"
	"io"
	"strconv"
	"strings"
)

// The module measurement log (host/measure.go writes it, a verifier
// replays it against the module PCR): text, one event per line,
//
//	<pcr> <sha256 of the event, hex> <event>
//
// an event being
//
//	imchost-module v1 imc=<id> name=<Go-quoted name> sha256=<file sha256> signer=<key ID or -> abi=<n> grants=<a,b,...>
//
// The PCR is extended, in each bank, with the event's hash in that bank's
// algorithm.

// ModuleMeasurement is one module version measured into the module PCR.
type ModuleMeasurement struct {
	PCR    int
	IMCID  uint32
	Name   string
	SHA256 string // the module file's sha256, hex
	Signer string // key ID of its signer, "" unsigned
	ABI    int
	Grants []string
}

// Event is the measured event: the bytes whose hash extends the PCR.
func (m ModuleMeasurement) Event() string {
	signer := m.Signer
	if signer == "" {
		signer = "-"
	}
	return "imchost-module v1 imc=" + utoa(uint64(m.IMCID)) + " name=" + strconv.Quote(m.Name) +
		" sha256=" + m.SHA256 + " signer=" + signer + " abi=" + itoa(m.ABI) + " grants=" + strings.Join(m.Grants, ",")
}

// maxModuleLog bounds a module measurement log read back (a line per
// module load since boot).
const maxModuleLog = 4 << 20

// ParseModuleLog reads a module measurement log.
func ParseModuleLog(r io.Reader) ([]ModuleMeasurement, error) {
	var out []ModuleMeasurement
	sc := bufio.NewScanner(io.LimitReader(r, maxModuleLog+1))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		m, err := parseModuleLine(sc.Text())
		if err != nil {
			return nil, &wrapError{"module log line " + itoa(n) + ": " + err.Error(), err}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

func parseModuleLine(line string) (ModuleMeasurement, error) {
	var m ModuleMeasurement
	pcr, rest, ok1 := strings.Cut(line, " ")
	sum, ev, ok2 := strings.Cut(rest, " ")
	p, err := strconv.Atoi(pcr)
	if !ok1 || !ok2 || err != nil || p < 0 || p > 23 {
		return m, errors.New("want '<pcr> <sha256> <event>'")
	}
	m.PCR = p
	const head = "imchost-module v1 imc="
	if !strings.HasPrefix(ev, head) {
		return m, errors.New("not an imchost-module v1 event")
	}
	f := ev[len(head):]
	id, f, _ := strings.Cut(f, " name=")
	v, err := strconv.ParseUint(id, 10, 16)
	if err != nil {
		return m, errors.New("imc: " + err.Error())
	}
	m.IMCID = uint32(v)
	q, err := strconv.QuotedPrefix(f)
	if err != nil {
		return m, errors.New("name: " + err.Error())
	}
	m.Name, _ = strconv.Unquote(q)
	f = f[len(q):]
	fields := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(f, " "), " ") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return m, errors.New("field " + strconv.Quote(kv) + ": want key=value")
		}
		fields[k] = v
	}
	m.SHA256 = fields["sha256"]
	if s := fields["signer"]; s != "-" {
		m.Signer = s
	}
	if m.ABI, err = strconv.Atoi(fields["abi"]); err != nil {
		return m, errors.New("abi: " + err.Error())
	}
	if g := fields["grants"]; g != "" {
		m.Grants = strings.Split(g, ",")
	}
	if !isHex(m.SHA256, 32) {
		return m, errors.New("sha256: want 64 hex digits")
	}
	if m.Event() != ev {
		return m, errors.New("event not in canonical form")
	}
	d := crypto.SHA256.New()
	d.Write([]byte(ev))
	if hexString(d.Sum(nil)) != sum {
		return m, errors.New("the event's sha256 does not match")
	}
	return m, nil
}

// ReplayModuleLog returns the value the events of log for pcr leave in
// that PCR of a bank with hash h, starting from zeros (the PCR's value at
// boot).
func ReplayModuleLog(log []ModuleMeasurement, pcr int, h crypto.Hash) []byte {
	v := make([]byte, h.Size())
	for _, m := range log {
		if m.PCR != pcr {
			continue
		}
		e := h.New()
		e.Write([]byte(m.Event()))
		x := h.New()
		x.Write(v)
		x.Write(e.Sum(nil))
		v = x.Sum(nil)
	}
	return v
}
