package patnc

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
)

// gen makes random valid attribute values, like crypto/tls's Generate
// methods for testing/quick.
type gen struct{ r *rand.Rand }

func (g gen) bytes(max int) []byte {
	b := make([]byte, g.r.IntN(max+1)) // never nil: decoders return non-nil empty slices
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func (g gen) str(max int) string { return string(g.bytes(max)) }

func (g gen) u8() uint8   { return uint8(g.r.Uint32()) }
func (g gen) u16() uint16 { return uint16(g.r.Uint32()) }
func (g gen) u24() uint32 { return g.r.Uint32() & 0xffffff }
func (g gen) u32() uint32 { return g.r.Uint32() }
func (g gen) bool() bool  { return g.r.IntN(2) == 1 }

func (g gen) time() DateTime {
	if g.r.IntN(4) == 0 {
		return UnknownTime()
	}
	return DateTimeFromUnix(int64(g.r.Uint32()))
}

func (g gen) comp() ComponentName {
	return ComponentName{Vendor: g.u24(), Family: g.u8() & 3, Qualifier: Qualifier(g.u8() & 0x3f), Name: g.u32()}
}

func (g gen) n(max int) int { return g.r.IntN(max + 1) }

// attr returns a random valid attribute of type t with random NOSKIP.
func (g gen) attr(t Type) Attr {
	var a Attr
	switch t {
	case TypeAttrRequest:
		x := &AttrRequest{Types: make([]Type, g.n(5))}
		for i := range x.Types {
			x.Types[i] = Type{g.u24(), g.u32()}
		}
		a = x
	case TypeProductInfo:
		x := &ProductInfo{VendorID: g.u24() | 1, ProductID: g.u16(), Name: g.str(20)}
		a = x
	case TypeNumericVersion:
		a = &NumericVersion{Major: g.u32(), Minor: g.u32(), Build: g.u32(), SPMajor: g.u16(), SPMinor: g.u16()}
	case TypeStringVersion:
		a = &StringVersion{Version: g.str(255), Build: g.str(10), Config: g.str(10)}
	case TypeOpStatus:
		a = &OpStatus{Status: OpStatusCode(g.n(3)), Result: OpResult(g.n(3)), LastUse: g.time()}
	case TypePortFilter:
		x := &PortFilter{Entries: make([]PortFilterEntry, g.n(5))}
		for i := range x.Entries {
			x.Entries[i] = PortFilterEntry{Blocked: g.bool(), Protocol: g.u8(), Port: g.u16()}
		}
		a = x
	case TypeInstalledPackages:
		x := &InstalledPackages{Packages: make([]Package, g.n(5))}
		for i := range x.Packages {
			x.Packages[i] = Package{Name: g.str(20), Version: g.str(20)}
		}
		a = x
	case TypeSWRequest:
		x := &SWRequest{Flags: g.u8() & swReqFlags, RequestID: g.u32(), EarliestEID: g.u32(), SoftwareIDs: make([]string, g.n(4))}
		for i := range x.SoftwareIDs {
			x.SoftwareIDs[i] = g.str(30)
		}
		a = x
	case TypeSubscriptionStatusRequest:
		a = &SubscriptionStatusRequest{}
	case TypeSubscriptionStatusResponse:
		x := &SubscriptionStatusResponse{Subscriptions: make([]SubscriptionRecord, g.n(4))}
		for i := range x.Subscriptions {
			x.Subscriptions[i] = SubscriptionRecord{Flags: g.u8(), RequestID: g.u32(), EarliestEID: g.u32(), SoftwareIDs: make([]string, g.n(3))}
			for j := range x.Subscriptions[i].SoftwareIDs {
				x.Subscriptions[i].SoftwareIDs[j] = g.str(30)
			}
		}
		a = x
	case TypeSourceMetadataRequest:
		a = &SourceMetadataRequest{}
	case TypeSourceMetadataResponse:
		x := &SourceMetadataResponse{Sources: make([]SourceMetadata, g.n(4))}
		for i := range x.Sources {
			x.Sources[i] = SourceMetadata{SourceID: g.u8(), Metadata: strings.ReplaceAll(g.str(30), "\x00", "")}
		}
		a = x
	case TypeSWIdentifierInventory, TypeSWInventory:
		x := &SWInventory{IDsOnly: t == TypeSWIdentifierInventory, Flags: g.u8(), RequestID: g.u32(), EIDEpoch: g.u32(), LastEID: g.u32(), Records: make([]SWRecord, g.n(4))}
		for i := range x.Records {
			x.Records[i] = g.swRecord(!x.IDsOnly)
		}
		a = x
	case TypeSWIdentifierEvents, TypeSWEvents:
		x := &SWEvents{IDsOnly: t == TypeSWIdentifierEvents, Flags: g.u8(), RequestID: g.u32(), EIDEpoch: g.u32(), LastEID: g.u32(), LastConsultedEID: g.u32(), Events: make([]SWEvent, g.n(4))}
		for i := range x.Events {
			x.Events[i] = SWEvent{EID: g.u32(), Timestamp: string(g.bytes(0)) + strings.Repeat("x", SWTimestampLen), Action: 1 + g.u8()%3, Record: g.swRecord(!x.IDsOnly)}
		}
		a = x
	case TypePATNCError:
		x := &PATNCError{Vendor: g.u24(), Code: g.u32()}
		switch g.n(4) {
		case 0, 1, 2:
			x.Vendor, x.Code = abi.PENIETF, uint32(g.n(2)+1)
			copy(x.MsgHeader[:], g.bytes(8))
			switch ErrorCode(x.Code) {
			case ErrInvalidParameter:
				x.Offset = g.u32()
			case ErrVersionNotSupported:
				x.MaxVersion, x.MinVersion = g.u8(), g.u8()
			default:
				x.UnsupportedFlags, x.Unsupported = g.u8(), Type{g.u24(), g.u32()}
			}
		default:
			if x.Vendor == abi.PENIETF {
				x.Code = 4 + g.u32()%100
			}
			x.Info = g.bytes(16)
		}
		a = x
	case TypeAssessmentResult:
		a = &AssessmentResult{Result: AssessmentResultCode(g.u32())}
	case TypeRemediationInstructions:
		x := &RemediationInstructions{ParamsVendor: abi.PENIETF, ParamsType: uint32(g.n(3))}
		switch x.ParamsType {
		case RemediationURI:
			x.URI = g.str(30)
		case RemediationString:
			x.Text, x.Lang = g.str(30), g.str(5)
		default:
			x.ParamsVendor, x.Params = g.u24()|1, g.bytes(10)
		}
		a = x
	case TypeForwardingEnabled:
		a = &ForwardingEnabled{Status: ForwardingStatus(g.n(2))}
	case TypeFactoryDefaultPwd:
		a = &FactoryDefaultPwdEnabled{Enabled: g.bool()}
	case TypeITACommand:
		a = &ITACommand{Command: g.str(10)}
	case TypeITADummy:
		a = &ITADummy{Data: g.bytes(40)}
	case TypeITAGetSettings:
		x := &ITAGetSettings{Names: make([]string, g.n(4))}
		for i := range x.Names {
			x.Names[i] = g.str(12)
		}
		a = x
	case TypeITASettings:
		x := &ITASettings{Settings: make([]Setting, g.n(4))}
		for i := range x.Settings {
			x.Settings[i] = Setting{g.str(12), g.str(30)}
		}
		a = x
	case TypeITAStartAngel, TypeITAStopAngel:
		a = &ITAAngel{Start: t == TypeITAStartAngel}
	case TypeITADeviceID:
		a = &ITADeviceID{ID: string(bytes.ReplaceAll(g.bytes(40), []byte{0}, []byte{'0'}))}
	case TypeITAGetSymlinks:
		a = &ITAGetSymlinks{Dir: g.str(10)}
	case TypeITASymlinks:
		x := &ITASymlinks{Links: make([]Symlink, g.n(4))}
		for i := range x.Links {
			x.Links[i] = Symlink{g.str(12), g.str(12)}
		}
		a = x
	case TypeSegContractRequest:
		a = &SegContractRequest{MaxMsgSize: g.u32(), MaxSegSize: g.u32()}
	case TypeSegContractResponse:
		a = &SegContractResponse{MaxMsgSize: g.u32(), MaxSegSize: g.u32()}
	case TypeSegEnvelope:
		a = &SegEnvelope{More: g.bool(), Start: g.bool(), BaseMsgID: g.u24(), Segment: g.bytes(30)}
	case TypeNextSegment:
		a = &NextSegment{Cancel: g.bool(), BaseMsgID: g.u24()}
	case TypeReqProtoCaps:
		a = &ReqProtoCaps{Caps: Caps(g.u16())}
	case TypeProtoCaps:
		a = &ProtoCaps{Caps: Caps(g.u16())}
	case TypeDHNonceParamsReq:
		a = &DHNonceParamsReq{MinNonceLen: g.u8(), Groups: DHGroups(g.u16())}
	case TypeDHNonceParamsResp:
		nonce := g.bytes(40)
		pub := g.bytes(96)
		if len(nonce)+len(pub) < 8 {
			pub = append(pub, make([]byte, 8)...)
		}
		a = &DHNonceParamsResp{Group: DHGroups(g.u16()), HashAlgs: HashAlgs(g.u16()), Nonce: nonce, Public: pub}
	case TypeDHNonceFinish:
		nonce := g.bytes(40)
		pub := g.bytes(96)
		if len(nonce)+len(pub) < 8 {
			pub = append(pub, make([]byte, 8)...)
		}
		a = &DHNonceFinish{HashAlg: HashAlgs(g.u16()), Public: pub, Nonce: nonce}
	case TypeMeasAlgoRequest:
		a = &MeasAlgoRequest{Algs: HashAlgs(g.u16())}
	case TypeMeasAlgoSelection:
		a = &MeasAlgoSelection{Alg: HashAlgs(1 << g.n(15))}
	case TypeGetTPMVersionInfo:
		a = &GetTPMVersionInfo{}
	case TypeTPMVersionInfo:
		a = &TPMVersionInfo{Info: append([]byte{2, 0, 0, 3}, g.bytes(12)...)}
	case TypeGetAIK:
		a = &GetAIK{}
	case TypeAIK:
		a = &AIK{Naked: g.bool(), DER: g.bytes(100)}
	case TypeReqFuncCompEvid:
		x := &ReqFuncCompEvid{Requests: make([]CompEvidRequest, 1+g.n(3))}
		for i := range x.Requests {
			x.Requests[i] = CompEvidRequest{Flags: g.u8(), Depth: g.u24(), Name: g.comp()}
		}
		a = x
	case TypeGenAttestEvid:
		a = &GenAttestEvid{}
	case TypeSimpleCompEvid:
		x := &SimpleCompEvid{PCRInfo: g.bool(), Validation: Validation(g.n(3) << 5), Depth: g.u24(),
			Name: g.comp(), MeasType: MeasTypeHash, PCR: g.u24(), HashAlg: HashAlgs(g.u16()),
			Transform: PCRTransform(g.u8()), Time: g.time(), Measurement: g.bytes(64)}
		if x.hasPolicy() {
			x.PolicyURI = g.str(20)
		}
		if x.PCRInfo {
			x.PCRBefore = g.bytes(32)
			x.PCRAfter = bytes.Repeat([]byte{g.u8()}, len(x.PCRBefore))
		}
		a = x
	case TypeSimpleEvidFinal:
		modes := []QuoteMode{QuoteNone, QuoteTPM2, QuoteInfo, QuoteInfo2, QuoteInfo2CapVer}
		x := &SimpleEvidFinal{QuoteMode: modes[g.n(4)], CompositeHashAlg: HashAlgs(g.u16()), HasEvidSig: g.bool()}
		if x.QuoteMode != QuoteNone {
			x.PCRComposite, x.QuoteSig = g.bytes(32), g.bytes(64)
		}
		if x.QuoteMode == QuoteTPM2 {
			x.QualifiedSigner, x.ClockInfo, x.VersionInfo, x.PCRSelect = g.bytes(34), g.bytes(17), g.bytes(8), g.bytes(10)
		}
		if x.HasEvidSig {
			x.EvidSig = g.bytes(20)
		}
		a = x
	case TypeReqFileMeta:
		a = &ReqFileMeta{Directory: g.bool(), Delimiter: g.u8(), Path: g.str(20)}
	case TypeUnixFileMeta:
		x := &UnixFileMeta{Files: make([]FileMetadata, g.n(3))}
		for i := range x.Files {
			x.Files[i] = FileMetadata{FileType: g.u8(), Size: g.r.Uint64(), Created: g.r.Uint64(),
				Modified: g.r.Uint64(), Accessed: g.r.Uint64(), Owner: g.r.Uint64(), Group: g.r.Uint64(), Name: g.str(20)}
		}
		a = x
	case TypeReqFileMeas:
		a = &ReqFileMeas{Directory: g.bool(), RequestID: g.u16(), Delimiter: g.u32(), Path: g.str(20)}
	case TypeFileMeas:
		x := &FileMeas{RequestID: g.u16(), MeasLen: uint16(g.n(48)), Files: make([]FileMeasurement, g.n(3))}
		for i := range x.Files {
			x.Files[i] = FileMeasurement{Digest: bytes.Repeat([]byte{g.u8()}, int(x.MeasLen)), Name: g.str(20)}
		}
		a = x
	default:
		a = &Unknown{T: t, Value: g.bytes(20)}
	}
	a.attrFlags().NoSkip = g.bool()
	return a
}

func (g gen) swRecord(withRecord bool) SWRecord {
	r := SWRecord{RecordID: g.u32(), DataModelPEN: g.u24(), DataModelType: g.u8(), SourceID: g.u8(), SoftwareID: g.str(40), Locator: g.str(10)}
	if withRecord {
		r.Record = g.bytes(60)
	}
	return r
}

// randomMessage makes a message with n random attributes of random types,
// including unknown ones (without NOSKIP).
func (g gen) message(n int) *Message {
	types := allKnownTypes()
	m := &Message{ID: g.u32()}
	for i := 0; i < n; i++ {
		if g.r.IntN(10) == 0 {
			m.Attrs = append(m.Attrs, &Unknown{T: Type{abi.PENTCG, 0x7f000000 + g.u32()%100}, Value: g.bytes(10)})
			continue
		}
		m.Attrs = append(m.Attrs, g.attr(types[g.r.IntN(len(types))]))
	}
	return m
}

func TestRoundTripRandom(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	for _, typ := range allKnownTypes() {
		for i := 0; i < 200; i++ {
			a := g.attr(typ)
			enc, err := MarshalAttr(a)
			if err != nil {
				t.Fatalf("%s: MarshalAttr(%+v): %v", typ, a, err)
			}
			b, n, err := ParseAttr(enc)
			if err != nil || n != len(enc) {
				t.Fatalf("%s: ParseAttr(%x): %v", typ, enc, err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: round trip\n got %#v\nwant %#v", typ, b, a)
			}
		}
	}
	for i := 0; i < 50; i++ {
		m := g.message(g.n(40))
		enc, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseMessage(enc)
		if err != nil {
			t.Fatalf("ParseMessage: %v", err)
		}
		if len(m.Attrs) == 0 {
			m.Attrs = []Attr{} // ParseMessage returns an empty, non-nil list
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("message round trip differs")
		}
	}
}

// selfDelimiting reports whether a value of t has its end fixed by its own
// fields (fixed size, counts, length prefixes), so that no strict prefix of
// a valid value may parse.
func selfDelimiting(a Attr) bool {
	switch x := a.(type) {
	case *NumericVersion, *StringVersion, *OpStatus, *InstalledPackages, *AssessmentResult,
		*SWRequest, *SWInventory, *SWEvents, *SubscriptionStatusResponse, *SourceMetadataResponse,
		*ForwardingEnabled, *FactoryDefaultPwdEnabled, *ITAGetSettings, *ITASettings, *ITASymlinks,
		*SegContractRequest, *SegContractResponse, *NextSegment, *ReqProtoCaps, *ProtoCaps,
		*DHNonceParamsReq, *MeasAlgoRequest, *MeasAlgoSelection, *GetTPMVersionInfo, *GetAIK,
		*GenAttestEvid, *FileMeas, *UnixFileMeta:
		return true
	case *PATNCError:
		return x.structured()
	case *RemediationInstructions:
		return x.ParamsVendor == abi.PENIETF && x.ParamsType == RemediationString
	case *SimpleEvidFinal:
		return !x.HasEvidSig
	}
	return false
}

// TestNoStrictPrefixParses: no strict prefix of a self-delimiting value
// parses, and in a message every cut inside an attribute fails while every
// cut at an attribute boundary gives a shorter message.
func TestNoStrictPrefixParses(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	for _, typ := range allKnownTypes() {
		for i := 0; i < 50; i++ {
			a := g.attr(typ)
			enc, err := MarshalAttr(a)
			if err != nil {
				t.Fatal(err)
			}
			if !selfDelimiting(a) {
				continue
			}
			v := enc[AttrHeaderLen:]
			for n := 0; n < len(v); n++ {
				if err := newAttr(typ).UnmarshalValue(v[:n:n]); err == nil {
					t.Fatalf("%s: prefix %x of %x parses", typ, v[:n], v)
				}
			}
		}
	}
	for _, v := range loadVectors(t) {
		bounds := map[int]int{8: 0}
		off := 8
		m, _ := ParseMessage(v.msg)
		for i, a := range m.Attrs {
			enc, _ := MarshalAttr(a)
			off += len(enc)
			bounds[off] = i + 1
		}
		for n := 0; n < len(v.msg); n++ {
			pm, err := ParseMessage(v.msg[:n])
			want, boundary := bounds[n]
			switch {
			case boundary && (err != nil || len(pm.Attrs) != want):
				t.Fatalf("%s: cut at boundary %d: %v", v.name, n, err)
			case !boundary && err == nil:
				t.Fatalf("%s: cut at %d parses", v.name, n)
			}
		}
	}
}
