package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// SQLQuery is a raw SQL panel query.
type SQLQuery struct {
	Text string
	// Format "time_series" turns a long result (time, one or more text
	// columns, numbers) into one series per text value; "table" (the
	// default) keeps the rows.
	Format   string
	Range    Range
	Interval time.Duration
	// Limit caps the rows read; a result cut there carries a warning.
	Limit int
}

// DefaultRowLimit keeps a careless SELECT * FROM packets from carrying a
// month of packets into the browser.
const DefaultRowLimit = 100000

// RunSQL expands the macros of q, checks it is one read statement and runs
// it on a connection SQLite keeps to reading. The frame's
// ExecutedQueryString is the expanded text.
func RunSQL(ctx context.Context, db *sql.DB, q SQLQuery) (*data.Frame, error) {
	text, err := Expand(q.Text, q.Range, q.Interval)
	if err != nil {
		return nil, err
	}
	if err := CheckStatement(text); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultRowLimit
	}
	frame, err := queryFrame(ctx, db, "sql", text, limit)
	if err != nil {
		return nil, err
	}
	// An empty result has no column types to make series of; as a table
	// it is what Grafana shows as "No data".
	if q.Format == "time_series" && frame.Rows() > 0 {
		frame, err = toWide(frame)
		if err != nil {
			return nil, err
		}
		frame.Meta.ExecutedQueryString = text
	}
	return frame, nil
}

// toWide turns time, labels, values rows into one series per label set.
func toWide(frame *data.Frame) (*data.Frame, error) {
	schema := frame.TimeSeriesSchema()
	switch schema.Type {
	case data.TimeSeriesTypeNot:
		return nil, errors.New(`format time_series needs a time column: alias one AS time (for example $__timeGroup(first, $__interval) AS time), or choose format table`)
	case data.TimeSeriesTypeWide:
		return frame, nil
	}
	wide, err := data.LongToWide(frame, nil)
	if err != nil {
		return nil, fmt.Errorf("format time_series: %w (order the rows by time: ORDER BY time)", err)
	}
	wide.Meta = frame.Meta
	return wide, nil
}

// timeColumns are the store's columns holding Unix nanoseconds; a result
// column of these names, or named time or *_time, is read as a time.
var timeColumns = map[string]bool{"time": true, "first": true, "last": true, "day": true, "hour": true,
	"ingested_at": true, "first_seen": true, "last_seen": true}

func isTimeColumn(name string) bool {
	n := strings.ToLower(name)
	return timeColumns[n] || strings.HasSuffix(n, "_time")
}

// queryFrame runs text and returns its rows as a frame, typing each column
// by the values it holds: SQLite's columns of expressions have no declared
// type, so a column of integers with one NULL is still integers.
func queryFrame(ctx context.Context, db *sql.DB, name, text string, limit int, args ...any) (*data.Frame, error) {
	conn, err := readOnlyConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	values := make([][]any, len(cols))
	dest := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range dest {
		ptrs[i] = &dest[i]
	}
	truncated := false
	n := 0
	held := 0
	for rows.Next() {
		if n == limit {
			truncated = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("query: row %d: %w", n+1, err)
		}
		for i, v := range dest {
			// A value costs its bytes and, boxed in a field, about 16 more.
			held += 16
			if b, ok := v.([]byte); ok {
				v = string(b)
				held += len(b)
			} else if s, ok := v.(string); ok {
				held += len(s)
			}
			values[i] = append(values[i], v)
		}
		n++
		if held > maxResultBytes {
			return nil, fmt.Errorf("query: the result passed %d MiB at row %d, more than a panel may hold: select fewer columns or rows, or aggregate", maxResultBytes>>20, n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	frame := data.NewFrame(name)
	for i, c := range cols {
		frame.Fields = append(frame.Fields, column(c, values[i], n))
	}
	frame.Meta = &data.FrameMeta{ExecutedQueryString: text}
	if truncated {
		frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("showing the first %d rows: narrow the query or the time range", limit)})
	}
	return frame, nil
}

// column builds a field from one column's values.
func column(name string, vals []any, n int) *data.Field {
	kind := ""
	for _, v := range vals {
		switch v.(type) {
		case int64:
			if kind == "" {
				kind = "int"
			}
		case float64:
			if kind == "" || kind == "int" {
				kind = "float"
			}
		case string, bool, time.Time:
			kind = "string"
		}
	}
	if kind == "int" && isTimeColumn(name) {
		kind = "time"
	}
	switch kind {
	case "time":
		if !hasNil(vals) {
			// A time field without gaps, as Grafana's time series panels want.
			out := make([]time.Time, n)
			for i, v := range vals {
				out[i] = time.Unix(0, v.(int64)).UTC()
			}
			return data.NewField(name, nil, out)
		}
		out := make([]*time.Time, n)
		for i, v := range vals {
			if x, ok := v.(int64); ok {
				t := time.Unix(0, x).UTC()
				out[i] = &t
			}
		}
		return data.NewField(name, nil, out)
	case "int":
		out := make([]*int64, n)
		for i, v := range vals {
			if x, ok := v.(int64); ok {
				out[i] = &x
			}
		}
		return data.NewField(name, nil, out)
	case "float":
		out := make([]*float64, n)
		for i, v := range vals {
			switch x := v.(type) {
			case int64:
				f := float64(x)
				out[i] = &f
			case float64:
				out[i] = &x
			}
		}
		return data.NewField(name, nil, out)
	default:
		out := make([]*string, n)
		for i, v := range vals {
			if v != nil {
				s := fmt.Sprint(v)
				out[i] = &s
			}
		}
		return data.NewField(name, nil, out)
	}
}

func hasNil(vals []any) bool {
	for _, v := range vals {
		if v == nil {
			return true
		}
	}
	return false
}
