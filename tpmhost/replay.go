package tpmhost

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/hashicorp/go-hclog"
)

// Replay is the result of extending an event log's digests of one bank into
// shadow PCRs, as the PTS verifier does (TPM 2.0 Part 1 §17, the PCR
// extend rule; PFP §10.4.5.3 for the locality seed of PCR 0).
//
// The replayed PCRs are every PCR an event extended, plus PCR 0 if seeded
// non-zero. Read them with PCR, Value, Indices and LastEvent. A Replay
// keeps the platform's PCRs 0..23 in a flat array selected by a bitmask
// (no map: a short log's replay is one allocation); an index beyond them,
// which only a broken or hostile log names, goes to a map.
type Replay struct {
	Bank     Alg
	Locality uint8 // PCR 0's starting value (its last byte)
	Skipped  []int // Seq of events that carry no digest of Bank

	size uint8  // Bank's digest size
	have uint32 // bit p: PCR p (< fastPCRs) is in the replay
	ext  uint32 // bit p: an event extended PCR p (< fastPCRs)
	last [fastPCRs]int32
	vals []byte             // the values of have's PCRs, ascending, size bytes each; nil: in inline
	high map[int]replayHigh // PCRs ≥ fastPCRs

	inline [replayInline]byte // the values, for a replay of a few PCRs
}

// replayHigh is a PCR of index fastPCRs or more: its value and the Seq of
// the last event extended into it.
type replayHigh struct {
	val  []byte
	last int
}

// replayInline is the room a Replay has for its PCR values before it
// allocates a buffer: three SHA-1 PCRs, two SHA-256 ones.
const replayInline = 64

// Replay replays bank with PCR 0 seeded from the log's StartupLocality event
// (0 without one).
func (l *EventLog) Replay(bank Alg) (*Replay, error) {
	loc, _ := l.StartupLocality()
	return l.ReplayLocality(bank, loc)
}

// ReplayAll replays every bank of the log, in the order of l.Banks.
func (l *EventLog) ReplayAll() ([]*Replay, error) {
	var out []*Replay
	for _, b := range l.Banks {
		r, err := l.Replay(b)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ReplayLocality replays bank with PCR 0 seeded by locality (last byte). Every
// event except EV_NO_ACTION is extended: PCR = H(PCR || digest).
func (l *EventLog) ReplayLocality(bank Alg, locality uint8) (*Replay, error) {
	h := bank.Hash()
	if h == 0 || !h.Available() {
		return nil, fmt.Errorf("tpmhost: cannot replay bank %s: hash not available", bank)
	}
	if len(l.Events) > math.MaxInt32 {
		return nil, fmt.Errorf("tpmhost: cannot replay %d events (at most %d)", len(l.Events), math.MaxInt32)
	}
	size := h.Size()
	// The platform's PCRs (0..23, a few more on some TPMs) live in one
	// buffer, a slot for each PCR the log extends (found by a first pass
	// over the events, which costs little next to the hashing), and are
	// extended in place; PCR p's slot is the number of slots below it. An
	// index beyond them, which only a broken or hostile log names, goes to
	// a map. A replay of a few PCRs keeps them in the Replay itself.
	r := &Replay{Bank: bank, Locality: locality, size: uint8(size)}
	var (
		other   map[uint32][]byte
		olast   map[uint32]int
		skipped []int
	)
	touched := uint32(0)
	if locality != 0 {
		touched = 1 // PCR 0 when seeded: reported even if no event extends it
	}
	for i := range l.Events {
		ev := &l.Events[i]
		if ev.Type == EvNoAction || ev.PCR >= fastPCRs {
			continue
		}
		if _, ok := ev.Digest(bank); ok {
			touched |= 1 << ev.PCR
		}
	}
	// A short log's values stay in r.inline, which r.vals does not point
	// to: a pointer into r itself would cost a write barrier and a scan.
	var buf []byte
	if need := bits.OnesCount32(touched) * size; need <= len(r.inline) {
		buf = r.inline[:need:need]
	} else {
		buf = make([]byte, need)
		r.vals = buf
	}
	if locality != 0 {
		buf[size-1] = locality // PCR 0's slot is the first
	}
	var seen uint32 // the PCRs extended
	extend := extender(h)
	for i := range l.Events {
		ev := &l.Events[i]
		if ev.Type == EvNoAction {
			continue
		}
		d, ok := ev.Digest(bank)
		if !ok {
			skipped = append(skipped, ev.Seq)
			continue
		}
		var pcr []byte
		if ev.PCR < fastPCRs {
			o := bits.OnesCount32(touched&(1<<ev.PCR-1)) * size
			pcr = buf[o : o+size]
			seen |= 1 << ev.PCR
			r.last[ev.PCR] = int32(ev.Seq)
		} else {
			if other == nil {
				other, olast = map[uint32][]byte{}, map[uint32]int{}
			}
			if pcr = other[ev.PCR]; pcr == nil {
				pcr = make([]byte, size)
				other[ev.PCR] = pcr
			}
			olast[ev.PCR] = ev.Seq
		}
		extend(pcr, d)
	}
	r.Skipped = skipped
	r.have, r.ext = touched, seen
	if other != nil {
		r.high = make(map[int]replayHigh, len(other))
		for p, v := range other {
			r.high[int(p)] = replayHigh{val: v, last: olast[p]}
		}
	}
	return r, nil
}

// PCR returns the replayed value of pcr and true if pcr is in the replay
// (an event extended it, or it is PCR 0 seeded non-zero); nil and false
// otherwise. The value is r's own: do not modify it.
func (r *Replay) PCR(pcr int) ([]byte, bool) {
	if uint(pcr) < fastPCRs {
		if r.have&(1<<pcr) == 0 {
			return nil, false
		}
		size := int(r.size)
		o := bits.OnesCount32(r.have&(1<<pcr-1)) * size
		if r.vals == nil {
			return r.inline[o : o+size : o+size], true
		}
		return r.vals[o : o+size : o+size], true
	}
	h, ok := r.high[pcr]
	return h.val, ok
}

// Len returns how many PCRs are in the replay (the length of Indices).
func (r *Replay) Len() int { return bits.OnesCount32(r.have) + len(r.high) }

// LastEvent returns the Seq of the last event extended into pcr, and false
// if no event extended it.
func (r *Replay) LastEvent(pcr int) (seq int, ok bool) {
	if uint(pcr) < fastPCRs {
		if r.ext&(1<<pcr) == 0 {
			return 0, false
		}
		return int(r.last[pcr]), true
	}
	h, ok := r.high[pcr]
	return h.last, ok
}

// extender returns the function that extends pcr in place with d:
// pcr = H(pcr || d). The common banks hash one stack buffer with their
// package's one-shot sum, which is a third cheaper than a hash.Hash's
// Reset, Write, Write, Sum.
func extender(h crypto.Hash) func(pcr, d []byte) {
	switch h {
	case crypto.SHA1:
		return func(pcr, d []byte) {
			var buf [2 * sha1.Size]byte
			sum := sha1.Sum(append(append(buf[:0], pcr...), d...))
			copy(pcr, sum[:])
		}
	case crypto.SHA256:
		return func(pcr, d []byte) {
			var buf [2 * sha256.Size]byte
			sum := sha256.Sum256(append(append(buf[:0], pcr...), d...))
			copy(pcr, sum[:])
		}
	case crypto.SHA384:
		return func(pcr, d []byte) {
			var buf [2 * sha512.Size384]byte
			sum := sha512.Sum384(append(append(buf[:0], pcr...), d...))
			copy(pcr, sum[:])
		}
	case crypto.SHA512:
		return func(pcr, d []byte) {
			var buf [2 * sha512.Size]byte
			sum := sha512.Sum512(append(append(buf[:0], pcr...), d...))
			copy(pcr, sum[:])
		}
	}
	hh := h.New()
	return func(pcr, d []byte) {
		hh.Reset()
		hh.Write(pcr)
		hh.Write(d)
		hh.Sum(pcr[:0])
	}
}

// fastPCRs is how many PCR indices a replay keeps in its flat buffer: the
// 24 of a PC Client TPM.
const fastPCRs = 24

func seedPCR(size int, locality uint8) []byte {
	b := make([]byte, size)
	b[size-1] = locality
	return b
}

// Value returns the replayed value of a PCR: the extended value, or the
// reset value (zero, PCR 0 seeded) for a PCR no event touched.
func (r *Replay) Value(pcr int) []byte {
	if v, ok := r.PCR(pcr); ok {
		return v
	}
	loc := uint8(0)
	if pcr == 0 {
		loc = r.Locality
	}
	return seedPCR(r.Bank.Hash().Size(), loc)
}

// Indices returns the PCRs in the replay in ascending order.
func (r *Replay) Indices() []int {
	out := make([]int, 0, r.Len())
	for m := r.have; m != 0; m &= m - 1 {
		out = append(out, bits.TrailingZeros32(m))
	}
	if len(r.high) > 0 {
		n := len(out)
		for p := range r.high {
			out = append(out, p)
		}
		slices.Sort(out[n:])
	}
	return out
}

// Mismatch is one PCR whose replay differs from the value it was compared
// with, with the last event that touched it.
type Mismatch struct {
	Bank      Alg
	PCR       int
	Replayed  []byte
	Actual    []byte
	LastEvent *Event // nil if no event touched the PCR
}

// String explains the mismatch in one line.
func (m *Mismatch) String() string {
	s := fmt.Sprintf("PCR %d (%s) differs: replay %x, TPM %x", m.PCR, m.Bank, m.Replayed, m.Actual)
	if m.LastEvent != nil {
		s += fmt.Sprintf("; last event #%d %s", m.LastEvent.Seq, m.LastEvent.Type)
	} else {
		s += "; no event in the log touched it"
	}
	return s
}

// Compare compares a replay with PCR values (e.g. from TPM2_PCR_Read) and
// returns one Mismatch per differing PCR of actual, ascending.
func (l *EventLog) Compare(r *Replay, actual map[int][]byte) []Mismatch {
	var out []Mismatch
	check := func(p int, v []byte) {
		want := r.Value(p)
		if bytes.Equal(want, v) {
			return
		}
		m := Mismatch{Bank: r.Bank, PCR: p, Replayed: want, Actual: v}
		if seq, ok := r.LastEvent(p); ok && seq < len(l.Events) {
			m.LastEvent = &l.Events[seq]
		}
		out = append(out, m)
	}
	// The platform's PCRs are found by looking them up in order (up to the
	// last one actual has, a few lookups cost less than ranging over a
	// map) and kept in a bitmask; others, which only a caller's mistake
	// names, by ranging over actual and sorting.
	var low uint32
	n := 0
	for p := 0; p < fastPCRs && n < len(actual); p++ {
		if _, ok := actual[p]; ok {
			low |= 1 << p
			n++
		}
	}
	var rest []int
	if n < len(actual) {
		for p := range actual {
			if uint(p) >= fastPCRs {
				rest = append(rest, p)
			}
		}
		slices.Sort(rest)
	}
	i := 0
	for ; i < len(rest) && rest[i] < 0; i++ {
		check(rest[i], actual[rest[i]])
	}
	for m := low; m != 0; m &= m - 1 {
		p := bits.TrailingZeros32(m)
		check(p, actual[p])
	}
	for ; i < len(rest); i++ {
		check(rest[i], actual[rest[i]])
	}
	return out
}

// Quirk is a known firmware defect that makes a correct event log replay to
// values different from the TPM's.
type Quirk struct {
	Name   string   // short identifier, e.g. "ebs-events-missing"
	PCR    int      // the PCR it repairs
	Bank   Alg      // the bank it was applied to
	Events []string // the unlogged measurements it adds
}

// ebsMissing: some firmware extends the two "Exit Boot Services" EV_EFI_ACTION
// measurements into PCR 5 without logging them (go-attestation's
// ebs_event_missing_eventlog). Their digests are the hashes of these strings.
var ebsMissing = Quirk{Name: "ebs-events-missing", PCR: 5, Events: []string{
	"Exit Boot Services Invocation",
	"Exit Boot Services Returned with Success",
}}

// CompareWithQuirks is Compare followed, for each mismatch, by the known
// firmware quirks: a quirk that makes the PCR match is applied, logged as a
// warning and returned; mismatches no quirk explains are returned as such.
// Use it only when comparing with a real TPM, never to build evidence.
func (l *EventLog) CompareWithQuirks(r *Replay, actual map[int][]byte, log hclog.Logger) ([]Mismatch, []Quirk) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	var rest []Mismatch
	var applied []Quirk
	for _, m := range l.Compare(r, actual) {
		if q, ok := l.tryEBSMissing(r, m); ok {
			log.Warn("PCR matches the TPM only after adding measurements the firmware did not log",
				"pcr", m.PCR, "bank", m.Bank, "quirk", q.Name, "events", q.Events)
			applied = append(applied, q)
			continue
		}
		rest = append(rest, m)
	}
	return rest, applied
}

func (l *EventLog) tryEBSMissing(r *Replay, m Mismatch) (Quirk, bool) {
	if m.PCR != ebsMissing.PCR {
		return Quirk{}, false
	}
	// Not when the log already has them.
	for i := range l.Events {
		ev := &l.Events[i]
		if ev.PCR == 5 && ev.Type == EvEFIAction && bytes.Equal(ev.Data, []byte(ebsMissing.Events[0])) {
			return Quirk{}, false
		}
	}
	h := r.Bank.Hash()
	v := m.Replayed
	for _, s := range ebsMissing.Events {
		d := h.New()
		d.Write([]byte(s))
		e := h.New()
		e.Write(v)
		e.Write(d.Sum(nil))
		v = e.Sum(nil)
	}
	if !bytes.Equal(v, m.Actual) {
		return Quirk{}, false
	}
	q := ebsMissing
	q.Bank = r.Bank
	return q, true
}

// LocalityCandidates returns the PCR 0 seeds to try, in order: the
// StartupLocality event's value if present, then 0, 3, 4 (PFP §10.4.5.3).
func (l *EventLog) LocalityCandidates() []uint8 {
	var c []uint8
	if loc, ok := l.StartupLocality(); ok {
		c = append(c, loc)
	}
	for _, loc := range []uint8{0, 3, 4} {
		if !slices.Contains(c, loc) {
			c = append(c, loc)
		}
	}
	return c
}

// DetectLocality picks the seed whose PCR 0 replay of bank equals pcr0 (read
// from the TPM). If none does, it returns the StartupLocality value (or 0)
// and matched false; the quote will then fail verification anyway.
func (l *EventLog) DetectLocality(bank Alg, pcr0 []byte) (loc uint8, matched bool, err error) {
	for _, c := range l.LocalityCandidates() {
		r, err := l.ReplayLocality(bank, c)
		if err != nil {
			return 0, false, err
		}
		if bytes.Equal(r.Value(0), pcr0) {
			return c, true, nil
		}
	}
	loc, _ = l.StartupLocality()
	return loc, false, nil
}

// StartupLocality reads PCR 0 of bank and returns the startup locality whose
// replay of l reproduces it (see EventLog.DetectLocality), logging the
// choice. matched is false if no candidate reproduces PCR 0.
func (t *TPM) StartupLocality(l *EventLog, bank Alg) (loc uint8, matched bool, err error) {
	vals, err := t.ReadPCRs(bank, []int{0})
	if err != nil {
		return 0, false, err
	}
	loc, matched, err = l.DetectLocality(bank, vals[0])
	if err != nil {
		return 0, false, err
	}
	if matched {
		t.log.Info(fmt.Sprintf("startup locality %d detected from PCR 0 (%s)", loc, bank), "locality", loc, "bank", bank)
	} else {
		t.log.Warn("no startup locality reproduces PCR 0 from the event log",
			"bank", bank, "pcr0", hex.EncodeToString(vals[0]), "using", loc)
	}
	return loc, matched, nil
}

// CheckReplay reads the PCRs a replay touched from the TPM and compares them
// with it, known firmware quirks included (see CompareWithQuirks). Like
// strongSwan's IMC it logs each PCR as ok or differing; the caller decides
// whether to quote anyway.
func (t *TPM) CheckReplay(l *EventLog, r *Replay) ([]Mismatch, []Quirk, error) {
	idx := r.Indices()
	if len(idx) == 0 {
		return nil, nil, nil
	}
	actual, err := t.ReadPCRs(r.Bank, idx)
	if err != nil {
		return nil, nil, err
	}
	mm, quirks := l.CompareWithQuirks(r, actual, t.log)
	bad := map[int]bool{}
	for i := range mm {
		bad[mm[i].PCR] = true
		t.log.Warn(mm[i].String())
	}
	for _, p := range idx {
		if !bad[p] {
			t.log.Debug("PCR replay ok", "pcr", p, "bank", r.Bank)
		}
	}
	return mm, quirks, nil
}
