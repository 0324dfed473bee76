package capture

import (
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Decoder turns raw link-layer records into Frames without allocating per
// packet: every layer is preallocated and decoded in place.
type Decoder struct {
	eth       ethernetLayer
	dot1q     layers.Dot1Q
	sll       layers.LinuxSLL
	sll2      layers.LinuxSLL2
	loop      layers.Loopback
	llc       layers.LLC
	snap      layers.SNAP
	radiotap  layers.RadioTap
	dot11     layers.Dot11
	dot11data layers.Dot11Data
	dot11qos  layers.Dot11DataQOSData
	raw       rawIPLayer
	mpls      mplsLayer
	pppoe     pppoeLayer
	ppp       pppLayer
	nflog     nflogLayer
	ip4       ip4Layer
	ip6       ip6Layer
	ip6ext    layers.IPv6ExtensionSkipper
	ip6frag   layers.IPv6Fragment
	tcp       layers.TCP
	udp       udpLayer
	gre       greLayer
	erspan    erspanLayer
	vxlan     vxlanLayer
	geneve    geneveLayer
	teredo    teredoLayer
	vxlanGPE  vxlanGPELayer
	nsh       nshLayer
	tzsp      tzspLayer
	tunnels   tunnelState

	parsers map[layers.LinkType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
	frags   fragments

	// Frame holds the last TCP/UDP packet decoded.
	Frame Frame
}

// NewDecoder returns a Decoder ready for any supported link type.
func NewDecoder() *Decoder {
	d := &Decoder{
		parsers: make(map[layers.LinkType]*gopacket.DecodingLayerParser),
		decoded: make([]gopacket.LayerType, 0, 32),
	}
	d.ip4.tunnels, d.ip6.tunnels, d.gre.tunnels, d.erspan.tunnels = &d.tunnels, &d.tunnels, &d.tunnels, &d.tunnels
	d.vxlan.tunnels, d.geneve.tunnels, d.teredo.tunnels = &d.tunnels, &d.tunnels, &d.tunnels
	d.vxlanGPE.tunnels, d.nsh.tunnels, d.tzsp.tunnels = &d.tunnels, &d.tunnels, &d.tunnels
	return d
}

// firstLayer maps a capture link type to the layer its records start with.
func firstLayer(link layers.LinkType) (gopacket.LayerType, bool) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	// 12 and 14 are the raw-IP DLT values some BSDs wrote into old files.
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		return layerTypeRawIP, true
	case layers.LinkTypePPP:
		return layers.LayerTypePPP, true
	case linkTypeNFLOG:
		return layerTypeNFLOG, true
	case layers.LinkTypeIEEE80211Radio:
		return layers.LayerTypeRadioTap, true
	case layers.LinkTypeIEEE802_11:
		return layers.LayerTypeDot11, true
	}
	return gopacket.LayerTypeZero, false
}

func (d *Decoder) parser(link layers.LinkType) *gopacket.DecodingLayerParser {
	if p, ok := d.parsers[link]; ok {
		return p
	}
	first, ok := firstLayer(link)
	if !ok {
		d.parsers[link] = nil
		return nil
	}
	p := gopacket.NewDecodingLayerParser(first,
		&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.llc, &d.snap,
		&d.radiotap, &d.dot11, &d.dot11data, &d.dot11qos,
		&d.raw, &d.mpls, &d.pppoe, &d.ppp, &d.nflog,
		&d.ip4, &d.ip6,
		// The skipper claims every extension header; the fragment decoder,
		// added after it, takes the fragment header back so that a later
		// fragment is never read as if it began with a TCP or UDP header.
		&d.ip6ext, &d.ip6frag,
		&d.tcp, &d.udp,
		&d.gre, &d.erspan, &d.vxlan, &d.geneve, &d.teredo, &d.vxlanGPE, &d.nsh, &d.tzsp)
	p.IgnoreUnsupported = true
	d.parsers[link] = p
	return p
}

// Decode decodes one record. It reports true when the record was a TCP or
// UDP packet, now in d.Frame; otherwise it returns what kind of packet it
// was, for the per-file summary.
func (d *Decoder) Decode(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) (bool, Kind) {
	d.Frame.Tunnel = Tunnel{}
	p := d.parser(link)
	if p == nil {
		return false, Kind{Class: ClassLinkType, Code: uint16(link)}
	}
	if len(data) == 0 {
		return false, Kind{Class: ClassMalformed, Code: uint16(link)}
	}
	d.tunnels.reset()
	err := p.DecodeLayers(data, &d.decoded)

	f := &d.Frame
	f.HasMAC = false
	f.Tunnel = d.tunnels.outer
	var ipLayer, transport gopacket.LayerType
	var lastLink Kind
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeEthernet:
			// d.eth holds the innermost Ethernet header: an entry after
			// the last tunnel is the device's own.
			if len(d.eth.SrcMAC) == 6 {
				copy(f.SrcMAC[:], d.eth.SrcMAC)
				f.HasMAC = true
			}
			lastLink = Kind{Class: ClassEtherType, Code: uint16(d.eth.EthernetType)}
		case layers.LayerTypeLinuxSLL:
			if d.sll.AddrLen == 6 && len(d.sll.Addr) >= 6 {
				copy(f.SrcMAC[:], d.sll.Addr)
				f.HasMAC = true
			}
			lastLink = Kind{Class: ClassEtherType, Code: uint16(d.sll.EthernetType)}
		case layers.LayerTypeLinuxSLL2:
			if d.sll2.AddrLength == 6 && len(d.sll2.Addr) >= 6 {
				copy(f.SrcMAC[:], d.sll2.Addr)
				f.HasMAC = true
			}
			lastLink = Kind{Class: ClassEtherType, Code: uint16(d.sll2.ProtocolType)}
		case layers.LayerTypeDot1Q:
			lastLink = Kind{Class: ClassEtherType, Code: uint16(d.dot1q.Type)}
		case layers.LayerTypeSNAP:
			lastLink = Kind{Class: ClassEtherType, Code: uint16(d.snap.Type)}
		case layers.LayerTypeLLC:
			lastLink = Kind{Class: ClassLLC, Code: uint16(d.llc.DSAP)}
		case layers.LayerTypeDot11:
			lastLink = Kind{Class: ClassDot11, Code: uint16(d.dot11.Type)}
		case layers.LayerTypeIPv4, layers.LayerTypeIPv6:
			if ipLayer != gopacket.LayerTypeZero { // IP in IP: the link layer was the tunnel's
				f.HasMAC = false
			}
			ipLayer, transport = t, gopacket.LayerTypeZero
		case layers.LayerTypeGRE, layerTypeERSPAN, layers.LayerTypeVXLAN, layers.LayerTypeGeneve, layerTypeTeredo,
			layerTypeVXLANGPE, layerTypeNSH, layerTypeTZSP:
			// What the tunnel carries is the packet: its kind, if not IP,
			// is the inner frame's, not the tunnel's IP protocol.
			f.HasMAC = false
			ipLayer, transport = gopacket.LayerTypeZero, gopacket.LayerTypeZero
		case layers.LayerTypeTCP, layers.LayerTypeUDP:
			transport = t
		}
	}
	if ipLayer == gopacket.LayerTypeZero {
		if err != nil {
			return false, Kind{Class: ClassMalformed, Code: uint16(link)}
		}
		if lastLink.Class == 0 {
			return false, Kind{Class: ClassLinkType, Code: uint16(link)}
		}
		return false, lastLink
	}
	if transport == gopacket.LayerTypeZero {
		kind := d.ipKind(ipLayer, err)
		if kind.Class == ClassFragment && d.reassemble(ipLayer, ci, link) {
			return true, Kind{}
		}
		return false, kind
	}
	if err != nil && !d.transportUsable(transport) {
		return false, Kind{Class: ClassMalformed, Code: uint16(transport)}
	}

	var ipStart int
	if ipLayer == layers.LayerTypeIPv4 {
		f.IPLen = int(d.ip4.Length)
		ipStart = offsetIn(data, d.ip4.Contents)
	} else {
		f.IPLen = 40 + int(d.ip6.Length)
		ipStart = offsetIn(data, d.ip6.Contents)
	}
	header := d.fillFrame(ci, link, ipLayer, transport)
	payloadStart := offsetIn(data, header) + len(header)
	if f.IPLen < payloadStart-ipStart { // TCP segmentation offload writes 0
		f.IPLen = len(data) - ipStart
	}
	f.PayloadLen = f.IPLen - (payloadStart - ipStart)
	if f.PayloadLen < len(f.Payload) {
		f.PayloadLen = len(f.Payload)
	}
	return true, Kind{}
}

// fillFrame sets the Frame fields that come straight from the decoded
// layers and returns the transport header.
func (d *Decoder) fillFrame(ci gopacket.CaptureInfo, link layers.LinkType, ipLayer, transport gopacket.LayerType) []byte {
	f := &d.Frame
	f.Time = ci.Timestamp.UnixNano()
	f.LinkType = link
	f.WireLen, f.CaptureLen = ci.Length, ci.CaptureLength
	if ipLayer == layers.LayerTypeIPv4 {
		f.Src = netip.AddrFrom4([4]byte(d.ip4.SrcIP.To4()))
		f.Dst = netip.AddrFrom4([4]byte(d.ip4.DstIP.To4()))
	} else {
		f.Src = netip.AddrFrom16([16]byte(d.ip6.SrcIP.To16()))
		f.Dst = netip.AddrFrom16([16]byte(d.ip6.DstIP.To16()))
	}
	if transport == layers.LayerTypeTCP {
		f.Proto = layers.IPProtocolTCP
		f.SrcPort, f.DstPort = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort)
		f.TCPFlags = tcpFlags(&d.tcp)
		f.Seq, f.Ack = d.tcp.Seq, d.tcp.Ack
		f.Payload = d.tcp.Payload
		return d.tcp.Contents
	}
	f.Proto = layers.IPProtocolUDP
	f.SrcPort, f.DstPort = uint16(d.udp.SrcPort), uint16(d.udp.DstPort)
	f.TCPFlags, f.Seq, f.Ack = 0, 0, 0
	f.Payload = d.udp.Payload
	return d.udp.Contents
}

// offsetIn locates sub within data; both must share data's backing array.
func offsetIn(data, sub []byte) int { return cap(data) - cap(sub) }

// transportUsable tells whether a decode error came after the transport
// header was read completely (for example from a payload layer), in which
// case the packet is still worth counting.
func (d *Decoder) transportUsable(t gopacket.LayerType) bool {
	if t == layers.LayerTypeTCP {
		return len(d.tcp.Contents) >= 20
	}
	return len(d.udp.Contents) >= 8
}

func (d *Decoder) ipKind(ipLayer gopacket.LayerType, err error) Kind {
	if ipLayer == layers.LayerTypeIPv4 {
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			return Kind{Class: ClassFragment, Code: 4}
		}
		if err != nil {
			return Kind{Class: ClassMalformed, Code: uint16(layers.LayerTypeIPv4)}
		}
		return Kind{Class: ClassIPProto, Code: uint16(d.ip4.Protocol)}
	}
	for _, t := range d.decoded {
		if t == layers.LayerTypeIPv6Fragment && (d.ip6frag.FragmentOffset != 0 || d.ip6frag.MoreFragments) {
			return Kind{Class: ClassFragment, Code: 6}
		}
	}
	if err != nil {
		return Kind{Class: ClassMalformed, Code: uint16(layers.LayerTypeIPv6)}
	}
	next := d.ip6.NextHeader
	if d.ip6.HopByHop != nil {
		next = d.ip6.HopByHop.NextHeader
	}
	if n := len(d.decoded); n > 0 {
		switch d.decoded[n-1] {
		case layers.LayerTypeIPv6Fragment:
			next = d.ip6frag.NextHeader
		case layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6HopByHop:
			next = d.ip6ext.NextHeader
		}
	}
	return Kind{Class: ClassIPProto, Code: uint16(next)}
}
