package report

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// With no month named, the report is of the last month the captures have
// passed, unless they hold none of it: then of the month they end in.
func TestLatestMonth(t *testing.T) {
	m, db := twoMonths(t)
	at := func(y int, mo time.Month, d int) time.Time { return time.Date(y, mo, d, 12, 0, 0, 0, m.Location) }
	var got []string
	for _, end := range []time.Time{
		at(2026, 2, 20), // January holds nothing: February so far
		at(2026, 3, 10), // February, from the 16th
		at(2026, 4, 3),  // March
		at(2026, 3, 1).Add(-12*time.Hour - time.Nanosecond), // the last instant of February: January holds nothing
	} {
		month, err := LatestMonth(context.Background(), db, end.UnixNano(), m.Location)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, month.Format(time.RFC3339))
	}
	want := []string{"2026-02-01T00:00:00+09:00", "2026-02-01T00:00:00+09:00", "2026-03-01T00:00:00+09:00", "2026-02-01T00:00:00+09:00"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("months (-want +got):\n%s", diff)
	}
}
