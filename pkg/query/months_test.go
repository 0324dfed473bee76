package query

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/store"
)

// Two months of a made-up office in Tokyo: a stream at 2026-02-28 20:00
// UTC is 05:00 on 1 March in Tokyo, so it counts in March.
func TestMonthOverMonth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stream := func(id int, at time.Time, client, mac, name string, bytes int64) {
		t.Helper()
		_, err := db.SQL().Exec(`INSERT INTO streams (id, proto, client, client_port, server, server_port, client_mac, first, last,
			packets_up, packets_down, bytes_up, bytes_down, payload_up, payload_down, tcp_flags_up, tcp_flags_down,
			server_name, name_source, alpn, tls_version, ech, end_reason, capture_id)
			VALUES (?, 6, ?, 40000, '192.0.2.1', 443, ?, ?, ?, 1, 1, 0, ?, 0, 0, 0, 0, ?, 'sni', '', '', 0, 'fin', 1)`,
			id, client, mac, at.UnixNano(), at.UnixNano()+1, bytes, name)
		if err != nil {
			t.Fatal(err)
		}
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	stream(1, utc("2026-02-10T03:00:00Z"), "10.0.0.1", "02:00:00:00:00:01", "app.slack.com", 100)
	stream(2, utc("2026-02-11T03:00:00Z"), "10.0.0.2", "", "app.slack.com", 100)
	stream(3, utc("2026-02-28T20:00:00Z"), "10.0.0.1", "02:00:00:00:00:01", "app.slack.com", 400) // 1 March in Tokyo
	stream(4, utc("2026-03-05T03:00:00Z"), "10.0.0.3", "", "zoom.us", 1000)
	stream(5, utc("2026-03-06T03:00:00Z"), "10.0.0.1", "02:00:00:00:00:01", "app.slack.com", 100)
	for _, q := range []string{
		`INSERT INTO services VALUES ('app.slack.com', 'Slack', 'Slack', 'chat', 'saas', 'catalog', 'slack.com'), ('zoom.us', 'Zoom', 'Zoom', 'meetings', 'saas', 'catalog', 'zoom.us')`,
		// The hourly totals per client, as ingest keeps them.
		`INSERT INTO client_usage_hourly SELECT first / 3600000000000 * 3600000000000, client, client_mac, server_name, proto, server_port,
			count(*), sum(packets_up), sum(packets_down), sum(bytes_up), sum(bytes_down), sum(last - first), 0, 0, 0, 0
			FROM streams GROUP BY 1, 2, 3, 4, 5, 6`,
		`INSERT INTO captures (path, size, mtime, content_hash, format, compressed, link_types, packets, bytes, tcp_udp_packets, other, first, last, status, series, continued, read_from, read_to, packet_rows, ingested_at, ingest_ns)
			VALUES ('x', 0, 0, 'h', 'pcap', 0, '', 0, 0, 0, '{}', ` + fmt.Sprint(utc("2026-02-14T15:00:00Z").UnixNano()) + `, ` + fmt.Sprint(utc("2026-03-15T15:00:00Z").UnixNano()) + `, 'ok', 's', 0, 0, 0, 0, 0, 0)`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// and per day and month, every day closed as a run leaves them.
	if err := db.CloseAllDays(context.Background()); err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	r := RangeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, tokyo), time.Date(2026, 3, 20, 0, 0, 0, 0, tokyo))
	f, err := MonthOverMonth(context.Background(), db.SQL(), TableQuery{Range: r, GroupBy: GroupVendor}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]any{}
	for i := 0; i < f.Rows(); i++ {
		var row []any
		for _, field := range f.Fields[1:] {
			row = append(row, cell(field, i))
		}
		got[f.Fields[0].At(i).(string)] = row
	}
	// streams, bytes, devices: last month, this month, change, change %.
	want := map[string][]any{
		"Zoom":  {int64(0), int64(1), int64(1), "null", int64(0), int64(1000), int64(1000), "null", int64(0), int64(1), int64(1), "null"},
		"Slack": {int64(2), int64(2), int64(0), 0.0, int64(200), int64(500), int64(300), 150.0, int64(2), int64(1), int64(-1), -50.0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if f.Fields[0].At(0).(string) != "Zoom" {
		t.Error("the largest mover is not first")
	}
	// 14 Feb 15:00 UTC is 15 Feb 00:00 in Tokyo: 14 of February's 28 days;
	// 15 Mar 15:00 UTC is 16 Mar 00:00: 15 of March's 31.
	if want := "March 2026 against February 2026 (Asia/Tokyo); captures cover 48% and 50% of them"; len(f.Meta.Notices) != 1 || f.Meta.Notices[0].Text != want {
		t.Errorf("notices %+v, want %s", f.Meta.Notices, want)
	}
	if _, i := f.FieldByName("users_this_month"); i >= 0 {
		t.Error("users counted without an inventory naming any")
	}

	// With an inventory naming users, active users too: Alice has a
	// laptop (by MAC) and a fixed-address desktop, so February's two
	// Slack devices are one user.
	if _, err := db.SQL().Exec(`INSERT INTO inventory VALUES ('02:00:00:00:00:01', 'LT-1', 'Alice', 'Sales'),
		('10.0.0.2', 'DT-1', 'Alice', 'Sales'), ('10.0.0.3', 'DT-2', 'Bob', 'Finance')`); err != nil {
		t.Fatal(err)
	}
	f, err = MonthOverMonth(context.Background(), db.SQL(), TableQuery{Range: r, GroupBy: GroupVendor}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string][]any{}
	for i := 0; i < f.Rows(); i++ {
		var row []any
		for _, name := range []string{"devices_last_month", "users_last_month", "users_this_month", "users_change", "users_change_pct"} {
			field, _ := f.FieldByName(name)
			if field == nil {
				t.Fatalf("no field %s", name)
			}
			row = append(row, cell(field, i))
		}
		users[f.Fields[0].At(i).(string)] = row
	}
	// devices last month, then users: last month, this month, change, change %.
	want = map[string][]any{
		"Zoom":  {int64(0), int64(0), int64(1), int64(1), "null"},
		"Slack": {int64(2), int64(1), int64(1), int64(0), 0.0},
	}
	if diff := cmp.Diff(want, users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	// A range running past the captures (to June) compares the last month
	// they reach, March, not an empty June.
	f, err = MonthOverMonth(context.Background(), db.SQL(), TableQuery{Range: RangeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, tokyo), time.Date(2026, 6, 20, 0, 0, 0, 0, tokyo)), GroupBy: GroupVendor}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	if want := "March 2026 against February 2026 (Asia/Tokyo); captures cover 48% and 50% of them"; len(f.Meta.Notices) != 1 || f.Meta.Notices[0].Text != want {
		t.Errorf("past the captures: notices %+v, want %s", f.Meta.Notices, want)
	}
	// Grouped by user, the inventory is joined once, for both.
	if _, err := MonthOverMonth(context.Background(), db.SQL(), TableQuery{Range: r, GroupBy: GroupUser}, tokyo); err != nil {
		t.Fatal(err)
	}
}

// cell is field's value at i, a null percentage as "null".
func cell(field *data.Field, i int) any {
	v := field.At(i)
	if p, ok := v.(*float64); ok {
		if p == nil {
			return "null"
		}
		return *p
	}
	return v
}
