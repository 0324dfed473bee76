package query

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/store"
)

// Coverage gaps are the stretches between a directory's files, each
// directory on its own: overlapping files cover each other, a gap shorter
// than the minimum is rotation, unreadable files cover nothing, and only
// gaps reaching into the range are marked.
func TestCoverageGapsPerDirectory(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "gaps.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(m int) int64 { return t0.Add(time.Duration(m) * time.Minute).UnixNano() }
	files := []struct {
		series      string
		first, last int
		status      string
	}{
		{"/cap/office", 0, 30, "ok"},
		{"/cap/office", 20, 60, "ok"},           // overlaps the first: no gap
		{"/cap/office", 65, 90, "ok"},           // 5 minutes after: rotation
		{"/cap/office", 120, 150, "damaged"},    // 30 minutes after: a gap
		{"/cap/office", 200, 210, "unreadable"}, // covers nothing
		{"/cap/office", 400, 420, "ok"},         // 250 minutes after 150: a gap
		{"/cap/branch", 0, 10, "ok"},
		{"/cap/branch", 600, 610, "ok"}, // a gap that starts before the range below ends
	}
	for i, f := range files {
		if _, err := db.SQL().Exec(`INSERT INTO captures(id, path, size, mtime, content_hash, format, compressed, link_types, packets, bytes, tcp_udp_packets,
			other, first, last, status, error, series, continued, read_from, read_to, packet_rows, ingested_at, ingest_ns)
			VALUES (?, ?, 1, 0, ?, 'pcap', 0, '1', 1, 1, 1, '{}', ?, ?, ?, NULL, ?, 0, 0, 1, 0, 0, 0)`,
			i+1, fmt.Sprintf("%s/%d.pcap", f.series, i), fmt.Sprint(i), at(f.first), at(f.last), f.status, f.series); err != nil {
			t.Fatal(err)
		}
	}
	frame, err := Annotations(context.Background(), db.SQL(), AnnotationsQuery{Range: Range{From: at(100), To: at(300)}, Events: EventCoverageGaps})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range frame.Rows() {
		end := frame.Fields[1].At(i).(*time.Time)
		got = append(got, fmt.Sprintf("%s-%s %s [%s]", frame.Fields[0].At(i).(time.Time).Format("15:04"), end.Format("15:04"), frame.Fields[2].At(i), frame.Fields[4].At(i)))
	}
	want := []string{
		"09:10-19:00 No packets captured in branch for 9h50m0s [coverage gap,branch]",
		"10:30-11:00 No packets captured in office for 30m0s [coverage gap,office]",
		"11:30-15:40 No packets captured in office for 4h10m0s [coverage gap,office]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
