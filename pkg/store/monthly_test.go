package store

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
			c := calendar{loc: loc}
			for _, h := range order {
				month, day := c.place(h)
				local := time.Unix(0, h).In(loc)
				wantMonth := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, loc).UnixNano()
				if month != wantMonth || day != int64(local.Day()) {
					t.Fatalf("%s: %s (%s there) placed on day %d of the month from %s", name, time.Unix(0, h).UTC(), local,
						day, time.Unix(0, month).In(loc))
				}
				if next := c.next(month); next != time.Date(local.Year(), local.Month()+1, 1, 0, 0, 0, 0, loc).UnixNano() {
					t.Fatalf("%s: the month after %s starts at %s", name, time.Unix(0, month).In(loc), time.Unix(0, next).In(loc))
				}
			}
		}
	}
}
