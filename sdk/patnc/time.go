package patnc

import (
	"fmt"
	"time"
)

// DateTime is the 20-byte ASCII UTC time "YYYY-MM-DDTHH:MM:SSZ" of the
// Operational Status Last Use field and the Simple Component Evidence
// Measurement Date/Time field. The bytes are kept as received so that a
// message re-encodes unchanged.
type DateTime [20]byte

// UnknownDateTime is the "time unknown" value 0000-00-00T00:00:00Z.
const UnknownDateTime = "0000-00-00T00:00:00Z"

// NewDateTime formats t in UTC (years outside 0..9999 are clamped).
func NewDateTime(t time.Time) DateTime {
	t = t.UTC()
	y, mo, day := t.Date()
	h, mi, sec := t.Clock()
	y = min(max(y, 0), 9999)
	var d DateTime
	put := func(at, v, n int) {
		for i := at + n - 1; i >= at; i-- {
			d[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	put(5, int(mo), 2)
	put(8, day, 2)
	put(11, h, 2)
	put(14, mi, 2)
	put(17, sec, 2)
	d[4], d[7], d[10], d[13], d[16], d[19] = '-', '-', 'T', ':', ':', 'Z'
	return d
}

// DateTimeFromUnix formats Unix seconds in UTC; strongSwan formats an
// undetermined time as 0 (1970-01-01T00:00:00Z).
func DateTimeFromUnix(sec int64) DateTime { return NewDateTime(time.Unix(sec, 0)) }

// UnknownTime returns the "time unknown" value 0000-00-00T00:00:00Z.
func UnknownTime() DateTime {
	var d DateTime
	copy(d[:], UnknownDateTime)
	return d
}

// IsUnknown reports whether d is 0000-00-00T00:00:00Z.
func (d DateTime) IsUnknown() bool { return string(d[:]) == UnknownDateTime }

// Time parses d. It returns false for the unknown value and for bytes that
// do not form a valid date and time.
func (d DateTime) Time() (time.Time, bool) {
	if !d.wellFormed() || d.IsUnknown() {
		return time.Time{}, false
	}
	num := func(at, n int) int {
		v := 0
		for _, c := range d[at : at+n] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, day, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	t := time.Date(y, time.Month(mo), day, h, mi, sec, 0, time.UTC)
	if mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59 || t.Day() != day {
		return time.Time{}, false // out of range (time.Date would normalize it)
	}
	return t, true
}

// String returns the 20 characters, or a quoted hex form if they are not
// printable ASCII.
func (d DateTime) String() string {
	for _, c := range d {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%q", d[:])
		}
	}
	return string(d[:])
}

// wellFormed checks the shape DDDD-DD-DDTDD:DD:DDZ (what strongSwan's
// sscanf("%4d-%2d-%2dT%2d:%2d:%2dZ") accepts for a well-formed sender).
func (d DateTime) wellFormed() bool {
	const shape = "dddd-dd-ddTdd:dd:ddZ"
	for i := range d {
		switch shape[i] {
		case 'd':
			if d[i] < '0' || d[i] > '9' {
				return false
			}
		default:
			if d[i] != shape[i] {
				return false
			}
		}
	}
	return true
}
