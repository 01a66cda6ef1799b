package abi

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// codec ties a value's encoder and decoder together for the generic tests.
type codec struct {
	name   string
	value  any
	append func(b []byte, v any) []byte
	parse  func(in []byte) (any, error)
}

func samples() []codec {
	return []codec{
		{"SystemFacts", SystemFacts{BootTime: 1653985578, IPv4Forwarding: true, MachineID: "732c769e", Arch: "x86_64"},
			func(b []byte, v any) []byte { return AppendSystemFacts(b, v.(SystemFacts)) },
			func(in []byte) (any, error) { return ParseSystemFacts(in) }},
		{"TPMVersionInfo", TPMVersionInfo{Family: 2, Manufacturer: 0x49424d20, VendorString: "SW   TPM", FirmwareVersion: 0x2019_0823_0000_0000, SpecYear: 2019, SpecRevision: 164, SpecLevel: 0, Locality: 3},
			func(b []byte, v any) []byte { return AppendTPMVersionInfo(b, v.(TPMVersionInfo)) },
			func(in []byte) (any, error) { return ParseTPMVersionInfo(in) }},
		{"Banks", []uint16{AlgSHA1, AlgSHA256},
			func(b []byte, v any) []byte { return AppendBanks(b, v.([]uint16)) },
			func(in []byte) (any, error) { return ParseBanks(in) }},
		{"AIK", AIK{Handle: 0x81010003, PublicDER: []byte{0x30, 0x59}, KeyID: "ab", SigAlg: AlgECDSA, HashAlg: AlgSHA256},
			func(b []byte, v any) []byte { return AppendAIK(b, v.(AIK)) },
			func(in []byte) (any, error) { return ParseAIK(in) }},
		{"QuoteRequest", QuoteRequest{Bank: AlgSHA256, PCRs: 0x4003ff, Qualifying: bytes.Repeat([]byte{7}, 32)},
			func(b []byte, v any) []byte { return AppendQuoteRequest(b, v.(QuoteRequest)) },
			func(in []byte) (any, error) { return ParseQuoteRequest(in) }},
		{"Quote", Quote{Attest: []byte{0xff, 'T', 'C', 'G'}, SigAlg: AlgECDSA, HashAlg: AlgSHA256, Signature: []byte{1, 2}},
			func(b []byte, v any) []byte { return AppendQuote(b, v.(Quote)) },
			func(in []byte) (any, error) { return ParseQuote(in) }},
		{"EventLog", EventLog{Path: "/sys/kernel/security/tpm0/binary_bios_measurements", CTime: 1653985578, SpecIDLog: true,
			Events: []Event{{Seq: 1, PCR: 0, Type: 8, Digest: bytes.Repeat([]byte{1}, 32)}, {Seq: 2, PCR: 7, Type: 0x80000001}}},
			func(b []byte, v any) []byte { return AppendEventLog(b, v.(EventLog)) },
			func(in []byte) (any, error) { return ParseEventLog(in) }},
		{"IMARequest", IMARequest{Bank: AlgSHA256, Start: 4096, Max: 4096, QuoteHash: AlgSHA256, Before: bytes.Repeat([]byte{1}, 320), QuoteDigest: bytes.Repeat([]byte{2}, 32)},
			func(b []byte, v any) []byte { return AppendIMARequest(b, v.(IMARequest)) },
			func(in []byte) (any, error) { return ParseIMARequest(in) }},
		{"IMAEvents", IMAEvents{Path: "/sys/kernel/security/ima/binary_runtime_measurements", CTime: 1653985578, ListAlg: AlgSHA1, Next: 2, End: true, Matched: true,
			PCR10: bytes.Repeat([]byte{3}, 32), Events: []IMAEvent{
				{Seq: 0, PCR: 10, Measurement: bytes.Repeat([]byte{4}, 32), Template: "ima-ng", Algo: "sha256", FileDigest: bytes.Repeat([]byte{5}, 32), Name: "boot_aggregate"},
				{Seq: 1, PCR: 10, Measurement: bytes.Repeat([]byte{0xff}, 32), Template: "ima-sig", Algo: "sha256", FileDigest: bytes.Repeat([]byte{6}, 32), Name: "/usr/bin/bash", Signature: []byte{3, 2, 1}}}},
			func(b []byte, v any) []byte { return AppendIMAEvents(b, v.(IMAEvents)) },
			func(in []byte) (any, error) { return ParseIMAEvents(in) }},
		{"FileRequest", FileRequest{HashAlg: AlgSHA256, Directory: true, Path: "/usr/bin"},
			func(b []byte, v any) []byte { return AppendFileRequest(b, v.(FileRequest)) },
			func(in []byte) (any, error) { return ParseFileRequest(in) }},
		{"FileDigests", []FileDigest{{Name: "bash", Digest: bytes.Repeat([]byte{1}, 32)}, {Name: "sh", Digest: bytes.Repeat([]byte{2}, 32)}},
			func(b []byte, v any) []byte { return AppendFileDigests(b, v.([]FileDigest)) },
			func(in []byte) (any, error) { return ParseFileDigests(in) }},
		{"FileMetas", []FileMeta{{Name: "fm.txt", Type: 8, Size: 14, CTime: 1, MTime: 2, ATime: 3, UID: 0, GID: 0}},
			func(b []byte, v any) []byte { return AppendFileMetas(b, v.([]FileMeta)) },
			func(in []byte) (any, error) { return ParseFileMetas(in) }},
		{"Symlinks", []Symlink{{Path: "/bin", Target: "/usr/bin"}, {Path: "/lib", Target: "/usr/lib"}},
			func(b []byte, v any) []byte { return AppendSymlinks(b, v.([]Symlink)) },
			func(in []byte) (any, error) { return ParseSymlinks(in) }},
		{"Packages", []Package{{Name: "libc6", Version: "2.36-9"}},
			func(b []byte, v any) []byte { return AppendPackages(b, v.([]Package)) },
			func(in []byte) (any, error) { return ParsePackages(in) }},
		{"Report", Report{Validator: 1, Result: 4, Remediation: "Please disable the forwarding of IP packets", Language: "en"},
			func(b []byte, v any) []byte { return AppendReport(b, v.(Report)) },
			func(in []byte) (any, error) { return ParseReport(in) }},
		{"DHCreateRequest", DHCreateRequest{Group: 19},
			func(b []byte, v any) []byte { return AppendDHCreateRequest(b, v.(DHCreateRequest)) },
			func(in []byte) (any, error) { return ParseDHCreateRequest(in) }},
		{"DHCreateResult", DHCreateResult{Handle: 1, Public: bytes.Repeat([]byte{9}, 64)},
			func(b []byte, v any) []byte { return AppendDHCreateResult(b, v.(DHCreateResult)) },
			func(in []byte) (any, error) { return ParseDHCreateResult(in) }},
		{"DHFinishRequest", DHFinishRequest{Handle: 1, HashAlg: AlgSHA256, PeerPublic: []byte{1}, InitiatorNonce: []byte{2}, ResponderNonce: []byte{3}},
			func(b []byte, v any) []byte { return AppendDHFinishRequest(b, v.(DHFinishRequest)) },
			func(in []byte) (any, error) { return ParseDHFinishRequest(in) }},
		{"SWRequest", SWRequest{Start: 4096, Max: 512},
			func(b []byte, v any) []byte { return AppendSWRequest(b, v.(SWRequest)) },
			func(in []byte) (any, error) { return ParseSWRequest(in) }},
		{"SWInventory", SWInventory{Epoch: 0x5c3f9a01, LastEID: 7, Next: 2, End: true, Items: []SWItem{
			{Source: "dpkg", Name: "libc6", Version: "2.36-9+deb12u14", Arch: "amd64"},
			{Source: "swidtag", Name: "strongSwan", Version: "5.9.8", TagID: "strongSwan-5-9-8", RegID: "strongswan.org", Tag: []byte("<SoftwareIdentity/>")}}},
			func(b []byte, v any) []byte { return AppendSWInventory(b, v.(SWInventory)) },
			func(in []byte) (any, error) { return ParseSWInventory(in) }},
		{"SWEvents", SWEvents{Epoch: 0x5c3f9a01, LastEID: 7, FirstEID: 1, Next: 8, End: true, Events: []SWEvent{
			{EID: 6, Time: 1765112400, Action: SWDeletion, Item: SWItem{Source: "rpm", Name: "hello", Version: "2.12.1-3.fc40", Arch: "x86_64"}},
			{EID: 7, Time: 1765112401, Action: SWAlteration, Item: SWItem{Source: "apk", Name: "musl", Version: "1.2.5-r1", Arch: "x86_64"}}}},
			func(b []byte, v any) []byte { return AppendSWEvents(b, v.(SWEvents)) },
			func(in []byte) (any, error) { return ParseSWEvents(in) }},
		{"MsgTypes", []MsgType{{Vendor: PENIETF, Subtype: 1}, {Vendor: VendorAny, Subtype: SubtypeAny}},
			func(b []byte, v any) []byte { return AppendMsgTypes(b, v.([]MsgType)) },
			func(in []byte) (any, error) { return ParseMsgTypes(in) }},
	}
}

// TestRoundTrip: decode(encode(x)) == x, no strict prefix parses, and a
// trailing byte is refused.
func TestRoundTrip(t *testing.T) {
	for _, c := range samples() {
		t.Run(c.name, func(t *testing.T) {
			enc := c.append(nil, c.value)
			got, err := c.parse(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.value) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, c.value)
			}
			for i := range enc {
				if _, err := c.parse(enc[:i]); !errors.Is(err, ErrShort) {
					t.Fatalf("prefix of %d bytes: %v", i, err)
				}
			}
			var de *DecodeError
			if _, err := c.parse(append(enc, 0)); !errors.As(err, &de) || de.Offset != len(enc) || !errors.Is(err, ErrTrailing) {
				t.Fatalf("trailing byte: %v", err)
			}
		})
	}
}

// TestLayouts pins a few encodings byte for byte (README.md documents them).
func TestLayouts(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"MessageHeader", AppendMessageHeader(nil, MessageHeader{Type: MsgType{Vendor: PENTCG, Subtype: 1}, Collector: 2, Validator: 0xffff, Flags: FlagExclusive}),
			[]byte{0x97, 0x55, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}},
		{"Banks", AppendBanks(nil, []uint16{AlgSHA256}), []byte{1, 0, 0, 0, 0x0b, 0}},
		{"DHCreateResult", AppendDHCreateResult(nil, DHCreateResult{Handle: 5, Public: []byte{0xaa}}), []byte{5, 0, 0, 0, 1, 0, 0, 0, 0xaa}},
		{"SWRequest", AppendSWRequest(nil, SWRequest{Start: 1, Max: 0x100}), []byte{1, 0, 0, 0, 0, 1, 0, 0}},
		{"SWEvents", AppendSWEvents(nil, SWEvents{Epoch: 0x01020304, LastEID: 2, FirstEID: 1, Next: 3, End: true, Events: []SWEvent{
			{EID: 2, Time: 0x10, Action: SWCreation, Item: SWItem{Source: "apk", Name: "a"}}}}),
			[]byte{4, 3, 2, 1, 2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1, 1, 0, 0, 0,
				2, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 1,
				3, 0, 0, 0, 'a', 'p', 'k', 1, 0, 0, 0, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"HashRequest", AppendHashRequest(nil, HashRequest{Alg: AlgSHA1, Data: []byte("x")}), []byte{4, 0, 'x'}},
	}
	for _, tc := range tests {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: % x, want % x", tc.name, tc.got, tc.want)
		}
	}
}

func TestParseMessage(t *testing.T) {
	in := append(AppendMessageHeader(nil, MessageHeader{Type: MsgType{Vendor: PENIETF, Subtype: 1}, Collector: 1, Validator: 2}), "body"...)
	h, body, err := ParseMessage(in)
	if err != nil || string(body) != "body" || h.Collector != 1 || h.Validator != 2 {
		t.Fatalf("%+v %q %v", h, body, err)
	}
	bad := []struct {
		name   string
		h      MessageHeader
		offset int
	}{
		{"vendor over 24 bits", MessageHeader{Type: MsgType{Vendor: 1 << 24}}, 0},
		{"collector over 16 bits", MessageHeader{Collector: 1 << 16}, 8},
		{"validator over 16 bits", MessageHeader{Validator: 1 << 16}, 12},
		{"unknown flag", MessageHeader{Flags: 2}, 16},
	}
	for _, tc := range bad {
		var de *DecodeError
		if _, _, err := ParseMessage(AppendMessageHeader(nil, tc.h)); !errors.As(err, &de) || de.Offset != tc.offset || !errors.Is(err, ErrRange) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	var de *DecodeError
	big := make([]byte, MessageHeaderLen+MaxMessageLen+1)
	if _, _, err := ParseMessage(big); !errors.As(err, &de) || de.Offset != MessageHeaderLen {
		t.Errorf("oversize body: %v", err)
	}
}

func TestBounds(t *testing.T) {
	// A count claiming 2^32-1 elements must fail on the bytes present, not allocate.
	if _, err := ParseEventLog([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}); !errors.Is(err, ErrShort) {
		t.Fatal(err)
	}
	if _, err := ParseMsgTypes(AppendMsgTypes(nil, make([]MsgType, MaxSubscriptions+1))); !errors.Is(err, ErrRange) {
		t.Fatal(err)
	}
	if _, err := ParseQuoteRequest(AppendQuoteRequest(nil, QuoteRequest{Qualifying: make([]byte, 65)})); !errors.Is(err, ErrRange) {
		t.Fatal(err)
	}
	if _, err := ParseQuoteRequest(AppendQuoteRequest(nil, QuoteRequest{PCRs: 1 << 24})); !errors.Is(err, ErrRange) {
		t.Fatal(err)
	}
	if _, err := ParseSystemFacts(append(AppendSystemFacts(nil, SystemFacts{})[:8], 2, 0, 0, 0, 0, 0, 0, 0, 0, 0)); !errors.Is(err, ErrRange) {
		t.Fatal(err)
	}
}
