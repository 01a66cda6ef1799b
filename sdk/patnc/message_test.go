package patnc

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/imchost/imchost/abi"
)

func TestTypeString(t *testing.T) {
	for _, c := range []struct {
		t    Type
		want string
	}{
		{TypeProductInfo, "'IETF/Product Information' 0x000000/0x00000002"},
		{TypeFactoryDefaultPwd, "'IETF/Factory Default Password Enabled' 0x000000/0x0000000c"},
		{TypeITADeviceID, "'ITA-HSR/Device ID' 0x00902a/0x00000008"},
		{TypeSimpleCompEvid, "'TCG/Simple Component Evidence' 0x005597/0x00300000"},
		{TypeMeasAlgoSelection, "'TCG/PTS Measurement Algorithm' 0x005597/0x07000000"},
		{TypeDHNonceParamsReq, "'TCG/DH Nonce Parameters Request' 0x005597/0x03000000"},
		{TypeSegContractRequest, "'TCG/Segmentation Contract Request' 0x005597/0x00000021"},
		{TypeReqTemplRefManiSet, "'TCG/Request Template Reference Manifest Set Metadata' 0x005597/0x0a000000"},
		{Type{abi.PENTCG, 0x7f000000}, "'TCG/0x7f000000' 0x005597/0x7f000000"},
		{Type{0x123456, 1}, "'0x123456/0x00000001' 0x123456/0x00000001"},
	} {
		if got := c.t.String(); got != c.want {
			t.Errorf("%v: %q, want %q", c.t, got, c.want)
		}
	}
}

// TestErrorAttrVerified rebuilds the two PA-TNC Error attributes the
// strongSwan 6.0.6 Attestation IMC was probed to send (RFC 5792 §4.2.8).
func TestErrorAttrVerified(t *testing.T) {
	for _, c := range []struct {
		name string
		msg  string
		want string
		code ErrorCode
		off  uint32
	}{
		{"unsupported NOSKIP attribute", "01000000a1b2c3d4 80005597 7f000000 0000000c",
			"00000000 00000008 00000024 00000000 00000003 01000000a1b2c3d4 80005597 7f000000",
			ErrAttrTypeNotSupported, 8},
		{"version 2", "02000000a1b2c3d4",
			"00000000 00000008 00000020 00000000 00000002 02000000a1b2c3d4 01010000",
			ErrVersionNotSupported, 0},
		{"truncated attribute header", "01000000a1b2c3d4 0000000000",
			"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 00000008",
			ErrInvalidParameter, 8},
		{"short message", "010000",
			"00000000 00000008 00000020 00000000 00000001 01000000 00000000 00000000",
			ErrInvalidParameter, 0},
		{"reserved vendor", "01000000a1b2c3d4 00ffffff 00000001 0000000c",
			"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 00000009",
			ErrInvalidParameter, 9},
		{"reserved type", "01000000a1b2c3d4 00000000 ffffffff 0000000c",
			"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 0000000c",
			ErrInvalidParameter, 12},
		{"length below header", "01000000a1b2c3d4 00000000 00000009 0000000b",
			"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 00000010",
			ErrInvalidParameter, 16},
		{"length past end", "01000000a1b2c3d4 00000000 00000009 00000011 00000000",
			"00000000 00000008 00000020 00000000 00000001 01000000a1b2c3d4 00000010",
			ErrInvalidParameter, 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseMessage(mustHex(t, c.msg))
			var e *Error
			if m != nil || !errors.As(err, &e) {
				t.Fatalf("got %v, %v", m, err)
			}
			if e.Code != c.code || e.Offset != c.off {
				t.Fatalf("error %v, want %v at %d", e, c.code, c.off)
			}
			got, err := MarshalAttr(e.ErrorAttr())
			if err != nil {
				t.Fatal(err)
			}
			if want := mustHex(t, c.want); !bytes.Equal(got, want) {
				t.Errorf("error attribute %x, want %x", got, want)
			}
		})
	}
}

// TestUnknownAttributes checks strongSwan's receiver rule: TCG types with a
// name but no parser (0x0A000000, 0x00E00000) are unknown like any other.
func TestUnknownAttributes(t *testing.T) {
	for _, typ := range []string{"0a000000", "00e00000", "7f000000", "00000025"} {
		msg := mustHex(t, "01000000a1b2c3d4 00005597"+typ+"00000010 01020304")
		m, err := ParseMessage(msg)
		if err != nil {
			t.Fatalf("%s without NOSKIP: %v", typ, err)
		}
		u, ok := m.Attrs[0].(*Unknown)
		if !ok || !bytes.Equal(u.Value, []byte{1, 2, 3, 4}) || u.NoSkip {
			t.Fatalf("%s: got %#v", typ, m.Attrs[0])
		}
		if out, _ := m.Marshal(); !bytes.Equal(out, msg) {
			t.Errorf("%s: re-encoded %x", typ, out)
		}
		msg[8] = FlagNoSkip
		if _, err := ParseMessage(msg); err == nil || err.(*Error).Code != ErrAttrTypeNotSupported {
			t.Errorf("%s with NOSKIP: %v", typ, err)
		}
	}
}

func TestParseMessageOwnsMemory(t *testing.T) {
	in := mustHex(t, "01000000a1b2c3d4 0000902a 00000002 00000010 01020304")
	m, err := ParseMessage(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0xee
	}
	if d := m.Attrs[0].(*ITADummy); !bytes.Equal(d.Data, []byte{1, 2, 3, 4}) {
		t.Errorf("attribute aliases the input: %x", d.Data)
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	for _, a := range []Attr{
		&ProductInfo{ProductID: 1},
		&ProductInfo{VendorID: 1 << 24},
		&StringVersion{Version: string(make([]byte, 256))},
		&OpStatus{Status: 3, Result: 1},
		&OpStatus{Status: 4, LastUse: UnknownTime()},
		&ForwardingEnabled{Status: 3},
		&ITADeviceID{ID: "a\x00"},
		&MeasAlgoSelection{Alg: HashSHA1 | HashSHA256},
		&DHNonceParamsResp{Nonce: make([]byte, 4)},
		&DHNonceParamsResp{Nonce: make([]byte, 256), Public: make([]byte, 8)},
		&DHNonceFinish{Nonce: make([]byte, 4)},
		&TPMVersionInfo{Info: []byte{2, 0}},
		&ReqFuncCompEvid{},
		&ReqFuncCompEvid{Requests: []CompEvidRequest{{Name: ComponentName{Qualifier: 0x40}}}},
		&SimpleCompEvid{MeasType: 0x81, Time: UnknownTime()},
		&SimpleCompEvid{MeasType: MeasTypeHash},
		&SimpleCompEvid{MeasType: MeasTypeHash, Time: UnknownTime(), PolicyURI: "x"},
		&SimpleCompEvid{MeasType: MeasTypeHash, Time: UnknownTime(), PCRInfo: true, PCRBefore: []byte{1}},
		&SimpleCompEvid{MeasType: MeasTypeHash, Time: UnknownTime(), PCRAfter: []byte{1}},
		&SimpleEvidFinal{QuoteMode: 0x50},
		&SimpleEvidFinal{QuoteSig: []byte{1}},
		&SimpleEvidFinal{QuoteMode: QuoteInfo, ClockInfo: []byte{1}},
		&SimpleEvidFinal{EvidSig: []byte{1}},
		&FileMeas{MeasLen: 2, Files: []FileMeasurement{{Digest: []byte{1}}}},
		&SegEnvelope{BaseMsgID: 1 << 24},
		&Unknown{T: Type{abi.PENReserved, 1}},
		&Unknown{T: Type{0, TypeReserved}},
		&AttrRequest{Types: []Type{{Vendor: 1 << 24}}},
	} {
		if enc, err := MarshalAttr(a); err == nil {
			t.Errorf("%T %+v encoded as %x", a, a, enc)
		}
	}
	if _, err := (&Message{Attrs: []Attr{nil}}).Marshal(); err == nil {
		t.Error("nil attribute encoded")
	}
}

func TestDateTime(t *testing.T) {
	d := NewDateTime(time.Date(2026, 11, 26, 19, 51, 8, 0, time.FixedZone("CET", 3600)))
	if d.String() != "2026-11-26T18:51:08Z" {
		t.Errorf("got %s", d)
	}
	if tm, ok := d.Time(); !ok || !tm.Equal(time.Date(2026, 11, 26, 18, 51, 8, 0, time.UTC)) {
		t.Errorf("Time() = %v, %v", tm, ok)
	}
	if DateTimeFromUnix(0).String() != "1970-01-01T00:00:00Z" {
		t.Errorf("unix 0: %s", DateTimeFromUnix(0))
	}
	u := UnknownTime()
	if !u.IsUnknown() || u.String() != UnknownDateTime {
		t.Errorf("unknown: %s", u)
	}
	if _, ok := u.Time(); ok {
		t.Error("unknown time parsed")
	}
	var bad DateTime
	copy(bad[:], "2026-13-40T99:99:99Z")
	if _, ok := bad.Time(); ok || !bad.wellFormed() {
		t.Error("month 13 parsed, or shape rejected")
	}
	if (DateTime{}).wellFormed() || (DateTime{}).String() == "" {
		t.Error("zero DateTime")
	}
}

func TestBitSets(t *testing.T) {
	if s := (CapV | CapD | CapT).String(); s != ".VDT." {
		t.Errorf("caps %q", s)
	}
	if (HashSHA1|HashSHA256|HashSHA384).Best() != HashSHA384 || HashAlgs(0).Best() != 0 {
		t.Error("HashAlgs.Best")
	}
	if HashAlgFromTPM(0x000b) != HashSHA256 || HashSHA256.TPMAlg() != 0x000b || HashSHA384.Size() != 48 {
		t.Error("hash mapping")
	}
	if s := (HashSHA1 | HashSHA256).String(); s != "SHA1|SHA256" {
		t.Errorf("hash set %q", s)
	}
	if g := DHGroups(0xf000).Best(); g != DHGroupIKE19 || g.String() != "ECP_256" || g.IKEGroup() != 19 || g.PublicLen() != 64 {
		t.Errorf("DH best %v", g)
	}
	if DHGroupFromIKE(20) != DHGroupIKE20 || DHGroups(0).String() != "none" {
		t.Error("DH mapping")
	}
	if s := BIOSComponent.String(); s != "ITA-HSR functional component 'Linux IMA' [K.] 'Trusted Platform'" {
		t.Errorf("component %q", s)
	}
}

func TestTPM2Version(t *testing.T) {
	blob := mustHex(t, "02000003000000a4000007e549424d00")
	v, ok := ParseTPM2Version(blob)
	if !ok || v.Locality != 3 || v.Revision != 164 || v.Year != 2021 || v.Manufacturer != 0x49424d00 {
		t.Fatalf("got %+v %v", v, ok)
	}
	if !bytes.Equal(v.Bytes(), blob) {
		t.Errorf("Bytes() = %x", v.Bytes())
	}
	if _, ok := ParseTPM2Version(blob[:15]); ok {
		t.Error("short blob parsed")
	}
}

// TestSimpleEvidFinalTPMSAttest rebuilds the 145-byte TPMS_ATTEST of the
// recorded exchange from its Simple Evidence Final and the DH secret
// (tpmhost/testdata/pts-vectors.txt), and splits it again.
func TestSimpleEvidFinalTPMSAttest(t *testing.T) {
	sef := mustHex(t, "1000400000000020ae59abee4cd55315eb17deeda2cfabb9790ccf6cdc4595ba"+
		"425f1ab8a5e924670022000b63bcb6d0bfc9bbd558c9c22d73a8e67c65ff47f6"+
		"1ad08b3234aaf030e8b92b8300110000000000029cf800000005000000000100"+
		"082019102300163636000a00000001000b03ff430000000040ec1e3f6ca60f1e"+
		"94e14b59dbf917a903e849a9873c6e9593829e685c187cc64aa790ea0b39e4f2"+
		"ae667edf370cf2081688590289782b9ebec9ac83fd9bd629cd")
	secret := mustHex(t, "12fc32b380b49533c87f47a463940b28037b1257d67722b80ef1e5eb96f25c72")
	want := mustHex(t, recordedTPMSAttest)
	var a SimpleEvidFinal
	if err := a.UnmarshalValue(sef); err != nil {
		t.Fatal(err)
	}
	if a.QuoteMode != QuoteTPM2 || a.CompositeHashAlg != HashSHA256 || len(a.QuoteSig) != 64 || a.HasEvidSig {
		t.Fatalf("decoded %+v", a)
	}
	got, err := a.TPMSAttest(secret, a.PCRComposite)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("TPMSAttest = %x, %v", got, err)
	}
	var b SimpleEvidFinal
	extra, err := b.FromTPMSAttest(want)
	if err != nil || !bytes.Equal(extra, secret) {
		t.Fatalf("FromTPMSAttest extra %x, %v", extra, err)
	}
	b.CompositeHashAlg, b.QuoteSig = HashSHA256, a.QuoteSig
	enc, err := MarshalAttr(&b)
	if err != nil || !bytes.Equal(enc[12:], sef) {
		t.Errorf("re-built SEF %x, %v", enc, err)
	}
	if _, err := b.FromTPMSAttest(want[:100]); err == nil {
		t.Error("truncated TPMS_ATTEST accepted")
	}
	if _, err := (&SimpleEvidFinal{}).TPMSAttest(nil, nil); err == nil {
		t.Error("TPMSAttest without a quote")
	}
}

// TestDefaultNoSkipMatchesVectors: every attribute of the recorded exchange
// carries exactly the NOSKIP flag DefaultNoSkip gives for its type.
func TestDefaultNoSkipMatchesVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		for _, a := range v.attrs {
			if DefaultNoSkip(a.t) != a.noskip {
				t.Errorf("%s: %s NOSKIP %v", v.name, a.fullName, a.noskip)
			}
		}
	}
}

func TestDateTimeAgainstFormat(t *testing.T) {
	for _, sec := range []int64{0, 1, 951782400, 1764183068, 4102444799, 253402300799} {
		tm := time.Unix(sec, 0).UTC()
		d := DateTimeFromUnix(sec)
		if d.String() != tm.Format("2006-01-02T15:04:05Z") {
			t.Errorf("%d: %s", sec, d)
		}
		if back, ok := d.Time(); !ok || !back.Equal(tm) {
			t.Errorf("%d: parsed back %v %v", sec, back, ok)
		}
	}
	for _, s := range []string{"2026-02-29T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z"} {
		var d DateTime
		copy(d[:], s)
		if _, ok := d.Time(); ok {
			t.Errorf("%s parsed", s)
		}
	}
}
