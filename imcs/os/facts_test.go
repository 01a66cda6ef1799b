package main

import (
	"testing"
	"time"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/patnc"
)

func TestLastBootLog(t *testing.T) {
	// The reference run: "last boot: May 31 08:26:18 UTC 2022, 12009 s ago".
	boot := int64(1653985578)
	if got, want := lastBootLog(boot, boot+12009), "last boot: May 31 08:26:18 UTC 2022, 12009 s ago"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// A guest clock behind the boot time (no real wall clock) drops the age.
	if got, want := lastBootLog(boot, 1000), "last boot: May 31 08:26:18 UTC 2022"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Days below 10 are zero-padded as strongSwan's %T prints them.
	if got, want := lastBootLog(1767225600, 1767225600), "last boot: Jan 01 00:00:00 UTC 2026, 0 s ago"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBootTimeAgainstTime: the boot time format without package time is
// time.Format's "Jan 02 15:04:05 UTC 2006" for every month and year.
func TestBootTimeAgainstTime(t *testing.T) {
	for sec := int64(-62135596800); sec < 253402300799; sec += 86400*29 + 3607 {
		if got, want := bootTime(sec), time.Unix(sec, 0).UTC().Format("Jan 02 15:04:05 UTC 2006"); got != want {
			t.Fatalf("%d: %q, time says %q", sec, got, want)
		}
	}
}

func TestForwarding(t *testing.T) {
	for _, tc := range []struct {
		v4, v6 bool
		want   patnc.ForwardingStatus
	}{
		{false, false, patnc.ForwardingStatusDisabled}, {true, false, patnc.ForwardingStatusEnabled},
		{false, true, patnc.ForwardingStatusEnabled}, {true, true, patnc.ForwardingStatusEnabled},
	} {
		if got := forwarding(abi.SystemFacts{IPv4Forwarding: tc.v4, IPv6Forwarding: tc.v6}); got != tc.want {
			t.Errorf("v4 %v v6 %v: %d, want %d", tc.v4, tc.v6, got, tc.want)
		}
	}
	if fwdStatusName(patnc.ForwardingStatusDisabled) != "disabled" || fwdStatusName(patnc.ForwardingStatusEnabled) != "enabled" ||
		fwdStatusName(patnc.ForwardingStatusUnknown) != "unknown" {
		t.Error("forwarding status names")
	}
}

func TestSettingParsers(t *testing.T) {
	for in, want := range map[string]bool{"yes": true, "Yes": true, "true": true, "1": true, "no": false, "false": false, "": false} {
		if got, err := parseBool(in); err != nil || got != want {
			t.Errorf("parseBool(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseBool("maybe"); err == nil {
		t.Error("parseBool(maybe) accepted")
	}
	for in, want := range map[string]uint32{"0x81010003": 0x81010003, "2164326403": 0x81010003, " 0x81000001 ": 0x81000001} {
		if got, err := parseHandle(in); err != nil || got != want {
			t.Errorf("parseHandle(%q) = %#x, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "handle", "0x1ffffffff", "-1"} {
		if _, err := parseHandle(bad); err == nil {
			t.Errorf("parseHandle(%q) accepted", bad)
		}
	}
	if validDeviceID("") || validDeviceID("a\x00") || !validDeviceID(machineIDForTest) {
		t.Error("validDeviceID")
	}
}

const machineIDForTest = "732c769e8d1b2efef8b64d5ae83f84d1"
