package abi

import "testing"

func TestMsgTypeString(t *testing.T) {
	for _, c := range []struct {
		t    MsgType
		want string
	}{
		{MsgType{PENIETF, 1}, "'IETF/Operating System' 0x000000/0x00000001"},
		{MsgType{PENTCG, 1}, "'TCG/PTS' 0x005597/0x00000001"},
		{MsgType{PENIETF, SubtypeSWIMA}, "'IETF/SWIMA' 0x000000/0x00000009"},
		{MsgType{VendorAny, SubtypeAny}, "'ANY/ANY' 0xffffff/0x000000ff"},
		{MsgType{32473, 7}, "'32473/7' 0x007ed9/0x00000007"},
		{MsgType{PENITAHSR, 1}, "'ITA-HSR/1' 0x00902a/0x00000001"},
	} {
		if got := c.t.String(); got != c.want {
			t.Errorf("%#v: %s, want %s", c.t, got, c.want)
		}
	}
}

func TestPENName(t *testing.T) {
	for pen, want := range map[uint32]string{PENIETF: "IETF", PENTCG: "TCG", PENITAHSR: "ITA-HSR", PENDebian: "Debian", 0x123456: ""} {
		if got := PENName(pen); got != want {
			t.Errorf("PENName(0x%06x) = %q, want %q", pen, got, want)
		}
	}
}

func TestStatusAndStateString(t *testing.T) {
	if s := StatusNotFound.String(); s != "not found" {
		t.Errorf("StatusNotFound: %q", s)
	}
	if s := Status(99).String(); s != "status 99" {
		t.Errorf("Status(99): %q", s)
	}
	if s := Status(-1).String(); s != "status -1" {
		t.Errorf("Status(-1): %q", s)
	}
	for s := StatusOK; s <= StatusExhausted; s++ {
		if n := s.String(); n == "" || n[:min(len(n), 7)] == "status " {
			t.Errorf("status %d has no name", s)
		}
	}
	if s := ConnHandshake.String(); s != "Handshake" {
		t.Errorf("ConnHandshake: %q", s)
	}
	if s := ConnState(9).String(); s != "9" {
		t.Errorf("ConnState(9): %q", s)
	}
}

func TestAssessmentAndAccessNames(t *testing.T) {
	if n := AssessmentResultName(1); n != "non-compliant minor" {
		t.Errorf("1: %q", n)
	}
	if n := AssessmentResultName(5); n != "" {
		t.Errorf("5: %q", n)
	}
	if n := AccessRecommendationName(3); n != "Quarantined" {
		t.Errorf("3: %q", n)
	}
	for _, r := range []uint16{0, 4} {
		if n := AccessRecommendationName(r); n != "" {
			t.Errorf("%d: %q", r, n)
		}
	}
}
