package abi

// The software inventory host functions (the SWIMA IMC's, RFC 8412): the
// host reads the package databases natively, keeps a record of inventory
// changes between runs, and hands both to the module in pages.
const (
	// FnSWInventory pages through the installed software (SWRequest →
	// SWInventory). Start 0 begins a pass: the host reads the package
	// databases, records what changed since its last reading as events,
	// and keeps that reading for the pass; any other Start must be the
	// previous page's Next (else StatusState).
	FnSWInventory = "sw_inventory"
	// FnSWEvents pages through the recorded inventory changes (SWRequest →
	// SWEvents): Start is the earliest EID wanted (0 or 1: from the first
	// kept). Each call with Start ≤ 1 first records what changed since the
	// host's last reading.
	FnSWEvents = "sw_events"
)

// Limits of sw_inventory and sw_events.
const (
	// MaxSWPage bounds the entries of one page.
	MaxSWPage = 4096
	// MaxSWPageBytes is the encoded size after which the host ends a page
	// early (SWID tags can be long).
	MaxSWPageBytes = 256 << 10
)

// Software event actions (RFC 8412 §5.11: Action field).
const (
	SWCreation   uint8 = 1
	SWDeletion   uint8 = 2
	SWAlteration uint8 = 3
)

// SWRequest is the input of sw_inventory and sw_events.
type SWRequest struct {
	Start uint32 // sw_inventory: 0 or the previous Next; sw_events: the earliest EID wanted
	Max   uint32 // at most this many entries, 1..MaxSWPage
}

// SWItem is one piece of installed software.
type SWItem struct {
	// Source is "dpkg", "rpm", "apk", or "swidtag" for a SWID tag file
	// found under /usr/share/swidtag.
	Source  string
	Name    string
	Version string
	Arch    string
	// TagID and RegID identify a SWID tag file (the tag's tagId and its
	// tag creator's regid); empty for a package.
	TagID string
	RegID string
	// Tag is the SWID tag file's XML (swidtag), else empty.
	Tag []byte
}

// SWInventory is the result of sw_inventory.
type SWInventory struct {
	Epoch   uint32 // EID epoch of the host's record (random, new when the record is new)
	LastEID uint32 // the EID of the last recorded event, 0 if none
	Next    uint32 // Start of the next page
	End     bool   // no entry follows this page
	Items   []SWItem
}

// SWEvent is one recorded change of the installed software.
type SWEvent struct {
	EID    uint32 // 1, 2, ... within the epoch
	Time   int64  // when the host noticed the change, Unix seconds
	Action uint8  // SWCreation, SWDeletion, SWAlteration
	Item   SWItem // for an alteration, the software as it is now
}

// SWEvents is the result of sw_events.
type SWEvents struct {
	Epoch   uint32
	LastEID uint32
	// FirstEID is the earliest EID the host still keeps (older ones were
	// dropped to keep the record small), 0 if there is none.
	FirstEID uint32
	Next     uint32 // Start of the next page (the EID after this page's last)
	End      bool   // no event follows this page
	Events   []SWEvent
}

// AppendSWRequest appends the input of sw_inventory and sw_events:
//
//	u32 start | u32 max
func AppendSWRequest(b []byte, v SWRequest) []byte {
	return appendU32(appendU32(b, v.Start), v.Max)
}

// ParseSWRequest decodes the input of sw_inventory and sw_events.
func ParseSWRequest(in []byte) (SWRequest, error) {
	r := newReader("SWRequest", in)
	v := SWRequest{Start: r.u32(), Max: r.u32()}
	if err := r.done(); err != nil {
		return SWRequest{}, err
	}
	return v, nil
}

// AppendSWItem appends one SWItem:
//
//	string source | string name | string version | string arch |
//	string tag_id | string reg_id | bytes tag
func AppendSWItem(b []byte, v *SWItem) []byte {
	b = appendString(b, v.Source)
	b = appendString(b, v.Name)
	b = appendString(b, v.Version)
	b = appendString(b, v.Arch)
	b = appendString(b, v.TagID)
	b = appendString(b, v.RegID)
	return appendBytes(b, v.Tag)
}

func (r *reader) swItem() SWItem {
	return SWItem{Source: r.string(), Name: r.string(), Version: r.string(), Arch: r.string(),
		TagID: r.string(), RegID: r.string(), Tag: r.bytes()}
}

// AppendSWInventory appends the result of sw_inventory:
//
//	u32 epoch | u32 last_eid | u32 next | bool end | list<SWItem>
func AppendSWInventory(b []byte, v SWInventory) []byte {
	b = appendU32(b, v.Epoch)
	b = appendU32(b, v.LastEID)
	b = appendU32(b, v.Next)
	b = appendBool(b, v.End)
	b = appendU32(b, uint32(len(v.Items)))
	for i := range v.Items {
		b = AppendSWItem(b, &v.Items[i])
	}
	return b
}

// ParseSWInventory decodes the result of sw_inventory.
func ParseSWInventory(in []byte) (SWInventory, error) {
	r := newReader("SWInventory", in)
	var v SWInventory
	v.Epoch = r.u32()
	v.LastEID = r.u32()
	v.Next = r.u32()
	v.End = r.bool()
	n := r.count(28)
	if n > 0 {
		v.Items = make([]SWItem, 0, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		v.Items = append(v.Items, r.swItem())
	}
	if err := r.done(); err != nil {
		return SWInventory{}, err
	}
	return v, nil
}

// AppendSWEvents appends the result of sw_events:
//
//	u32 epoch | u32 last_eid | u32 first_eid | u32 next | bool end |
//	list<{ u32 eid | i64 time | u8 action | SWItem }>
func AppendSWEvents(b []byte, v SWEvents) []byte {
	b = appendU32(b, v.Epoch)
	b = appendU32(b, v.LastEID)
	b = appendU32(b, v.FirstEID)
	b = appendU32(b, v.Next)
	b = appendBool(b, v.End)
	b = appendU32(b, uint32(len(v.Events)))
	for i := range v.Events {
		e := &v.Events[i]
		b = appendU32(b, e.EID)
		b = appendU64(b, uint64(e.Time))
		b = append(b, e.Action)
		b = AppendSWItem(b, &e.Item)
	}
	return b
}

// ParseSWEvents decodes the result of sw_events.
func ParseSWEvents(in []byte) (SWEvents, error) {
	r := newReader("SWEvents", in)
	var v SWEvents
	v.Epoch = r.u32()
	v.LastEID = r.u32()
	v.FirstEID = r.u32()
	v.Next = r.u32()
	v.End = r.bool()
	n := r.count(4 + 8 + 1 + 28)
	if n > 0 {
		v.Events = make([]SWEvent, 0, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		var e SWEvent
		e.EID = r.u32()
		e.Time = int64(r.u64())
		e.Action = r.u8()
		e.Item = r.swItem()
		v.Events = append(v.Events, e)
	}
	if err := r.done(); err != nil {
		return SWEvents{}, err
	}
	return v, nil
}
