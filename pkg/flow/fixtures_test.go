package flow_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
)

func TestSegmentedReorderedClientHello(t *testing.T) {
	var c collector
	track(t, &c, testdata("segmented-clienthello.pcap"))
	if len(c.streams) != 1 || len(c.hellos) != 1 {
		t.Fatalf("%d streams, %d hellos; want 1 and 1", len(c.streams), len(c.hellos))
	}
	s := c.streams[0]
	if s.ServerName != "segmented.example.com" || s.NameSource != flow.SourceSNI || s.ALPN != "h2,http/1.1" {
		t.Errorf("name %q from %v, ALPN %q", s.ServerName, s.NameSource, s.ALPN)
	}
	if s.Client != netip.MustParseAddr("10.0.0.2") || s.ServerPort != 443 || s.End != flow.EndFIN {
		t.Errorf("oriented %v:%d -> %v:%d, end %v", s.Client, s.ClientPort, s.Server, s.ServerPort, s.End)
	}
	// 9 client packets (the hello's first part twice), 3 server ones.
	if s.Packets != [2]uint64{9, 3} {
		t.Errorf("packets %v", s.Packets)
	}
	if s.ServerRTT != int64(20*time.Millisecond) || s.ClientRTT != int64(2*time.Millisecond) {
		t.Errorf("RTTs %v / %v, want 20ms / 2ms", time.Duration(s.ServerRTT), time.Duration(s.ClientRTT))
	}
	// The hello's first segment arrives second (24ms); the ServerHello comes
	// 25ms after its last segment (26ms), at 51ms.
	if s.TLSHandshake != int64(27*time.Millisecond) {
		t.Errorf("TLS handshake %v, want 27ms", time.Duration(s.TLSHandshake))
	}
	if h := c.hellos[0]; len(h.Versions) != 1 || h.Versions[0] != 0x0304 || h.QUIC {
		t.Errorf("hello versions %x (GREASE must be dropped), quic=%v", h.Versions, h.QUIC)
	}
}

func TestQUICClientHelloOverTwoInitials(t *testing.T) {
	var c collector
	track(t, &c, testdata("quic-split-initial.pcap"))
	if len(c.streams) != 1 {
		t.Fatalf("%d streams", len(c.streams))
	}
	s := c.streams[0]
	if s.ServerName != "quic-split.example.com" || s.NameSource != flow.SourceQUIC || s.QUICVersion != 1 || s.ALPN != "h3" {
		t.Errorf("got %q from %v, version %d, ALPN %q", s.ServerName, s.NameSource, s.QUICVersion, s.ALPN)
	}
	if s.TLSHandshake != int64(31*time.Millisecond) {
		t.Errorf("handshake %v, want 31ms", time.Duration(s.TLSHandshake))
	}
	if len(c.hellos) != 1 || !c.hellos[0].QUIC {
		t.Errorf("hellos %+v", c.hellos)
	}
}

func TestNamesFromEveryLinkType(t *testing.T) {
	for file, names := range map[string][]string{
		"two-linktypes.pcapng": {"eth.example.com", "raw.example.com"},
		"vlan-qinq.pcap":       {"vlan.example.com"},
		"ipv6-ext.pcap":        {"v6.example.com", "v6tls.example.com"},
		"lan.pcap.gz":          {"lan.example.com"},
	} {
		var c collector
		track(t, &c, testdata(file))
		for _, n := range names {
			if c.named(n) == nil {
				t.Errorf("%s: no stream named %s", file, n)
			}
		}
	}
}

func TestNameFromClientsOwnDNSLookup(t *testing.T) {
	var c collector
	track(t, &c, testdata("sll2-dns.pcap"))
	s := c.named("app.example.com")
	if s == nil || s.NameSource != flow.SourceDNS || s.Server != netip.MustParseAddr("198.51.100.7") {
		t.Fatalf("stream to 198.51.100.7 not named from DNS: %+v", c.streams)
	}
	if len(c.dns) != 1 {
		t.Fatalf("%d DNS responses", len(c.dns))
	}
	d := c.dns[0]
	if chain := d.CNAMEChain(); len(chain) != 1 || chain[0] != "app.cdn.example.net" {
		t.Errorf("CNAME chain %v", chain)
	}
	if a := d.Addrs(); len(a) != 1 || a[0].TTL != 300 || a[0].Name != "app.cdn.example.net" {
		t.Errorf("answers %+v", a)
	}
	if !s.HasClientMAC || s.ClientMAC != [6]byte{2, 0, 0, 0, 0, 2} {
		t.Errorf("SLL2 client MAC %x", s.ClientMAC)
	}
}

func TestRotatedCaptureIsOneStream(t *testing.T) {
	var c collector
	track(t, &c, testdata("rotated-0.pcap"), testdata("rotated-1.pcap"))
	if len(c.streams) != 1 {
		t.Fatalf("%d streams, want the connection as one", len(c.streams))
	}
	s := c.streams[0]
	if s.ServerName != "rotated.example.com" || s.Packets != [2]uint64{8, 6} || s.End != flow.EndFIN {
		t.Errorf("got %q packets %v end %v", s.ServerName, s.Packets, s.End)
	}
}

func TestDHCPAndDevices(t *testing.T) {
	var c collector
	track(t, &c, testdata("lan.pcap.gz"))
	if len(c.dhcp) != 2 {
		t.Fatalf("%d DHCP messages", len(c.dhcp))
	}
	mac := [6]byte{2, 0, 0, 0, 0, 0x23}
	d := c.dhcp[0]
	if d.TypeName() != "DISCOVER" || d.HostName != "alice-laptop" || d.VendorClass != "MSFT 5.0" || d.ClientMAC != mac {
		t.Errorf("discover %+v", d.Message)
	}
	if a := c.dhcp[1]; a.TypeName() != "ACK" || a.YourIP != netip.MustParseAddr("10.0.0.23") {
		t.Errorf("ack %+v", a.Message)
	}
	if len(c.sightings) != 1 || c.sightings[0].MAC != mac || c.sightings[0].IP != netip.MustParseAddr("10.0.0.23") {
		t.Errorf("sightings %+v", c.sightings)
	}
}

func TestStreamIDsAreStable(t *testing.T) {
	var a, b packetCollector
	a.byStream, b.byStream = map[int64]int{}, map[int64]int{}
	track(t, &a, testdata("ipv6-ext.pcap"))
	track(t, &b, testdata("ipv6-ext.pcap"))
	if len(a.streams) != 2 {
		t.Fatalf("%d streams", len(a.streams))
	}
	for i := range a.streams {
		if a.streams[i].ID != b.streams[i].ID || a.streams[i].ID <= 0 {
			t.Errorf("stream %d: ids %d and %d", i, a.streams[i].ID, b.streams[i].ID)
		}
		total := a.streams[i].Packets[0] + a.streams[i].Packets[1]
		if uint64(a.byStream[a.streams[i].ID]) != total {
			t.Errorf("stream %d: %d packet records, %d counted", i, a.byStream[a.streams[i].ID], total)
		}
	}
}

// Every encapsulation in tunnels.pcap gives up its inner connection as an
// ordinary stream: named by its ClientHello, with the mirror session its
// tunnel identifies, and the client's own MAC where the tunnel carries
// the inner Ethernet header (never the mirror's).
func TestTunneledConnections(t *testing.T) {
	var col collector
	track(t, &col, testdata("tunnels.pcap"))
	type row struct {
		name, mirror string
		mac          bool
	}
	var got, want []row
	for _, s := range col.streams {
		got = append(got, row{s.ServerName, s.MirrorSource, s.HasClientMAC})
		if s.HasClientMAC && s.ClientMAC != [6]byte{2, 0, 0, 0, 0, 2} {
			t.Errorf("%s: client MAC %x, want the inner frame's", s.ServerName, s.ClientMAC)
		}
	}
	for _, c := range fixture.TunneledConnections {
		want = append(want, row{c.ServerName, c.MirrorSource, c.InnerMAC})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("streams:\n got %v\nwant %v", got, want)
	}
}
