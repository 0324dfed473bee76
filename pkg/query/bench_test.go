package query

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/internal/monthdb"
	"github.com/saaslens/saaslens/pkg/store"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// benchStreams is the size of the benchmark database: a month of an
// office's traffic, at least a million streams (SAASLENS_BENCH_STREAMS
// changes it).
func benchStreams() int {
	if v, err := strconv.Atoi(os.Getenv("SAASLENS_BENCH_STREAMS")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

var benchMonth = Range{From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).UnixNano(), To: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC).UnixNano()}

// benchDB builds (once per machine) a database of n streams spread over
// benchMonth: 2,000 clients, 400 services with a long tail (service k
// gets a share proportional to 1/k), starts spread evenly, streams of up
// to 10 minutes, and the hourly rollups computed from the rows, as ingest
// keeps them.
func benchDB(b *testing.B) *sql.DB {
	b.Helper()
	n := benchStreams()
	return monthdb.Cached(b, fmt.Sprintf("saaslens-query-bench-v19-%d.db", n), time.UTC, func(db *store.DB) string {
		span := benchMonth.To - benchMonth.From
		_, err := db.SQL().Exec(`
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?),
s AS MATERIALIZED (SELECT i,
	abs(random()) % 2000 AS c,
	CAST(400.0 / (1 + abs(random()) % 400) AS INTEGER) % 400 AS svc,
	? + (abs(random()) % ?) AS t
	FROM seq)
INSERT INTO streams (id, proto, client, client_port, server, server_port, client_mac, first, last,
	packets_up, packets_down, bytes_up, bytes_down, payload_up, payload_down, tcp_flags_up, tcp_flags_down,
	server_rtt_ns, client_rtt_ns, tls_handshake_ns, server_name, name_source, alpn, tls_version, ech, quic_version,
	end_reason, capture_id, mirror_source)
SELECT i * 7919, CASE WHEN i % 5 = 0 THEN 17 ELSE 6 END, '10.0.' || (c / 250) || '.' || (c % 250), 40000 + i % 20000,
	'203.0.113.' || svc % 250, 443, printf('02:00:00:00:%02x:%02x', c / 256, c % 256), t, t + (abs(random()) % 600000000000),
	10 + i % 50, 12 + i % 70, 1200 + (i % 997) * 40, 5000 + (i % 1009) * 900, 800, 4000, 27, 27,
	15000000 + i % 40000000, 200000, 30000000 + i % 90000000,
	CASE WHEN svc % 37 = 0 THEN '' ELSE 'service' || svc || '.example.com' END, 'sni', 'h2,http/1.1', 'TLS 1.3', 0, NULL,
	'fin', 1, ''
FROM s ORDER BY t`, n, benchMonth.From, span)
		if err != nil {
			b.Fatal(err)
		}
		_, err = db.SQL().Exec(`
INSERT INTO client_usage_hourly SELECT (first / 3600000000000) * 3600000000000, client, client_mac, server_name, proto, server_port,
	count(*), sum(packets_up), sum(packets_down), sum(bytes_up), sum(bytes_down), sum(last - first),
	sum(server_rtt_ns), count(server_rtt_ns), sum(tls_handshake_ns), count(tls_handshake_ns)
FROM streams GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO usage_hourly SELECT (first / 3600000000000) * 3600000000000, server_name, proto, server_port,
	count(*), sum(packets_up), sum(packets_down), sum(bytes_up), sum(bytes_down), sum(last - first),
	sum(server_rtt_ns + client_rtt_ns), count(server_rtt_ns), sum(tls_handshake_ns), count(tls_handshake_ns)
FROM streams GROUP BY 1, 2, 3, 4;
INSERT INTO services SELECT server_name, 'Vendor ' || (abs(random()) % 120), 'Product', 'chat', 'saas', 'catalog', ''
	FROM (SELECT DISTINCT server_name FROM usage_hourly WHERE server_name != '');
INSERT INTO contracts VALUES ('Vendor 1', 'Product', 'chat', '', 500, 5000, 'USD', '', '2026-12-31', '', '[]'),
	('Vendor 2', 'Product', 'chat', '', 300, 3000, 'USD', '', '2026-12-31', '', '[]');
-- One capture spanning the month: licences and month over month list
-- the months captures reach.
INSERT INTO captures (path, size, mtime, content_hash, format, compressed, link_types, packets, bytes, tcp_udp_packets, other,
	first, last, status, series, continued, read_from, read_to, packet_rows, ingested_at, ingest_ns)
SELECT 'bench.pcap', 0, 0, 'bench', 'pcap', 0, '', 0, 0, 0, '{}', min(first), max(last), 'ok', '/', 0, 0, 0, 0, 0, 0 FROM streams;
INSERT INTO devices (mac, hostname, vendor_class, first, last, packets, hostname_time)
SELECT DISTINCT client_mac, 'laptop-' || substr(client_mac, 13), '', 0, 0, 0, 0 FROM streams;
ANALYZE`)
		if err != nil {
			b.Fatal(err)
		}
		// Every day closed, as the run that ingested the month leaves it.
		if err := db.CloseAllDays(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := db.RebuildLatencyTotals(context.Background()); err != nil {
			b.Fatal(err)
		}
		// The CTE is materialized: otherwise every reference to a column
		// made with random() draws again, and a stream's last, MAC and
		// address had nothing to do with its first and client.
		var bad int
		if err := db.SQL().QueryRow(`SELECT (SELECT count(*) FROM streams WHERE last < first OR last - first > 600000000000)
			+ (SELECT count(*) FROM (SELECT client FROM streams GROUP BY client HAVING count(DISTINCT client_mac) > 1))`).Scan(&bad); err != nil || bad != 0 {
			b.Fatalf("%d streams of the benchmark database are inconsistent (%v)", bad, err)
		}
		return fmt.Sprintf("%d streams", n)
	})
}

// BenchmarkPanels times each query type as the bundled dashboard asks it,
// over a month of a million streams. Each iteration is one panel refresh.
func BenchmarkPanels(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	week := Range{From: benchMonth.To - int64(7*24*time.Hour), To: benchMonth.To}
	day := Range{From: benchMonth.To - int64(24*time.Hour), To: benchMonth.To}
	runPanels(b, []panel{
		{"usage/bytes/month/1d", func() error {
			_, err := Usage(ctx, db, UsageQuery{Metric: MetricBytes, Range: benchMonth, Step: timecut.Step(benchMonth.From, benchMonth.To, time.Hour, 30)})
			return err
		}},
		{"usage/bytes/month/1h", func() error {
			_, err := Usage(ctx, db, UsageQuery{Metric: MetricBytes, Range: benchMonth, Step: time.Hour})
			return err
		}},
		{"usage/clients/week/30m", func() error {
			_, err := Usage(ctx, db, UsageQuery{Metric: MetricClients, Range: week, Step: timecut.Step(week.From, week.To, time.Minute, 1000)})
			return err
		}},
		{"usage/devices/month/1d", func() error {
			_, err := Usage(ctx, db, UsageQuery{Metric: MetricDevices, Range: benchMonth, Step: 24 * time.Hour})
			return err
		}},
		{"usage/streams/day/one-service", func() error {
			_, err := Usage(ctx, db, UsageQuery{Metric: MetricStreams, Range: day, Step: timecut.Step(day.From, day.To, time.Minute, 1000),
				Filter: Filter{Services: []string{"service3.example.com"}}})
			return err
		}},
		{"serverNames/month", func() error {
			_, err := ServerNames(ctx, db, TableQuery{Range: benchMonth, Limit: 200}, time.UTC)
			return err
		}},
		{"serverNames/day", func() error {
			_, err := ServerNames(ctx, db, TableQuery{Range: day, Limit: 200}, time.UTC)
			return err
		}},
		{"streams/month/500", func() error {
			_, err := Streams(ctx, db, TableQuery{Range: benchMonth, Limit: 500})
			return err
		}},
		{"streams/day/500", func() error {
			_, err := Streams(ctx, db, TableQuery{Range: day, Limit: 500})
			return err
		}},
		{"streams/month/one-client", func() error {
			_, err := Streams(ctx, db, TableQuery{Range: benchMonth, Limit: 500, Filter: Filter{Clients: []string{"10.0.1.17"}}})
			return err
		}},
		{"sql/streams-per-day", func() error {
			_, err := RunSQL(ctx, db, SQLQuery{Text: `SELECT $__timeGroup(first, 1d) AS time, count(*) AS streams FROM streams WHERE $__timeFilter(first) GROUP BY 1 ORDER BY 1`,
				Format: "time_series", Range: week, Interval: time.Hour})
			return err
		}},
		{"latency/tls/week/p50-p95", func() error {
			_, err := Latency(ctx, db, LatencyQuery{Measure: "tls", Range: week, Step: timecut.Step(week.From, week.To, time.Minute, 1000)})
			return err
		}},
		{"latency/tls/month/vendor", func() error {
			_, err := Latency(ctx, db, LatencyQuery{Measure: "tls", Range: benchMonth, Step: timecut.Step(benchMonth.From, benchMonth.To, time.Minute, 1000), GroupBy: GroupVendor})
			return err
		}},
		{"licences/month", func() error {
			_, err := Licences(ctx, db, LicencesQuery{Range: benchMonth}, time.UTC)
			return err
		}},
		{"shadowIT/month", func() error {
			_, err := ShadowIT(ctx, db, TableQuery{Range: benchMonth, Limit: 100}, time.UTC)
			return err
		}},
		{"variable/services", func() error {
			_, err := mustList(b, "services").Load(ctx, db, benchMonth)
			return err
		}},
		{"variable/clients", func() error {
			_, err := mustList(b, "clients").Load(ctx, db, benchMonth)
			return err
		}},
	})
}

// panel is one query as a dashboard panel asks it.
type panel struct {
	name string
	run  func() error
}

// runPanels times each panel's refresh as a sub-benchmark.
func runPanels(b *testing.B, panels []panel) {
	for _, p := range panels {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
