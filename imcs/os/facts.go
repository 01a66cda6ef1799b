package main

import (
	"strconv"
	"strings"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
	"github.com/imchost/imchost/sdk/patnc"
)

// Settings keys the OS IMC reads from its [[imc]] settings in config.toml.
const (
	// settingDeviceID is a literal Device ID (strongSwan's imc-os.device_id).
	settingDeviceID = "device_id"
	// settingDeviceHandle is the persistent handle of a TPM key whose keyid
	// becomes the Device ID (strongSwan's imc-os.device_handle), e.g.
	// "0x81010003". Needs the tpm_aik grant.
	settingDeviceHandle = "device_handle"
	// settingDefaultPassword is "yes"/"no" (strongSwan's
	// imcv.os_info.default_password_enabled); default no.
	settingDefaultPassword = "default_password_enabled"
	// settingOSName and settingOSVersion replace os-release when both are set
	// (strongSwan's imcv.os_info.name / version).
	settingOSName    = "os_name"
	settingOSVersion = "os_version"
	// settingPushInfo switches the unasked first message off ("no");
	// strongSwan's imc-os.push_info, default yes.
	settingPushInfo = "push_info"
	// settingMaxMessageSize is the largest PA-TNC message the IMC builds, for
	// the segmentation contract and for packing; default 2 097 104, the
	// PT-TLS value strongSwan uses (TCG IF-M Segmentation §5.1).
	settingMaxMessageSize = "max_message_size"
)

// defaultMaxMessageSize is strongSwan's maximum PA-TNC message size over
// PT-TLS (TCG IF-M Segmentation §5.1: 2 097 104 - 24 = 2 097 080 segment size).
const defaultMaxMessageSize = 2097104

// Operational Status values (RFC 5792 §4.2.5) the OS IMC sends.
const (
	opStatusOperational = 3
	opResultSuccessful  = 1
)

// fwdStatusName is strongSwan's os_fwd_status_names.
func fwdStatusName(s patnc.ForwardingStatus) string {
	switch s {
	case patnc.ForwardingStatusDisabled:
		return "disabled"
	case patnc.ForwardingStatusEnabled:
		return "enabled"
	}
	return "unknown"
}

// lastBootLog is strongSwan's "last boot: %T, %u s ago" line with %T in UTC
// ("May 31 08:26:18 UTC 2022"). The seconds are left out when the guest clock
// is behind the boot time (a sandbox without a real wall clock).
func lastBootLog(boot, now int64) string {
	t := bootTime(boot)
	if ago := now - boot; ago >= 0 {
		return fmtlite.Sprintf("last boot: %s, %d s ago", t, ago)
	}
	return "last boot: " + t
}

// bootTime formats Unix seconds as "Jan 02 15:04:05 UTC 2006" (years
// outside 0..9999 clamped), without package time.
func bootTime(sec int64) string {
	d := patnc.DateTimeFromUnix(sec).String() // 2006-01-02T15:04:05Z
	const months = "JanFebMarAprMayJunJulAugSepOctNovDec"
	m := int(d[5]-'0')*10 + int(d[6]-'0')
	return months[3*(m-1):3*m] + " " + d[8:10] + " " + d[11:19] + " UTC " + d[0:4]
}

// forwarding combines the host's forwarding flags: enabled if IPv4 or IPv6
// forwarding is on. strongSwan looks at IPv4 only; a router forwarding IPv6
// is a router too.
func forwarding(f abi.SystemFacts) patnc.ForwardingStatus {
	if f.IPv4Forwarding || f.IPv6Forwarding {
		return patnc.ForwardingStatusEnabled
	}
	return patnc.ForwardingStatusDisabled
}

// boolForwarding is the status of one address family.
func boolForwarding(on bool) patnc.ForwardingStatus {
	if on {
		return patnc.ForwardingStatusEnabled
	}
	return patnc.ForwardingStatusDisabled
}

// parseBool reads a strongSwan-style boolean setting.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "1", "on", "enabled":
		return true, nil
	case "no", "false", "0", "off", "disabled", "":
		return false, nil
	}
	return false, fmtlite.Errorf("imc-os: %q is not a boolean", s)
}

// parseHandle reads a TPM persistent handle such as "0x81010003" (base
// prefixes as in C strtoul with base 0).
func parseHandle(s string) (uint32, error) {
	h, err := strconv.ParseUint(strings.TrimSpace(s), 0, 32)
	if err != nil || h == 0 {
		return 0, fmtlite.Errorf("imc-os: invalid device_handle %q", s)
	}
	return uint32(h), nil
}

// validDeviceID reports whether s can be sent as an ITA Device ID: not empty
// and without NUL (the receiver rejects a NUL anywhere).
func validDeviceID(s string) bool {
	return s != "" && !strings.ContainsRune(s, 0)
}
