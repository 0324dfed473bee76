package flow_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
)

// countingSink keeps counts only, so that what the test measures is the
// tracker's memory, not the records'.
type countingSink struct {
	streams int
	ends    map[flow.EndReason]int
}

func (c *countingSink) Stream(s *flow.Stream)   { c.streams++; c.ends[s.End]++ }
func (c *countingSink) Hello(*flow.Hello)       {}
func (c *countingSink) DNS(*flow.DNSResponse)   {}
func (c *countingSink) DHCP(*flow.DHCP)         {}
func (c *countingSink) Sighting(*flow.Sighting) {}

func floodFile(t testing.TB, n int) string {
	t.Helper()
	var b bytes.Buffer
	if err := fixture.WriteSYNFlood(&b, n, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "flood.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A SYN flood holds at most MaxStreams streams: the oldest half-open ones
// end early as evicted, every stream is still reported once, and the
// connections that got an answer outlive the flood.
func TestFloodIsBounded(t *testing.T) {
	const syns, bound = 200000, 4096
	cfg := flow.DefaultConfig()
	cfg.MaxStreams = bound
	sink := &countingSink{ends: map[flow.EndReason]int{}}
	tr := flow.NewTracker(cfg, sink)
	dec := capture.NewDecoder()
	// A real connection first, then the flood.
	if _, err := capture.ReadFile(testdata("rotated-0.pcap"), dec, tr.Handle); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := capture.ReadFile(floodFile(t, syns), dec, tr.Handle); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if tr.Active() > bound {
		t.Errorf("%d streams held, bound %d", tr.Active(), bound)
	}
	if live := int64(after.HeapAlloc) - int64(before.HeapAlloc); live > 16<<20 {
		t.Errorf("tracker holds %d MiB after %d SYNs; want under 16", live>>20, syns)
	}
	var answered bool
	tr.OpenStreams(func(s *flow.Stream) { answered = answered || s.ServerName == "rotated.example.com" })
	if !answered {
		t.Error("the answered connection was evicted before half-open ones")
	}
	tr.Flush()
	if sink.streams != syns+1 || uint64(sink.ends[flow.EndEvicted]) != tr.Evicted() || tr.Evicted() < syns-bound {
		t.Errorf("%d streams reported (want %d), %d evicted (tracker counts %d)", sink.streams, syns+1,
			sink.ends[flow.EndEvicted], tr.Evicted())
	}
}

// A Delta holds what changed since the previous one, not everything open:
// a file that touches one stream among thousands open writes one item.
func TestDeltaHoldsOnlyChanges(t *testing.T) {
	tr := flow.NewTracker(flow.DefaultConfig(), &countingSink{ends: map[flow.EndReason]int{}})
	dec := capture.NewDecoder()
	if _, err := capture.ReadFile(floodFile(t, 5000), dec, tr.Handle); err != nil {
		t.Fatal(err)
	}
	first, err := tr.Delta()
	if err != nil {
		t.Fatal(err)
	}
	if first.Len() != tr.Active() || tr.Active() != 5000 {
		t.Fatalf("first delta: %d items for %d open streams", first.Len(), tr.Active())
	}
	fs := frames(t, testdata("rotated-0.pcap"))
	tr.Handle(&fs[0])
	second, err := tr.Delta()
	if err != nil {
		t.Fatal(err)
	}
	var changed []int64
	tr.OpenChanged(func(s *flow.Stream) { changed = append(changed, s.ID) })
	if second.Len() != 1 || len(second.Deleted) != 0 || len(changed) != 0 {
		t.Errorf("second delta: %d changed, %d deleted, %d still marked changed; want 1, 0, 0",
			second.Len(), len(second.Deleted), len(changed))
	}
}
