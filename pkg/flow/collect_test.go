package flow_test

import (
	"path/filepath"
	"testing"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/flow"
)

// collector keeps copies of every record.
type collector struct {
	streams   []flow.Stream
	hellos    []flow.Hello
	dns       []flow.DNSResponse
	dhcp      []flow.DHCP
	sightings []flow.Sighting
	packets   int
}

func (c *collector) Stream(s *flow.Stream)     { c.streams = append(c.streams, *s) }
func (c *collector) Hello(h *flow.Hello)       { c.hellos = append(c.hellos, *h) }
func (c *collector) DNS(d *flow.DNSResponse)   { c.dns = append(c.dns, *d) }
func (c *collector) DHCP(d *flow.DHCP)         { c.dhcp = append(c.dhcp, *d) }
func (c *collector) Sighting(s *flow.Sighting) { c.sightings = append(c.sightings, *s) }

type packetCollector struct {
	collector
	byStream map[int64]int
}

func (c *packetCollector) Packet(p *flow.Packet) { c.packets++; c.byStream[p.StreamID]++ }

func testdata(name string) string { return filepath.Join("..", "..", "testdata", name) }

// track reads files as consecutive parts of one capture.
func track(t testing.TB, sink flow.Sink, paths ...string) {
	t.Helper()
	if err := trackTolerant(sink, paths...); err != nil {
		t.Fatal(err)
	}
}

// trackTolerant reads every file to its end or its damage, returning the
// last read error.
func trackTolerant(sink flow.Sink, paths ...string) error {
	dec := capture.NewDecoder()
	tr := flow.NewTracker(flow.DefaultConfig(), sink)
	var last error
	for _, p := range paths {
		if _, err := capture.ReadFile(p, dec, tr.Handle); err != nil {
			last = err
		}
		tr.Checkpoint()
	}
	tr.Flush()
	return last
}

func (c *collector) named(name string) *flow.Stream {
	for i := range c.streams {
		if c.streams[i].ServerName == name {
			return &c.streams[i]
		}
	}
	return nil
}
