package config

import (
	"strings"
	"testing"
)

// TestReferrals: [pdp] referrals as true, false or a list, and what each
// lets the client follow.
func TestReferrals(t *testing.T) {
	parse := func(v string) *Referrals {
		t.Helper()
		c, err := Parse([]byte("[pdp]\nreferrals = " + v + "\n"))
		if err != nil {
			t.Fatalf("referrals = %s: %v", v, err)
		}
		return c.PDP.Referrals
	}
	for _, tc := range []struct {
		cfg  string
		host string
		port uint16
		want bool
	}{
		{"true", "anywhere.test", 271, true},
		{"false", "pdp.example.org", 271, false},
		{"[]", "pdp.example.org", 271, false},
		{`["pdp2.example.org"]`, "pdp2.example.org", 4000, true},
		{`["pdp2.example.org"]`, "PDP2.example.org.", 271, true},
		{`["pdp2.example.org"]`, "evil.test", 271, false},
		{`["pdp2.example.org:271"]`, "pdp2.example.org", 272, false},
		{`["*.example.org"]`, "a.b.example.org", 271, true},
		{`["*.example.org"]`, "example.org", 271, false},
		{`["*.example.org"]`, "evilexample.org", 271, false},
		{`["192.0.2.7"]`, "192.0.2.7", 271, true},
	} {
		if got := parse(tc.cfg).Allows(tc.host, tc.port); got != tc.want {
			t.Errorf("referrals = %s: Allows(%s, %d) = %v", tc.cfg, tc.host, tc.port, got)
		}
	}
	if (*Referrals)(nil).Allows("x.test", 1) != true {
		t.Error("unset referrals refuse")
	}
	for _, bad := range []string{`"yes"`, `[1]`, `["pdp.test:0"]`} {
		if _, err := Parse([]byte("[pdp]\nreferrals = " + bad + "\n")); err == nil || !strings.Contains(err.Error(), "referrals") {
			t.Errorf("referrals = %s: %v", bad, err)
		}
	}
}
