package query

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/store"
)

// ShadowIT lists what is in use in the range that no contract covers, by
// devices and bytes, with when each was first used at all; "new" marks
// those first seen in the month (in loc) the range ends in. Two kinds of
// row: SaaS vendors the catalog knows (kind saas: a vendor's CDN, updates
// or telemetry alone is not use), and the names no source classifies,
// one row per registrable domain with unclassified set — the SaaS nobody
// has named yet is the most shadow of all. From a day on it reads the
// totals per client (store.Plan.Clients): streams that started in the range's
// hours.
func ShadowIT(ctx context.Context, db *sql.DB, q TableQuery, loc *time.Location) (*data.Frame, error) {
	plan, err := store.PlanRange(q.Range.From, q.Range.To).InZone(ctx, db, loc)
	if err != nil {
		return nil, fmt.Errorf("shadowIT: %w", err)
	}
	return shadowIT(ctx, db, q, loc, plan)
}

// exampleNames is how many of an unclassified domain's names a row shows.
const exampleNames = 5

// shadowIT answers as plan reads: the streams, or the totals per client.
func shadowIT(ctx context.Context, db *sql.DB, q TableQuery, loc *time.Location, plan store.Plan) (*data.Frame, error) {
	u := plan.Clients("s")
	filter, filterArgs := q.Filter.where("s")
	// A row is a vendor's (its products) or, for names no source
	// classifies, a registrable domain's (its names). CROSS JOIN keeps the
	// rows outermost, each looking its service up: left to choose, SQLite
	// put the services first and built an index over the month's totals
	// for them (1.06 s for an office's month, 0.34 s this way).
	text := `SELECT CASE WHEN sv.source = '' THEN sv.domain ELSE sv.vendor END AS vendor,
	group_concat(DISTINCT CASE WHEN sv.source = '' THEN s.server_name ELSE sv.product END) AS products,
	CASE WHEN sv.source = '' THEN '` + Unknown + `' ELSE min(sv.category) END AS category,
	count(DISTINCT ` + deviceOf("s") + `) AS devices, ` + u.Streams + ` AS streams, sum(s.bytes_up + s.bytes_down) AS bytes,
	CASE WHEN sv.source = '' THEN (SELECT min(u.hour) FROM usage_hourly u JOIN services v2 ON v2.server_name = u.server_name WHERE v2.source = '' AND v2.domain = sv.domain)
		ELSE (SELECT min(u.hour) FROM usage_hourly u JOIN services v2 ON v2.server_name = u.server_name WHERE v2.vendor = sv.vendor AND v2.kind = 'saas') END AS first_seen,
	sv.source = '' AS unclassified
FROM ` + u.From + ` CROSS JOIN services sv ON sv.server_name = s.server_name` + devicesJoin("s", "", q.Filter) + `
WHERE (sv.kind = 'saas' AND sv.vendor NOT IN (SELECT vendor FROM contracts) OR sv.source = '' AND sv.domain != '') AND ` + u.Where + filter + `
GROUP BY 1, sv.source = '' ORDER BY devices DESC, bytes DESC, 1 LIMIT ?`
	args := append(filterArgs, q.limit())
	frame, err := queryFrame(ctx, db, "shadowIT", text, q.limit(), args...)
	if err != nil {
		return nil, fmt.Errorf("shadowIT: %w", err)
	}
	unclassified := boolField(frame, "unclassified")
	if products, _ := frame.FieldByName("products"); products != nil {
		for i := 0; i < frame.Rows(); i++ {
			if v, ok := products.ConcreteAt(i); ok && unclassified[i] {
				products.SetConcrete(i, examples(v.(string)))
			}
		}
	}
	end := time.Unix(0, q.Range.To).In(loc)
	monthStart := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, loc)
	firstSeen, _ := frame.FieldByName("first_seen")
	isNew := make([]bool, frame.Rows())
	for i := range isNew {
		if firstSeen != nil {
			if t, ok := firstSeen.ConcreteAt(i); ok {
				isNew[i] = !t.(time.Time).Before(monthStart)
			}
		}
	}
	frame.Fields = append(frame.Fields, data.NewField("new_this_month", nil, isNew))
	frame.Meta.ExecutedQueryString = executed(text, args)
	if notice := plan.Notice(); notice != "" {
		frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: notice})
	}
	setUnits(frame, map[string]string{"bytes": "decbytes"})
	return frame, nil
}

// Unclassified lists the names no source classifies, one row per
// registrable domain (classify.Domain: unknown.example.co.jp counts as
// example.co.jp), by devices and bytes: domain, the number of its names
// and the first of them, devices, streams, bytes, first and last seen
// (the hours its streams started in, from the hourly totals) — what to
// name next in a catalog or contracts file. Per client filters apply; from
// a day on it reads the totals per client, as ShadowIT does.
func Unclassified(ctx context.Context, db *sql.DB, q TableQuery, loc *time.Location) (*data.Frame, error) {
	plan, err := store.PlanRange(q.Range.From, q.Range.To).InZone(ctx, db, loc)
	if err != nil {
		return nil, fmt.Errorf("unclassified: %w", err)
	}
	u := plan.Clients("s")
	filter, filterArgs := q.Filter.where("s")
	text := `SELECT sv.domain AS domain, count(DISTINCT s.server_name) AS names, group_concat(DISTINCT s.server_name) AS examples,
	count(DISTINCT ` + deviceOf("s") + `) AS devices, ` + u.Streams + ` AS streams, sum(s.bytes_up + s.bytes_down) AS bytes,
	(SELECT min(u.hour) FROM usage_hourly u JOIN services v2 ON v2.server_name = u.server_name WHERE v2.source = '' AND v2.domain = sv.domain) AS first_seen,
	(SELECT max(u.hour) FROM usage_hourly u JOIN services v2 ON v2.server_name = u.server_name WHERE v2.source = '' AND v2.domain = sv.domain) AS last_seen
FROM ` + u.From + ` CROSS JOIN services sv ON sv.server_name = s.server_name` + devicesJoin("s", "", q.Filter) + `
WHERE sv.source = '' AND sv.domain != '' AND ` + u.Where + filter + `
GROUP BY 1 ORDER BY devices DESC, bytes DESC, 1 LIMIT ?`
	args := append(filterArgs, q.limit())
	frame, err := queryFrame(ctx, db, "unclassified", text, q.limit(), args...)
	if err != nil {
		return nil, fmt.Errorf("unclassified: %w", err)
	}
	if ex, _ := frame.FieldByName("examples"); ex != nil {
		for i := 0; i < frame.Rows(); i++ {
			if v, ok := ex.ConcreteAt(i); ok {
				ex.SetConcrete(i, examples(v.(string)))
			}
		}
	}
	frame.Meta.ExecutedQueryString = executed(text, args)
	if notice := plan.Notice(); notice != "" {
		frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo, Text: notice})
	}
	setUnits(frame, map[string]string{"bytes": "decbytes"})
	return frame, nil
}

// boolField turns the 0/1 column name of frame into a bool field, and
// returns its values.
func boolField(frame *data.Frame, name string) []bool {
	out := make([]bool, frame.Rows())
	i, f := frameField(frame, name)
	if f == nil {
		return out
	}
	for r := range out {
		if v, ok := f.ConcreteAt(r); ok {
			out[r] = v.(int64) != 0
		}
	}
	frame.Fields[i] = data.NewField(name, nil, out)
	return out
}

func frameField(frame *data.Frame, name string) (int, *data.Field) {
	for i, f := range frame.Fields {
		if f.Name == name {
			return i, f
		}
	}
	return -1, nil
}

// examples shortens a comma-separated list of names to its first few in
// order, saying how many more there are.
func examples(list string) string {
	names := strings.Split(list, ",")
	slices.Sort(names)
	if len(names) <= exampleNames {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:exampleNames], ", "), len(names)-exampleNames)
}
