package patnc

import (
	"math/rand/v2"
	"testing"
	"time"
)

// refDateTime is NewDateTime as it was written with package time.
func refDateTime(t time.Time) DateTime {
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

// TestCivilAgainstTime: the calendar arithmetic that replaced package time
// gives time's dates, from year -30000 to 30000, leap days and the
// clamped years included, and parses each back to the same second.
func TestCivilAgainstTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	secs := []int64{0, -1, 1, 86399, 86400, -86400, 951782400, 951868799, 1709164800, 4102444799,
		253402300799, 253402300800, -62167219200, -62167219201, -62135596800}
	for range 200000 {
		secs = append(secs, r.Int64N(2*1_000_000_000_000)-1_000_000_000_000)
	}
	for _, sec := range secs {
		tm := time.Unix(sec, 0)
		want := refDateTime(tm)
		if got := DateTimeFromUnix(sec); got != want {
			t.Fatalf("%d: %s, time says %s", sec, got, want)
		}
		if got := NewDateTime(tm.In(time.FixedZone("X", 5*3600))); got != want {
			t.Fatalf("%d in another zone: %s, want %s", sec, got, want)
		}
		if y := tm.UTC().Year(); y >= 0 && y <= 9999 {
			back, ok := want.Unix()
			if !ok || back != sec {
				t.Fatalf("%s: Unix() = %d %v, want %d", want, back, ok, sec)
			}
		}
	}
}

// TestDateTimeUnixRejects: Unix refuses what Time refused (time.Date
// would normalize these).
func TestDateTimeUnixRejects(t *testing.T) {
	for _, s := range []string{"2026-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-00-10T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", UnknownDateTime, "2026-01-01 00:00:00Z"} {
		var d DateTime
		copy(d[:], s)
		if sec, ok := d.Unix(); ok {
			t.Errorf("%s parsed as %d", s, sec)
		}
		if _, ok := d.Time(); ok {
			t.Errorf("%s parsed by Time", s)
		}
	}
	var d DateTime
	copy(d[:], "2024-02-29T23:59:59Z")
	if sec, ok := d.Unix(); !ok || sec != 1709251199 {
		t.Errorf("leap day: %d %v", sec, ok)
	}
}
