package tpmhost

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// DefaultIMALogPath is where Linux exposes the IMA measurement list in its
// binary form (the sha1 list; kernels ≥ 6.10 add one list per bank,
// binary_runtime_measurements_<alg>).
const DefaultIMALogPath = "/sys/kernel/security/ima/binary_runtime_measurements"

// IMAPCR is the PCR IMA extends unless its policy names another one.
const IMAPCR = 10

// Bounds on one IMA record. The kernel limits a template name to 255 bytes
// (TCG_EVENT_NAME_LEN_MAX); template data holds a digest, a path, and at
// most a signature or a key buffer, a few KiB in practice.
const (
	maxIMATemplateName = 255
	maxIMATemplateData = 1 << 20
	maxIMAFields       = 16
	// imaLegacyNameLen is the size the legacy "ima" template pads its file
	// name to before hashing (IMA_EVENT_NAME_LEN_MAX + 1).
	imaLegacyNameLen = 256
)

// IMAEntry is one record of a binary IMA measurement list:
//
//	PCR u32 | template digest [digest size of the list] |
//	template name length u32 | template name |
//	template data length u32 | template data          (every template but "ima")
//	d [20] | n length u32 | n                         (the legacy "ima" template)
//
// All integers are little-endian (the kernel's canonical format). The
// template data of every template but "ima" is a sequence of fields, each
// `length u32 | bytes` (Linux, security/integrity/ima/ima_fs.c and
// ima_template_lib.c). The slices of an entry returned by IMAReader.Next are
// valid until the next call.
type IMAEntry struct {
	Seq      int    // 0-based position in the list
	Offset   int64  // byte offset of the record
	PCR      uint32 // the PCR the kernel extended
	Digest   []byte // the template digest as logged; all zeros for a violation
	Template string // template name, e.g. "ima-ng", or a field list "d-ng|n-ng"
	// Data is the template data as the kernel hashes it: for "ima" the file
	// digest followed by the name padded with zeros to 256 bytes; for every
	// other template the fields with their length prefixes (the total length
	// field excluded).
	Data []byte
	// Fields are the template's fields in order (sub-slices of Data, without
	// their length prefixes; for "ima" the digest and the unpadded name).
	Fields [][]byte
}

// IMA template fields (Documentation/security/IMA-templates.rst).
var imaTemplates = map[string]string{
	"ima":        "d|n",
	"ima-ng":     "d-ng|n-ng",
	"ima-ngv2":   "d-ngv2|n-ng",
	"ima-sig":    "d-ng|n-ng|sig",
	"ima-sigv2":  "d-ngv2|n-ng|sig",
	"ima-buf":    "d-ng|n-ng|buf",
	"ima-modsig": "d-ng|n-ng|sig|d-modsig|modsig",
	"evm-sig":    "d-ng|n-ng|evmsig|xattrnames|xattrlengths|xattrvalues|iuid|igid|imode",
}

// imaTemplateFields is imaTemplates split once (FieldNames runs per entry).
var imaTemplateFields = func() map[string][]string {
	m := map[string][]string{}
	for k, v := range imaTemplates {
		m[k] = strings.Split(v, "|")
	}
	return m
}()

// FieldNames returns the names of the template's fields: those of a
// template the kernel defines, or the template name itself when it is a
// field list ("d-ng|sig"); nil for an unknown name. The result is shared:
// do not modify it.
func (e *IMAEntry) FieldNames() []string {
	if f, ok := imaTemplateFields[e.Template]; ok {
		return f
	}
	if strings.Contains(e.Template, "|") {
		return strings.Split(e.Template, "|")
	}
	return nil
}

// Field returns the field named id ("d-ng", "n-ng", "sig", ...).
func (e *IMAEntry) Field(id string) ([]byte, bool) {
	for i, n := range e.FieldNames() {
		if n == id && i < len(e.Fields) {
			return e.Fields[i], true
		}
	}
	return nil, false
}

// Violation reports whether the entry records a measurement violation: the
// kernel logs an all-zero template digest and extends all ones.
func (e *IMAEntry) Violation() bool {
	for _, b := range e.Digest {
		if b != 0 {
			return false
		}
	}
	return true
}

// FileDigest returns the file digest and its algorithm name ("sha256"; "sha1"
// for the legacy "ima" template and for an ima-ng digest without a prefix),
// from the d, d-ng or d-ngv2 field.
func (e *IMAEntry) FileDigest() (algo string, digest []byte, ok bool) {
	if d, ok := e.Field("d"); ok {
		return "sha1", d, true
	}
	d, ok := e.Field("d-ng")
	if !ok {
		if d, ok = e.Field("d-ngv2"); !ok {
			return "", nil, false
		}
	}
	// "<algo>:\0<digest>", d-ngv2 "<type>:<algo>:\0<digest>"; the oldest
	// kernels wrote a sha1 digest without any prefix.
	i := bytes.IndexByte(d, 0)
	if i < 0 {
		return "sha1", d, true
	}
	prefix := strings.TrimSuffix(string(d[:i]), ":")
	if j := strings.LastIndexByte(prefix, ':'); j >= 0 {
		prefix = prefix[j+1:]
	}
	if prefix == "" {
		prefix = "sha1"
	}
	return prefix, d[i+1:], true
}

// FileName returns the event name (the file path, or e.g. "boot_aggregate",
// ".builtin_trusted_keys") without the terminating NUL of n-ng.
func (e *IMAEntry) FileName() string {
	if n, ok := e.Field("n"); ok {
		return string(n)
	}
	if n, ok := e.Field("n-ng"); ok {
		return string(bytes.TrimSuffix(n, []byte{0}))
	}
	return ""
}

// Signature returns the sig field (empty when the file had none).
func (e *IMAEntry) Signature() []byte {
	s, _ := e.Field("sig")
	return s
}

// IMALogError says where and why an IMA list did not parse.
type IMALogError struct {
	Offset int64  // byte offset of the field
	Entry  int    // sequence number of the entry being read
	Field  string // e.g. "template data length"
	Msg    string
}

// Error implements error.
func (e *IMALogError) Error() string {
	return fmt.Sprintf("tpmhost: IMA log: entry %d at offset %d: %s: %s", e.Entry, e.Offset, e.Field, e.Msg)
}

// IMAReader reads a binary IMA measurement list one entry at a time, in
// memory bounded by the largest entry: the list itself is never held whole.
type IMAReader struct {
	r       *bufio.Reader
	alg     Alg // the algorithm of the logged template digests
	size    int
	off     int64
	seq     int
	err     error
	e       IMAEntry
	buf     []byte // the current entry's template data
	digest  []byte
	fields  [][]byte
	name    []byte
	scratch [4]byte
}

// NewIMAReader reads a list whose template digests are of algorithm alg:
// AlgSHA1 for binary_runtime_measurements, the bank's algorithm for a
// per-bank list (binary_runtime_measurements_sha256, ...).
func NewIMAReader(r io.Reader, alg Alg) (*IMAReader, error) {
	n := alg.DigestSize()
	if n == 0 {
		return nil, fmt.Errorf("tpmhost: IMA log: %s is not a hash algorithm", alg)
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &IMAReader{r: br, alg: alg, size: n, digest: make([]byte, n)}, nil
}

// DigestAlg returns the algorithm of the logged template digests.
func (r *IMAReader) DigestAlg() Alg { return r.alg }

// Offset returns the byte offset of the next entry.
func (r *IMAReader) Offset() int64 { return r.off }

// Next returns the next entry, io.EOF at a clean end of the list, or an
// *IMALogError. The entry and its slices are reused by the next call.
func (r *IMAReader) Next() (*IMAEntry, error) {
	if r.err != nil {
		return nil, r.err
	}
	e, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	return e, nil
}

func (r *IMAReader) fail(field, msg string) error {
	return &IMALogError{Offset: r.off, Entry: r.seq, Field: field, Msg: msg}
}

// read fills b; a short read at the start of the entry (start) is a clean
// end, anywhere else a truncation.
func (r *IMAReader) read(b []byte, field string, start bool) error {
	n, err := io.ReadFull(r.r, b)
	r.off += int64(n)
	switch {
	case err == nil:
		return nil
	case start && n == 0 && errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return r.fail(field, "truncated")
	}
	return r.fail(field, err.Error())
}

func (r *IMAReader) u32(field string, start bool) (uint32, error) {
	if err := r.read(r.scratch[:], field, start); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(r.scratch[:]), nil
}

func (r *IMAReader) next() (*IMAEntry, error) {
	start := r.off
	pcr, err := r.u32("PCR", true)
	if err != nil {
		return nil, err
	}
	if pcr > 0xffff {
		// PCR indices are small; a huge one means a foreign byte order
		// or a list that is not IMA's.
		return nil, r.fail("PCR", fmt.Sprintf("PCR %d (a big-endian or foreign list?)", pcr))
	}
	if err := r.read(r.digest, "template digest", false); err != nil {
		return nil, err
	}
	nl, err := r.u32("template name length", false)
	if err != nil {
		return nil, err
	}
	if nl == 0 || nl > maxIMATemplateName {
		return nil, r.fail("template name length", fmt.Sprintf("%d bytes (want 1..%d)", nl, maxIMATemplateName))
	}
	r.name = grow(r.name, int(nl))
	if err := r.read(r.name, "template name", false); err != nil {
		return nil, err
	}
	e := &r.e
	*e = IMAEntry{Seq: r.seq, Offset: start, PCR: pcr, Digest: r.digest, Template: internTemplate(r.name)}
	if e.Template == "ima" {
		err = r.legacy(e)
	} else {
		err = r.fieldsOf(e)
	}
	if err != nil {
		return nil, err
	}
	r.seq++
	return e, nil
}

// internTemplate returns the common template names without allocating.
func internTemplate(b []byte) string {
	switch string(b) {
	case "ima":
		return "ima"
	case "ima-ng":
		return "ima-ng"
	case "ima-sig":
		return "ima-sig"
	case "ima-buf":
		return "ima-buf"
	case "ima-modsig":
		return "ima-modsig"
	}
	return string(b)
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n, max(n, 2*cap(b)))
	}
	return b[:n]
}

// legacy reads the "ima" template: d [20] | n length u32 | n. Data becomes
// what the kernel hashes: d followed by n zero-padded to 256 bytes.
func (r *IMAReader) legacy(e *IMAEntry) error {
	r.buf = grow(r.buf, 20+imaLegacyNameLen)
	clear(r.buf)
	if err := r.read(r.buf[:20], "d", false); err != nil {
		return err
	}
	nl, err := r.u32("n length", false)
	if err != nil {
		return err
	}
	if nl > imaLegacyNameLen-1 {
		return r.fail("n length", fmt.Sprintf("%d bytes (at most %d)", nl, imaLegacyNameLen-1))
	}
	if err := r.read(r.buf[20:20+nl], "n", false); err != nil {
		return err
	}
	e.Data = r.buf
	r.fields = append(r.fields[:0], r.buf[:20], r.buf[20:20+nl])
	e.Fields = r.fields
	return nil
}

// fieldsOf reads template data length u32 | data and splits data into its
// length-prefixed fields.
func (r *IMAReader) fieldsOf(e *IMAEntry) error {
	n, err := r.u32("template data length", false)
	if err != nil {
		return err
	}
	if n > maxIMATemplateData {
		return r.fail("template data length", fmt.Sprintf("%d bytes (at most %d)", n, maxIMATemplateData))
	}
	base := r.off
	r.buf = grow(r.buf, int(n))
	if err := r.read(r.buf, "template data", false); err != nil {
		return err
	}
	e.Data = r.buf
	r.fields = r.fields[:0]
	for d := r.buf; len(d) > 0; {
		at := base + int64(len(r.buf)-len(d))
		if len(r.fields) == maxIMAFields {
			return &IMALogError{Offset: at, Entry: r.seq, Field: "template data", Msg: fmt.Sprintf("more than %d fields", maxIMAFields)}
		}
		if len(d) < 4 {
			return &IMALogError{Offset: at, Entry: r.seq, Field: "field length", Msg: "truncated"}
		}
		fl := binary.LittleEndian.Uint32(d)
		if uint64(fl) > uint64(len(d)-4) {
			return &IMALogError{Offset: at, Entry: r.seq, Field: "field length",
				Msg: fmt.Sprintf("%d bytes declared, %d left", fl, len(d)-4)}
		}
		r.fields = append(r.fields, d[4:4+fl:4+fl])
		d = d[4+fl:]
	}
	e.Fields = r.fields
	if names := e.FieldNames(); names != nil && len(names) != len(e.Fields) {
		return &IMALogError{Offset: base, Entry: r.seq, Field: "template data",
			Msg: fmt.Sprintf("template %q has %d fields, the data %d", e.Template, len(names), len(e.Fields))}
	}
	return nil
}

// IMADigest returns what the kernel extends into a bank for e (Linux ≥ 5.8,
// ima_calc_field_array_hash): the logged digest when the list's digests are
// of that bank, else the bank's hash of the template data; all ones (of the
// bank's size) for a violation. listAlg is the algorithm of e.Digest.
func IMADigest(e *IMAEntry, listAlg, bank Alg) ([]byte, error) {
	size := bank.DigestSize()
	h := bank.Hash()
	if size == 0 || h == 0 || !h.Available() {
		return nil, fmt.Errorf("tpmhost: IMA: cannot hash for bank %s", bank)
	}
	if e.Violation() {
		return bytes.Repeat([]byte{0xff}, size), nil
	}
	if listAlg == bank {
		return e.Digest, nil
	}
	return hashOf(h, e.Data), nil
}

func hashOf(h crypto.Hash, data []byte) []byte {
	d := h.New()
	d.Write(data)
	return d.Sum(nil)
}

// IMAReplay is PCR 10 (and any other PCR an IMA policy named) replayed from
// an IMA list in one bank.
type IMAReplay struct {
	Bank    Alg
	PCRs    map[int][]byte
	Entries int // entries replayed
	// Violations counts the entries logged with an all-zero digest.
	Violations int
}

// IMAReplayer extends IMA entries into shadow PCRs of several banks at once.
type IMAReplayer struct {
	listAlg Alg
	banks   []Alg
	ext     []func(pcr, d []byte)
	pcr10   [][]byte // per bank, the common case
	other   []map[uint32][]byte
	entries int
	viol    int
	hs      []hash.Hash // per bank, for the template data
	buf     [64]byte
	// LegacyPadding replays what kernels before 5.8 extended into the
	// non-SHA-1 banks: the SHA-1 template digest padded with zeros.
	LegacyPadding bool
}

// NewIMAReplayer replays a list whose digests are of listAlg into banks.
func NewIMAReplayer(listAlg Alg, banks ...Alg) (*IMAReplayer, error) {
	p := &IMAReplayer{listAlg: listAlg, banks: banks}
	for _, b := range banks {
		h := b.Hash()
		if h == 0 || !h.Available() {
			return nil, fmt.Errorf("tpmhost: cannot replay bank %s: hash not available", b)
		}
		p.ext = append(p.ext, extender(h))
		p.hs = append(p.hs, h.New())
		p.pcr10 = append(p.pcr10, make([]byte, h.Size()))
		p.other = append(p.other, nil)
	}
	return p, nil
}

// Extend extends one entry into every bank.
func (p *IMAReplayer) Extend(e *IMAEntry) error {
	for i := range p.banks {
		p.ExtendDigest(i, e.PCR, p.Measurement(i, e))
	}
	p.entries++
	if e.Violation() {
		p.viol++
	}
	return nil
}

// Measurement returns what the kernel extended for e into the i-th bank
// (see IMADigest; LegacyPadding applies). The result is valid until the
// next call.
func (p *IMAReplayer) Measurement(i int, e *IMAEntry) []byte {
	b := p.banks[i]
	size := b.DigestSize()
	d := p.buf[:size]
	viol := e.Violation()
	switch {
	case viol && (b == p.listAlg || !p.LegacyPadding):
		for j := range d {
			d[j] = 0xff
		}
	case viol: // legacy padding: ones of the list's size, then zeros
		clear(d)
		for j := 0; j < len(e.Digest) && j < size; j++ {
			d[j] = 0xff
		}
	case b == p.listAlg:
		d = e.Digest
	case p.LegacyPadding:
		clear(d)
		copy(d, e.Digest)
	default:
		h := p.hs[i]
		h.Reset()
		h.Write(e.Data)
		d = h.Sum(p.buf[:0])
	}
	return d
}

// ExtendDigest extends d into PCR pcr of the i-th bank.
func (p *IMAReplayer) ExtendDigest(i int, pcr uint32, d []byte) {
	v := p.pcr10[i]
	if pcr != IMAPCR {
		if p.other[i] == nil {
			p.other[i] = map[uint32][]byte{}
		}
		if v = p.other[i][pcr]; v == nil {
			v = make([]byte, len(p.pcr10[i]))
			p.other[i][pcr] = v
		}
	}
	p.ext[i](v, d)
}

// PCR10 returns the current PCR 10 of the i-th bank (a copy).
func (p *IMAReplayer) PCR10(i int) []byte { return bytes.Clone(p.pcr10[i]) }

// Replays returns the state of every bank, in the order given.
func (p *IMAReplayer) Replays() []*IMAReplay {
	var out []*IMAReplay
	for i, b := range p.banks {
		r := &IMAReplay{Bank: b, PCRs: map[int][]byte{}, Entries: p.entries, Violations: p.viol}
		if p.entries > 0 {
			r.PCRs[IMAPCR] = bytes.Clone(p.pcr10[i])
		}
		for k, v := range p.other[i] {
			r.PCRs[int(k)] = bytes.Clone(v)
		}
		out = append(out, r)
	}
	return out
}

// ReplayIMA reads a whole list from r and replays it into banks.
func ReplayIMA(r io.Reader, listAlg Alg, banks ...Alg) ([]*IMAReplay, error) {
	rd, err := NewIMAReader(r, listAlg)
	if err != nil {
		return nil, err
	}
	p, err := NewIMAReplayer(listAlg, banks...)
	if err != nil {
		return nil, err
	}
	for {
		e, err := rd.Next()
		if err == io.EOF {
			return p.Replays(), nil
		}
		if err != nil {
			return nil, err
		}
		if err := p.Extend(e); err != nil {
			return nil, err
		}
	}
}

// DetectIMAListAlg finds the algorithm of a list's template digests from
// its first entry: the digest size at which the record parses and the
// logged digest is the hash of the template data (the first entry,
// boot_aggregate, is never a violation). head is the start of the list
// (a few KiB are plenty).
func DetectIMAListAlg(head []byte) (Alg, error) {
	for _, a := range []Alg{AlgSHA1, AlgSHA256, AlgSHA384, AlgSHA512} {
		rd, err := NewIMAReader(bytes.NewReader(head), a)
		if err != nil {
			continue
		}
		e, err := rd.Next()
		if err != nil {
			continue
		}
		if e.Violation() || bytes.Equal(hashOf(a.Hash(), e.Data), e.Digest) {
			return a, nil
		}
	}
	return 0, errors.New("tpmhost: IMA log: the first entry parses with no template digest size (sha1, sha256, sha384, sha512) whose hash matches")
}

// OpenIMALog opens an IMA list and detects its digest algorithm ("" means
// DefaultIMALogPath). The caller closes the file.
func OpenIMALog(path string) (*os.File, *IMAReader, error) {
	if path == "" {
		path = DefaultIMALogPath
	}
	f, err := OpenRegularFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("tpmhost: IMA log: %w", err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(8 << 10)
	alg, err := DetectIMAListAlg(head)
	if err != nil && len(head) == 0 {
		alg, err = AlgSHA1, nil // an empty list
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	rd, err := NewIMAReader(br, alg)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rd, nil
}

// BootAggregate is the result of checking the boot_aggregate entry.
type BootAggregate struct {
	Alg      string // the digest's algorithm name as logged
	Logged   []byte
	Computed []byte // the match, or the value over PCR 0..7 when none matched
	PCRMax   int    // 7 or 9: the last PCR the matching value covers
	NoTPM    bool   // all zeros: IMA found no TPM at boot
	OK       bool
}

// CheckBootAggregate checks the boot_aggregate entry against boot PCRs:
// pcr returns PCR i of a bank (nil if unknown). The kernel hashes PCR 0..7 of
// the bank of the digest's algorithm, and since Linux 5.8 PCR 0..9 for banks
// other than SHA-1 (ima_calc_boot_aggregate); both are tried.
func CheckBootAggregate(e *IMAEntry, pcr func(bank Alg, i int) []byte) (*BootAggregate, error) {
	if e.FileName() != "boot_aggregate" {
		return nil, fmt.Errorf("tpmhost: IMA: entry %d is %q, not boot_aggregate", e.Seq, e.FileName())
	}
	algo, d, ok := e.FileDigest()
	if !ok {
		return nil, fmt.Errorf("tpmhost: IMA: boot_aggregate has no file digest")
	}
	bank, err := ParseAlg(algo)
	if err != nil || bank.Hash() == 0 {
		return nil, fmt.Errorf("tpmhost: IMA: boot_aggregate digest algorithm %q", algo)
	}
	ba := &BootAggregate{Alg: algo, Logged: bytes.Clone(d)}
	if !bytes.ContainsFunc(d, func(r rune) bool { return r != 0 }) {
		ba.NoTPM = true
		return ba, nil
	}
	tries := []int{7}
	if bank != AlgSHA1 {
		tries = []int{9, 7}
	}
	for _, last := range tries {
		h := bank.Hash().New()
		for i := 0; i <= last; i++ {
			v := pcr(bank, i)
			if v == nil {
				return nil, fmt.Errorf("tpmhost: IMA: boot_aggregate: PCR %d of bank %s unknown", i, bank)
			}
			h.Write(v)
		}
		sum := h.Sum(nil)
		// The digest field is as long as the algorithm's hash; older
		// kernels with a SHA-1 field over a larger bank truncated it.
		if bytes.Equal(sum[:min(len(sum), len(d))], d) {
			ba.Computed, ba.PCRMax, ba.OK = sum, last, true
			return ba, nil
		}
		if ba.Computed == nil || last == 7 {
			ba.Computed, ba.PCRMax = sum, last
		}
	}
	return ba, nil
}

// AppendIMAEntry appends the binary record of e (PCR, Digest, Template and
// Fields; Data is ignored) to b: the inverse of IMAReader.Next. For the
// legacy "ima" template Fields are the 20-byte digest and the name.
func AppendIMAEntry(b []byte, e *IMAEntry) []byte {
	b = binary.LittleEndian.AppendUint32(b, e.PCR)
	b = append(b, e.Digest...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Template)))
	b = append(b, e.Template...)
	if e.Template == "ima" {
		for i, f := range e.Fields {
			if i == 1 {
				b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
			}
			b = append(b, f...)
		}
		return b
	}
	n := 0
	for _, f := range e.Fields {
		n += 4 + len(f)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for _, f := range e.Fields {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// IMATemplateData returns the template data as the kernel hashes it, from
// the fields: what IMAReader puts in IMAEntry.Data.
func IMATemplateData(template string, fields [][]byte) []byte {
	var b []byte
	if template == "ima" {
		for i, f := range fields {
			if i == 1 {
				pad := make([]byte, imaLegacyNameLen)
				copy(pad, f)
				f = pad
			}
			b = append(b, f...)
		}
		return b
	}
	for _, f := range fields {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// Peek returns io.EOF when the list has no further entry (nil otherwise),
// without consuming anything.
func (r *IMAReader) Peek() (bool, error) {
	if r.err != nil {
		return false, r.err
	}
	if _, err := r.r.Peek(1); err != nil {
		return false, io.EOF
	}
	return true, nil
}
