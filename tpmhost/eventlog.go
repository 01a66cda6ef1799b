package tpmhost

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultEventLogPath is where Linux exposes the firmware's boot event log.
const DefaultEventLogPath = "/sys/kernel/security/tpm0/binary_bios_measurements"

// maxEventLogSize bounds what ReadEventLog loads. Real logs are tens of KiB;
// the biggest seen in the wild are a few MiB.
const maxEventLogSize = 64 << 20

// LogFormat tells the two event-log layouts apart.
type LogFormat int

const (
	// FormatLegacySHA1 is a log of TCG_PCR_EVENT records (SHA-1 only).
	FormatLegacySHA1 LogFormat = iota + 1
	// FormatCryptoAgile is a log whose first TCG_PCR_EVENT carries a
	// "Spec ID Event03" and whose other events are TCG_PCR_EVENT2.
	FormatCryptoAgile
)

// String names the format.
func (f LogFormat) String() string {
	switch f {
	case FormatLegacySHA1:
		return "legacy SHA-1"
	case FormatCryptoAgile:
		return "crypto-agile"
	}
	return fmt.Sprintf("format(%d)", int(f))
}

// EventLog is a parsed binary_bios_measurements file.
//
// Its contents are untrusted: they mean something only once a replay (see
// Replay) matches PCR values read from the TPM or covered by a verified quote.
type EventLog struct {
	Format LogFormat
	SpecID *SpecIDEvent // nil for FormatLegacySHA1
	Banks  []Alg        // the digests every event carries: Spec ID algorithms, or sha1
	Events []Event      // every event in file order, the Spec ID event included
}

// Event is one measurement record.
type Event struct {
	Seq     int       // 0-based position among all events of the file
	Offset  int       // byte offset of the record in the file
	PCR     uint32    // PCRIndex
	Type    EventType // EventType (untrusted: the firmware chose it)
	Digests []Digest  // one per bank, in file order (one sha1 digest for legacy records)
	Data    []byte    // event data (a sub-slice of the parsed input)
}

// Digest is one entry of an event's digest list: a bank and the digest the
// firmware extended into it.
type Digest struct {
	Alg   Alg
	Value []byte // a sub-slice of the parsed input
}

// SpecIDEvent is TCG_EfiSpecIDEvent, the data of a crypto-agile log's first
// event (TCG PC Client Platform Firmware Profile, §9.4.5.1).
type SpecIDEvent struct {
	PlatformClass uint32
	VersionMinor  uint8
	VersionMajor  uint8
	Errata        uint8
	UintnSize     uint8
	Algorithms    []SpecIDAlgorithm
	VendorInfo    []byte
}

// SpecIDAlgorithm is one TCG_EfiSpecIdEventAlgorithmSize entry.
type SpecIDAlgorithm struct {
	Alg        Alg
	DigestSize uint16
}

// EventLogError says where and why an event log did not parse.
type EventLogError struct {
	Offset int    // byte offset of the field in the file
	Event  int    // sequence number of the event being read
	Field  string // the TCG field name, e.g. "EventSize"
	Msg    string
}

// Error implements error.
func (e *EventLogError) Error() string {
	return fmt.Sprintf("tpmhost: event log: event %d at offset %d: %s: %s", e.Event, e.Offset, e.Field, e.Msg)
}

// ReadEventLog reads and parses an event log file ("" means
// DefaultEventLogPath). Anything but a regular file is refused (see
// OpenRegularFile).
func ReadEventLog(path string) (*EventLog, error) {
	if path == "" {
		path = DefaultEventLogPath
	}
	f, err := OpenRegularFile(path)
	if err != nil {
		return nil, fmt.Errorf("tpmhost: event log: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEventLogSize+1))
	if err != nil {
		return nil, fmt.Errorf("tpmhost: event log: reading %s: %w", path, err)
	}
	if len(b) > maxEventLogSize {
		return nil, fmt.Errorf("tpmhost: event log: %s is larger than %d bytes", path, maxEventLogSize)
	}
	return ParseEventLog(b)
}

// leReader reads the log's little-endian fields with bounds checks; every
// read fails, without moving, if the input is too short.
type leReader struct {
	b   []byte
	off int
}

func (r *leReader) left() int { return len(r.b) - r.off }

func (r *leReader) u8(v *uint8) bool {
	if r.left() < 1 {
		return false
	}
	*v = r.b[r.off]
	r.off++
	return true
}

func (r *leReader) u16(v *uint16) bool {
	if r.left() < 2 {
		return false
	}
	*v = binary.LittleEndian.Uint16(r.b[r.off:])
	r.off += 2
	return true
}

func (r *leReader) u32(v *uint32) bool {
	if r.left() < 4 {
		return false
	}
	*v = binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return true
}

// bytes returns the next n bytes as a sub-slice (never copies, never
// allocates from n).
func (r *leReader) bytes(n uint32, v *[]byte) bool {
	if uint64(n) > uint64(r.left()) {
		return false
	}
	*v = r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return true
}

var specIDSignature = []byte("Spec ID Event03\x00")

// maxDigestsPerEvent bounds TCG_PCR_EVENT2 Digests.count; there are fewer
// hash algorithms than this.
const maxDigestsPerEvent = 16

// ParseEventLog parses a TCG boot event log, legacy SHA-1 or crypto-agile.
// Every length is checked against the remaining input; an error is an
// *EventLogError naming the field.
func ParseEventLog(in []byte) (*EventLog, error) {
	r := &leReader{b: in}
	if r.left() == 0 {
		return nil, &EventLogError{Field: "log", Msg: "empty"}
	}
	// The first record is always a TCG_PCR_EVENT (PC Client PFP §10.2.1):
	//
	//	PCRIndex u32 | EventType u32 | Digest [20] | EventSize u32 | Event [EventSize]
	//
	// A short log (a few events: a test log, a VM's) is parsed into one
	// allocation, its events and digests included (smallLog); a longer one
	// gets its event and digest lists apart, sized from its length.
	var (
		st   *logHead
		slab digestSlab
		evs  []Event
	)
	if len(in) <= smallLogMax {
		sl := &smallLog{}
		st, slab.free, slab.next, evs = &sl.logHead, sl.digests[:], 2, sl.events[:0]
	} else {
		st, slab.next = &logHead{}, min(max(r.left()/256, 2), 1024)
		// Real logs have tens to a few hundred events; the first guess
		// spares most of them any regrowth without trusting a length
		// field, and a legacy record is at least 32 bytes.
		evs = make([]Event, 0, min(64, 1+r.left()/32))
	}
	var first Event
	if err := parseLegacyEvent(r, 0, &slab, &first); err != nil {
		return nil, err
	}
	l := &st.log
	l.Format, l.Banks = FormatLegacySHA1, append(st.banks[:0], AlgSHA1)
	if first.Type == EvNoAction && first.PCR == 0 && bytes.HasPrefix(first.Data, specIDSignature) {
		spec, err := parseSpecID(first.Data, first.Offset+32)
		if err != nil {
			return nil, err
		}
		l.Format, l.SpecID, l.Banks = FormatCryptoAgile, spec, l.Banks[:0]
		for _, a := range spec.Algorithms {
			l.Banks = append(l.Banks, a.Alg)
		}
	}
	l.Events = append(evs, first)
	for seq := 1; r.left() > 0; seq++ {
		// Parsed in place: an event is 72 bytes, worth not copying twice.
		l.Events = append(l.Events, Event{})
		ev := &l.Events[len(l.Events)-1]
		var err error
		if l.Format == FormatCryptoAgile {
			err = parseAgileEvent(r, seq, l.SpecID, &slab, ev)
		} else {
			err = parseLegacyEvent(r, seq, &slab, ev)
		}
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// smallLogMax is the longest log parsed into a smallLog: a record or two
// (a Spec ID event alone, a StartupLocality event alone).
// It stays under 512 bytes: a larger object with pointers costs the
// allocator a type header and the collector more to scan, which undoes
// what the fewer allocations save.
const (
	smallLogMax = 96
	smallEvents = 2
)

// logHead is an EventLog with room for its banks, allocated at once.
type logHead struct {
	log   EventLog
	banks [4]Alg
}

// smallLog is a short log's EventLog with room for its banks, events and
// digests (two banks each), allocated at once; a log that needs more grows
// out of it as any other.
type smallLog struct {
	logHead
	events  [smallEvents]Event
	digests [2 * smallEvents]Digest
}

// digestSlab hands out the events' digest lists from shared chunks, one
// allocation for many events instead of one each. The first chunk holds
// one digest per 256 bytes of log (real logs have one per 100 to 500); each
// next one twice the last, up to 1024 digests.
type digestSlab struct {
	free []Digest
	next int // digests in the next chunk
}

// take returns an empty list with room for exactly n digests.
func (s *digestSlab) take(n int) []Digest {
	if n > len(s.free) {
		s.free = make([]Digest, max(n, s.next))
		s.next = min(2*s.next, 1024)
	}
	out := s.free[:0:n]
	s.free = s.free[n:]
	return out
}

func parseLegacyEvent(r *leReader, seq int, slab *digestSlab, ev *Event) error {
	ev.Seq, ev.Offset = seq, r.off
	fail := func(field, msg string) error {
		return &EventLogError{Offset: r.off, Event: seq, Field: field, Msg: msg}
	}
	var typ, size uint32
	var digest []byte
	switch {
	case !r.u32(&ev.PCR):
		return fail("PCRIndex", "truncated")
	case !r.u32(&typ):
		return fail("EventType", "truncated")
	case !r.bytes(20, &digest):
		return fail("Digest", "truncated SHA-1 digest")
	case !r.u32(&size):
		return fail("EventSize", "truncated")
	case !r.bytes(size, &ev.Data):
		return fail("EventSize", fmt.Sprintf("%d bytes declared, %d left", size, r.left()))
	}
	ev.Type = EventType(typ)
	ev.Digests = append(slab.take(1), Digest{Alg: AlgSHA1, Value: digest})
	return nil
}

// parseAgileEvent reads a TCG_PCR_EVENT2 (PC Client PFP §10.2.2):
//
//	PCRIndex u32 | EventType u32 | Digests.count u32 |
//	count × { AlgorithmId u16 | digest [size from the Spec ID event] } |
//	EventSize u32 | Event [EventSize]
func parseAgileEvent(r *leReader, seq int, spec *SpecIDEvent, slab *digestSlab, ev *Event) error {
	ev.Seq, ev.Offset = seq, r.off
	fail := func(field, msg string) error {
		return &EventLogError{Offset: r.off, Event: seq, Field: field, Msg: msg}
	}
	var typ, count, size uint32
	switch {
	case !r.u32(&ev.PCR):
		return fail("PCRIndex", "truncated")
	case !r.u32(&typ):
		return fail("EventType", "truncated")
	case !r.u32(&count):
		return fail("Digests.count", "truncated")
	case count > maxDigestsPerEvent:
		return fail("Digests.count", fmt.Sprintf("%d digests (at most %d)", count, maxDigestsPerEvent))
	}
	ev.Type = EventType(typ)
	ev.Digests = slab.take(int(count))
	for i := uint32(0); i < count; i++ {
		var alg uint16
		if !r.u16(&alg) {
			return fail("AlgorithmId", "truncated")
		}
		n, ok := spec.digestSize(Alg(alg))
		if !ok {
			return fail("AlgorithmId", fmt.Sprintf("%s is not declared in the Spec ID event", Alg(alg)))
		}
		var d []byte
		if !r.bytes(uint32(n), &d) {
			return fail("Digest", fmt.Sprintf("truncated %s digest", Alg(alg)))
		}
		if _, dup := ev.Digest(Alg(alg)); dup {
			return fail("AlgorithmId", fmt.Sprintf("%s digest twice", Alg(alg)))
		}
		ev.Digests = append(ev.Digests, Digest{Alg: Alg(alg), Value: d})
	}
	switch {
	case !r.u32(&size):
		return fail("EventSize", "truncated")
	case !r.bytes(size, &ev.Data):
		return fail("EventSize", fmt.Sprintf("%d bytes declared, %d left", size, r.left()))
	}
	return nil
}

func (s *SpecIDEvent) digestSize(a Alg) (uint16, bool) {
	for _, x := range s.Algorithms {
		if x.Alg == a {
			return x.DigestSize, true
		}
	}
	return 0, false
}

// maxSpecIDAlgorithms bounds numberOfAlgorithms.
const maxSpecIDAlgorithms = 16

// parseSpecID reads TCG_EfiSpecIDEvent (PC Client PFP §10.4.5.1):
//
//	signature [16] "Spec ID Event03\0" | platformClass u32 |
//	specVersionMinor u8 | specVersionMajor u8 | specErrata u8 | uintnSize u8 |
//	numberOfAlgorithms u32 | n × { algorithmId u16 | digestSize u16 } |
//	vendorInfoSize u8 | vendorInfo [vendorInfoSize]
//
// base is the file offset of data, for error messages.
func parseSpecID(data []byte, base int) (*SpecIDEvent, error) {
	r := &leReader{b: data, off: len(specIDSignature)}
	s := &SpecIDEvent{}
	fail := func(field, msg string) (*SpecIDEvent, error) {
		return nil, &EventLogError{Offset: base + r.off, Event: 0, Field: "Spec ID " + field, Msg: msg}
	}
	var n uint32
	var vlen uint8
	switch {
	case !r.u32(&s.PlatformClass):
		return fail("platformClass", "truncated")
	case !r.u8(&s.VersionMinor) || !r.u8(&s.VersionMajor) || !r.u8(&s.Errata) || !r.u8(&s.UintnSize):
		return fail("specVersion", "truncated")
	case !r.u32(&n):
		return fail("numberOfAlgorithms", "truncated")
	case n == 0 || n > maxSpecIDAlgorithms:
		return fail("numberOfAlgorithms", fmt.Sprintf("%d algorithms (want 1..%d)", n, maxSpecIDAlgorithms))
	}
	for i := uint32(0); i < n; i++ {
		var a SpecIDAlgorithm
		var id uint16
		if !r.u16(&id) || !r.u16(&a.DigestSize) {
			return fail("digestSizes", "truncated")
		}
		a.Alg = Alg(id)
		if want := a.Alg.DigestSize(); want != 0 && int(a.DigestSize) != want {
			return fail("digestSizes", fmt.Sprintf("%s declared with %d bytes, want %d", a.Alg, a.DigestSize, want))
		}
		if a.DigestSize == 0 || a.DigestSize > 128 {
			return fail("digestSizes", fmt.Sprintf("%s declared with %d bytes", a.Alg, a.DigestSize))
		}
		if _, dup := s.digestSize(a.Alg); dup {
			return fail("digestSizes", fmt.Sprintf("%s listed twice", a.Alg))
		}
		s.Algorithms = append(s.Algorithms, a)
	}
	switch {
	case !r.u8(&vlen):
		return fail("vendorInfoSize", "truncated")
	case !r.bytes(uint32(vlen), &s.VendorInfo):
		return fail("vendorInfoSize", fmt.Sprintf("%d bytes declared, %d left", vlen, r.left()))
	}
	return s, nil
}

// Digest returns the event's digest in bank a.
func (e *Event) Digest(a Alg) ([]byte, bool) {
	for i := range e.Digests {
		if e.Digests[i].Alg == a {
			return e.Digests[i].Value, true
		}
	}
	return nil, false
}

// startupLocalitySignature starts the data of the EV_NO_ACTION event that
// records the locality of TPM2_Startup (PC Client PFP §10.4.5.3).
var startupLocalitySignature = []byte("StartupLocality\x00")

// StartupLocality returns the locality of the log's StartupLocality event, if
// it has one.
func (l *EventLog) StartupLocality() (uint8, bool) {
	for i := range l.Events {
		ev := &l.Events[i]
		if ev.Type == EvNoAction && ev.PCR == 0 && len(ev.Data) == len(startupLocalitySignature)+1 &&
			bytes.HasPrefix(ev.Data, startupLocalitySignature) {
			return ev.Data[len(startupLocalitySignature)], true
		}
	}
	return 0, false
}
