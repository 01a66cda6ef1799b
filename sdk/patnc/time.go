package patnc

import "strconv"

// DateTime is the 20-byte ASCII UTC time "YYYY-MM-DDTHH:MM:SSZ" of the
// Operational Status Last Use field and the Simple Component Evidence
// Measurement Date/Time field. The bytes are kept as received so that a
// message re-encodes unchanged.
type DateTime [20]byte

// UnknownDateTime is the "time unknown" value 0000-00-00T00:00:00Z.
const UnknownDateTime = "0000-00-00T00:00:00Z"

// NewDateTime formats t (usually a time.Time) in UTC (years outside
// 0..9999 are clamped). It takes any value with a Unix method so that this
// package, linked into every module, does without package time (which
// costs a wasm module about 270 KB).
func NewDateTime(t interface{ Unix() int64 }) DateTime { return DateTimeFromUnix(t.Unix()) }

// DateTimeFromUnix formats Unix seconds in UTC (years outside 0..9999 are
// clamped); strongSwan formats an undetermined time as 0
// (1970-01-01T00:00:00Z).
func DateTimeFromUnix(sec int64) DateTime {
	y, mo, day, h, mi, s := civil(sec)
	y = min(max(y, 0), 9999)
	var d DateTime
	put := func(at, v, n int) {
		for i := at + n - 1; i >= at; i-- {
			d[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, int(y), 4)
	put(5, mo, 2)
	put(8, day, 2)
	put(11, h, 2)
	put(14, mi, 2)
	put(17, s, 2)
	d[4], d[7], d[10], d[13], d[16], d[19] = '-', '-', 'T', ':', ':', 'Z'
	return d
}

// floorDiv is a/b rounded towards minus infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// civil splits Unix seconds into the UTC date and time of the proleptic
// Gregorian calendar (what package time does), counting days in 400-year
// eras of 146097 days from 0000-03-01.
func civil(sec int64) (year int64, month, day, hour, min, s int) {
	days := floorDiv(sec, 86400)
	rem := int(sec - days*86400)
	hour, min, s = rem/3600, rem%3600/60, rem%60
	z := days + 719468 // days from 0000-03-01 to 1970-01-01
	era := floorDiv(z, 146097)
	doe := z - era*146097                                  // day of the era, 0..146096
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of the era, 0..399
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of the year from March 1st, 0..365
	mp := (5*doy + 2) / 153                                // month from March, 0..11
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return
}

// daysFromCivil is the inverse of civil's date part: days since
// 1970-01-01 of a proleptic Gregorian date.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// UnknownTime returns the "time unknown" value 0000-00-00T00:00:00Z.
func UnknownTime() DateTime {
	var d DateTime
	copy(d[:], UnknownDateTime)
	return d
}

// IsUnknown reports whether d is 0000-00-00T00:00:00Z.
func (d DateTime) IsUnknown() bool { return string(d[:]) == UnknownDateTime }

// Unix parses d into Unix seconds. It returns false for the unknown value
// and for bytes that do not form a valid date and time.
func (d DateTime) Unix() (int64, bool) {
	if !d.wellFormed() || d.IsUnknown() {
		return 0, false
	}
	num := func(at, n int) int {
		v := 0
		for _, c := range d[at : at+n] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, day, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if mo < 1 || mo > 12 || day < 1 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	days := daysFromCivil(int64(y), mo, day)
	if _, _, d2, _, _, _ := civil(days * 86400); d2 != day {
		return 0, false // February 30th and the like
	}
	return days*86400 + int64(h*3600+mi*60+sec), true
}

// String returns the 20 characters, or a quoted hex form if they are not
// printable ASCII.
func (d DateTime) String() string {
	for _, c := range d {
		if c < 0x20 || c > 0x7e {
			return strconv.Quote(string(d[:]))
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
