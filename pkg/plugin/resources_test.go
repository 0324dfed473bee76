package plugin

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/ingest"
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

// The status lists the first files to try again and the first still
// being written, with how many there are: a directory of thousands of
// unreadable files gives a status page, not a 640 KB answer.
func TestStatusListsAreCapped(t *testing.T) {
	rep := &ingest.Report{}
	for i := range 5746 {
		rep.Files = append(rep.Files, ingest.FileResult{Path: fmt.Sprintf("/proc/%d/status", i), Status: "unreadable", Error: "empty", Retried: i%2 == 0})
		rep.Growing = append(rep.Growing, fmt.Sprintf("/captures/%d.pcap", i))
	}
	unread, unreadCount, pending, pendingCount := fileLists(rep)
	if len(unread) != maxProblems || unreadCount != 2873 || unread[1].Path != "/proc/2/status" || len(pending) != maxProblems || pendingCount != 5746 {
		t.Errorf("%d of %d unread (second %+v), %d of %d pending", len(unread), unreadCount, unread[1], len(pending), pendingCount)
	}
	unread, unreadCount, pending, pendingCount = fileLists(&ingest.Report{})
	if unread == nil || pending == nil || unreadCount != 0 || pendingCount != 0 {
		t.Errorf("an empty run: %v %d %v %d; want empty lists, not null", unread, unreadCount, pending, pendingCount)
	}
}
