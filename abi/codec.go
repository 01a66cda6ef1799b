package abi

import (
	"errors"
	"math"
	"strconv"
)

// Byte layouts. Every value that crosses the wasm boundary is encoded
// little-endian (the wasm memory order), with these primitives:
//
//	u8, u16, u32, u64, i64   fixed width, little-endian
//	bytes                    u32 length n, then n bytes
//	string                   same as bytes (UTF-8 expected, not checked)
//	list<T>                  u32 count n, then n elements of T
//
// Each AppendX appends the encoding of one value to b and returns the
// extended slice; each ParseX decodes exactly one value, requires that no
// bytes are left over, bounds every count and length by the bytes present,
// and returns a *DecodeError naming the value and the byte offset of the
// fault. The layouts are described field by field in README.md.

// Decoding faults, for errors.Is on a *DecodeError.
var (
	// ErrShort means the input ended inside a field.
	ErrShort = errors.New("input too short")
	// ErrTrailing means bytes were left after the value.
	ErrTrailing = errors.New("trailing bytes")
	// ErrRange means a field holds a value outside its allowed range.
	ErrRange = errors.New("value out of range")
)

// DecodeError is returned by every Parse function: which value failed, at
// which byte offset of the input, and why (one of ErrShort, ErrTrailing,
// ErrRange).
type DecodeError struct {
	Value  string // e.g. "QuoteRequest"
	Offset int    // byte offset of the faulty field in the input
	Err    error
}

// Error implements error.
func (e *DecodeError) Error() string {
	// No fmt here: abi is linked into every module, and fmt is large.
	return "abi: " + e.Value + " at offset " + strconv.Itoa(e.Offset) + ": " + e.Err.Error()
}

// Unwrap returns the fault sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }

// Status returns the ABI status a host reports for this input fault.
func (e *DecodeError) Status() Status { return StatusInvalid }

// reader is a little-endian cursor over an input. The first fault sticks.
type reader struct {
	in    []byte
	off   int
	value string
	err   *DecodeError
}

func newReader(value string, in []byte) *reader { return &reader{in: in, value: value} }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = &DecodeError{Value: r.value, Offset: r.off, Err: err}
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.in)-r.off < n {
		r.fail(ErrShort)
		return nil
	}
	b := r.in[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) bool() bool {
	start := r.off
	v := r.u8()
	if v > 1 {
		r.off = start
		r.fail(ErrRange)
	}
	return v == 1
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return uint16(b[0]) | uint16(b[1])<<8
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	}
	return 0
}

func (r *reader) u64() uint64 {
	lo := uint64(r.u32())
	return lo | uint64(r.u32())<<32
}

// bytes reads a u32-length-prefixed byte string; the result is a copy, so a
// decoded value never aliases its input (which may be guest memory).
func (r *reader) bytes() []byte {
	start := r.off
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.in)-r.off) {
		r.off = start
		r.fail(ErrShort)
		return nil
	}
	b := r.take(int(n))
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func (r *reader) string() string { return string(r.bytes()) }

// count reads a list count and bounds it by the bytes left, given the
// smallest encoding of one element, so a count cannot drive an allocation
// larger than the input.
func (r *reader) count(minElem int) int {
	start := r.off
	n := r.u32()
	if r.err != nil {
		return 0
	}
	if uint64(n)*uint64(minElem) > uint64(len(r.in)-r.off) {
		r.off = start
		r.fail(ErrShort)
		return 0
	}
	return int(n)
}

// done returns the sticky fault, or ErrTrailing when bytes are left.
func (r *reader) done() error {
	if r.err == nil && r.off != len(r.in) {
		r.fail(ErrTrailing)
	}
	if r.err != nil {
		return r.err
	}
	return nil
}

func appendU16(b []byte, v uint16) []byte { return append(b, byte(v), byte(v>>8)) }

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func appendU64(b []byte, v uint64) []byte {
	return appendU32(appendU32(b, uint32(v)), uint32(v>>32))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendBytes writes a u32 length prefix and v. Values longer than 4 GiB
// cannot exist in wasm32 memory; they are a programmer error.
func appendBytes(b []byte, v []byte) []byte {
	if uint64(len(v)) > math.MaxUint32 {
		panic("abi: byte string longer than 4 GiB")
	}
	return append(appendU32(b, uint32(len(v))), v...)
}

func appendString(b []byte, v string) []byte {
	if uint64(len(v)) > math.MaxUint32 {
		panic("abi: string longer than 4 GiB")
	}
	return append(appendU32(b, uint32(len(v))), v...)
}

// AppendUint32 appends a bare u32 (the input of tpm_aik and random).
func AppendUint32(b []byte, v uint32) []byte { return appendU32(b, v) }

// ParseUint32 decodes exactly one u32.
func ParseUint32(in []byte) (uint32, error) {
	r := newReader("u32", in)
	v := r.u32()
	return v, r.done()
}

// AppendUint16 appends a bare u16 (the input of eventlog_events).
func AppendUint16(b []byte, v uint16) []byte { return appendU16(b, v) }

// ParseUint16 decodes exactly one u16.
func ParseUint16(in []byte) (uint16, error) {
	r := newReader("u16", in)
	v := r.u16()
	return v, r.done()
}

// AppendMessageHeader appends the 20-byte header of imc_receive and send:
//
//	0  u32 vendor     PA Message Vendor ID (24 bits used)
//	4  u32 subtype    PA Subtype
//	8  u32 collector  Posture Collector (IMC) ID
//	12 u32 validator  Posture Validator (IMV) ID
//	16 u32 flags      FlagExclusive
func AppendMessageHeader(b []byte, h MessageHeader) []byte {
	b = appendU32(b, h.Type.Vendor)
	b = appendU32(b, h.Type.Subtype)
	b = appendU32(b, h.Collector)
	b = appendU32(b, h.Validator)
	return appendU32(b, h.Flags)
}

// ParseMessage splits the input of send (or imc_receive) into its header and
// the PA-TNC body that follows it. The body aliases in. It checks that the
// vendor fits 24 bits, the IDs 16 bits, that no unknown flag is set and that
// the body is at most MaxMessageLen (StatusTooLarge is the caller's status
// for that case: errors.Is(err, ErrRange) with Offset == MessageHeaderLen).
func ParseMessage(in []byte) (MessageHeader, []byte, error) {
	r := newReader("MessageHeader", in)
	var h MessageHeader
	h.Type.Vendor = r.u32()
	if r.err == nil && h.Type.Vendor > 0xffffff {
		r.off -= 4
		r.fail(ErrRange)
	}
	h.Type.Subtype = r.u32()
	h.Collector = r.u32()
	if r.err == nil && h.Collector > 0xffff {
		r.off -= 4
		r.fail(ErrRange)
	}
	h.Validator = r.u32()
	if r.err == nil && h.Validator > 0xffff {
		r.off -= 4
		r.fail(ErrRange)
	}
	h.Flags = r.u32()
	if r.err == nil && h.Flags&^FlagExclusive != 0 {
		r.off -= 4
		r.fail(ErrRange)
	}
	if r.err != nil {
		return MessageHeader{}, nil, r.err
	}
	body := in[MessageHeaderLen:]
	if len(body) > MaxMessageLen {
		return MessageHeader{}, nil, &DecodeError{Value: "MessageHeader", Offset: MessageHeaderLen, Err: ErrRange}
	}
	return h, body, nil
}

// AppendMsgTypes appends list<MsgType> (the input of subscribe):
//
//	u32 count, then per type: u32 vendor, u32 subtype
func AppendMsgTypes(b []byte, types []MsgType) []byte {
	b = appendU32(b, uint32(len(types)))
	for _, t := range types {
		b = appendU32(b, t.Vendor)
		b = appendU32(b, t.Subtype)
	}
	return b
}

// ParseMsgTypes decodes list<MsgType>. Vendor must fit 24 bits (0xffffff is
// the wildcard VendorAny); there may be at most MaxSubscriptions entries.
func ParseMsgTypes(in []byte) ([]MsgType, error) {
	r := newReader("MsgTypes", in)
	n := r.count(8)
	if r.err == nil && n > MaxSubscriptions {
		r.off -= 4
		r.fail(ErrRange)
	}
	var out []MsgType
	for i := 0; i < n && r.err == nil; i++ {
		t := MsgType{Vendor: r.u32(), Subtype: r.u32()}
		if r.err == nil && t.Vendor > 0xffffff {
			r.off -= 8
			r.fail(ErrRange)
		}
		out = append(out, t)
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// AppendSystemFacts appends the result of system_facts:
//
//	i64 boot_time, u8 ipv4_forwarding (0|1), u8 ipv6_forwarding (0|1),
//	string machine_id, string arch
func AppendSystemFacts(b []byte, v SystemFacts) []byte {
	b = appendU64(b, uint64(v.BootTime))
	b = appendBool(b, v.IPv4Forwarding)
	b = appendBool(b, v.IPv6Forwarding)
	b = appendString(b, v.MachineID)
	return appendString(b, v.Arch)
}

// ParseSystemFacts decodes the result of system_facts.
func ParseSystemFacts(in []byte) (SystemFacts, error) {
	r := newReader("SystemFacts", in)
	var v SystemFacts
	v.BootTime = int64(r.u64())
	v.IPv4Forwarding = r.bool()
	v.IPv6Forwarding = r.bool()
	v.MachineID = r.string()
	v.Arch = r.string()
	if err := r.done(); err != nil {
		return SystemFacts{}, err
	}
	return v, nil
}

// AppendTPMVersionInfo appends the result of tpm_version_info:
//
//	u8 family, u32 manufacturer, string vendor, u64 firmware,
//	u16 spec_year, u16 spec_revision, u8 spec_level, u8 locality
func AppendTPMVersionInfo(b []byte, v TPMVersionInfo) []byte {
	b = append(b, v.Family)
	b = appendU32(b, v.Manufacturer)
	b = appendString(b, v.VendorString)
	b = appendU64(b, v.FirmwareVersion)
	b = appendU16(b, v.SpecYear)
	b = appendU16(b, v.SpecRevision)
	b = append(b, v.SpecLevel)
	return append(b, v.Locality)
}

// ParseTPMVersionInfo decodes the result of tpm_version_info.
func ParseTPMVersionInfo(in []byte) (TPMVersionInfo, error) {
	r := newReader("TPMVersionInfo", in)
	var v TPMVersionInfo
	v.Family = r.u8()
	v.Manufacturer = r.u32()
	v.VendorString = r.string()
	v.FirmwareVersion = r.u64()
	v.SpecYear = r.u16()
	v.SpecRevision = r.u16()
	v.SpecLevel = r.u8()
	v.Locality = r.u8()
	if err := r.done(); err != nil {
		return TPMVersionInfo{}, err
	}
	return v, nil
}

// AppendBanks appends list<u16> of TPM_ALG_IDs (the result of tpm_banks).
func AppendBanks(b []byte, banks []uint16) []byte {
	b = appendU32(b, uint32(len(banks)))
	for _, a := range banks {
		b = appendU16(b, a)
	}
	return b
}

// ParseBanks decodes list<u16>.
func ParseBanks(in []byte) ([]uint16, error) {
	r := newReader("Banks", in)
	n := r.count(2)
	var out []uint16
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.u16())
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// AppendAIK appends the result of tpm_aik:
//
//	u32 handle, bytes public_der, bytes cert_der, string key_id,
//	u16 sig_alg, u16 hash_alg
func AppendAIK(b []byte, v AIK) []byte {
	b = appendU32(b, v.Handle)
	b = appendBytes(b, v.PublicDER)
	b = appendBytes(b, v.CertDER)
	b = appendString(b, v.KeyID)
	b = appendU16(b, v.SigAlg)
	return appendU16(b, v.HashAlg)
}

// ParseAIK decodes the result of tpm_aik.
func ParseAIK(in []byte) (AIK, error) {
	r := newReader("AIK", in)
	var v AIK
	v.Handle = r.u32()
	v.PublicDER = r.bytes()
	v.CertDER = r.bytes()
	v.KeyID = r.string()
	v.SigAlg = r.u16()
	v.HashAlg = r.u16()
	if err := r.done(); err != nil {
		return AIK{}, err
	}
	return v, nil
}

// MaxQualifyingLen bounds QuoteRequest.Qualifying (TPM2B_DATA holds at most
// the size of the largest digest).
const MaxQualifyingLen = 64

// AppendQuoteRequest appends the input of tpm_quote:
//
//	u32 handle, u16 bank, u32 pcr_mask, bytes qualifying (≤ 64)
func AppendQuoteRequest(b []byte, v QuoteRequest) []byte {
	b = appendU32(b, v.Handle)
	b = appendU16(b, v.Bank)
	b = appendU32(b, v.PCRs)
	return appendBytes(b, v.Qualifying)
}

// ParseQuoteRequest decodes the input of tpm_quote; PCRs above 23 and
// qualifying data over MaxQualifyingLen are ErrRange.
func ParseQuoteRequest(in []byte) (QuoteRequest, error) {
	r := newReader("QuoteRequest", in)
	var v QuoteRequest
	v.Handle = r.u32()
	v.Bank = r.u16()
	v.PCRs = r.u32()
	if r.err == nil && v.PCRs>>24 != 0 {
		r.off -= 4
		r.fail(ErrRange)
	}
	start := r.off
	v.Qualifying = r.bytes()
	if r.err == nil && len(v.Qualifying) > MaxQualifyingLen {
		r.off = start
		r.fail(ErrRange)
	}
	if err := r.done(); err != nil {
		return QuoteRequest{}, err
	}
	return v, nil
}

// AppendQuote appends the result of tpm_quote:
//
//	bytes attest, u16 sig_alg, u16 hash_alg, bytes signature
func AppendQuote(b []byte, v Quote) []byte {
	b = appendBytes(b, v.Attest)
	b = appendU16(b, v.SigAlg)
	b = appendU16(b, v.HashAlg)
	return appendBytes(b, v.Signature)
}

// ParseQuote decodes the result of tpm_quote.
func ParseQuote(in []byte) (Quote, error) {
	r := newReader("Quote", in)
	var v Quote
	v.Attest = r.bytes()
	v.SigAlg = r.u16()
	v.HashAlg = r.u16()
	v.Signature = r.bytes()
	if err := r.done(); err != nil {
		return Quote{}, err
	}
	return v, nil
}

// AppendEventLog appends the result of eventlog_events:
//
//	string path, i64 ctime, u8 spec_id_log (0|1),
//	list<event>: u32 seq, u32 pcr, u32 type, bytes digest
func AppendEventLog(b []byte, v EventLog) []byte {
	b = appendString(b, v.Path)
	b = appendU64(b, uint64(v.CTime))
	b = appendBool(b, v.SpecIDLog)
	b = appendU32(b, uint32(len(v.Events)))
	for _, e := range v.Events {
		b = appendU32(b, e.Seq)
		b = appendU32(b, e.PCR)
		b = appendU32(b, e.Type)
		b = appendBytes(b, e.Digest)
	}
	return b
}

// ParseEventLog decodes the result of eventlog_events.
func ParseEventLog(in []byte) (EventLog, error) {
	r := newReader("EventLog", in)
	var v EventLog
	v.Path = r.string()
	v.CTime = int64(r.u64())
	v.SpecIDLog = r.bool()
	n := r.count(16)
	if n > 0 {
		v.Events = make([]Event, 0, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		var e Event
		e.Seq = r.u32()
		e.PCR = r.u32()
		e.Type = r.u32()
		e.Digest = r.bytes()
		v.Events = append(v.Events, e)
	}
	if err := r.done(); err != nil {
		return EventLog{}, err
	}
	return v, nil
}

// AppendSymlinks appends the result of symlinks:
//
//	list<symlink>: string path, string target
func AppendSymlinks(b []byte, v []Symlink) []byte {
	b = appendU32(b, uint32(len(v)))
	for _, s := range v {
		b = appendString(b, s.Path)
		b = appendString(b, s.Target)
	}
	return b
}

// ParseSymlinks decodes the result of symlinks.
func ParseSymlinks(in []byte) ([]Symlink, error) {
	r := newReader("Symlinks", in)
	n := r.count(8)
	var out []Symlink
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, Symlink{Path: r.string(), Target: r.string()})
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// AppendPackages appends the result of packages:
//
//	list<package>: string name, string version
func AppendPackages(b []byte, v []Package) []byte {
	b = appendU32(b, uint32(len(v)))
	for _, p := range v {
		b = appendString(b, p.Name)
		b = appendString(b, p.Version)
	}
	return b
}

// ParsePackages decodes the result of packages.
func ParsePackages(in []byte) ([]Package, error) {
	r := newReader("Packages", in)
	n := r.count(8)
	var out []Package
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, Package{Name: r.string(), Version: r.string()})
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return out, nil
}

// AppendReport appends the input of report:
//
//	u32 validator, u32 result, string remediation, string language
func AppendReport(b []byte, v Report) []byte {
	b = appendU32(b, v.Validator)
	b = appendU32(b, v.Result)
	b = appendString(b, v.Remediation)
	return appendString(b, v.Language)
}

// ParseReport decodes the input of report.
func ParseReport(in []byte) (Report, error) {
	r := newReader("Report", in)
	var v Report
	v.Validator = r.u32()
	v.Result = r.u32()
	v.Remediation = r.string()
	v.Language = r.string()
	if err := r.done(); err != nil {
		return Report{}, err
	}
	return v, nil
}

// AppendDHCreateRequest appends the input of dh_create: u16 group.
func AppendDHCreateRequest(b []byte, v DHCreateRequest) []byte { return appendU16(b, v.Group) }

// ParseDHCreateRequest decodes the input of dh_create.
func ParseDHCreateRequest(in []byte) (DHCreateRequest, error) {
	r := newReader("DHCreateRequest", in)
	v := DHCreateRequest{Group: r.u16()}
	if err := r.done(); err != nil {
		return DHCreateRequest{}, err
	}
	return v, nil
}

// AppendDHCreateResult appends the result of dh_create: u32 handle, bytes public.
func AppendDHCreateResult(b []byte, v DHCreateResult) []byte {
	return appendBytes(appendU32(b, v.Handle), v.Public)
}

// ParseDHCreateResult decodes the result of dh_create.
func ParseDHCreateResult(in []byte) (DHCreateResult, error) {
	r := newReader("DHCreateResult", in)
	var v DHCreateResult
	v.Handle = r.u32()
	v.Public = r.bytes()
	if err := r.done(); err != nil {
		return DHCreateResult{}, err
	}
	return v, nil
}

// AppendDHFinishRequest appends the input of dh_finish:
//
//	u32 handle, u16 hash_alg, bytes peer_public, bytes initiator_nonce,
//	bytes responder_nonce
func AppendDHFinishRequest(b []byte, v DHFinishRequest) []byte {
	b = appendU32(b, v.Handle)
	b = appendU16(b, v.HashAlg)
	b = appendBytes(b, v.PeerPublic)
	b = appendBytes(b, v.InitiatorNonce)
	return appendBytes(b, v.ResponderNonce)
}

// ParseDHFinishRequest decodes the input of dh_finish.
func ParseDHFinishRequest(in []byte) (DHFinishRequest, error) {
	r := newReader("DHFinishRequest", in)
	var v DHFinishRequest
	v.Handle = r.u32()
	v.HashAlg = r.u16()
	v.PeerPublic = r.bytes()
	v.InitiatorNonce = r.bytes()
	v.ResponderNonce = r.bytes()
	if err := r.done(); err != nil {
		return DHFinishRequest{}, err
	}
	return v, nil
}

// AppendHashRequest appends the input of hash: u16 alg, then the data to the
// end of the input (no length prefix).
func AppendHashRequest(b []byte, v HashRequest) []byte {
	return append(appendU16(b, v.Alg), v.Data...)
}

// ParseHashRequest decodes the input of hash. Data aliases in.
func ParseHashRequest(in []byte) (HashRequest, error) {
	r := newReader("HashRequest", in)
	alg := r.u16()
	if r.err != nil {
		return HashRequest{}, r.err
	}
	return HashRequest{Alg: alg, Data: in[2:]}, nil
}
