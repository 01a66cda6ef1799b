package patnc

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
)

// attrCase is one value for one attribute type: either valid (wantErr
// false) or rejected with Invalid Parameter at wantOff (relative to the
// value start).
type attrCase struct {
	name    string
	t       Type
	value   string // hex, spaces allowed
	wantErr bool
	wantOff uint32
}

func ok(name string, t Type, value string) attrCase {
	return attrCase{name: name, t: t, value: value}
}

func bad(name string, t Type, value string, off uint32) attrCase {
	return attrCase{name: name, t: t, value: value, wantErr: true, wantOff: off}
}

const time20 = "323032362d31312d32365431383a35313a30385a" // "2026-11-26T18:51:08Z"

var attrCases = []attrCase{
	// IETF
	ok("attr request", TypeAttrRequest, "00000000 00000002 0000902a 00000008"),
	ok("attr request empty", TypeAttrRequest, ""),
	ok("attr request reserved ignored", TypeAttrRequest, "ff000000 00000002"),
	bad("attr request partial", TypeAttrRequest, "00000000 000000", 0),
	ok("product info", TypeProductInfo, "002572 0000 44656269616e"),
	ok("product info empty name", TypeProductInfo, "002572 0000"),
	bad("product info short", TypeProductInfo, "002572 00", 0),
	bad("product info vendor 0 product 1", TypeProductInfo, "000000 0001 41", 3),
	ok("numeric version", TypeNumericVersion, "0000000c 00000000 00000000 0000 0000"),
	bad("numeric version short", TypeNumericVersion, "0000000c 00000000 00000000 0000", 0),
	bad("numeric version long", TypeNumericVersion, "0000000c 00000000 00000000 0000 0000 00", 16),
	ok("string version", TypeStringVersion, "09 3132207838365f3634 00 00"),
	bad("string version empty", TypeStringVersion, "", 0),
	bad("string version truncated version", TypeStringVersion, "09 3132", 0),
	bad("string version missing config", TypeStringVersion, "00 00", 2),
	bad("string version trailing", TypeStringVersion, "00 00 00 00", 3),
	ok("op status", TypeOpStatus, "03 01 0000 "+time20),
	ok("op status reserved ignored", TypeOpStatus, "03 01 ffff "+time20),
	ok("op status unknown time", TypeOpStatus, "00 00 0000 "+hex.EncodeToString([]byte(UnknownDateTime))),
	bad("op status short", TypeOpStatus, "03 01 0000", 0),
	bad("op status long", TypeOpStatus, "03 01 0000 "+time20+"00", 24),
	bad("op status status 4", TypeOpStatus, "04 01 0000 "+time20, 0),
	bad("op status result 4", TypeOpStatus, "03 04 0000 "+time20, 1),
	bad("op status bad time", TypeOpStatus, "03 01 0000 "+strings.Repeat("20", 20), 4),
	ok("port filter", TypePortFilter, "01 06 0016 00 11 0035"),
	ok("port filter reserved ignored", TypePortFilter, "fe 06 0016"),
	bad("port filter partial", TypePortFilter, "01 06 00", 0),
	ok("installed packages", TypeInstalledPackages, "0000 0001 07 61646475736572 05 332e313334"),
	ok("installed packages none", TypeInstalledPackages, "0000 0000"),
	bad("installed packages short", TypeInstalledPackages, "0000 00", 0),
	bad("installed packages count too high", TypeInstalledPackages, "0000 0002 01 61 01 62", 8),
	bad("installed packages trailing", TypeInstalledPackages, "0000 0001 01 61 01 62 00", 8),
	bad("installed packages truncated name", TypeInstalledPackages, "0000 0001 05 61", 4),
	ok("pa-tnc error invalid parameter", TypePATNCError, "00 000000 00000001 01000000a1b2c3d4 0000000c"),
	ok("pa-tnc error version", TypePATNCError, "00 000000 00000002 02000000a1b2c3d4 01010000"),
	ok("pa-tnc error attr type", TypePATNCError, "00 000000 00000003 01000000a1b2c3d4 80005597 7f000000"),
	ok("pa-tnc error tcg", TypePATNCError, "00 005597 00000007 0014ffff"),
	ok("pa-tnc error swima raw", TypePATNCError, "00 000000 00000004 0102"),
	bad("pa-tnc error short", TypePATNCError, "00 000000 000000", 0),
	bad("pa-tnc error attr type short info", TypePATNCError, "00 000000 00000003 01000000a1b2c3d4 80005597", 8),
	bad("pa-tnc error invalid parameter long info", TypePATNCError, "00 000000 00000001 01000000a1b2c3d4 0000000c 00", 20),
	ok("sw request", TypeSWRequest, "60 000001 00000007 00000000 0003 616263"),
	ok("sw request events, reserved ignored", TypeSWRequest, "1f 000000 00000001 00000005"),
	bad("sw request short", TypeSWRequest, "60 000001 00000007 000000", 0),
	bad("sw request count too high", TypeSWRequest, "00 000002 00000001 00000000 0001 61", 15),
	bad("sw request trailing", TypeSWRequest, "00 000000 00000001 00000000 00", 12),
	ok("sw id inventory", TypeSWIdentifierInventory, "00 000001 00000007 a1b2c3d4 00000002 00000000 000000 00 01 00 0005 6162636465 0000"),
	bad("sw id inventory truncated record", TypeSWIdentifierInventory, "00 000001 00000007 a1b2c3d4 00000002 00000000 0000", 16),
	bad("sw id inventory truncated id", TypeSWIdentifierInventory, "00 000001 00000007 a1b2c3d4 00000002 00000000 000000 00 01 00 0005 61", 26),
	// RFC 8412 §5.11, §5.12 (the record of the "sw request" case above:
	// flags 0x60, Request ID 7, Earliest EID 0, one target "abc")
	ok("subscription status request", TypeSubscriptionStatusRequest, ""),
	bad("subscription status request with a field", TypeSubscriptionStatusRequest, "00000000", 0),
	ok("subscription status response none", TypeSubscriptionStatusResponse, "00 000000"),
	ok("subscription status response", TypeSubscriptionStatusResponse, "00 000002 60 000001 00000007 00000000 0003 616263 40 000000 0000002a 00000005"),
	ok("subscription status response reserved ignored", TypeSubscriptionStatusResponse, "ff 000001 5f 000000 00000001 00000000"),
	bad("subscription status response short", TypeSubscriptionStatusResponse, "00 0000", 0),
	bad("subscription status response count too high", TypeSubscriptionStatusResponse, "00 000002 40 000000 0000002a 00000005", 16),
	bad("subscription status response truncated record", TypeSubscriptionStatusResponse, "00 000001 40 000000 0000002a 000000", 4),
	bad("subscription status response truncated target", TypeSubscriptionStatusResponse, "00 000001 60 000001 00000007 00000000 0003 6162", 16),
	bad("subscription status response trailing", TypeSubscriptionStatusResponse, "00 000000 00", 4),
	// RFC 8412 §5.13, §5.14
	ok("source metadata request", TypeSourceMetadataRequest, ""),
	bad("source metadata request with a field", TypeSourceMetadataRequest, "00", 0),
	ok("source metadata response none", TypeSourceMetadataResponse, "0000 00"),
	ok("source metadata response", TypeSourceMetadataResponse, "0000 02 00 0004 64706b67 07 0003 72706d"),
	ok("source metadata response reserved ignored", TypeSourceMetadataResponse, "ffff 01 00 0000"),
	bad("source metadata response short", TypeSourceMetadataResponse, "0000", 0),
	bad("source metadata response count too high", TypeSourceMetadataResponse, "0000 02 00 0001 61", 7),
	bad("source metadata response truncated metadata", TypeSourceMetadataResponse, "0000 01 00 0004 6470", 4),
	bad("source metadata response NUL", TypeSourceMetadataResponse, "0000 01 00 0002 6100", 4),
	bad("source metadata response trailing", TypeSourceMetadataResponse, "0000 00 00", 3),
	ok("sw inventory", TypeSWInventory, "00 000001 00000007 a1b2c3d4 00000002 00000001 000000 00 01 00 0001 61 0000 00000002 3c2f"),
	bad("sw inventory truncated record", TypeSWInventory, "00 000001 00000007 a1b2c3d4 00000002 00000001 000000 00 01 00 0001 61 0000 00000009 3c2f", 31),
	ok("sw id events", TypeSWIdentifierEvents, "00 000001 00000007 a1b2c3d4 00000002 00000002 00000002 "+time20+" 00000000 000000 00 01 02 0001 61 0000"),
	bad("sw id events action 4", TypeSWIdentifierEvents, "00 000001 00000007 a1b2c3d4 00000002 00000002 00000002 "+time20+" 00000000 000000 00 01 04 0001 61 0000", 53),
	bad("sw id events short timestamp", TypeSWIdentifierEvents, "00 000001 00000007 a1b2c3d4 00000002 00000002 00000002 3230", 20),
	ok("sw events", TypeSWEvents, "00 000001 00000007 a1b2c3d4 00000002 00000002 00000002 "+time20+" 00000000 000000 00 01 03 0001 61 0000 00000002 3c2f"),
	ok("assessment result", TypeAssessmentResult, "00000001"),
	ok("assessment result unknown value kept", TypeAssessmentResult, "00000007"),
	bad("assessment result short", TypeAssessmentResult, "000000", 0),
	bad("assessment result long", TypeAssessmentResult, "0000000000", 4),
	ok("remediation uri", TypeRemediationInstructions, "00 000000 00000001 68747470733a2f2f78"),
	ok("remediation string", TypeRemediationInstructions, "00 000000 00000002 00000002 6869 02 656e"),
	ok("remediation vendor", TypeRemediationInstructions, "00 00902a 00000005 0102"),
	bad("remediation short", TypeRemediationInstructions, "00 000000 000000", 0),
	bad("remediation string truncated", TypeRemediationInstructions, "00 000000 00000002 00000005 6869", 8),
	bad("remediation string missing lang", TypeRemediationInstructions, "00 000000 00000002 00000002 6869", 14),
	bad("remediation string trailing", TypeRemediationInstructions, "00 000000 00000002 00000000 00 ff", 13),
	ok("forwarding", TypeForwardingEnabled, "00000002"),
	bad("forwarding 3", TypeForwardingEnabled, "00000003", 0),
	bad("forwarding short", TypeForwardingEnabled, "00", 0),
	ok("default pwd", TypeFactoryDefaultPwd, "00000001"),
	bad("default pwd 2", TypeFactoryDefaultPwd, "00000002", 0),
	bad("default pwd long", TypeFactoryDefaultPwd, "0000000000", 4),
	// ITA-HSR
	ok("command", TypeITACommand, "6563686f"),
	ok("dummy", TypeITADummy, "000000"),
	ok("get settings", TypeITAGetSettings, "00000001 0004 2f657463"),
	bad("get settings short", TypeITAGetSettings, "000000", 0),
	bad("get settings truncated", TypeITAGetSettings, "00000001 0004 2f65", 4),
	bad("get settings trailing", TypeITAGetSettings, "00000000 00", 4),
	ok("settings", TypeITASettings, "00000001 0001 61 0002 6263"),
	bad("settings missing value", TypeITASettings, "00000001 0001 61", 7),
	ok("start angel", TypeITAStartAngel, ""),
	bad("stop angel with data", TypeITAStopAngel, "00", 0),
	ok("device id", TypeITADeviceID, hex.EncodeToString([]byte("d41bcf69169cbbcbb9fa29a895264bff2224fc95"))),
	bad("device id with NUL", TypeITADeviceID, "616200", 2),
	ok("get symlinks", TypeITAGetSymlinks, "2f"),
	ok("symlinks", TypeITASymlinks, "00000001 0004 2f62696e 0008 2f7573722f62696e"),
	bad("symlinks short", TypeITASymlinks, "0000", 0),
	bad("symlinks count too high", TypeITASymlinks, "00000002 0001 61 0001 62", 10),
	// TCG segmentation
	ok("contract request", TypeSegContractRequest, "ffffffff 001fffb8"),
	bad("contract request short", TypeSegContractRequest, "ffffffff", 0),
	bad("contract response long", TypeSegContractResponse, "ffffffff 001fffb8 00", 8),
	ok("envelope first", TypeSegEnvelope, "c0 000001 00005597"),
	ok("envelope empty segment", TypeSegEnvelope, "00 000001"),
	ok("envelope reserved ignored", TypeSegEnvelope, "3f 000001"),
	bad("envelope short", TypeSegEnvelope, "c0 0000", 0),
	ok("next segment", TypeNextSegment, "80 000001"),
	bad("next segment long", TypeNextSegment, "00 000001 00", 4),
	// TCG PTS
	ok("req proto caps", TypeReqProtoCaps, "0000000e"),
	ok("req proto caps reserved ignored", TypeReqProtoCaps, "ffff000e"),
	bad("proto caps short", TypeProtoCaps, "00000e", 0),
	bad("proto caps long", TypeProtoCaps, "0000000e00", 4),
	ok("dh params req", TypeDHNonceParamsReq, "0000f000"),
	bad("dh params req short", TypeDHNonceParamsReq, "0000f0", 0),
	ok("dh params resp", TypeDHNonceParamsResp, "00000014 1000 4000"+strings.Repeat("11", 20)+strings.Repeat("22", 64)),
	ok("dh params resp no public", TypeDHNonceParamsResp, "00000008 1000 4000"+strings.Repeat("11", 8)),
	bad("dh params resp short", TypeDHNonceParamsResp, "00000000 1000 4000 00000000000000", 0),
	bad("dh params resp nonce too long", TypeDHNonceParamsResp, "00000009 1000 4000"+strings.Repeat("11", 8), 3),
	ok("dh finish", TypeDHNonceFinish, "00 14 4000"+strings.Repeat("22", 64)+strings.Repeat("11", 20)),
	ok("dh finish all nonce", TypeDHNonceFinish, "00 08 4000"+strings.Repeat("11", 8)),
	bad("dh finish short", TypeDHNonceFinish, "00 08 4000"+strings.Repeat("11", 7), 0),
	bad("dh finish nonce too long", TypeDHNonceFinish, "00 09 4000"+strings.Repeat("11", 8), 1),
	ok("meas algo request", TypeMeasAlgoRequest, "0000e000"),
	ok("meas algo selection", TypeMeasAlgoSelection, "00004000"),
	bad("meas algo selection two bits", TypeMeasAlgoSelection, "0000c000", 2),
	bad("meas algo selection none", TypeMeasAlgoSelection, "00000000", 2),
	bad("meas algo request long", TypeMeasAlgoRequest, "0000e00000", 4),
	ok("get tpm version info", TypeGetTPMVersionInfo, "00000000"),
	ok("get tpm version info reserved ignored", TypeGetTPMVersionInfo, "ffffffff"),
	bad("get tpm version info short", TypeGetTPMVersionInfo, "000000", 0),
	ok("tpm version info", TypeTPMVersionInfo, "02000003000000a4000007e549424d00"),
	bad("tpm version info short", TypeTPMVersionInfo, "020000", 0),
	ok("get aik", TypeGetAIK, "00000000"),
	bad("get aik long", TypeGetAIK, "0000000000", 4),
	ok("aik naked", TypeAIK, "80 3059"),
	ok("aik cert", TypeAIK, "00 3082"),
	bad("aik empty", TypeAIK, "", 0),
	ok("req func comp evid", TypeReqFuncCompEvid, "10000000 00902a21 00000003"),
	ok("req func comp evid two", TypeReqFuncCompEvid, "10000000 00902a21 00000003 20000001 00902a22 00000003"),
	bad("req func comp evid empty", TypeReqFuncCompEvid, "", 0),
	bad("req func comp evid partial", TypeReqFuncCompEvid, "10000000 00902a21 00000003 1000", 12),
	ok("gen attest evid", TypeGenAttestEvid, "00000000"),
	bad("gen attest evid short", TypeGenAttestEvid, "", 0),
	ok("simple comp evid", TypeSimpleCompEvid, "00 000000 00902a21 00000003 80 000000 4000 01 00 "+time20+strings.Repeat("ab", 32)),
	ok("simple comp evid policy", TypeSimpleCompEvid, "60 000000 00902a22 00000003 80 00000a 4000 01 00 "+time20+"0003 616263"+strings.Repeat("ab", 32)),
	ok("simple comp evid pcr info", TypeSimpleCompEvid, "80 000000 00902a21 00000003 80 000000 4000 01 00 "+time20+"0002 0102 0304"+strings.Repeat("ab", 32)),
	ok("simple comp evid reserved ignored", TypeSimpleCompEvid, "1f 000000 00902a21 00000003 80 000000 4000 01 ff "+time20),
	bad("simple comp evid short", TypeSimpleCompEvid, "00 000000 00902a21 00000003 80 000000 4000 01 00 "+time20[:38], 0),
	bad("simple comp evid meas type", TypeSimpleCompEvid, "00 000000 00902a21 00000003 81 000000 4000 01 00 "+time20, 12),
	bad("simple comp evid bad time", TypeSimpleCompEvid, "00 000000 00902a21 00000003 80 000000 4000 01 00 "+strings.Repeat("30", 20), 20),
	bad("simple comp evid policy truncated", TypeSimpleCompEvid, "40 000000 00902a21 00000003 80 000000 4000 01 00 "+time20+"0005 6162", 40),
	bad("simple comp evid pcr truncated", TypeSimpleCompEvid, "80 000000 00902a21 00000003 80 000000 4000 01 00 "+time20+"0002 0102 03", 40),
	ok("simple evid final tpm2", TypeSimpleEvidFinal, "10 00 4000 00000002 aabb 0001 01 0001 02 0001 03 0001 04 00000002 cdef"),
	ok("simple evid final none", TypeSimpleEvidFinal, "00 00 0000"),
	ok("simple evid final evid sig", TypeSimpleEvidFinal, "20 00 0000 0102"),
	ok("simple evid final tpm1.2", TypeSimpleEvidFinal, "40 00 8000 00000001 aa 00000001 bb"),
	ok("simple evid final reserved ignored", TypeSimpleEvidFinal, "0f ff 0000"),
	bad("simple evid final short", TypeSimpleEvidFinal, "10 00 40", 0),
	bad("simple evid final bad mode", TypeSimpleEvidFinal, "50 00 4000", 0),
	bad("simple evid final truncated composite", TypeSimpleEvidFinal, "10 00 4000 00000003 aabb", 4),
	bad("simple evid final truncated signer", TypeSimpleEvidFinal, "10 00 4000 00000000 0005 aa", 8),
	bad("simple evid final truncated sig", TypeSimpleEvidFinal, "40 00 8000 00000000 00000002 aa", 8),
	bad("simple evid final trailing", TypeSimpleEvidFinal, "00 00 0000 00", 4),
	ok("req file meas", TypeReqFileMeas, "00 00 0007 0000002f 2f746d70"),
	bad("req file meas short", TypeReqFileMeas, "00 00 0007 000000", 0),
	ok("file meas", TypeFileMeas, "0000000000000001 0007 0002 abcd 0006 666d2e747874"),
	ok("file meas none", TypeFileMeas, "0000000000000000 0007 0020"),
	bad("file meas short", TypeFileMeas, "0000000000000001 0007 00", 0),
	bad("file meas truncated digest", TypeFileMeas, "0000000000000001 0007 0020 abcd", 12),
	bad("file meas count too high", TypeFileMeas, "0000000000000002 0007 0001 ab 0000", 15),
	bad("file meas trailing", TypeFileMeas, "0000000000000000 0007 0001 ab", 12),
	ok("req file meta", TypeReqFileMeta, "00 2f 0000 2f746d70"),
	bad("req file meta short", TypeReqFileMeta, "00 2f 00", 0),
	ok("unix file meta", TypeUnixFileMeta, "0000000000000001 003a 08 00"+strings.Repeat("00", 48)+"666d2e747874"),
	bad("unix file meta short", TypeUnixFileMeta, "00000000000000", 0),
	bad("unix file meta entry length", TypeUnixFileMeta, "0000000000000001 0033 08 00"+strings.Repeat("00", 48), 8),
	bad("unix file meta truncated name", TypeUnixFileMeta, "0000000000000001 003a 08 00"+strings.Repeat("00", 48)+"666d", 8),
	bad("unix file meta trailing", TypeUnixFileMeta, "0000000000000000 00", 8),
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestAttrTable decodes every case's value alone and inside a PA-TNC
// message (where the offset must be translated to the message), and
// re-encodes the valid ones. Reserved bits are ignored on receipt, so a
// "reserved ignored" value re-encodes with them cleared.
func TestAttrTable(t *testing.T) {
	seen := map[Type]bool{}
	for _, c := range attrCases {
		t.Run(c.name, func(t *testing.T) {
			v := mustHex(t, c.value)
			a := newAttr(c.t)
			if a == nil {
				t.Fatalf("no parser for %s", c.t)
			}
			seen[c.t] = true
			err := a.UnmarshalValue(v)
			// the same inside a message, after one leading attribute
			msg := mustHex(t, "01000000 11223344 00000000 00000009 00000010 00000000")
			var flags uint8
			if c.t.Vendor == abi.PENTCG {
				flags = FlagNoSkip
			}
			msg = append(msg, flags, byte(c.t.Vendor>>16), byte(c.t.Vendor>>8), byte(c.t.Vendor))
			msg = append(msg, byte(c.t.Type>>24), byte(c.t.Type>>16), byte(c.t.Type>>8), byte(c.t.Type))
			l := 12 + len(v)
			msg = append(msg, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
			msg = append(msg, v...)
			m, merr := ParseMessage(msg)
			if !c.wantErr {
				if err != nil || merr != nil {
					t.Fatalf("UnmarshalValue: %v; ParseMessage: %v", err, merr)
				}
				if m.Attrs[1].Type() != c.t || NoSkip(m.Attrs[1]) != (flags != 0) {
					t.Fatalf("got %s noskip=%v", m.Attrs[1].Type(), NoSkip(m.Attrs[1]))
				}
				enc, err := MarshalAttr(a)
				if err != nil {
					t.Fatalf("MarshalAttr: %v", err)
				}
				if !strings.Contains(c.name, "reserved ignored") && hex.EncodeToString(enc[12:]) != hex.EncodeToString(v) {
					t.Errorf("re-encoded value %x, want %x", enc[12:], v)
				}
				a2, _, err := ParseAttr(enc)
				if err != nil {
					t.Fatalf("ParseAttr(re-encoded): %v", err)
				}
				enc2, _ := MarshalAttr(a2)
				if hex.EncodeToString(enc2) != hex.EncodeToString(enc) {
					t.Errorf("second encoding %x differs from %x", enc2, enc)
				}
				return
			}
			var e, me *Error
			if !errors.As(err, &e) || !errors.As(merr, &me) {
				t.Fatalf("want *Error, got %v / %v", err, merr)
			}
			if m != nil {
				t.Fatal("message returned with an error")
			}
			if e.Code != ErrInvalidParameter || e.Offset != c.wantOff {
				t.Errorf("value error %v (offset %d), want invalid parameter at %d", e, e.Offset, c.wantOff)
			}
			if me.Code != ErrInvalidParameter || me.Offset != 36+c.wantOff || me.Attr != c.t ||
				me.Header != [8]byte{1, 0, 0, 0, 0x11, 0x22, 0x33, 0x44} || me.AttrFlags != flags {
				t.Errorf("message error %+v, want invalid parameter at %d in %s", me, 36+c.wantOff, c.t)
			}
		})
	}
	// every implemented type has at least one case
	for _, tt := range allKnownTypes() {
		if !seen[tt] {
			t.Errorf("no table case for %s", tt)
		}
	}
}

// allKnownTypes lists every type the catalog parses.
func allKnownTypes() []Type {
	var out []Type
	for _, v := range []uint32{abi.PENIETF, abi.PENITAHSR, abi.PENTCG} {
		for _, base := range []uint32{0, 0x20, 0x00100000, 0x01000000} {
			for i := uint32(0); i < 24; i++ {
				t := Type{v, base + i}
				if base == 0x00100000 {
					t.Type = i << 20
				}
				if base == 0x01000000 {
					t.Type = i << 24
				}
				if Known(t) && !contains(out, t) {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

func contains(ts []Type, t Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func TestAllKnownTypesCount(t *testing.T) {
	// 12 IETF + 9 SWIMA + 9 ITA (Echo has no parser) + 4 segmentation + 19 PTS
	if n := len(allKnownTypes()); n != 12+9+9+4+19 {
		t.Errorf("%d known types", n)
	}
}
