package capture

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// gopacket decodes MPLS, PPPoE, PPP and NFLOG only through its allocating
// packet API, and has no "IP of either version" link layer; these small
// DecodingLayers fill those gaps on the zero-allocation path.

var (
	layerTypeRawIP = gopacket.RegisterLayerType(1700, gopacket.LayerTypeMetadata{Name: "RawIP"})
	layerTypeNFLOG = gopacket.RegisterLayerType(1701, gopacket.LayerTypeMetadata{Name: "NFLOG"})
)

var errShort = errors.New("header truncated")

// ipVersionLayer picks IPv4 or IPv6 from the version nibble.
func ipVersionLayer(b []byte) gopacket.LayerType {
	if len(b) == 0 {
		return gopacket.LayerTypeZero
	}
	switch b[0] >> 4 {
	case 4:
		return layers.LayerTypeIPv4
	case 6:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}

type rawIPLayer struct{ layers.BaseLayer }

func (l *rawIPLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	l.BaseLayer = layers.BaseLayer{Contents: data[:0], Payload: data}
	return nil
}
func (l *rawIPLayer) CanDecode() gopacket.LayerClass    { return layerTypeRawIP }
func (l *rawIPLayer) NextLayerType() gopacket.LayerType { return ipVersionLayer(l.Payload) }
func (l *rawIPLayer) LayerType() gopacket.LayerType     { return layerTypeRawIP }

// mplsLayer skips a label stack; what follows is guessed from the IP
// version nibble, as tcpdump does for the common IP-over-MPLS case.
type mplsLayer struct{ layers.BaseLayer }

func (l *mplsLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	for i := 0; ; i += 4 {
		if len(data) < i+4 {
			return errShort
		}
		if data[i+2]&0x01 != 0 { // bottom of stack
			l.BaseLayer = layers.BaseLayer{Contents: data[:i+4], Payload: data[i+4:]}
			return nil
		}
	}
}
func (l *mplsLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeMPLS }
func (l *mplsLayer) NextLayerType() gopacket.LayerType { return ipVersionLayer(l.Payload) }
func (l *mplsLayer) LayerType() gopacket.LayerType     { return layers.LayerTypeMPLS }

// pppLayer reads a PPP protocol field (RFC 1661), compressed or not, with
// or without the HDLC address/control prefix of LINKTYPE_PPP.
type pppLayer struct {
	layers.BaseLayer
	protocol uint16
}

func (l *pppLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	b := data
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) < 1 {
		return errShort
	}
	n := 2
	if b[0]&0x01 != 0 { // protocol field compressed to one byte
		n = 1
		l.protocol = uint16(b[0])
	} else if len(b) < 2 {
		return errShort
	} else {
		l.protocol = binary.BigEndian.Uint16(b)
	}
	hdr := len(data) - len(b) + n
	l.BaseLayer = layers.BaseLayer{Contents: data[:hdr], Payload: data[hdr:]}
	return nil
}
func (l *pppLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPP }
func (l *pppLayer) NextLayerType() gopacket.LayerType {
	switch l.protocol {
	case 0x0021:
		return layers.LayerTypeIPv4
	case 0x0057:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}
func (l *pppLayer) LayerType() gopacket.LayerType { return layers.LayerTypePPP }

// pppoeLayer reads a PPPoE session header (RFC 2516) and hands on to PPP.
type pppoeLayer struct{ layers.BaseLayer }

func (l *pppoeLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 6 {
		return errShort
	}
	end := 6 + int(binary.BigEndian.Uint16(data[4:6]))
	if end > len(data) {
		end = len(data)
	}
	l.BaseLayer = layers.BaseLayer{Contents: data[:6], Payload: data[6:end]}
	return nil
}
func (l *pppoeLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPPoE }
func (l *pppoeLayer) NextLayerType() gopacket.LayerType { return layers.LayerTypePPP }
func (l *pppoeLayer) LayerType() gopacket.LayerType     { return layers.LayerTypePPPoE }

// nflogLayer finds the packet inside a Linux NFLOG record: a 4-byte header
// then TLVs whose lengths are in host (here: little-endian) byte order.
type nflogLayer struct {
	layers.BaseLayer
	family uint8
}

const nflogAttrPayload = 9

func (l *nflogLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 4 {
		return errShort
	}
	l.family = data[0]
	for off := 4; off+4 <= len(data); {
		tlvLen := int(binary.LittleEndian.Uint16(data[off:]))
		typ := binary.LittleEndian.Uint16(data[off+2:]) & 0x7fff
		if tlvLen < 4 || off+tlvLen > len(data) {
			return errors.New("bad NFLOG TLV length")
		}
		if typ == nflogAttrPayload {
			l.BaseLayer = layers.BaseLayer{Contents: data[:off+4], Payload: data[off+4 : off+tlvLen]}
			return nil
		}
		off += (tlvLen + 3) &^ 3
	}
	return errors.New("NFLOG record without payload")
}
func (l *nflogLayer) CanDecode() gopacket.LayerClass { return layerTypeNFLOG }
func (l *nflogLayer) NextLayerType() gopacket.LayerType {
	switch l.family {
	case 2:
		return layers.LayerTypeIPv4
	case 10:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}
func (l *nflogLayer) LayerType() gopacket.LayerType { return layerTypeNFLOG }

// linkTypeNFLOG is LINKTYPE_NFLOG, which gopacket does not name.
const linkTypeNFLOG layers.LinkType = 239
