package host

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/imchost/imchost/abi"
)

// PA subtype names usable in pa_send and pa_receive, besides
// "VENDOR/SUBTYPE" in numbers (decimal or 0x hex) and "*" for any.
var paVendorNames = map[string]uint32{"ietf": abi.PENIETF, "tcg": abi.PENTCG, "ita": abi.PENITAHSR}

var paSubtypeNames = map[string]abi.MsgType{
	"ietf/os": {Vendor: abi.PENIETF, Subtype: abi.SubtypeOS}, "ietf/operating-system": {Vendor: abi.PENIETF, Subtype: abi.SubtypeOS},
	"tcg/pts": {Vendor: abi.PENTCG, Subtype: abi.SubtypePTS},
}

// ParsePAType reads one pa_send/pa_receive entry: "ietf/os", "tcg/pts",
// "VENDOR/SUBTYPE" with names (ietf, tcg, ita) or numbers, "*" meaning any
// vendor or any subtype ("tcg/*", "*").
func ParsePAType(s string) (abi.MsgType, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	if t, ok := paSubtypeNames[l]; ok {
		return t, nil
	}
	if l == "*" || l == "*/*" {
		return abi.MsgType{Vendor: abi.VendorAny, Subtype: abi.SubtypeAny}, nil
	}
	v, st, ok := strings.Cut(l, "/")
	if !ok {
		return abi.MsgType{}, fmt.Errorf("PA type %q: want VENDOR/SUBTYPE, e.g. \"ietf/os\", \"tcg/pts\", \"32473/1\"", s)
	}
	var t abi.MsgType
	switch pen, named := paVendorNames[v]; {
	case named:
		t.Vendor = pen
	case v == "*":
		t.Vendor = abi.VendorAny
	default:
		n, err := strconv.ParseUint(v, 0, 24)
		if err != nil || n >= uint64(abi.VendorAny) {
			return t, fmt.Errorf("PA type %q: vendor %q is not a name (ietf, tcg, ita) or a 24-bit PEN", s, v)
		}
		t.Vendor = uint32(n)
	}
	if st == "*" {
		t.Subtype = abi.SubtypeAny
		return t, nil
	}
	n, err := strconv.ParseUint(st, 0, 8)
	if err != nil || n >= uint64(abi.SubtypeAny) {
		return t, fmt.Errorf("PA type %q: subtype %q is not a number below 255", s, st)
	}
	t.Subtype = uint32(n)
	return t, nil
}

// parsePATypes reads a pa_send or pa_receive list; nil stays nil (the
// default: the module's subscriptions).
func parsePATypes(list []string) ([]abi.MsgType, error) {
	if list == nil {
		return nil, nil
	}
	out := make([]abi.MsgType, 0, len(list))
	for _, s := range list {
		t, err := ParsePAType(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
