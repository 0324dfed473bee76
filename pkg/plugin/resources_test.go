package plugin

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/query"
)

// A picker's range is clamped as a panel's is: the widest range asked for
// is all there is, never a wrapped-around empty one.
func TestRangeParamsClamp(t *testing.T) {
	at := func(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }
	for url, want := range map[string]query.Range{
		"/services?from=1767225600000&to=1798761600000":              query.RangeOf(at(2026), at(2027)),
		"/services?from=-9223372036854775808&to=9223372036854775807": query.RangeOf(at(1970), at(2100)),
		"/services?from=1767225600000&to=253402300799000":            query.RangeOf(at(2026), at(2100)),
		"/services": {},
	} {
		got, err := rangeParams(httptest.NewRequest("GET", url, nil))
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", url, got, err, want)
		}
	}
	if _, err := rangeParams(httptest.NewRequest("GET", "/services?from=2&to=1", nil)); err == nil {
		t.Error("a range ending before it starts was taken")
	}
}
