package abi

// FnIMAEvents is the host function that pages through the Linux IMA
// measurement list (see IMARequest, IMAEvents).
const FnIMAEvents = "ima_events"

// Limits of ima_events.
const (
	// MaxIMAPage bounds the entries of one page.
	MaxIMAPage = 4096
	// MaxIMAPageBytes is the encoded size after which the host ends a page
	// early, so that a page of long names or signatures stays small.
	MaxIMAPageBytes = 256 << 10
	// MaxIMAComposite bounds IMARequest.Before and After (23 PCRs of 64 bytes).
	MaxIMAComposite = 23 * 64
)

// IMARequest is the input of ima_events: one page of the IMA measurement
// list, with the digests of one PCR bank.
//
// Quote binding: when QuoteDigest is set, the host also replays PCR 10 from
// the first entry on and ends the list at the first entry after which
// H_QuoteHash(Before ‖ PCR 10 ‖ After) equals QuoteDigest — the pcrDigest
// of a quote over PCR 10 and other PCRs whose values (ascending, those below
// 10 in Before, those above in After) the module knows. IMA appends entries
// while it is read, so a quote taken first covers a prefix of the list;
// this finds that prefix without the module hashing once per entry.
type IMARequest struct {
	Bank        uint16 // TPM_ALG_ID of the bank whose measurements to return
	Start       uint32 // the first entry: 0 (re-reads the list), or Next of the previous page
	Max         uint32 // at most this many entries, 1..MaxIMAPage
	QuoteHash   uint16 // TPM_ALG_ID of the quote's digest (with QuoteDigest)
	Before      []byte // quoted PCRs below 10, concatenated in ascending order
	After       []byte // quoted PCRs above 10
	QuoteDigest []byte // the quote's pcrDigest; empty: no quote binding
}

// IMAEvent is one IMA entry as the module sees it.
type IMAEvent struct {
	Seq         uint32 // 0-based position in the list
	PCR         uint32 // the PCR the kernel extended (10 unless the policy says otherwise)
	Measurement []byte // what the kernel extended into the bank: all ones for a violation
	Template    string // "ima", "ima-ng", "ima-sig", ...
	Algo        string // the file digest's algorithm ("sha256"; "sha1" for "ima")
	FileDigest  []byte // the file digest (empty when the template has none)
	Name        string // the event name: a path, "boot_aggregate", a keyring name
	Signature   []byte // the sig field (ima-sig, ima-modsig), empty when none
}

// IMAEvents is the result of ima_events.
type IMAEvents struct {
	Path    string // where the host read the list
	CTime   int64  // the list's change time, Unix seconds
	ListAlg uint16 // TPM_ALG_ID of the list's logged template digests
	Next    uint32 // Start of the next page
	End     bool   // no entry follows this page (end of the list, or the quote matched)
	Matched bool   // with quote binding: the last entry of this page completes the quoted PCR 10
	PCR10   []byte // PCR 10 of the bank replayed up to the last entry of this page
	Events  []IMAEvent
}

// AppendIMARequest appends the input of ima_events:
//
//	u16 bank | u32 start | u32 max | u16 quote_hash | bytes before |
//	bytes after | bytes quote_digest
func AppendIMARequest(b []byte, v IMARequest) []byte {
	b = appendU16(b, v.Bank)
	b = appendU32(b, v.Start)
	b = appendU32(b, v.Max)
	b = appendU16(b, v.QuoteHash)
	b = appendBytes(b, v.Before)
	b = appendBytes(b, v.After)
	return appendBytes(b, v.QuoteDigest)
}

// ParseIMARequest decodes the input of ima_events.
func ParseIMARequest(in []byte) (IMARequest, error) {
	r := newReader("IMARequest", in)
	var v IMARequest
	v.Bank = r.u16()
	v.Start = r.u32()
	v.Max = r.u32()
	v.QuoteHash = r.u16()
	v.Before = r.bytes()
	v.After = r.bytes()
	v.QuoteDigest = r.bytes()
	if err := r.done(); err != nil {
		return IMARequest{}, err
	}
	return v, nil
}

// AppendIMAEvents appends the result of ima_events:
//
//	string path | i64 ctime | u16 list_alg | u32 next | bool end | bool matched |
//	bytes pcr10 | list<{ u32 seq | u32 pcr | bytes measurement | string template |
//	string algo | bytes file_digest | string name | bytes signature }>
func AppendIMAEvents(b []byte, v IMAEvents) []byte {
	b = appendString(b, v.Path)
	b = appendU64(b, uint64(v.CTime))
	b = appendU16(b, v.ListAlg)
	b = appendU32(b, v.Next)
	b = appendBool(b, v.End)
	b = appendBool(b, v.Matched)
	b = appendBytes(b, v.PCR10)
	b = appendU32(b, uint32(len(v.Events)))
	for i := range v.Events {
		b = AppendIMAEvent(b, &v.Events[i])
	}
	return b
}

// AppendIMAEvent appends one element of the IMAEvents list.
func AppendIMAEvent(b []byte, e *IMAEvent) []byte {
	b = appendU32(b, e.Seq)
	b = appendU32(b, e.PCR)
	b = appendBytes(b, e.Measurement)
	b = appendString(b, e.Template)
	b = appendString(b, e.Algo)
	b = appendBytes(b, e.FileDigest)
	b = appendString(b, e.Name)
	return appendBytes(b, e.Signature)
}

// ParseIMAEvents decodes the result of ima_events.
func ParseIMAEvents(in []byte) (IMAEvents, error) {
	r := newReader("IMAEvents", in)
	var v IMAEvents
	v.Path = r.string()
	v.CTime = int64(r.u64())
	v.ListAlg = r.u16()
	v.Next = r.u32()
	v.End = r.bool()
	v.Matched = r.bool()
	v.PCR10 = r.bytes()
	n := r.count(32)
	if n > 0 {
		v.Events = make([]IMAEvent, 0, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		var e IMAEvent
		e.Seq = r.u32()
		e.PCR = r.u32()
		e.Measurement = r.bytes()
		e.Template = r.string()
		e.Algo = r.string()
		e.FileDigest = r.bytes()
		e.Name = r.string()
		e.Signature = r.bytes()
		v.Events = append(v.Events, e)
	}
	if err := r.done(); err != nil {
		return IMAEvents{}, err
	}
	return v, nil
}
