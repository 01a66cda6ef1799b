//go:build !wasip1

package patnc

import "time"

// Time parses d. It returns false for the unknown value and for bytes that
// do not form a valid date and time. Not in wasip1 builds: package time
// costs a module about 270 KB; use Unix there.
func (d DateTime) Time() (time.Time, bool) {
	sec, ok := d.Unix()
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(sec, 0).UTC(), true
}
