// Package dhcp parses DHCPv4 messages (RFC 2131, options from RFC 2132)
// for what tells devices apart: client MAC, addresses, host name and
// vendor class.
package dhcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/saaslens/saaslens/pkg/extract/wiretext"
)

// Message types (option 53).
const (
	Discover = 1
	Offer    = 2
	Request  = 3
	Decline  = 4
	Ack      = 5
	Nak      = 6
	Release  = 7
	Inform   = 8
)

var magicCookie = []byte{99, 130, 83, 99}

// Message is a parsed DHCPv4 message.
type Message struct {
	// Op is 1 for a client request, 2 for a server reply.
	Op uint8
	// Type is option 53 (0 for plain BOOTP).
	Type      uint8
	XID       uint32
	ClientMAC [6]byte
	// ClientIP (ciaddr) is the client's current address; YourIP (yiaddr)
	// the one the server assigns; RequestedIP option 50.
	ClientIP, YourIP, RequestedIP netip.Addr
	HostName                      string
	VendorClass                   string
}

// TypeName renders the message type.
func (m *Message) TypeName() string {
	names := [...]string{"", "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE", "INFORM"}
	if int(m.Type) < len(names) && m.Type != 0 {
		return names[m.Type]
	}
	if m.Type == 0 {
		return "BOOTP"
	}
	return fmt.Sprintf("TYPE%d", m.Type)
}

// Parse reads a DHCPv4 message from a UDP payload.
func Parse(b []byte) (*Message, error) {
	if len(b) < 240 {
		return nil, errors.New("dhcp: message shorter than 240 bytes")
	}
	if b[0] != 1 && b[0] != 2 {
		return nil, fmt.Errorf("dhcp: op %d", b[0])
	}
	if b[1] != 1 || b[2] != 6 { // Ethernet hardware addresses only
		return nil, fmt.Errorf("dhcp: hardware type %d length %d", b[1], b[2])
	}
	if string(b[236:240]) != string(magicCookie) {
		return nil, errors.New("dhcp: no magic cookie (BOOTP)")
	}
	m := &Message{Op: b[0], XID: binary.BigEndian.Uint32(b[4:8])}
	m.ClientIP = addr4(b[12:16])
	m.YourIP = addr4(b[16:20])
	copy(m.ClientMAC[:], b[28:34])
	opts := b[240:]
	for i := 0; i < len(opts); {
		code := opts[i]
		if code == 0 { // pad
			i++
			continue
		}
		if code == 255 {
			break
		}
		if i+2 > len(opts) || i+2+int(opts[i+1]) > len(opts) {
			return m, errors.New("dhcp: option runs past the message")
		}
		val := opts[i+2 : i+2+int(opts[i+1])]
		switch code {
		case 53:
			if len(val) == 1 {
				m.Type = val[0]
			}
		case 50:
			if len(val) == 4 {
				m.RequestedIP = addr4(val)
			}
		case 12:
			m.HostName = wiretext.Text(val)
		case 60:
			m.VendorClass = wiretext.Text(val)
		}
		i += 2 + len(val)
	}
	return m, nil
}

func addr4(b []byte) netip.Addr {
	a := netip.AddrFrom4([4]byte(b))
	if a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}
