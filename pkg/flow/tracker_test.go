package flow_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/flow"
)

type discard struct{}

func (discard) Stream(*flow.Stream)     {}
func (discard) Hello(*flow.Hello)       {}
func (discard) DNS(*flow.DNSResponse)   {}
func (discard) DHCP(*flow.DHCP)         {}
func (discard) Sighting(*flow.Sighting) {}
func (discard) Packet(*flow.Packet)     {}

// Bulk data on an established stream, per-packet records included, costs
// no allocation.
func TestEstablishedStreamDoesNotAllocate(t *testing.T) {
	tr := flow.NewTracker(flow.DefaultConfig(), discard{})
	f := capture.Frame{
		Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), HasMAC: true,
		Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("203.0.113.1"),
		Proto: layers.IPProtocolTCP, SrcPort: 40000, DstPort: 443, IPLen: 1500,
		TCPFlags: capture.FlagACK, Seq: 1, Payload: make([]byte, 1460), PayloadLen: 1460,
	}
	tr.Handle(&f) // creates the stream and gives up on its (non-TLS) bytes
	allocs := testing.AllocsPerRun(1000, func() {
		f.Time += 1000
		f.Seq += 1460
		tr.Handle(&f)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet", allocs)
	}
}

// Idle timeouts bound memory: a long run of short UDP exchanges keeps only
// about a timeout's worth of streams.
func TestIdleStreamsAreEnded(t *testing.T) {
	var c collector
	cfg := flow.DefaultConfig()
	tr := flow.NewTracker(cfg, &c)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	peak := 0
	const n = 20000
	for i := 0; i < n; i++ {
		f := capture.Frame{
			Time: start + int64(i)*int64(100*time.Millisecond),
			Src:  netip.MustParseAddr("10.0.0.2"), Dst: netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}),
			Proto: layers.IPProtocolUDP, SrcPort: uint16(30000 + i%30000), DstPort: 123, IPLen: 76,
		}
		tr.Handle(&f)
		peak = max(peak, tr.Active())
	}
	// One new stream per 100ms and a 60s timeout: about 600 alive, plus
	// one sweep interval of slack.
	if peak > 800 {
		t.Errorf("peak of %d streams held", peak)
	}
	tr.Flush()
	if len(c.streams) != n {
		t.Errorf("%d streams emitted, want %d", len(c.streams), n)
	}
	for _, s := range c.streams[:n-800] {
		if s.End != flow.EndIdle {
			t.Fatalf("early stream ended %v, want idle", s.End)
		}
	}
}

func TestReusedPortAfterCloseIsANewStream(t *testing.T) {
	var c collector
	tr := flow.NewTracker(flow.DefaultConfig(), &c)
	base := capture.Frame{Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("203.0.113.1"),
		Proto: layers.IPProtocolTCP, SrcPort: 40000, DstPort: 443, IPLen: 40}
	send := func(at int64, flags uint8, reply bool) {
		f := base
		f.Time, f.TCPFlags = at, flags
		if reply {
			f.Src, f.Dst, f.SrcPort, f.DstPort = f.Dst, f.Src, f.DstPort, f.SrcPort
		}
		tr.Handle(&f)
	}
	send(1e9, capture.FlagSYN, false)
	send(1.01e9, capture.FlagSYN|capture.FlagACK, true)
	send(1.02e9, capture.FlagRST, false)
	send(1.5e9, capture.FlagSYN, false)
	tr.Flush()
	if len(c.streams) != 2 || c.streams[0].End != flow.EndRST || c.streams[0].ID == c.streams[1].ID {
		t.Errorf("streams %+v", c.streams)
	}
}

// Segments repeating bytes already seen count as retransmitted, per
// direction, across the sequence wrap; keep-alives and bare ACKs do not.
func TestRetransmitsAreCounted(t *testing.T) {
	var c collector
	tr := flow.NewTracker(flow.DefaultConfig(), &c)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	client, server := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("203.0.113.1")
	send := func(up bool, flags uint8, seq uint32, n int) {
		at += int64(time.Millisecond)
		f := capture.Frame{Time: at, Src: client, Dst: server, SrcPort: 40000, DstPort: 443, Proto: layers.IPProtocolTCP,
			IPLen: 40 + n, TCPFlags: flags, Seq: seq, Payload: make([]byte, n), PayloadLen: n}
		if !up {
			f.Src, f.Dst, f.SrcPort, f.DstPort = server, client, 443, 40000
		}
		tr.Handle(&f)
	}
	var c0, s0 uint32 = 0xffff_fff0, 5000 // the client's numbers wrap
	send(true, capture.FlagSYN, c0, 0)
	send(false, capture.FlagSYN|capture.FlagACK, s0, 0)
	send(true, capture.FlagACK, c0+1, 0)
	send(true, capture.FlagACK, c0+1, 100)              // crosses the wrap
	send(true, capture.FlagACK, c0+1, 100)              // the same again: 1
	send(true, capture.FlagACK, c0+101, 100)            // new
	send(true, capture.FlagACK, c0+51, 50)              // inside what was sent: 2
	send(true, capture.FlagACK, c0+200, 1)              // a keep-alive: the byte before the next
	send(true, capture.FlagACK, c0+201, 0)              // a bare ACK
	send(false, capture.FlagACK, s0+1, 1000)            // the server's own numbers
	send(false, capture.FlagACK, s0+1, 1000)            // 1 down
	send(false, capture.FlagSYN|capture.FlagACK, s0, 0) // a repeated SYN/ACK: 2 down
	send(true, capture.FlagFIN|capture.FlagACK, c0+201, 0)
	send(false, capture.FlagFIN|capture.FlagACK, s0+1001, 0)
	send(true, capture.FlagFIN|capture.FlagACK, c0+201, 0) // the FIN again: 3
	tr.Flush()
	if len(c.streams) != 1 {
		t.Fatalf("%d streams", len(c.streams))
	}
	if got, want := c.streams[0].Retransmits, [2]uint64{3, 2}; got != want {
		t.Errorf("retransmits %v, want %v", got, want)
	}
}
