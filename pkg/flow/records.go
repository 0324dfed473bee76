// Package flow groups decoded packets into bidirectional streams, runs the
// protocol extractors on each stream's first bytes and hands records
// (streams, ClientHellos, DNS answers, DHCP messages, device sightings and,
// optionally, packets) to a Sink.
package flow

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"
	"github.com/saaslens/saaslens/pkg/extract/dhcp"
	"github.com/saaslens/saaslens/pkg/extract/dns"
)

// NameSource tells where a stream's server name came from.
type NameSource uint8

const (
	SourceNone  NameSource = iota
	SourceSNI              // TLS ClientHello over TCP
	SourceQUIC             // TLS ClientHello in QUIC Initial packets
	SourceHTTP             // HTTP/1.x Host header
	SourceDNS              // the client's earlier DNS lookup of the server address
	SourceRange            // an address range the catalog gives the service
)

func (s NameSource) String() string {
	return [...]string{"", "sni", "quic", "http", "dns", "range"}[s]
}

// Direction of a packet within its stream.
const (
	ToServer = 0
	ToClient = 1
)

// EndReason tells why a stream record was emitted.
type EndReason uint8

const (
	EndOpen    EndReason = iota // still open when the input ended
	EndFIN                      // both sides closed with FIN
	EndRST                      // reset
	EndIdle                     // idle timeout
	EndReuse                    // a new connection reused the 5-tuple
	EndEvicted                  // ended early: more streams were open than the tracker holds
)

func (e EndReason) String() string {
	return [...]string{"open", "fin", "rst", "idle", "reuse", "evicted"}[e]
}

// Stream is one bidirectional conversation, oriented client to server.
type Stream struct {
	// ID is stable: derived from the 5-tuple and the first packet's time,
	// so reading the same captures again gives the same IDs.
	ID         int64
	Proto      layers.IPProtocol
	Client     netip.Addr
	Server     netip.Addr
	ClientPort uint16
	ServerPort uint16
	// ClientMAC is the link-layer source of the client's packets, when the
	// capture has one.
	ClientMAC    [6]byte
	HasClientMAC bool
	// MirrorSource names the mirror session the stream's first packet came
	// in ("vxlan:4096", "erspan:12", "gre:7", "geneve:4242"): a collector
	// often receives several. Empty for traffic captured directly.
	MirrorSource string

	// First and Last are packet times, Unix nanoseconds.
	First, Last int64
	// Carried tells that the stream was open when the Tracker's last
	// Delta was taken, so that a store holds its earlier part.
	Carried bool
	// Packets, Bytes (IP lengths) and PayloadBytes per direction, indexed
	// by ToServer and ToClient.
	Packets      [2]uint64
	Bytes        [2]uint64
	PayloadBytes [2]uint64
	// TCPFlags is the union of the flags seen in each direction.
	TCPFlags [2]uint8
	// Retransmits counts, per direction, TCP segments carrying only bytes
	// already seen in that direction: retransmissions, segments reordered
	// on the way to the capture point, or copies a mirror port made.
	// Keep-alives are not counted.
	Retransmits [2]uint64

	// ServerRTT is SYN to SYN/ACK and ClientRTT SYN/ACK to ACK, as seen at
	// the capture point, in nanoseconds; 0 when not observed.
	ServerRTT, ClientRTT int64
	// TLSHandshake is ClientHello to ServerHello (QUIC: first client to
	// first server Initial), in nanoseconds; 0 when not observed.
	TLSHandshake int64

	ServerName string
	NameSource NameSource
	// ALPN is the list the client offered, comma-separated.
	ALPN       string
	TLSVersion uint16
	ECH        bool
	// QUICVersion is set for QUIC streams.
	QUICVersion uint32
	End         EndReason
}

// RTT is the full TCP handshake round trip (client and server sides).
func (s *Stream) RTT() int64 {
	if s.ServerRTT == 0 || s.ClientRTT == 0 {
		return 0
	}
	return s.ServerRTT + s.ClientRTT
}

// Hello is one ClientHello, over TCP or in QUIC Initial packets.
type Hello struct {
	StreamID       int64
	Time           int64
	Client, Server netip.Addr
	ClientPort     uint16
	ServerPort     uint16
	QUIC           bool
	QUICVersion    uint32
	ServerName     string
	ALPN           []string
	Versions       []uint16
	LegacyVersion  uint16
	ECH, ESNI      bool
}

// DNSResponse is one DNS response seen by the client.
type DNSResponse struct {
	StreamID int64
	Time     int64
	// Client asked; Server (the resolver) answered.
	Client, Server netip.Addr
	ClientPort     uint16
	ServerPort     uint16
	Proto          layers.IPProtocol
	dns.Message
}

// DHCP is one DHCPv4 message with the link-layer sender of its frame.
type DHCP struct {
	StreamID int64
	Time     int64
	dhcp.Message
}

// Sighting records that a MAC address sent packets from an IP address, for
// local clients: the raw material of the device inventory.
type Sighting struct {
	MAC         [6]byte
	IP          netip.Addr
	First, Last int64
	Packets     uint64
}

// Packet is one TCP or UDP packet, for per-packet tables.
// Its addresses and ports are its stream's, in the order Direction says.
type Packet struct {
	StreamID int64
	Time     int64
	// Length is the IP length.
	Length    int
	Direction int
}

// Sink receives records as the Tracker produces them. Pointers passed to
// it are reused by the Tracker after the call returns.
type Sink interface {
	Stream(*Stream)
	Hello(*Hello)
	DNS(*DNSResponse)
	DHCP(*DHCP)
	Sighting(*Sighting)
}

// PacketSink is implemented by sinks that want every packet.
type PacketSink interface {
	Packet(*Packet)
}
