package report

import (
	"math"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// table reads a query's frame by column name; a missing column or an
// empty cell reads as the zero value.
type table struct{ f *data.Frame }

func (t table) rows() int { return t.f.Rows() }

func (t table) cell(name string, i int) (any, bool) {
	field, _ := t.f.FieldByName(name)
	if field == nil {
		return nil, false
	}
	return field.ConcreteAt(i)
}

func (t table) text(name string, i int) string {
	v, _ := t.cell(name, i)
	s, _ := v.(string)
	return s
}

func (t table) count(name string, i int) int64 {
	if v := t.countOrNil(name, i); v != nil {
		return *v
	}
	return 0
}

func (t table) countOrNil(name string, i int) *int64 {
	v, ok := t.cell(name, i)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case int64:
		return &x
	case float64:
		n := int64(x)
		return &n
	}
	return nil
}

func (t table) amount(name string, i int) float64 {
	if v := t.amountOrNil(name, i); v != nil {
		return *v
	}
	return 0
}

func (t table) amountOrNil(name string, i int) *float64 {
	v, ok := t.cell(name, i)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case float64:
		return &x
	case int64:
		f := float64(x)
		return &f
	}
	return nil
}

func (t table) flag(name string, i int) bool {
	v, _ := t.cell(name, i)
	b, _ := v.(bool)
	return b
}

func (t table) instant(name string, i int) time.Time {
	v, _ := t.cell(name, i)
	tm, _ := v.(time.Time)
	return tm
}

var nan = math.NaN()

func nanDays(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = nan
	}
	return out
}

// judge compares the TLS handshake p95 of the month's last days with the
// median of the other days that have one: slower by at least slowerBy
// percent is slower at month end.
func (m *MonthEnd) judge(lastDays int, slowerBy float64) {
	var end, rest []float64
	for day, v := range m.TLS {
		if math.IsNaN(v) {
			continue
		}
		m.MeasuredDays++
		if day >= m.LastDayOfTheMonth-lastDays {
			end = append(end, v)
		} else {
			rest = append(rest, v)
		}
	}
	if len(end) == 0 || len(rest) == 0 {
		m.EndTLS, m.RestTLS = nan, nan
		return
	}
	m.EndTLS, m.RestTLS = median(end), median(rest)
	m.EndSlowerByPercent = 100 * (m.EndTLS - m.RestTLS) / m.RestTLS
	m.SlowerAtMonthEnd = m.EndSlowerByPercent >= slowerBy
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
