package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Mirrored traffic arrives encapsulated: a switch's remote SPAN as ERSPAN
// over GRE, cloud traffic mirroring as VXLAN or GENEVE, office links as
// GRE or IP in IP. These DecodingLayers unwrap them, so the inner frame
// becomes an ordinary stream with its own addresses and MACs. Each keeps
// what identifies the mirror session (a VNI, a GRE key, an ERSPAN session)
// in the Frame's Tunnel.

// TunnelKind names an encapsulation.
type TunnelKind uint8

const (
	TunnelNone TunnelKind = iota
	TunnelIPinIP
	TunnelGRE
	TunnelERSPAN
	TunnelVXLAN
	TunnelGENEVE
	TunnelTeredo
	TunnelTZSP
	TunnelNSH
)

var tunnelNames = [...]string{"", "IP-in-IP", "GRE", "ERSPAN", "VXLAN", "GENEVE", "Teredo", "TZSP", "NSH"}

func (k TunnelKind) String() string {
	if int(k) < len(tunnelNames) {
		return tunnelNames[k]
	}
	return fmt.Sprintf("tunnel-%d", k)
}

// Tunnel is the outermost encapsulation a packet came in (ERSPAN rather
// than the GRE that always carries it), and the outermost id that tells
// its mirror session apart: a VNI, a GRE key, an ERSPAN session.
type Tunnel struct {
	Kind   TunnelKind
	IDKind TunnelKind // whose id ID is; TunnelNone without one
	ID     uint32
}

// Source names the mirror session as stored per stream: "vxlan:4096",
// "erspan:12", "gre:7" (a GRE key), "geneve:4242"; "" without an id.
func (t Tunnel) Source() string {
	prefix, ok := map[TunnelKind]string{TunnelGRE: "gre", TunnelERSPAN: "erspan", TunnelVXLAN: "vxlan", TunnelGENEVE: "geneve"}[t.IDKind]
	if !ok {
		return ""
	}
	return prefix + ":" + strconv.FormatUint(uint64(t.ID), 10)
}

// maxIPHeaders bounds the IP headers one record may nest: seven levels of
// tunnel. Every encapsulation here is carried in IP, so this bounds them all.
const maxIPHeaders = 8

var errTooDeep = errors.New("tunnels nested too deep")

// UDP ports of the encapsulations carried in UDP.
const (
	portVXLAN     = 4789
	portGENEVE    = 6081
	portGREinUDP  = 4754 // RFC 8086
	portTeredo    = 3544
	portVXLANGPE  = 4790
	portTZSP      = 37008
	etherTypeNSH  = 0x894f
	greERSPANIII  = 0x22eb
	greERSPANI_II = 0x88be
)

var (
	layerTypeERSPAN   = gopacket.RegisterLayerType(1702, gopacket.LayerTypeMetadata{Name: "ERSPAN"})
	layerTypeTeredo   = gopacket.RegisterLayerType(1703, gopacket.LayerTypeMetadata{Name: "Teredo"})
	layerTypeTZSP     = gopacket.RegisterLayerType(1704, gopacket.LayerTypeMetadata{Name: "TZSP"})
	layerTypeNSH      = gopacket.RegisterLayerType(1705, gopacket.LayerTypeMetadata{Name: "NSH"})
	layerTypeVXLANGPE = gopacket.RegisterLayerType(1706, gopacket.LayerTypeMetadata{Name: "VXLAN-GPE"})
)

// tunnelState is what the tunnel layers of one Decoder share while a
// record decodes.
type tunnelState struct {
	ipHeaders int
	entered   int
	outer     Tunnel
}

func (s *tunnelState) reset() { *s = tunnelState{} }

func (s *tunnelState) enter(kind TunnelKind, id uint32, hasID bool) {
	s.entered++
	if s.entered == 1 || s.entered == 2 && kind == TunnelERSPAN && s.outer.Kind == TunnelGRE {
		s.outer.Kind = kind
	}
	if hasID && s.outer.IDKind == TunnelNone {
		s.outer.IDKind, s.outer.ID = kind, id
	}
}

// ipHeader counts an IP header about to be decoded: past the bound, the
// record is decoded no further; a second one with no tunnel between is IP
// in IP.
func (s *tunnelState) ipHeader() error {
	if s.ipHeaders++; s.ipHeaders > maxIPHeaders {
		return errTooDeep
	}
	if s.ipHeaders > 1 && s.outer.Kind == TunnelNone {
		s.enter(TunnelIPinIP, 0, false)
	}
	return nil
}

// ip4Layer and ip6Layer count IP headers, which bounds nesting, and note
// IP carried in IP.
type ip4Layer struct {
	layers.IPv4
	tunnels *tunnelState
}

func (l *ip4Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.tunnels.ipHeader(); err != nil {
		return err
	}
	return l.IPv4.DecodeFromBytes(data, df)
}

type ip6Layer struct {
	layers.IPv6
	tunnels *tunnelState
}

func (l *ip6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if err := l.tunnels.ipHeader(); err != nil {
		return err
	}
	return l.IPv6.DecodeFromBytes(data, df)
}

// udpLayer hands on only to the encapsulations it knows, by port; other
// payloads are left to the extractors.
type udpLayer struct{ layers.UDP }

func (l *udpLayer) NextLayerType() gopacket.LayerType {
	for _, port := range [2]layers.UDPPort{l.DstPort, l.SrcPort} {
		switch port {
		case portVXLAN:
			return layers.LayerTypeVXLAN
		case portGENEVE:
			return layers.LayerTypeGeneve
		case portGREinUDP:
			return layers.LayerTypeGRE
		case portTeredo:
			return layerTypeTeredo
		case portVXLANGPE:
			return layerTypeVXLANGPE
		case portTZSP:
			return layerTypeTZSP
		}
	}
	return gopacket.LayerTypeZero
}

// greLayer reads GRE (RFC 2784/2890) and the enhanced GRE of PPTP
// (RFC 2637, version 1).
type greLayer struct {
	layers.BaseLayer
	protocol uint16
	tunnels  *tunnelState
}

func (l *greLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		return errShort
	}
	flags, version := binary.BigEndian.Uint16(data), data[1]&0x07
	if version > 1 || flags&0x4000 != 0 { // routing (RFC 1701) is obsolete
		return fmt.Errorf("GRE version %d flags %#04x not decoded", version, flags)
	}
	l.protocol = binary.BigEndian.Uint16(data[2:])
	n := 4
	if flags&0x8000 != 0 { // checksum and reserved
		n += 4
	}
	var key uint32
	hasKey := flags&0x2000 != 0
	if hasKey {
		if len(data) < n+4 {
			return errShort
		}
		key = binary.BigEndian.Uint32(data[n:])
		n += 4
	}
	if flags&0x1000 != 0 { // sequence number
		n += 4
	}
	if version == 1 && flags&0x0080 != 0 { // PPTP acknowledgment number
		n += 4
	}
	if len(data) < n {
		return errShort
	}
	// A PPTP key is payload length and call id, not a mirror session.
	l.tunnels.enter(TunnelGRE, key, hasKey && version == 0)
	if l.protocol == greERSPANI_II && n == 4 { // type I: no header of its own, see NextLayerType
		l.tunnels.enter(TunnelERSPAN, 0, false)
	}
	l.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: data[n:]}
	return nil
}

// innerByEtherType is what a tunnel that names its payload by EtherType
// (GRE, GENEVE) carries.
func innerByEtherType(t uint16) gopacket.LayerType {
	switch t {
	case uint16(layers.EthernetTypeIPv4):
		return layers.LayerTypeIPv4
	case uint16(layers.EthernetTypeIPv6):
		return layers.LayerTypeIPv6
	case uint16(layers.EthernetTypeTransparentEthernetBridging):
		return layers.LayerTypeEthernet
	case 0x880b: // PPP
		return layers.LayerTypePPP
	case uint16(layers.EthernetTypeMPLSUnicast):
		return layers.LayerTypeMPLS
	case etherTypeNSH:
		return layerTypeNSH
	}
	return gopacket.LayerTypeZero
}

func (l *greLayer) NextLayerType() gopacket.LayerType {
	switch l.protocol {
	case greERSPANI_II:
		// Type I has no header of its own: the mirrored frame follows a
		// GRE header without a sequence number. Type II always has one.
		if len(l.Contents) == 4 {
			return layers.LayerTypeEthernet
		}
		return layerTypeERSPAN
	case greERSPANIII:
		return layerTypeERSPAN
	}
	return innerByEtherType(l.protocol)
}

func (l *greLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeGRE }
func (l *greLayer) LayerType() gopacket.LayerType  { return layers.LayerTypeGRE }

// erspanLayer reads ERSPAN type II and III headers (draft-foschiano-erspan),
// told apart by their version field.
type erspanLayer struct {
	layers.BaseLayer
	tunnels *tunnelState
}

func (l *erspanLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errShort
	}
	n := 8
	switch version := data[0] >> 4; version {
	case 1: // type II
	case 2: // type III: 12 bytes, and an 8-byte platform subheader when O is set
		n = 12
		if len(data) >= 12 && data[11]&0x01 != 0 {
			n = 20
		}
	default:
		return fmt.Errorf("ERSPAN version %d not decoded", version)
	}
	if len(data) < n {
		return errShort
	}
	session := uint32(binary.BigEndian.Uint16(data[2:]) & 0x03ff)
	l.tunnels.enter(TunnelERSPAN, session, true)
	l.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: data[n:]}
	return nil
}

func (l *erspanLayer) NextLayerType() gopacket.LayerType { return layers.LayerTypeEthernet }
func (l *erspanLayer) CanDecode() gopacket.LayerClass    { return layerTypeERSPAN }
func (l *erspanLayer) LayerType() gopacket.LayerType     { return layerTypeERSPAN }

// vxlanLayer reads a VXLAN header (RFC 7348), refusing one without the
// VNI flag: port 4789 may also be someone's ephemeral port.
type vxlanLayer struct {
	layers.BaseLayer
	tunnels *tunnelState
}

func (l *vxlanLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errShort
	}
	if data[0]&0x08 == 0 {
		return errors.New("VXLAN header without a valid VNI")
	}
	vni := binary.BigEndian.Uint32(data[4:]) >> 8
	l.tunnels.enter(TunnelVXLAN, vni, true)
	l.BaseLayer = layers.BaseLayer{Contents: data[:8], Payload: data[8:]}
	return nil
}

func (l *vxlanLayer) NextLayerType() gopacket.LayerType { return layers.LayerTypeEthernet }
func (l *vxlanLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeVXLAN }
func (l *vxlanLayer) LayerType() gopacket.LayerType     { return layers.LayerTypeVXLAN }

// geneveLayer reads a GENEVE header (RFC 8926), skipping its options
// without decoding them (gopacket's allocates per option).
type geneveLayer struct {
	layers.BaseLayer
	protocol uint16
	tunnels  *tunnelState
}

func (l *geneveLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errShort
	}
	if version := data[0] >> 6; version != 0 {
		return fmt.Errorf("GENEVE version %d not decoded", version)
	}
	n := 8 + int(data[0]&0x3f)*4
	if len(data) < n {
		return errShort
	}
	l.protocol = binary.BigEndian.Uint16(data[2:])
	l.tunnels.enter(TunnelGENEVE, binary.BigEndian.Uint32(data[4:])>>8, true)
	l.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: data[n:]}
	return nil
}

func (l *geneveLayer) NextLayerType() gopacket.LayerType { return innerByEtherType(l.protocol) }
func (l *geneveLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeGeneve }
func (l *geneveLayer) LayerType() gopacket.LayerType     { return layers.LayerTypeGeneve }

// teredoLayer finds the IPv6 packet in a Teredo datagram (RFC 4380),
// past the authentication and origin indications that may precede it. A
// datagram that does not hold an IPv6 header is not Teredo.
type teredoLayer struct {
	layers.BaseLayer
	tunnels *tunnelState
}

func (l *teredoLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	n := 0
	if len(data) >= 4 && data[0] == 0 && data[1] == 1 { // authentication indication
		n = 4 + int(data[2]) + int(data[3]) + 8 + 1
	}
	if len(data) >= n+8 && data[n] == 0 && data[n+1] == 0 { // origin indication
		n += 8
	}
	if len(data) < n+40 || data[n]>>4 != 6 {
		return errors.New("not a Teredo packet")
	}
	l.tunnels.enter(TunnelTeredo, 0, false)
	l.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: data[n:]}
	return nil
}

func (l *teredoLayer) NextLayerType() gopacket.LayerType { return layers.LayerTypeIPv6 }
func (l *teredoLayer) CanDecode() gopacket.LayerClass    { return layerTypeTeredo }
func (l *teredoLayer) LayerType() gopacket.LayerType     { return layerTypeTeredo }

// ethernetLayer hands NSH on; gopacket does not know its EtherType.
type ethernetLayer struct{ layers.Ethernet }

func (l *ethernetLayer) NextLayerType() gopacket.LayerType {
	if l.EthernetType == etherTypeNSH {
		return layerTypeNSH
	}
	return l.Ethernet.NextLayerType()
}

// vxlanGPELayer reads VXLAN with its Generic Protocol Extension (UDP 4790),
// whose next-protocol field may say IPv4, IPv6, Ethernet or NSH.
type vxlanGPELayer struct {
	layers.BaseLayer
	next    uint8
	tunnels *tunnelState
}

func (l *vxlanGPELayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errShort
	}
	if data[0]&0x08 == 0 {
		return errors.New("VXLAN-GPE header without a valid VNI")
	}
	l.next = 3 // Ethernet, without the P flag
	if data[0]&0x04 != 0 {
		l.next = data[3]
	}
	l.tunnels.enter(TunnelVXLAN, binary.BigEndian.Uint32(data[4:])>>8, true)
	l.BaseLayer = layers.BaseLayer{Contents: data[:8], Payload: data[8:]}
	return nil
}

func (l *vxlanGPELayer) NextLayerType() gopacket.LayerType { return nextProtocol(l.next) }
func (l *vxlanGPELayer) CanDecode() gopacket.LayerClass    { return layerTypeVXLANGPE }
func (l *vxlanGPELayer) LayerType() gopacket.LayerType     { return layerTypeVXLANGPE }

// nextProtocol maps the next-protocol numbers VXLAN-GPE and NSH share.
func nextProtocol(p uint8) gopacket.LayerType {
	switch p {
	case 1:
		return layers.LayerTypeIPv4
	case 2:
		return layers.LayerTypeIPv6
	case 3:
		return layers.LayerTypeEthernet
	case 4:
		return layerTypeNSH
	case 5:
		return layers.LayerTypeMPLS
	}
	return gopacket.LayerTypeZero
}

// nshLayer reads a Network Service Header (RFC 8300): a service chain's
// packets arrive wrapped in one.
type nshLayer struct {
	layers.BaseLayer
	next    uint8
	tunnels *tunnelState
}

func (l *nshLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		return errShort
	}
	if version := data[0] >> 6; version != 0 {
		return fmt.Errorf("NSH version %d not decoded", version)
	}
	n := int(data[1]&0x3f) * 4
	if n < 8 || len(data) < n {
		return errShort
	}
	l.next = data[3]
	l.tunnels.enter(TunnelNSH, 0, false)
	l.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: data[n:]}
	return nil
}

func (l *nshLayer) NextLayerType() gopacket.LayerType { return nextProtocol(l.next) }
func (l *nshLayer) CanDecode() gopacket.LayerClass    { return layerTypeNSH }
func (l *nshLayer) LayerType() gopacket.LayerType     { return layerTypeNSH }

// tzspLayer reads TaZmen Sniffer Protocol (UDP 37008), which Mikrotik and
// other devices stream captured frames in: a header, tagged fields up to
// an END tag, then the frame.
type tzspLayer struct {
	layers.BaseLayer
	encapsulation uint16
	tunnels       *tunnelState
}

func (l *tzspLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 4 || data[0] != 1 {
		return errors.New("not a TZSP packet")
	}
	if data[1] > 1 { // 0 received, 1 transmitted; the rest are not frames
		return fmt.Errorf("TZSP type %d carries no frame", data[1])
	}
	l.encapsulation = binary.BigEndian.Uint16(data[2:])
	n := 4
	for {
		if n >= len(data) {
			return errShort
		}
		tag := data[n]
		n++
		if tag == 1 { // END
			break
		}
		if tag == 0 { // PADDING
			continue
		}
		if n >= len(data) {
			return errShort
		}
		n += 1 + int(data[n])
	}
	if n > len(data) {
		return errShort
	}
	l.tunnels.enter(TunnelTZSP, 0, false)
	l.BaseLayer = layers.BaseLayer{Contents: data[:n], Payload: data[n:]}
	return nil
}

func (l *tzspLayer) NextLayerType() gopacket.LayerType {
	switch l.encapsulation {
	case 1:
		return layers.LayerTypeEthernet
	case 18:
		return layers.LayerTypeDot11
	}
	return gopacket.LayerTypeZero
}
func (l *tzspLayer) CanDecode() gopacket.LayerClass { return layerTypeTZSP }
func (l *tzspLayer) LayerType() gopacket.LayerType  { return layerTypeTZSP }
