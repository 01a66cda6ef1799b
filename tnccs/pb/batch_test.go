package pb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/imchost/imchost/internal/testutil"
	"net/netip"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func receiverFor(direction string) Side {
	if direction == "server->client" {
		return SideClient
	}
	return SideServer
}

// TestVectorsRoundTrip decodes every recorded strongSwan batch with the
// receiver's rules and re-encodes it byte for byte.
func TestVectorsRoundTrip(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.name, func(t *testing.T) {
			if len(v.raw) != v.length {
				t.Fatalf("vector length %d, file says %d", len(v.raw), v.length)
			}
			b, err := ParseBatch(v.raw, ParseOptions{Receiver: receiverFor(v.direction)})
			if err != nil {
				t.Fatalf("ParseBatch: %v", err)
			}
			if b.Type.String() != v.batchType {
				t.Errorf("type %s, want %s", b.Type, v.batchType)
			}
			if b.FromServer != (v.direction == "server->client") {
				t.Errorf("D bit %v for %s", b.FromServer, v.direction)
			}
			out, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, v.raw) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", out, v.raw)
			}
		})
	}
}

// summaryBatch is one "#NN" block of summary.txt.
type summaryBatch struct {
	batchType string
	length    int
	msgs      []string // "PB-PA [NOSKIP] len=48 imc=65535 imv=1"
}

var (
	summaryHead = regexp.MustCompile(`^#(\d+) (->|<-) PB-TNC (\w+) batch, (\d+) bytes`)
	summaryMsg  = regexp.MustCompile(`^    (PB-[\w-]+)( \[NOSKIP\])? len=(\d+)`)
	summaryPA   = regexp.MustCompile(`^      PA \S+ imc=(\d+) imv=(\d+)( EXCL)?`)
)

func readSummary(t *testing.T) []summaryBatch {
	f, err := os.Open(testutil.Data("strongswan", "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []summaryBatch
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := summaryHead.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[4])
			out = append(out, summaryBatch{batchType: m[3], length: n})
			continue
		}
		if len(out) == 0 {
			continue
		}
		cur := &out[len(out)-1]
		if m := summaryMsg.FindStringSubmatch(line); m != nil {
			cur.msgs = append(cur.msgs, fmt.Sprintf("%s%s len=%s", m[1], m[2], m[3]))
		} else if m := summaryPA.FindStringSubmatch(line); m != nil {
			cur.msgs[len(cur.msgs)-1] += fmt.Sprintf(" imc=%s imv=%s%s", m[1], m[2], m[3])
		}
	}
	return out
}

func describe(m Message) string {
	name := strings.TrimPrefix(strings.TrimPrefix(m.Type().String(), "IETF/"), "TCG/")
	s := name
	if m.NoSkip() {
		s += " [NOSKIP]"
	}
	s += fmt.Sprintf(" len=%d", EncodedLen(m))
	if pa, ok := m.(*MsgPA); ok {
		s += fmt.Sprintf(" imc=%d imv=%d", pa.Collector, pa.Validator)
		if pa.Exclusive {
			s += " EXCL"
		}
	}
	return s
}

// TestVectorsMatchSummary checks the decoded message list of every batch
// against summary.txt (names, NOSKIP, lengths, PB-PA addressing).
func TestVectorsMatchSummary(t *testing.T) {
	sum := readSummary(t)
	vecs := readVectors(t)
	if len(sum) != len(vecs) {
		t.Fatalf("summary has %d batches, vectors %d", len(sum), len(vecs))
	}
	for i, v := range vecs {
		b, err := ParseBatch(v.raw, ParseOptions{Receiver: receiverFor(v.direction)})
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		var got []string
		for _, m := range b.Messages {
			got = append(got, describe(m))
		}
		if b.Type.String() != sum[i].batchType || len(v.raw) != sum[i].length || !reflect.DeepEqual(got, sum[i].msgs) {
			t.Errorf("%s: got %s %d %q\nsummary says %s %d %q", v.name, b.Type, len(v.raw), got,
				sum[i].batchType, sum[i].length, sum[i].msgs)
		}
	}
}

// TestNoStrictPrefixParses: no strict prefix of any valid batch parses.
func TestNoStrictPrefixParses(t *testing.T) {
	var seeds [][]byte
	for _, v := range readVectors(t) {
		seeds = append(seeds, v.raw)
	}
	for _, g := range goldenMessages {
		seeds = append(seeds, wrap(readHex(t, "testdata/"+g.file), false))
	}
	for _, in := range seeds {
		for n := 0; n < len(in); n++ {
			if _, err := ParseBatch(in[:n], ParseOptions{}); err == nil {
				t.Fatalf("prefix of %d bytes of %x parses", n, in[:min(len(in), 32)])
			}
		}
	}
}

// wrap puts messages into a CDATA (or SDATA when fromServer) batch.
func wrap(msgs []byte, fromServer bool) []byte {
	n := BatchHeaderLen + len(msgs)
	var flags, typ byte = 0, byte(BatchCDATA)
	if fromServer {
		flags, typ = flagD, byte(BatchRESULT)
	}
	return append([]byte{Version, flags, 0, typ, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, msgs...)
}

var goldenMessages = []struct {
	file string
	want Message
}{
	{"msg_pa.hex", &MsgPA{Vendor: VendorTCG, Subtype: 1, Collector: 0xffff, Validator: 2,
		Body: []byte{1, 0, 0, 0, 0x85, 0xea, 0xf2, 0x66, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0x10, 0, 0, 0, 0}}},
	{"msg_pa_excl.hex", &MsgPA{Exclusive: true, Vendor: VendorTCG, Subtype: 1, Collector: 2, Validator: 2,
		Body: []byte{1, 0, 0, 0, 0, 0, 0, 0x2a}}},
	{"msg_assessment_result.hex", &MsgAssessmentResult{Result: ResultNonCompliantMinor}},
	{"msg_access_recommendation.hex", &MsgAccessRecommendation{Recommendation: RecommendationQuarantined}},
	{"msg_remediation_uri.hex", &MsgRemediationParameters{Vendor: VendorIETF, ParamType: RemediationURI,
		URI: "https://remediate.example/x"}},
	{"msg_remediation_string.hex", &MsgRemediationParameters{Vendor: VendorIETF, ParamType: RemediationString,
		Text: "Please fix.", Lang: "en"}},
	{"msg_error.hex", &MsgError{Fatal: true, Vendor: VendorIETF, Code: uint16(ErrInvalidParameter), Params: []byte{0, 0, 0, 1}}},
	{"msg_error_version.hex", &MsgError{Fatal: true, Vendor: VendorIETF, Code: uint16(ErrVersionNotSupported), Params: []byte{1, 2, 2, 0}}},
	{"msg_language_preference.hex", &MsgLanguagePreference{Languages: "en"}},
	{"msg_reason_string.hex", &MsgReasonString{Text: "Invalid TPM Quote signature received", Lang: "en"}},
	{"msg_pdp_referral_fqdn.hex", &MsgPDPReferral{Vendor: VendorTCG, IDType: PDPIDFQDN, Port: 271, FQDN: "aaa.strongswan.org"}},
	{"msg_pdp_referral_ipv4.hex", &MsgPDPReferral{Vendor: VendorTCG, IDType: PDPIDIPv4, Port: 271, Addr: netip.MustParseAddr("192.0.2.1")}},
	{"msg_pdp_referral_ipv6.hex", &MsgPDPReferral{Vendor: VendorTCG, IDType: PDPIDIPv6, Port: 271, Addr: netip.MustParseAddr("2001:db8::1")}},
	{"msg_experimental.hex", &MsgExperimental{Value: []byte{0xde, 0xad, 0xbe, 0xef}}},
	{"msg_mutual_capability.hex", &MsgMutualCapability{Flags: MutualHalfDuplex}},
	{"msg_unknown.hex", &MsgUnknown{MsgType: MsgType{VendorIETF, 9}, Value: []byte{0xab, 0xcd}}},
}

// TestGoldenMessages: each message type decodes from and encodes to its
// golden bytes.
func TestGoldenMessages(t *testing.T) {
	for _, g := range goldenMessages {
		t.Run(g.file, func(t *testing.T) {
			raw := readHex(t, "testdata/"+g.file)
			b, err := ParseBatch(wrap(raw, true), ParseOptions{Receiver: SideClient})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(b.Messages) != 1 || !reflect.DeepEqual(b.Messages[0], g.want) {
				t.Fatalf("parse: got %#v, want %#v", b.Messages, g.want)
			}
			out, err := (&Batch{Type: BatchRESULT, FromServer: true, Messages: []Message{g.want}}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out[BatchHeaderLen:], raw) {
				t.Errorf("encode:\n got %x\nwant %x", out[BatchHeaderLen:], raw)
			}
			if EncodedLen(g.want) != len(raw) {
				t.Errorf("EncodedLen %d, want %d", EncodedLen(g.want), len(raw))
			}
		})
	}
}

func TestErrorAccessors(t *testing.T) {
	m := NewErrorMsg(&Error{Code: ErrInvalidParameter, Offset: 26})
	if off, ok := m.Offset(); !ok || off != 26 || !m.Fatal {
		t.Errorf("Offset() = %d, %v", off, ok)
	}
	m = NewErrorMsg(&Error{Code: ErrVersionNotSupported, BadVersion: 1})
	if bad, max, min, ok := m.Versions(); !ok || bad != 1 || max != 2 || min != 2 {
		t.Errorf("Versions() = %d %d %d %v", bad, max, min, ok)
	}
	if _, ok := m.Offset(); ok {
		t.Error("a version error has no offset")
	}
	if got := m.String(); got != "fatal PB-TNC error 'Version Not Supported' (bad version 1, max 2, min 2)" {
		t.Error(got)
	}
	if !errors.Is(&Error{Code: ErrLocalError, Offset: 3}, &Error{Code: ErrLocalError}) {
		t.Error("errors.Is by code")
	}
}

func h(s string) []byte {
	var out []byte
	for _, f := range strings.Fields(s) {
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseUint(f[i:i+2], 16, 8)
			if err != nil {
				panic(err)
			}
			out = append(out, byte(v))
		}
	}
	return out
}

// TestParseErrors: every malformed input yields the right code and offset.
// Offsets are RFC-correct (into the batch, value offsets after the
// 12-byte header), not strongSwan's header-less ones.
func TestParseErrors(t *testing.T) {
	client := ParseOptions{Receiver: SideClient}
	server := ParseOptions{Receiver: SideServer}
	tests := []struct {
		name string
		in   []byte
		opt  ParseOptions
		want Error
	}{
		{"short header", h("02 80 00 02 00 00 00"), client, Error{Code: ErrInvalidParameter, Offset: 0}},
		{"empty", nil, client, Error{Code: ErrInvalidParameter, Offset: 0}},
		{"version 1", h("01 80 00 02 00000008"), client, Error{Code: ErrVersionNotSupported, BadVersion: 1}},
		{"D clear at client", h("02 00 00 02 00000008"), client, Error{Code: ErrInvalidParameter, Offset: 1}},
		{"D set at server", h("02 80 00 01 00000008"), server, Error{Code: ErrInvalidParameter, Offset: 1}},
		{"type 7", h("02 80 00 07 00000008"), client, Error{Code: ErrInvalidParameter, Offset: 3}},
		{"length too big", h("02 80 00 02 00000009"), client, Error{Code: ErrInvalidParameter, Offset: 4}},
		{"length too small", h("02 80 00 02 00000007 00"), client, Error{Code: ErrInvalidParameter, Offset: 4}},
		{"over MaxBatchSize", wrap(make([]byte, 12+100), true), ParseOptions{Limits: Limits{MaxBatchSize: 64}}, Error{Code: ErrInvalidParameter, Offset: 4}},
		{"truncated msg header", wrap(h("00 000000 00000009 0000"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"reserved vendor", wrap(h("00 ffffff 00000001 0000000c"), true), client, Error{Code: ErrInvalidParameter, Offset: 9}},
		{"reserved type", wrap(h("00 000000 ffffffff 0000000c"), true), client, Error{Code: ErrInvalidParameter, Offset: 12}},
		{"msg length 11", wrap(h("00 000000 00000009 0000000b"), true), client, Error{Code: ErrInvalidParameter, Offset: 16}},
		{"msg length past batch", wrap(h("00 000000 00000009 0000000d"), true), client, Error{Code: ErrInvalidParameter, Offset: 16}},
		{"unknown NOSKIP", wrap(h("80 000000 00000009 0000000c"), true), client, Error{Code: ErrUnsupportedMandatoryMessage, Offset: 8}},
		{"unknown NOSKIP second", wrap(h("00 000000 00000009 0000000c 80 00902a 00000000 0000000c"), true), client, Error{Code: ErrUnsupportedMandatoryMessage, Offset: 20}},
		{"experimental NOSKIP", wrap(h("80 000000 00000000 0000000c"), true), client, Error{Code: ErrUnsupportedMandatoryMessage, Offset: 8}},
		{"PB-PA without NOSKIP", wrap(h("00 000000 00000001 00000018 00 000000 00000001 0001 ffff"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"PB-PA too short", wrap(h("80 000000 00000001 00000017 00 000000 00000001 0001 ff"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"PB-PA reserved vendor", wrap(h("80 000000 00000001 00000018 00 ffffff 00000001 0001 ffff"), true), client, Error{Code: ErrInvalidParameter, Offset: 21}},
		{"PB-PA reserved subtype", wrap(h("80 000000 00000001 00000018 00 000000 ffffffff 0001 ffff"), true), client, Error{Code: ErrInvalidParameter, Offset: 24}},
		{"PB-PA over MaxMessageSize", wrap(append(h("80 000000 00000001 0000001a 00 000000 00000001 0001 ffff"), 1, 2), true),
			ParseOptions{Limits: Limits{MaxMessageSize: 1}}, Error{Code: ErrInvalidParameter, Offset: 32}},
		{"assessment without NOSKIP", wrap(h("00 000000 00000002 00000010 00000000"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"assessment 17 bytes", wrap(h("80 000000 00000002 00000011 00000000 00"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"assessment value 9", wrap(h("80 000000 00000002 00000010 00000009"), true), client, Error{Code: ErrInvalidParameter, Offset: 20}},
		{"recommendation NOSKIP", wrap(h("80 000000 00000003 00000010 00000001"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"recommendation 7", wrap(h("00 000000 00000003 00000010 00000007"), true), client, Error{Code: ErrInvalidParameter, Offset: 22}},
		{"recommendation 0", wrap(h("00 000000 00000003 00000010 00000000"), true), client, Error{Code: ErrInvalidParameter, Offset: 22}},
		{"remediation short", wrap(h("00 000000 00000004 00000013 00 000000 000000"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"remediation empty URI", wrap(h("00 000000 00000004 00000014 00 000000 00000001"), true), client, Error{Code: ErrInvalidParameter, Offset: 28}},
		{"remediation URI NUL", wrap(h("00 000000 00000004 00000016 00 000000 00000001 6100"), true), client, Error{Code: ErrInvalidParameter, Offset: 28}},
		{"remediation string length", wrap(h("00 000000 00000004 0000001a 00 000000 00000002 00000009 00 00"), true), client, Error{Code: ErrInvalidParameter, Offset: 28}},
		{"remediation string NUL", wrap(h("00 000000 00000004 0000001b 00 000000 00000002 00000002 6100 00"), true), client, Error{Code: ErrInvalidParameter, Offset: 33}},
		{"remediation lang past end", wrap(h("00 000000 00000004 0000001b 00 000000 00000002 00000002 6161 05"), true), client, Error{Code: ErrInvalidParameter, Offset: 34}},
		{"remediation trailing", wrap(h("00 000000 00000004 0000001c 00 000000 00000002 00000002 6161 00 ff"), true), client, Error{Code: ErrInvalidParameter, Offset: 34}},
		{"remediation lang NUL", wrap(h("00 000000 00000004 0000001c 00 000000 00000002 00000001 61 02 6500"), true), client, Error{Code: ErrInvalidParameter, Offset: 35}},
		{"error NOSKIP clear", wrap(h("00 000000 00000005 00000014 80 000000 0001 0000"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"error too short", wrap(h("80 000000 00000005 00000013 80 000000 0001 00"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"language no prefix", wrap(h("00 000000 00000006 0000000e 656e"), false), server, Error{Code: ErrInvalidParameter, Offset: 20}},
		{"language lower case", wrap(append(h("00 000000 00000006 0000001f"), "accept-language: en"...), false), server, Error{Code: ErrInvalidParameter, Offset: 20}},
		{"language trailing NUL", wrap(append(h("00 000000 00000006 00000020"), "Accept-Language: en\x00"...), false), server, Error{Code: ErrInvalidParameter, Offset: 39}},
		{"language NOSKIP", wrap(append(h("80 000000 00000006 0000001f"), "Accept-Language: en"...), false), server, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"reason string short", wrap(h("00 000000 00000007 00000010 00000000"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"reason string length", wrap(h("00 000000 00000007 00000011 00000002 00"), true), client, Error{Code: ErrInvalidParameter, Offset: 20}},
		{"reason string NUL", wrap(h("00 000000 00000007 00000012 00000001 00 00"), true), client, Error{Code: ErrInvalidParameter, Offset: 24}},
		{"reason lang past end", wrap(h("00 000000 00000007 00000012 00000001 61 02"), true), client, Error{Code: ErrInvalidParameter, Offset: 25}},
		{"reason lang NUL", wrap(h("00 000000 00000007 00000013 00000001 61 01 00"), true), client, Error{Code: ErrInvalidParameter, Offset: 26}},
		{"referral NOSKIP", wrap(h("80 005597 00000001 00000014 00 005597 00000000"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"referral FQDN empty", wrap(h("00 005597 00000001 00000018 00 005597 00000000 00 00 010f"), true), client, Error{Code: ErrInvalidParameter, Offset: 32}},
		{"referral no transport", wrap(h("00 005597 00000001 00000016 00 005597 00000000 0000"), true), client, Error{Code: ErrInvalidParameter, Offset: 28}},
		{"referral IPv4 length", wrap(h("00 005597 00000001 0000001b 00 005597 00000001 00 00 010f c00002"), true), client, Error{Code: ErrInvalidParameter, Offset: 32}},
		{"referral IPv6 length", wrap(h("00 005597 00000001 0000001c 00 005597 00000002 00 00 010f c0000201"), true), client, Error{Code: ErrInvalidParameter, Offset: 32}},
		{"mutual short", wrap(h("00 00902a 00000001 0000000f 800000"), true), client, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"server gets assessment", wrap(h("80 000000 00000002 00000010 00000000"), false), server, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"server gets referral", wrap(h("00 005597 00000001 00000018 00 005597 00000001 00000000"), false), server, Error{Code: ErrInvalidParameter, Offset: 8}},
		{"second message bad", wrap(append(readHex(t, "testdata/msg_language_preference.hex"), h("00 000000 00000003 00000010 00000009")...), true), client, Error{Code: ErrInvalidParameter, Offset: 39 + 12 + 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBatch(tt.in, tt.opt)
			var pe *Error
			if !errors.As(err, &pe) || b != nil {
				t.Fatalf("got %v, %v; want %v", b, err, &tt.want)
			}
			if *pe != tt.want {
				t.Errorf("got %+v, want %+v", *pe, tt.want)
			}
		})
	}
}

// TestSkipUnknown: an unknown message without NOSKIP is kept, the rest
// of the batch still parses.
func TestSkipUnknown(t *testing.T) {
	in := wrap(append(h("00 00abcd 00000042 0000000f 010203"), readHex(t, "testdata/msg_pa.hex")...), true)
	b, err := ParseBatch(in, ParseOptions{Receiver: SideClient})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != 2 || b.Messages[0].Type() != (MsgType{0xabcd, 0x42}) || b.Messages[1].Type() != TypePA {
		t.Fatalf("messages %v", b.Messages)
	}
	if b.Messages[0].Type().String() != "0x00abcd/0x00000042" {
		t.Error(b.Messages[0].Type())
	}
}

// TestReservedBitsIgnored: reserved header bits are ignored on receipt
// and written as zero.
func TestReservedBitsIgnored(t *testing.T) {
	in := h("02 ff ff f6 00000008")
	b, err := ParseBatch(in, ParseOptions{Receiver: SideClient})
	if err != nil || b.Type != BatchCLOSE || !b.FromServer {
		t.Fatalf("%v %v", b, err)
	}
	out, _ := b.Marshal()
	if !bytes.Equal(out, h("02 80 00 06 00000008")) {
		t.Errorf("%x", out)
	}
}

func TestMarshalErrors(t *testing.T) {
	for _, m := range []Message{
		&MsgPA{Vendor: 1 << 24},
		&MsgError{Vendor: 1 << 24},
		&MsgReasonString{Lang: strings.Repeat("x", 256)},
		&MsgRemediationParameters{Vendor: 1 << 24},
		&MsgPDPReferral{Vendor: VendorTCG, IDType: PDPIDIPv4, Addr: netip.MustParseAddr("::1")},
		&MsgPDPReferral{Vendor: VendorTCG, IDType: PDPIDIPv6},
		nil,
	} {
		if _, err := (&Batch{Type: BatchCDATA, Messages: []Message{m}}).Marshal(); err == nil {
			t.Errorf("%#v: no error", m)
		}
	}
}

func TestLimitsDefaults(t *testing.T) {
	var l Limits
	if l.Batch() != 65522 || l.Message() != 65490 {
		t.Errorf("%d %d", l.Batch(), l.Message())
	}
	l = Limits{MaxBatchSize: 100, MaxMessageSize: 50}
	if l.Batch() != 100 || l.Message() != 50 {
		t.Errorf("%d %d", l.Batch(), l.Message())
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{BatchCDATA.String(), "CDATA"}, {BatchType(9).String(), "BATCH(9)"},
		{TypePA.String(), "IETF/PB-PA"}, {TypePDPReferral.String(), "TCG/PB-PDP-Referral"},
		{ResultCompliant.String(), "compliant"}, {ResultDontKnow.String(), "don't know"}, {AssessmentResult(7).String(), "result(7)"},
		{RecommendationAllowed.String(), "Access Allowed"}, {RecommendationQuarantined.String(), "Quarantined"}, {Recommendation(9).String(), "recommendation(9)"},
		{ErrUnsupportedMandatoryMessage.String(), "Unsupported Mandatory Message"}, {ErrorCode(9).String(), "error code 9"},
		{(&Error{Code: ErrInvalidParameter, Offset: 4}).Error(), "pb: Invalid Parameter (offset 4 bytes)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
