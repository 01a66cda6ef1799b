package host

import (
	"bufio"
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/imchost/imchost/abi"
)

// Module measurements. With [tpm] module_pcr set, the host extends every
// module version it puts in service (at load and at each reload) into that
// PCR, in every allocated bank, before any connection uses it, and appends
// the event to a measurement log (a file in /run by default, so it starts
// empty with the PCR at boot), IMA's way: a verifier replays the log and
// compares with the quoted PCR, so the set of modules that ran since boot
// is covered by the TPM's signature.
//
// The log is text, one event per line:
//
//	<pcr> <sha256 of the event, hex> <event>
//
// and an event is
//
//	imchost-module v1 imc=<id> name=<Go-quoted name> sha256=<file sha256> signer=<key ID or -> abi=<n> grants=<a,b,...>
//
// The PCR is extended with the event's hash in each bank's algorithm.
// Several hosts on one machine share the PCR and the log; an exclusive lock
// on the log file makes each append and its extend one step.

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
	return fmt.Sprintf("imchost-module v1 imc=%d name=%s sha256=%s signer=%s abi=%d grants=%s",
		m.IMCID, strconv.Quote(m.Name), m.SHA256, signer, m.ABI, strings.Join(m.Grants, ","))
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
			return nil, fmt.Errorf("module log line %d: %w", n, err)
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
		return m, fmt.Errorf("imc: %v", err)
	}
	m.IMCID = uint32(v)
	q, err := strconv.QuotedPrefix(f)
	if err != nil {
		return m, fmt.Errorf("name: %v", err)
	}
	m.Name, _ = strconv.Unquote(q)
	f = f[len(q):]
	fields := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(f, " "), " ") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return m, fmt.Errorf("field %q: want key=value", kv)
		}
		fields[k] = v
	}
	m.SHA256 = fields["sha256"]
	if s := fields["signer"]; s != "-" {
		m.Signer = s
	}
	if m.ABI, err = strconv.Atoi(fields["abi"]); err != nil {
		return m, fmt.Errorf("abi: %v", err)
	}
	if g := fields["grants"]; g != "" {
		m.Grants = strings.Split(g, ",")
	}
	if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 {
		return m, errors.New("sha256: want 64 hex digits")
	}
	if m.Event() != ev {
		return m, errors.New("event not in canonical form")
	}
	d := crypto.SHA256.New()
	d.Write([]byte(ev))
	if hex.EncodeToString(d.Sum(nil)) != sum {
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

// moduleMeasurer is what a Platform's TPM offers to measure modules.
type moduleMeasurer interface {
	measureModule(pcr int, logPath string, event string) error
}

// measureModule appends the event to the log and extends it into pcr in
// every allocated bank, under an exclusive lock on the log. An extend that
// fails takes the line back out, so the log keeps matching the PCR.
func (p *tpmPlatform) measureModule(pcr int, logPath string, event string) error {
	banks, err := p.t.AllocatedBanks()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(logPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	sum := crypto.SHA256.New()
	sum.Write([]byte(event))
	if _, err := fmt.Fprintf(f, "%d %x %s\n", pcr, sum.Sum(nil), event); err != nil {
		_ = f.Truncate(end)
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Truncate(end)
		return err
	}
	for _, b := range banks {
		h := b.Hash()
		if h == 0 || !h.Available() {
			continue // a bank Go has no hash for stays as it is
		}
		d := h.New()
		d.Write([]byte(event))
		if err := p.t.ExtendPCR(b, pcr, d.Sum(nil)); err != nil {
			_ = f.Truncate(end)
			return err
		}
	}
	return nil
}

// measure extends a version about to serve into the module PCR, when one
// is configured. Without a TPM that can do it, the version is refused: a
// verifier would otherwise see modules that are not in the PCR.
func (h *Host) measure(ctx context.Context, v *version) error {
	pcr := v.full.TPM.ModulePCR
	if pcr == 0 {
		return nil
	}
	mm, ok := h.opts.Platform.TPM.(moduleMeasurer)
	if !ok {
		return fmt.Errorf("[tpm] module_pcr %d is set, but there is no TPM to measure the module into", pcr)
	}
	m := ModuleMeasurement{PCR: pcr, IMCID: v.m.id, Name: v.m.name, SHA256: v.sha, Signer: v.signer,
		ABI: abi.Version, Grants: slices.Sorted(slices.Values(v.cfg.Grants))}
	if err := mm.measureModule(pcr, v.full.moduleLog(), m.Event()); err != nil {
		return fmt.Errorf("measuring the module into PCR %d: %w", pcr, err)
	}
	h.wlog.Info(fmt.Sprintf("IMC %d \"%s\" measured into PCR %d (sha256 %s)", v.m.id, v.m.name, pcr, v.sha[:16]))
	return nil
}

// ModuleLog reads the module measurement log of the configuration ([tpm]
// module_log), for `imchost imc list` and tests.
func (h *Host) ModuleLog() ([]ModuleMeasurement, error) {
	f, err := os.Open(h.cfg.Load().moduleLog())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseModuleLog(f)
}

// moduleLog is the module measurement log's path.
func (c *Config) moduleLog() string {
	if c.TPM.ModuleLog != "" {
		return c.TPM.ModuleLog
	}
	return DefaultModuleLog
}

// checkModulePCR says what is wrong with a [tpm] module_pcr value.
func checkModulePCR(pcr int) error {
	switch {
	case pcr == 0:
		return nil
	case pcr < 8 || pcr > 22:
		return fmt.Errorf("[tpm] module_pcr %d: want 8 to 22 (0 to 7 are the firmware's, 23 anyone may reset)", pcr)
	case pcr == 10:
		return fmt.Errorf("[tpm] module_pcr 10 is IMA's")
	case pcr == 16:
		return fmt.Errorf("[tpm] module_pcr 16 is the debug PCR, which anyone may reset")
	}
	return nil
}
