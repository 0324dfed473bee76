package query

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
	"github.com/saaslens/saaslens/pkg/store"
)

// TestActiveFilterFindsEveryStreamWithTrafficInTheRange compares the
// indexed form with the plain overlap condition over streams of every
// length, and checks that SQLite reads the two indexes, not the table.
func TestActiveFilterFindsEveryStreamWithTrafficInTheRange(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "active.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const day = int64(24 * time.Hour)
	durations := []int64{0, int64(time.Second), int64(time.Hour) - 1, int64(time.Hour), int64(time.Hour) + 1, 5 * int64(time.Hour), 3 * day}
	tx, err := db.SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	for id := range 3000 {
		first := rng.Int64N(10 * day)
		last := first + durations[id%len(durations)]
		if id%3 == 0 {
			last = first + rng.Int64N(2*int64(time.Hour))
		}
		_, err := tx.Exec(`INSERT INTO streams(id, proto, client, client_port, server, server_port, client_mac, first, last,
			packets_up, packets_down, bytes_up, bytes_down, payload_up, payload_down, tcp_flags_up, tcp_flags_down,
			server_name, name_source, alpn, tls_version, ech, end_reason, capture_id)
			VALUES (?, 6, '10.0.0.1', 1, '10.0.0.2', 443, '', ?, ?, 1, 1, 1, 1, 0, 0, 0, 0, '', '', '', '', 0, 'fin', 1)`, id+1, first, last)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	ids := func(query string) []int64 {
		t.Helper()
		var out []int64
		for _, row := range sharedtest.Rows(t, db.SQL(), query) {
			out = append(out, row[0].(int64))
		}
		slices.Sort(out)
		return out
	}
	ranges := []Range{{0, 0}, {day, day + int64(time.Hour)}, {5 * day, 5*day + 1}, {-day, 20 * day}, {11 * day, 12 * day}}
	for range 40 {
		from := rng.Int64N(11 * day)
		ranges = append(ranges, Range{From: from, To: from + rng.Int64N(day)})
	}
	for _, r := range ranges {
		filter, err := activeFilter([]string{"s"}, r, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(`SELECT s.id FROM streams s WHERE ` + filter)
		want := ids(fmt.Sprintf(`SELECT id FROM streams WHERE first <= %d AND last >= %d`, r.To, r.From))
		if !slices.Equal(got, want) {
			t.Errorf("range %v: %d streams, want %d", r, len(got), len(want))
		}
	}
	filter, err := activeFilter([]string{"s"}, Range{From: 5 * day, To: 6 * day}, 0)
	if err != nil {
		t.Fatal(err)
	}
	plan := rowsText(t, db, `EXPLAIN QUERY PLAN SELECT s.id FROM streams s WHERE `+filter)
	for _, want := range []string{"USING INDEX streams_first", "USING INDEX streams_long"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "SCAN s") || strings.Contains(plan, "SCAN streams") {
		t.Errorf("plan scans the table:\n%s", plan)
	}
	// The bound the condition uses is the partial index's.
	index := rowsText(t, db, `SELECT sql FROM sqlite_master WHERE name = 'streams_long'`)
	bound := strings.TrimSpace(index[strings.LastIndex(index, ">")+1:])
	if !strings.Contains(store.ActiveDuring("s", 0, 0), "last - first > "+bound+" ") {
		t.Errorf("the condition's long-stream bound is not streams_long's (%s)", bound)
	}
}

// rowsText prints every row of a query, one per line.
func rowsText(t *testing.T, db *store.DB, query string) string {
	t.Helper()
	var b strings.Builder
	for _, row := range sharedtest.Rows(t, db.SQL(), query) {
		fmt.Fprintln(&b, row...)
	}
	return b.String()
}
