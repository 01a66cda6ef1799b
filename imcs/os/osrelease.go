package main

import (
	"bytes"
	"errors"
	"strings"

	"github.com/imchost/imchost/abi"
	"github.com/imchost/imchost/sdk/fmtlite"
)

// osType is strongSwan's os_type_t: the distribution family recognised from
// the OS name. It selects the vendor PEN of the Product Information attribute
// and, for Raspbian, the machine name.
type osType int

// OS types in strongSwan's os_type_names order; the name is both what is
// logged ("operating system type is 'Ubuntu'") and the prefix the OS name is
// matched against.
const (
	osUnknown osType = iota
	osDebian
	osUbuntu
	osRaspbian
	osFedora
	osRedHat
	osCentOS
	osSUSE
	osGentoo
	osAndroid
	osWindows
)

var osTypeNames = [...]string{
	osUnknown:  "Unknown",
	osDebian:   "Debian",
	osUbuntu:   "Ubuntu",
	osRaspbian: "Raspbian",
	osFedora:   "Fedora",
	osRedHat:   "Red Hat",
	osCentOS:   "CentOS",
	osSUSE:     "SUSE",
	osGentoo:   "Gentoo",
	osAndroid:  "Android",
	osWindows:  "Windows",
}

// String returns strongSwan's name of the type.
func (t osType) String() string {
	if t < 0 || int(t) >= len(osTypeNames) {
		return osTypeNames[osUnknown]
	}
	return osTypeNames[t]
}

// vendor is the Product Information vendor ID for the type (RFC 5792
// §4.2.2);
// every type without an entry maps to 0 (IETF). Product ID is always 0.
func (t osType) vendor() uint32 {
	switch t {
	case osDebian:
		return abi.PENDebian
	case osUbuntu:
		return abi.PENCanonical
	case osFedora:
		return abi.PENFedora
	case osRedHat:
		return abi.PENRedHat
	case osAndroid:
		return abi.PENGoogle
	}
	return 0
}

// osTypeFromName compares name against each type name as a prefix, as
// strongSwan's os_type_from_name does (case sensitive).
func osTypeFromName(name string) osType {
	for t := osDebian; t <= osWindows; t++ {
		if strings.HasPrefix(name, t.String()) {
			return t
		}
	}
	return osUnknown
}

// osInfo is what the OS IMC reports about the distribution, computed once in
// Initialize (strongSwan's imc_os_info_create).
type osInfo struct {
	Type    osType
	Name    string // Product Information name, e.g. "Ubuntu"
	Version string // String Version, e.g. "22.04 x86_64"
}

// errOSRelease is wrapped by every os-release parse failure.
var errOSRelease = errors.New("imc-os: unusable os-release")

// osReleaseFields extracts ID and VERSION_ID from an os-release file with
// strongSwan's rules (RFC 5792 §4.2.2 leaves them open):
//
//   - ID is the first "ID=" that starts a line, up to the end of that line;
//     quotes are kept (ID="rhel" gives `"rhel"`), as strongSwan keeps them.
//   - VERSION_ID is the first "VERSION_ID=" anywhere in the file. A quoted
//     value ends before the closing quote, as in strongSwan. An unquoted value
//     (Fedora, Alpine: VERSION_ID=38) yields garbage in strongSwan; here it
//     runs to the end of the line, which is what the file means.
//
// Unlike strongSwan, which reads only the first 511 bytes and requires a
// newline after each value, the whole file is searched and the end of the
// file also ends a value; a trailing '\r' is dropped.
func osReleaseFields(data []byte) (id, versionID string, err error) {
	id, ok := lineValue(data, "ID=")
	if !ok || id == "" {
		return "", "", fmtlite.Errorf("%w: failed to find begin of ID field", errOSRelease)
	}
	i := bytes.Index(data, []byte("VERSION_ID="))
	if i < 0 {
		return "", "", fmtlite.Errorf("%w: failed to find begin of VERSION_ID field", errOSRelease)
	}
	rest := data[i+len("VERSION_ID="):]
	if len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') {
		q := rest[0]
		end := bytes.IndexByte(rest[1:], q)
		if end < 0 {
			return "", "", fmtlite.Errorf("%w: failed to find end of VERSION_ID field", errOSRelease)
		}
		versionID = string(rest[1 : 1+end])
	} else {
		versionID = string(untilEOL(rest))
	}
	if versionID == "" || strings.ContainsAny(versionID, "\n\x00") {
		return "", "", fmtlite.Errorf("%w: empty or malformed VERSION_ID field", errOSRelease)
	}
	if strings.ContainsRune(id, 0) {
		return "", "", fmtlite.Errorf("%w: malformed ID field", errOSRelease)
	}
	return id, versionID, nil
}

// lineValue returns the rest of the first line that starts with key.
func lineValue(data []byte, key string) (string, bool) {
	for line := 0; line < len(data); {
		if bytes.HasPrefix(data[line:], []byte(key)) {
			return string(untilEOL(data[line+len(key):])), true
		}
		nl := bytes.IndexByte(data[line:], '\n')
		if nl < 0 {
			break
		}
		line += nl + 1
	}
	return "", false
}

// untilEOL returns b up to (not including) the first newline, without a
// trailing carriage return.
func untilEOL(b []byte) []byte {
	if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
		b = b[:nl]
	}
	return bytes.TrimSuffix(b, []byte("\r"))
}

// newOSInfo builds the OS name and version strings exactly as strongSwan
// does: name = ID with its first character upper-cased (replaced by the
// official type name when the type is recognised), version = VERSION_ID + " "
// + machine, where the machine armv7l becomes armhf on Raspbian.
func newOSInfo(osRelease []byte, machine string) (osInfo, error) {
	id, versionID, err := osReleaseFields(osRelease)
	if err != nil {
		return osInfo{}, err
	}
	name := capitalize(id)
	t := osTypeFromName(name)
	if t != osUnknown {
		name = t.String()
	}
	return osInfo{Type: t, Name: name, Version: versionID + " " + machineName(t, machine)}, nil
}

// newOSInfoOverride builds the strings from the os_name / os_version settings
// (strongSwan's imcv.os_info.name / .version): taken verbatim, the type
// derived from the name.
func newOSInfoOverride(name, version string) osInfo {
	return osInfo{Type: osTypeFromName(name), Name: name, Version: version}
}

func machineName(t osType, machine string) string {
	if t == osRaspbian && machine == "armv7l" {
		return "armhf"
	}
	return machine
}

// capitalize upper-cases the first byte if it is an ASCII letter (C toupper
// in the "C" locale).
func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// numericVersion derives the Numeric Version major and minor from the version
// string as strongSwan does: major = atol(version), minor = atol(text after
// the first '.') or 0 when there is no dot. "22.04 x86_64" gives 22, 4.
func numericVersion(version string) (major, minor uint32) {
	major = uint32(atol(version))
	if i := strings.IndexByte(version, '.'); i >= 0 {
		minor = uint32(atol(version[i+1:]))
	}
	return major, minor
}

// atol mirrors C atol (strtol base 10 with glibc's saturation): leading white
// space, an optional sign, then decimal digits; anything else ends the number.
func atol(s string) int64 {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	const limit = 1<<63 - 1
	var n uint64
	over := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if n > (limit-d)/10 {
			over = true
			continue
		}
		n = n*10 + d
	}
	switch {
	case over && neg:
		return -limit - 1
	case over:
		return limit
	case neg:
		return -int64(n)
	}
	return int64(n)
}
