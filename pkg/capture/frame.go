package capture

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// Frame is one decoded TCP or UDP packet. Its slices alias the reader's
// buffer and are valid only until the next packet is read.
type Frame struct {
	// Time is the capture timestamp in Unix nanoseconds.
	Time     int64
	LinkType layers.LinkType
	// WireLen is the packet's length on the wire; CaptureLen what was kept.
	WireLen, CaptureLen int

	// SrcMAC is the link-layer sender, when the link type carries one.
	// For an encapsulated packet it is the inner frame's, when the tunnel
	// carries one (VXLAN, ERSPAN); GRE or IP in IP carry none.
	SrcMAC [6]byte
	HasMAC bool
	// Tunnel is the outermost encapsulation the packet came in, if any.
	Tunnel Tunnel

	Src, Dst         netip.Addr
	Proto            layers.IPProtocol
	SrcPort, DstPort uint16
	// IPLen is the packet's length from the IP header, headers included.
	IPLen int

	TCPFlags uint8
	Seq, Ack uint32

	// Payload is the captured transport payload; PayloadLen its length
	// according to the headers, larger when the capture was truncated.
	Payload    []byte
	PayloadLen int
}

// TCP flag bits as they appear in the TCP header.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
	FlagURG = 0x20
	FlagECE = 0x40
	FlagCWR = 0x80
)

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= FlagFIN
	}
	if t.SYN {
		f |= FlagSYN
	}
	if t.RST {
		f |= FlagRST
	}
	if t.PSH {
		f |= FlagPSH
	}
	if t.ACK {
		f |= FlagACK
	}
	if t.URG {
		f |= FlagURG
	}
	if t.ECE {
		f |= FlagECE
	}
	if t.CWR {
		f |= FlagCWR
	}
	return f
}
