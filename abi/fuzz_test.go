package abi

import (
	"bytes"
	"testing"
)

// fuzzCodec seeds a fuzz target with the sample encoding of one value and
// checks that a parse either fails with a *DecodeError or re-encodes to
// exactly its input (every layout has a single encoding).
func fuzzCodec(f *testing.F, name string) {
	var c codec
	for _, s := range samples() {
		if s.name == name {
			c = s
		}
	}
	f.Add(c.append(nil, c.value))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := c.parse(in)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if out := c.append(nil, v); !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs:\n in % x\nout % x", in, out)
		}
	})
}

func FuzzParseSystemFacts(f *testing.F)     { fuzzCodec(f, "SystemFacts") }
func FuzzParseTPMVersionInfo(f *testing.F)  { fuzzCodec(f, "TPMVersionInfo") }
func FuzzParseBanks(f *testing.F)           { fuzzCodec(f, "Banks") }
func FuzzParseAIK(f *testing.F)             { fuzzCodec(f, "AIK") }
func FuzzParseQuoteRequest(f *testing.F)    { fuzzCodec(f, "QuoteRequest") }
func FuzzParseQuote(f *testing.F)           { fuzzCodec(f, "Quote") }
func FuzzParseEventLog(f *testing.F)        { fuzzCodec(f, "EventLog") }
func FuzzParseSymlinks(f *testing.F)        { fuzzCodec(f, "Symlinks") }
func FuzzParseIMARequest(f *testing.F)      { fuzzCodec(f, "IMARequest") }
func FuzzParseIMAEvents(f *testing.F)       { fuzzCodec(f, "IMAEvents") }
func FuzzParseFileRequest(f *testing.F)     { fuzzCodec(f, "FileRequest") }
func FuzzParseFileDigests(f *testing.F)     { fuzzCodec(f, "FileDigests") }
func FuzzParseFileMetas(f *testing.F)       { fuzzCodec(f, "FileMetas") }
func FuzzParsePackages(f *testing.F)        { fuzzCodec(f, "Packages") }
func FuzzParseReport(f *testing.F)          { fuzzCodec(f, "Report") }
func FuzzParseDHCreateRequest(f *testing.F) { fuzzCodec(f, "DHCreateRequest") }
func FuzzParseDHCreateResult(f *testing.F)  { fuzzCodec(f, "DHCreateResult") }
func FuzzParseDHFinishRequest(f *testing.F) { fuzzCodec(f, "DHFinishRequest") }
func FuzzParseMsgTypes(f *testing.F)        { fuzzCodec(f, "MsgTypes") }
func FuzzParseSWRequest(f *testing.F)       { fuzzCodec(f, "SWRequest") }
func FuzzParseSWInventory(f *testing.F)     { fuzzCodec(f, "SWInventory") }
func FuzzParseSWEvents(f *testing.F)        { fuzzCodec(f, "SWEvents") }

func FuzzParseMessage(f *testing.F) {
	f.Add(append(AppendMessageHeader(nil, MessageHeader{Type: MsgType{Vendor: PENTCG, Subtype: 1}, Collector: 2, Validator: 1, Flags: FlagExclusive}), 1, 0, 0, 0, 0, 0, 0, 1))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, body, err := ParseMessage(in)
		if err != nil {
			if _, ok := err.(*DecodeError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if out := append(AppendMessageHeader(nil, h), body...); !bytes.Equal(out, in) {
			t.Fatal("re-encoding differs")
		}
	})
}

func FuzzParseHashRequest(f *testing.F) {
	f.Add(AppendHashRequest(nil, HashRequest{Alg: AlgSHA256, Data: []byte("abc")}))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseHashRequest(in)
		if err != nil {
			return
		}
		if !bytes.Equal(AppendHashRequest(nil, r), in) {
			t.Fatal("re-encoding differs")
		}
	})
}
