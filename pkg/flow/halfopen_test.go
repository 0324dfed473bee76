package flow_test

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/flow"
)

// A stream held as half-open while only its client's SYNs come becomes,
// at the server's answer, the stream those packets make: retransmitted
// SYNs counted, the handshake measured from the last SYN, the client's
// MAC kept. One never answered ends with just its SYNs.
func TestHalfOpenBecomesTheStreamItsSYNsMade(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	ms := int64(time.Millisecond)
	client, server, other := netip.MustParseAddr("10.1.0.7"), netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("203.0.113.10")
	mac := [6]byte{2, 0, 0, 0, 1, 7}
	syn := func(at int64, dst netip.Addr, seq uint32) capture.Frame {
		return capture.Frame{Time: at, SrcMAC: mac, HasMAC: true, Src: client, Dst: dst, Proto: layers.IPProtocolTCP,
			SrcPort: 50000, DstPort: 443, IPLen: 60, TCPFlags: capture.FlagSYN | capture.FlagECE | capture.FlagCWR, Seq: seq}
	}
	frames := []capture.Frame{
		syn(t0, server, 1000),
		syn(t0+5*ms, other, 7000),
		syn(t0+1000*ms, server, 1000), // retransmitted
		{Time: t0 + 1100*ms, Src: server, Dst: client, Proto: layers.IPProtocolTCP, SrcPort: 443, DstPort: 50000, IPLen: 60,
			TCPFlags: capture.FlagSYN | capture.FlagACK, Seq: 5000, Ack: 1001},
		{Time: t0 + 1150*ms, SrcMAC: mac, HasMAC: true, Src: client, Dst: server, Proto: layers.IPProtocolTCP, SrcPort: 50000, DstPort: 443,
			IPLen: 52, TCPFlags: capture.FlagACK, Seq: 1001, Ack: 5001},
		syn(t0+3005*ms, other, 7000), // retransmitted
		syn(t0+3010*ms, other, 9000), // a new sequence: not a retransmit
	}
	var c collector
	tr := flow.NewTracker(flow.DefaultConfig(), &c)
	for i := range frames {
		tr.Handle(&frames[i])
	}
	tr.Flush()
	var ids []int64
	for _, s := range c.streams {
		ids = append(ids, s.ID)
	}
	if len(ids) != 2 {
		t.Fatalf("%d streams, want 2", len(ids))
	}
	want := []flow.Stream{{
		ID: ids[0], Proto: layers.IPProtocolTCP, Client: client, Server: server, ClientPort: 50000, ServerPort: 443,
		ClientMAC: mac, HasClientMAC: true, First: t0, Last: t0 + 1150*ms,
		Packets: [2]uint64{3, 1}, Bytes: [2]uint64{172, 60},
		TCPFlags:    [2]uint8{capture.FlagSYN | capture.FlagECE | capture.FlagCWR | capture.FlagACK, capture.FlagSYN | capture.FlagACK},
		Retransmits: [2]uint64{1, 0}, ServerRTT: 100 * ms, ClientRTT: 50 * ms,
	}, {
		ID: ids[1], Proto: layers.IPProtocolTCP, Client: client, Server: other, ClientPort: 50000, ServerPort: 443,
		ClientMAC: mac, HasClientMAC: true, First: t0 + 5*ms, Last: t0 + 3010*ms,
		Packets: [2]uint64{3, 0}, Bytes: [2]uint64{180, 0}, TCPFlags: [2]uint8{capture.FlagSYN | capture.FlagECE | capture.FlagCWR, 0},
		Retransmits: [2]uint64{1, 0},
	}}
	if diff := cmp.Diff(want, c.streams, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("streams (-want +got):\n%s", diff)
	}
	if len(c.sightings) != 1 || c.sightings[0].Packets != 6 {
		t.Errorf("sightings %+v, want one of the client's 6 packets", c.sightings)
	}
}

// A half-open stream costs a fraction of a stream: a flood's hundred
// thousand SYNs, held open, take under 25 MiB (a stream each took 48).
func TestHalfOpenStreamsAreSmall(t *testing.T) {
	const syns = 100_000
	tr := flow.NewTracker(flow.DefaultConfig(), discard{})
	f := capture.Frame{Time: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano(), Dst: netip.MustParseAddr("192.0.2.80"),
		Proto: layers.IPProtocolTCP, DstPort: 443, IPLen: 60, TCPFlags: capture.FlagSYN}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range syns {
		f.Time += 1000
		f.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		f.SrcPort = uint16(1024 + i%60000)
		tr.Handle(&f)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if tr.Active() != syns {
		t.Fatalf("%d streams open, want %d", tr.Active(), syns)
	}
	if live := int64(after.HeapAlloc) - int64(before.HeapAlloc); live > 25<<20 {
		t.Errorf("%d half-open streams hold %.1f MiB (%d bytes each)", syns, float64(live)/(1<<20), live/syns)
	}
	runtime.KeepAlive(tr)
}
