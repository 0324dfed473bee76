package capture

import (
	"fmt"
	"sort"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Class groups the packets that are not TCP or UDP.
type Class uint8

const (
	ClassEtherType Class = iota + 1 // a link-layer payload that is not IP (ARP, LLDP, ...)
	ClassLLC                        // 802.2 LLC frames (STP, ...), by DSAP
	ClassDot11                      // 802.11 management and control frames
	ClassIPProto                    // IP packets of another protocol (ICMP, ...)
	ClassFragment                   // IP fragments, by IP version
	ClassLinkType                   // a link type this reader does not decode
	ClassMalformed                  // headers that did not decode, by layer
	ClassUntimed                    // TCP/UDP in pcapng Simple Packet Blocks before any timestamp
)

var kindUntimed = Kind{Class: ClassUntimed}

// Kind identifies one kind of packet in a Summary; a compact key so that
// counting costs no allocation.
type Kind struct {
	Class Class
	Code  uint16
}

var etherNames = map[uint16]string{
	0x0806: "ARP", 0x8035: "RARP", 0x88cc: "LLDP", 0x888e: "EAPOL", 0x8863: "PPPoE-discovery",
	0x8864: "PPPoE-session", 0x8847: "MPLS", 0x8848: "MPLS", 0x8137: "IPX", 0x88f7: "PTP",
	0x8809: "LACP", 0x22f0: "AVTP", 0x893a: "IEEE1905", 0x88e1: "HomePlug", 0x8899: "Realtek",
	0x9000: "Loopback", 0x86dd: "IPv6", 0x0800: "IPv4",
}

// String names the kind as shown in summaries: "ARP", "STP", "ICMP", ...
func (k Kind) String() string {
	switch k.Class {
	case ClassEtherType:
		if n, ok := etherNames[k.Code]; ok {
			return n
		}
		return fmt.Sprintf("ethertype-0x%04x", k.Code)
	case ClassLLC:
		switch k.Code {
		case 0x42:
			return "STP"
		case 0xe0:
			return "IPX"
		case 0xf0:
			return "NetBIOS"
		case 0xfe:
			return "OSI"
		}
		return fmt.Sprintf("llc-0x%02x", k.Code)
	case ClassDot11:
		return "802.11-" + layers.Dot11Type(k.Code).MainType().String()
	case ClassIPProto:
		switch layers.IPProtocol(k.Code) {
		case layers.IPProtocolICMPv4:
			return "ICMP"
		case layers.IPProtocolICMPv6:
			return "ICMPv6"
		case layers.IPProtocolIGMP:
			return "IGMP"
		case layers.IPProtocolGRE:
			return "GRE"
		case layers.IPProtocolESP:
			return "ESP"
		case layers.IPProtocolAH:
			return "AH"
		case layers.IPProtocolSCTP:
			return "SCTP"
		case layers.IPProtocolNoNextHeader:
			return "IPv6-no-next-header"
		case 112:
			return "VRRP"
		case 89:
			return "OSPF"
		case 103:
			return "PIM"
		}
		return fmt.Sprintf("ip-proto-%d", k.Code)
	case ClassFragment:
		return fmt.Sprintf("IPv%d-fragment", k.Code)
	case ClassLinkType:
		return fmt.Sprintf("unsupported-linktype-%d", k.Code)
	case ClassMalformed:
		return "malformed-" + gopacket.LayerType(k.Code).String()
	case ClassUntimed:
		return "untimed"
	}
	return "unknown"
}

// Summary describes one capture file after reading it.
type Summary struct {
	Path       string
	Format     Format
	Compressed bool
	// LinkTypes lists the link types met, in order of first appearance.
	LinkTypes []layers.LinkType
	Packets   uint64
	// Bytes counts wire lengths of all packets.
	Bytes uint64
	// Streamed counts the TCP and UDP packets handed on.
	Streamed uint64
	// First and Last are packet times in Unix nanoseconds, when Timed:
	// some record had a time (0 is a time, 1970-01-01).
	First, Last int64
	Timed       bool
	// Other counts the packets that were not TCP or UDP, by kind.
	Other map[Kind]uint64
	// Tunneled counts the packets that came encapsulated, by their
	// outermost tunnel, whatever they carried.
	Tunneled map[TunnelKind]uint64
	// Err is the read error that ended the file early, if any.
	Err error
}

// OtherByName returns Other keyed by display name, kinds sharing a name merged.
func (s *Summary) OtherByName() map[string]uint64 {
	out := make(map[string]uint64, len(s.Other))
	for k, n := range s.Other {
		out[k.String()] += n
	}
	return out
}

// OtherNames lists OtherByName's keys, most frequent first.
func (s *Summary) OtherNames() []string {
	m := s.OtherByName()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if m[names[i]] != m[names[j]] {
			return m[names[i]] > m[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}

func (s *Summary) noteLinkType(l layers.LinkType) {
	for _, seen := range s.LinkTypes {
		if seen == l {
			return
		}
	}
	s.LinkTypes = append(s.LinkTypes, l)
}

// LinkTypeName names a link type as tcpdump's LINKTYPE_ list does.
func LinkTypeName(l layers.LinkType) string {
	switch l {
	case layers.LinkTypeNull:
		return "NULL"
	case layers.LinkTypeEthernet:
		return "ETHERNET"
	case layers.LinkTypePPP:
		return "PPP"
	case layers.LinkTypeRaw, 12, 14:
		return "RAW"
	case layers.LinkTypeIEEE802_11:
		return "IEEE802_11"
	case layers.LinkTypeLoop:
		return "LOOP"
	case layers.LinkTypeLinuxSLL:
		return "LINUX_SLL"
	case layers.LinkTypeIEEE80211Radio:
		return "IEEE802_11_RADIOTAP"
	case layers.LinkTypeIPv4:
		return "IPV4"
	case layers.LinkTypeIPv6:
		return "IPV6"
	case linkTypeNFLOG:
		return "NFLOG"
	case layers.LinkTypeLinuxSLL2:
		return "LINUX_SLL2"
	}
	return fmt.Sprintf("LINKTYPE_%d", uint16(l))
}

// TunneledByName is Tunneled keyed by tunnel name, for printing and JSON.
func (s *Summary) TunneledByName() map[string]uint64 {
	out := make(map[string]uint64, len(s.Tunneled))
	for k, n := range s.Tunneled {
		out[k.String()] += n
	}
	return out
}
