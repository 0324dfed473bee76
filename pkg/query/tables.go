package query

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/store"
)

// executed shows a query with its arguments, for the query inspector.
func executed(text string, args []any) string {
	if len(args) == 0 {
		return text
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprintf("%#v", a)
	}
	return text + "\n-- arguments: " + strings.Join(parts, ", ")
}

// TableQuery asks for the rows of a table panel over a range.
type TableQuery struct {
	Range   Range
	Filter  Filter
	GroupBy string // serverNames: as UsageQuery.GroupBy
	Limit   int
}

// DefaultTableRows is how many rows a table query returns unless asked.
const DefaultTableRows = 1000

func (q TableQuery) limit() int {
	if q.Limit <= 0 {
		return DefaultTableRows
	}
	return q.Limit
}

// ServerNames returns one row per service (or vendor, product, category:
// GroupBy) active in the range: accesses (streams, as the tutorial counts
// them), packets, bytes each way, clients, first and last seen; grouped by
// service, each row also carries its vendor, product, category and kind.
// From a day on it reads the totals per client (totalsFrom: monthly for
// whole months of loc where the monthly totals are cut in it, daily where
// whole UTC days allow, else hourly), and first and last seen are the
// first and last hours a stream started in (from the hourly totals per
// service, unless grouped or filtered per client).
func ServerNames(ctx context.Context, db *sql.DB, q TableQuery, loc *time.Location) (*data.Frame, error) {
	plan, err := store.PlanRange(q.Range.From, q.Range.To).InZone(ctx, db, loc)
	if err != nil {
		return nil, fmt.Errorf("serverNames: %w", err)
	}
	return serverNames(ctx, db, q, plan)
}

func serverNames(ctx context.Context, db *sql.DB, q TableQuery, plan store.Plan) (*data.Frame, error) {
	t := "s"
	if plan.Totals {
		t = "u"
	}
	group, err := groupExpr(q.GroupBy, t)
	if err != nil {
		return nil, fmt.Errorf("serverNames: %w", err)
	}
	name, extra := "server_name", `,
	coalesce(nullif(min(sv.vendor), ''), '') AS vendor, coalesce(min(sv.product), '') AS product,
	coalesce(nullif(min(sv.category), ''), '`+Unknown+`') AS category, coalesce(nullif(min(sv.kind), ''), '`+Unknown+`') AS kind`
	if q.GroupBy != "" && q.GroupBy != GroupService {
		name, extra = q.GroupBy, ""
	}
	extraNames := ", sums.vendor, sums.product, sums.category, sums.kind"
	if extra == "" {
		extraNames = ""
	}
	filter, args := q.Filter.where(t)
	var text string
	switch {
	case plan.Totals && !q.Filter.perClient(q.GroupBy):
		// The sums and clients from the totals per client, the hours of
		// first and last use from the totals per service: the daily and
		// monthly rows know their day or month only.
		hourGroup, err := groupExpr(q.GroupBy, "h")
		if err != nil {
			return nil, fmt.Errorf("serverNames: %w", err)
		}
		hourFilter, hourArgs := q.Filter.where("h")
		sums, hours := plan.Clients("u"), plan.Services("h")
		text = `WITH sums AS (SELECT ` + group + ` AS g, ` + sums.Streams + ` AS accesses, sum(u.packets_up + u.packets_down) AS packets,
	sum(u.bytes_up) AS bytes_up, sum(u.bytes_down) AS bytes_down, count(DISTINCT u.client) AS clients` + extra + `
FROM ` + sums.From + ` LEFT JOIN services sv ON sv.server_name = u.server_name
WHERE ` + sums.Where + filter + `
GROUP BY 1),
seen AS (SELECT ` + hourGroup + ` AS g, min(h.hour) AS first_seen, max(h.hour) AS last_seen
FROM ` + hours.From + ` LEFT JOIN services sv ON sv.server_name = h.server_name
WHERE ` + hours.Where + hourFilter + `
GROUP BY 1)
SELECT sums.g AS ` + name + `, accesses, packets, bytes_up, bytes_down, clients, seen.first_seen, seen.last_seen` + extraNames + `
FROM sums JOIN seen ON seen.g = sums.g
ORDER BY accesses DESC, 1 LIMIT ?`
		args = append(args, hourArgs...)
	default:
		rows := plan.ClientHours(t)
		first, last := t+".first", t+".last"
		if rows.Totals {
			first, last = t+".hour", t+".hour"
		}
		text = `SELECT ` + group + ` AS ` + name + `, ` + rows.Streams + ` AS accesses, sum(` + t + `.packets_up + ` + t + `.packets_down) AS packets,
	sum(` + t + `.bytes_up) AS bytes_up, sum(` + t + `.bytes_down) AS bytes_down, count(DISTINCT ` + t + `.client) AS clients,
	min(` + first + `) AS first_seen, max(` + last + `) AS last_seen` + extra + `
FROM ` + rows.From + ` LEFT JOIN services sv ON sv.server_name = ` + t + `.server_name` + devicesJoin(t, q.GroupBy, q.Filter) + `
WHERE ` + rows.Where + filter + `
GROUP BY 1 ORDER BY accesses DESC, 1 LIMIT ?`
	}
	args = append(args, q.limit())
	frame, err := queryFrame(ctx, db, "serverNames", text, q.limit(), args...)
	if err != nil {
		return nil, fmt.Errorf("serverNames: %w", err)
	}
	frame.Meta.ExecutedQueryString = executed(text, args)
	if notice := plan.Notice(); notice != "" {
		frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: notice})
	}
	setUnits(frame, map[string]string{"bytes_up": "decbytes", "bytes_down": "decbytes", "packets": "short", "accesses": "short", "clients": "short"})
	return frame, nil
}

// Streams returns the tutorial's view: one row per stream active in the
// range, newest first, with its service's vendor and category.
func Streams(ctx context.Context, db *sql.DB, q TableQuery) (*data.Frame, error) {
	filter, args := q.Filter.where("s")
	active := store.ActiveDuring("s", q.Range.From, q.Range.To)
	text := `SELECT s.first, s.last, s.client, s.client_mac, d.hostname AS client_name, s.server, s.server_port,
	CASE WHEN s.quic_version IS NOT NULL THEN 'quic' WHEN s.proto = 6 THEN 'tcp' WHEN s.proto = 17 THEN 'udp' ELSE CAST(s.proto AS TEXT) END AS transport,
	s.server_name, s.name_source, coalesce(sv.vendor, '') AS vendor, coalesce(nullif(sv.category, ''), '` + Unknown + `') AS category,
	s.packets_up + s.packets_down AS packets, s.bytes_up, s.bytes_down,
	(s.last - s.first) / 1e6 AS duration_ms, s.server_rtt_ns / 1e6 AS rtt_ms, s.tls_handshake_ns / 1e6 AS tls_handshake_ms,
	s.end_reason, CAST(s.id AS TEXT) AS stream_id, ` + inventoryOf("user") + ` AS user, ` + inventoryOf("department") + ` AS department
FROM streams s LEFT JOIN devices d ON d.mac = s.client_mac LEFT JOIN services sv ON sv.server_name = s.server_name` + inventoryJoin("s") + `
WHERE ` + active + filter + `
ORDER BY s.first DESC, s.id LIMIT ?`
	args = append(args, q.limit())
	frame, err := queryFrame(ctx, db, "streams", text, q.limit(), args...)
	if err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	frame.Meta.ExecutedQueryString = executed(text, args)
	setUnits(frame, map[string]string{"bytes_up": "decbytes", "bytes_down": "decbytes", "duration_ms": "ms", "rtt_ms": "ms", "tls_handshake_ms": "ms"})
	return frame, nil
}

func setUnits(frame *data.Frame, units map[string]string) {
	for _, f := range frame.Fields {
		if u, ok := units[f.Name]; ok {
			if f.Config == nil {
				f.Config = &data.FieldConfig{}
			}
			f.Config.Unit = u
		}
	}
}
