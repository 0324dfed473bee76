package timecut

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The calendar places every hour of a year as the zone's clock reads it,
// hours in order and at random (its cache of the last day must not leak),
// across daylight saving changes at 02:00 (Berlin), at midnight
// (Santiago), and half an hour off UTC (Kolkata).
func TestCalendarPlacesHoursAsTheZonesClock(t *testing.T) {
	for _, name := range []string{"UTC", "Asia/Tokyo", "Europe/Berlin", "America/Santiago", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
		hours := make([]int64, 366*24)
		for i := range hours {
			hours[i] = start + int64(i)*int64(time.Hour)
		}
		shuffled := append([]int64(nil), hours...)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for _, order := range [][]int64{hours, shuffled} {
			c := Calendar{Loc: loc}
			for _, h := range order {
				month, day := c.Place(h)
				local := time.Unix(0, h).In(loc)
				wantMonth := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc).UnixNano()
				if month != wantMonth || day != int64(local.Day()) {
					t.Fatalf("%s: %s (%s there) placed on day %d of the month from %s", name, time.Unix(0, h).UTC(), local,
						day, time.Unix(0, month).In(loc))
				}
				if next := c.NextMonth(month); next != time.Date(local.Year(), local.Month()+1, 1, 0, 0, 0, 0, loc).UnixNano() {
					t.Fatalf("%s: the month after %s starts at %s", name, time.Unix(0, month).In(loc), time.Unix(0, next).In(loc))
				}
			}
		}
	}
}

// A day's hours are those Place puts on it, across daylight saving changes
// and half an hour off UTC: each day of a year starts where the one before
// ends, and its first and last hours, and none around them, are its.
func TestDayHoursAreTheHoursPlacedOnTheDay(t *testing.T) {
	for _, name := range []string{"UTC", "Asia/Tokyo", "Europe/Berlin", "America/Santiago", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		c := Calendar{Loc: loc}
		at := func(hour int64) [2]int64 { m, d := c.Place(hour); return [2]int64{m, d} }
		first, next := DayHours(time.Date(2026, 1, 1, 12, 0, 0, 0, loc).UnixNano(), loc)
		for range 366 {
			if next <= first || first%Hour != 0 || next%Hour != 0 {
				t.Fatalf("%s: a day of hours [%s, %s)", name, time.Unix(0, first).UTC(), time.Unix(0, next).UTC())
			}
			day := at(first)
			if at(next-Hour) != day || at(first-Hour) == day || at(next) == day {
				t.Fatalf("%s: the hours [%s, %s) are not one day's", name, time.Unix(0, first).UTC(), time.Unix(0, next).UTC())
			}
			// Any instant of the day gives it.
			if f, n := DayHours(next-1, loc); f != first || n != next {
				t.Fatalf("%s: the day's last instant gives [%d, %d), want [%d, %d)", name, f, n, first, next)
			}
			first, next = DayHours(next, loc)
		}
	}
}

// Floor rounds down, also before 1970: -1 is in the hour before the epoch.
func TestFloor(t *testing.T) {
	for _, c := range []struct{ in, step, want int64 }{{0, Hour, 0}, {Hour - 1, Hour, 0}, {Hour, Hour, Hour}, {-1, Hour, -Hour},
		{-Hour, Hour, -Hour}, {3*Hour + 5, Hour, 3 * Hour}, {Day + Hour, Day, Day}, {-Day - 1, Day, -2 * Day}} {
		if got := Floor(c.in, c.step); got != c.want {
			t.Errorf("Floor(%d, %d) = %d, want %d", c.in, c.step, got, c.want)
		}
	}
	if HourOf(-1) != -Hour {
		t.Errorf("HourOf(-1) = %d", HourOf(-1))
	}
}

// The months of a zone a range overlaps, each whole, across a year's end.
func TestMonths(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 0, 0, 0, 0, tokyo).UnixNano() }
	got := Months(at(2025, 11, 15), at(2026, 1, 1), tokyo)
	want := [][2]int64{{at(2025, 11, 1), at(2025, 12, 1)}, {at(2025, 12, 1), at(2026, 1, 1)}, {at(2026, 1, 1), at(2026, 2, 1)}}
	if len(got) != len(want) {
		t.Fatalf("%d months, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("month %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// A panel's step: at least its interval, few enough points, a readable
// width, whole weeks past a week.
func TestStep(t *testing.T) {
	for _, c := range []struct {
		to       int64
		interval time.Duration
		points   int64
		want     time.Duration
	}{
		{Day, 20 * time.Second, 1000, 5 * time.Minute},  // 86.4 s per point
		{Day, 10 * time.Minute, 1000, 10 * time.Minute}, // the interval is wider
		{Day, time.Second, 0, time.Second},              // no point limit
		{90 * Day, time.Minute, 30, 7 * 24 * time.Hour},
		{900 * Day, time.Minute, 30, 35 * 24 * time.Hour}, // whole weeks past a week
	} {
		if got := Step(0, c.to, c.interval, c.points); got != c.want {
			t.Errorf("Step(0, %d, %s, %d) = %s, want %s", c.to, c.interval, c.points, got, c.want)
		}
	}
}
