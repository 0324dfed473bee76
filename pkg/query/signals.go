package query

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// The signals an alert rule watches, each a number per label set.
const (
	// SignalNewVendors: per SaaS vendor no contract covers and first used
	// in the range's last month, the devices that used it.
	SignalNewVendors = "newVendorsWithoutContract"
	// SignalLicenceUtilisation: per contract, active devices against
	// seats in the range's last month, in percent.
	SignalLicenceUtilisation = "licenceUtilisation"
	// SignalHandshakeP95: per vendor, the 95th percentile TLS handshake
	// over the range, in milliseconds.
	SignalHandshakeP95 = "handshakeP95"
	// SignalCaptureAge: per capture directory, the minutes from its
	// newest packet to the range's end: ingest or capture stalled.
	SignalCaptureAge = "captureAge"
)

// signalRows bounds the label sets a signal answers with.
const signalRows = 10000

// Signals lists the signals in the order editors offer them.
var Signals = []string{SignalNewVendors, SignalLicenceUtilisation, SignalHandshakeP95, SignalCaptureAge}

// SignalQuery asks for one signal over a range.
type SignalQuery struct {
	Signal string
	Range  Range
	// Filter narrows the vendors of newVendorsWithoutContract and
	// handshakeP95.
	Filter Filter
}

// Signal answers with what Grafana alerting takes as numbers: a table of
// string columns (the labels, one row per label set) and one numeric
// column, value. No row is no data, which a rule treats as OK.
func Signal(ctx context.Context, db *sql.DB, q SignalQuery, loc *time.Location) (*data.Frame, error) {
	var labels []string
	var rows []signalRow
	var err error
	if q.Signal == "" {
		q.Signal = SignalNewVendors
	}
	switch q.Signal {
	case SignalNewVendors:
		labels = []string{"vendor"}
		rows, err = newVendorsWithoutContract(ctx, db, q, loc)
	case SignalLicenceUtilisation:
		labels = []string{"vendor", "product"}
		rows, err = licenceUtilisation(ctx, db, q, loc)
	case SignalHandshakeP95:
		labels = []string{"vendor"}
		rows, err = handshakeP95(ctx, db, q)
	case SignalCaptureAge:
		labels = []string{"directory"}
		rows, err = captureAge(ctx, db, q)
	default:
		return nil, fmt.Errorf("alert: unknown signal %q: want %s, %s, %s or %s", q.Signal, SignalNewVendors, SignalLicenceUtilisation, SignalHandshakeP95, SignalCaptureAge)
	}
	if err != nil {
		return nil, fmt.Errorf("alert %s: %w", q.Signal, err)
	}
	frame := data.NewFrame(q.Signal)
	for i, l := range labels {
		values := make([]string, len(rows))
		for r, row := range rows {
			values[r] = row.labels[i]
		}
		frame.Fields = append(frame.Fields, data.NewField(l, nil, values))
	}
	values := make([]float64, len(rows))
	for r, row := range rows {
		values[r] = row.value
	}
	frame.Fields = append(frame.Fields, data.NewField("value", nil, values))
	frame.Meta = &data.FrameMeta{Type: data.FrameTypeNumericLong, TypeVersion: data.FrameTypeVersion{0, 1},
		ExecutedQueryString: fmt.Sprintf("-- signal %s over %s to %s", q.Signal, time.Unix(0, q.Range.From).UTC().Format(time.RFC3339), time.Unix(0, q.Range.To).UTC().Format(time.RFC3339))}
	return frame, nil
}

type signalRow struct {
	labels []string
	value  float64
}

// newVendorsWithoutContract reads shadow IT's rows: vendors (not names no
// catalog knows) new in the range's last month.
func newVendorsWithoutContract(ctx context.Context, db *sql.DB, q SignalQuery, loc *time.Location) ([]signalRow, error) {
	frame, err := ShadowIT(ctx, db, TableQuery{Range: q.Range, Filter: q.Filter, Limit: signalRows}, loc)
	if err != nil {
		return nil, err
	}
	vendor, devices, unclassified, isNew := frameColumn(frame, "vendor"), frameColumn(frame, "devices"), frameColumn(frame, "unclassified"), frameColumn(frame, "new_this_month")
	if vendor == nil || devices == nil || unclassified == nil || isNew == nil {
		return nil, fmt.Errorf("shadow IT's frame lacks vendor, devices, unclassified or new_this_month")
	}
	var out []signalRow
	for i := range frame.Rows() {
		if b, _ := unclassified.ConcreteAt(i); b == true {
			continue
		}
		if b, _ := isNew.ConcreteAt(i); b != true {
			continue
		}
		v, _ := vendor.ConcreteAt(i)
		n, _ := devices.NullableFloatAt(i)
		if n == nil {
			continue
		}
		out = append(out, signalRow{labels: []string{fmt.Sprint(v)}, value: *n})
	}
	return out, nil
}

// licenceUtilisation reads the licences' rows of the range's last month.
func licenceUtilisation(ctx context.Context, db *sql.DB, q SignalQuery, loc *time.Location) ([]signalRow, error) {
	frame, err := Licences(ctx, db, LicencesQuery{Range: q.Range}, loc)
	if err != nil {
		return nil, err
	}
	month, vendor, product, utilisation := frameColumn(frame, "month"), frameColumn(frame, "vendor"), frameColumn(frame, "product"), frameColumn(frame, "utilisation")
	if month == nil || vendor == nil || product == nil || utilisation == nil {
		return nil, fmt.Errorf("licences' frame lacks month, vendor, product or utilisation")
	}
	last := ""
	for i := range frame.Rows() {
		if m, _ := month.ConcreteAt(i); fmt.Sprint(m) > last {
			last = fmt.Sprint(m)
		}
	}
	var out []signalRow
	for i := range frame.Rows() {
		if m, _ := month.ConcreteAt(i); fmt.Sprint(m) != last {
			continue
		}
		u, err := utilisation.NullableFloatAt(i)
		if err != nil || u == nil {
			continue // a contract without seats has no utilisation
		}
		v, _ := vendor.ConcreteAt(i)
		p, _ := product.ConcreteAt(i)
		out = append(out, signalRow{labels: []string{fmt.Sprint(v), fmt.Sprint(p)}, value: *u})
	}
	return out, nil
}

// handshakeP95 is the latency question with one step the length of the
// range, per vendor.
func handshakeP95(ctx context.Context, db *sql.DB, q SignalQuery) ([]signalRow, error) {
	step := time.Duration(q.Range.To - q.Range.From + 1)
	frame, err := Latency(ctx, db, LatencyQuery{Measure: "tls", Percentiles: []float64{95}, Range: q.Range, Step: step,
		Filter: q.Filter, GroupBy: GroupVendor, TopN: MaxTopN})
	if err != nil {
		return nil, err
	}
	var out []signalRow
	for _, f := range frame.Fields[1:] {
		for i := range f.Len() {
			if v, err := f.NullableFloatAt(i); err == nil && v != nil {
				out = append(out, signalRow{labels: []string{f.Labels[GroupVendor]}, value: *v})
				break
			}
		}
	}
	return out, nil
}

// captureAge is, per capture directory, the minutes from its newest
// packet to the range's end; a directory whose newest packet is after the
// end reads 0.
func captureAge(ctx context.Context, db *sql.DB, q SignalQuery) ([]signalRow, error) {
	rows, err := db.QueryContext(ctx, `SELECT series, max(last) FROM captures WHERE last IS NOT NULL GROUP BY series ORDER BY series`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []signalRow
	for rows.Next() {
		var series string
		var last int64
		if err := rows.Scan(&series, &last); err != nil {
			return nil, err
		}
		age := max(0, float64(q.Range.To-last)/float64(time.Minute))
		out = append(out, signalRow{labels: []string{filepath.Base(series)}, value: age})
	}
	return out, rows.Err()
}

// frameColumn is the field named name, or nil.
func frameColumn(f *data.Frame, name string) *data.Field {
	field, _ := f.FieldByName(name)
	return field
}
