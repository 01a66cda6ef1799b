package host

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/capability"
	"github.com/imchost/imchost/tnccs"
)

// TestHostileLanes: a module with the send, log and report grants tries
// to leave its lane (testdata/hostile/lanes): speak another collector's PA
// subtypes, send malformed PA-TNC, queue 2000 × 60 KB, flood the log, log at
// level 99 and report an assessment no IMV made. Each attempt is refused
// with a status and a log line, nothing of it reaches the wire, and the
// IMCs next to it are untouched; a module whose pa_send grants IETF/OS
// sends on it.
func TestHostileLanes(t *testing.T) {
	h, logs := newTestHost(t,
		IMCConfig{Name: "Hello", Path: modPath("hello"), Grants: helloGrants},                   // 1
		IMCConfig{Name: "lanes", Path: modPath("lanes"), Grants: append(helloGrants, "report")}, // 2
		IMCConfig{Name: "granted", Path: modPath("lanes"), Grants: append(helloGrants, "report"), Settings: Settings{"mode": "os"},
			PASend: []string{"ietf/os"}}, // 3
	)
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		t.Fatal(err)
	}
	var s sink
	c, err := h.OpenConn(ctx, 1, s.send)
	if err != nil {
		t.Fatal(err)
	}
	c.ChangeState(ctx, abi.ConnCreate)
	c.BeginHandshake(ctx)
	sent := s.take()
	c.Close(ctx)

	var report string
	own, bytes := 0, 0
	for _, m := range sent {
		bytes += len(m.Body)
		if err := capability.CheckPATNC(m.Body); err != nil {
			t.Errorf("a malformed PA message left the host: IMC %d, %v", m.Collector, err)
		}
		switch {
		case m.Collector == 2 && m.Vendor == 32473 && m.Subtype == 3:
			own++
			if i := strings.Index(string(m.Body), "ietf_os="); i >= 0 {
				report = string(m.Body[i:])
			}
		case m.Collector == 2:
			t.Errorf("IMC 2 sent PA type %d/%d outside its lane", m.Vendor, m.Subtype)
		case m.Collector == 3 && (m.Vendor != 0 || m.Subtype != 1):
			t.Errorf("IMC 3 sent PA type %d/%d", m.Vendor, m.Subtype)
		}
	}
	got := map[string]string{}
	for _, l := range strings.Split(report, "\n") {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	st := func(s abi.Status) string { return "status " + strconv.Itoa(int(s)) }
	for k, want := range map[string]string{
		"ietf_os":       st(abi.StatusDenied),
		"tcg_pts":       st(abi.StatusDenied),
		"short_body":    st(abi.StatusInvalid),
		"attr_length":   st(abi.StatusInvalid),
		"flood_refused": st(abi.StatusExhausted),
		"log_flood":     strconv.Itoa(int(abi.StatusExhausted)),
		"log_level_99":  strconv.Itoa(int(abi.StatusInvalid)),
		"report":        st(abi.StatusDenied),
	} {
		if got[k] != want {
			t.Errorf("%s: the module got %q, want %q", k, got[k], want)
		}
	}
	// The flood: what one module may queue before the next batch is
	// roundBudgetBatches batch limits.
	budget, _ := capability.SendBudget(0)
	if n, _ := strconv.Atoi(got["flood_accepted"]); n < 1 || n*60000 > budget {
		t.Errorf("%s of 2000 60 KB messages queued, the budget is %d bytes", got["flood_accepted"], budget)
	}
	if bytes > budget+1<<20 {
		t.Errorf("%d PA bytes queued on the connection", bytes)
	}
	if !hasGreeting(sent, 1) {
		t.Error("Hello's greeting is missing")
	}
	granted := 0
	for _, m := range sent {
		if m.Collector == 3 && m.Vendor == 0 && m.Subtype == 1 && strings.Contains(string(m.Body), "Granted OS") {
			granted++
		}
	}
	if granted != 1 {
		t.Errorf("the IMC whose pa_send grants IETF/OS sent %d such messages, want 1", granted)
	}
	if r := h.Reports(1); len(r) != 0 {
		t.Errorf("forged reports kept for the summary: %+v", r)
	}

	l := logs.String()
	for _, want := range []string{
		`IMC 2 "lanes" send refused on Connection ID 1: PA message type 'IETF/Operating System' 0x000000/0x00000001 is outside its lane`,
		`IMC 2 "lanes" send refused on Connection ID 1: PA message type 'TCG/PTS' 0x005597/0x00000001 is outside its lane`,
		`IMC 2 "lanes" send refused on Connection ID 1: malformed PA message type`,
		`PA-TNC message of 3 bytes is shorter than its 8-byte header`,
		`has length 4294967295`,
		`exceeds its send budget`,
		`IMC 2 "lanes" logs too much`,
		`log lines suppressed on Connection ID 1`,
		`IMC 2 "lanes" reported result 0 from IMV 1, refused: IMV 1 sent this IMC no assessment on this connection`,
	} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if n := strings.Count(l, "logs too much"); n != 1 {
		t.Errorf("the log suppression was announced %d times", n)
	}
	// 100,000 lines logged: a burst and what the rate refills while the
	// call runs pass, the rest is suppressed.
	if n := strings.Count(l, "forged line"); n < 1 || n > capability.MaxLogLines {
		t.Errorf("%d of the module's 100,000 log lines were logged", n)
	}
	if strings.ContainsAny(l, "\x1b") || strings.Contains(l, "\n[TNC] forged") {
		t.Error("the module's log text reached the log raw")
	}
}

func hasGreeting(msgs []tnccs.PAMessage, collector uint16) bool {
	for _, m := range msgs {
		if isGreeting(m, collector) {
			return true
		}
	}
	return false
}

// TestPALaneConfig: pa_send and pa_receive entries, and refused ones.
func TestPALaneConfig(t *testing.T) {
	for in, want := range map[string]abi.MsgType{
		"ietf/os": {Vendor: 0, Subtype: 1}, "TCG/PTS": {Vendor: abi.PENTCG, Subtype: 1},
		"32473/3": {Vendor: 32473, Subtype: 3}, "0x005597/*": {Vendor: abi.PENTCG, Subtype: abi.SubtypeAny},
		"*": {Vendor: abi.VendorAny, Subtype: abi.SubtypeAny},
	} {
		if got, err := ParsePAType(in); err != nil || got != want {
			t.Errorf("ParsePAType(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"os", "ietf/256", "0x1000000/1", "ietf/-1", ""} {
		if _, err := ParsePAType(bad); err == nil {
			t.Errorf("ParsePAType(%q) accepted", bad)
		}
	}
	c := &Config{IMCs: []IMCConfig{{Name: "A", Path: "a.wasm", PASend: []string{"ietf/os", "nonsense"}}}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `IMC "A": PA type "nonsense"`) {
		t.Errorf("Validate: %v", err)
	}
}

// TestReceiveLane: pa_receive narrows what a subscribed module receives.
func TestReceiveLane(t *testing.T) {
	h, _ := newTestHost(t,
		IMCConfig{Name: "Hello", Path: modPath("hello"), Grants: helloGrants, PAReceive: []string{"ietf/os"}})
	ctx := context.Background()
	if err := h.LoadIMCs(ctx); err != nil {
		t.Fatal(err)
	}
	var s sink
	c, _ := h.OpenConn(ctx, 1, s.send)
	defer c.Close(ctx)
	c.Receive(ctx, helloMsg(1))
	if got := s.take(); len(got) != 0 {
		t.Errorf("a message outside pa_receive was delivered: %+v", got)
	}
}

// TestFilesAllowlistConfig: a files allowlist entry that is not absolute
// and clean is refused in config.toml.
func TestFilesAllowlistConfig(t *testing.T) {
	cfg := &Config{IMCs: []IMCConfig{{Name: "A", Path: "a.wasm", Files: []string{"etc/ssh"}}}}
	if err := cfg.Validate(); err == nil {
		t.Error("a relative files entry was accepted")
	}
}
