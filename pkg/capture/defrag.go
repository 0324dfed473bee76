package capture

import (
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/saaslens/saaslens/pkg/reassembly"
)

// IP fragments are rare but carry what matters more often than their
// share suggests: large DNS answers (DNSSEC, EDNS) arrive that way. A few
// datagrams are reassembled at a time, bounded in number and age.
const (
	maxFragmented = 64
	fragmentLife  = int64(30 * time.Second)
	maxDatagram   = 65535
)

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    layers.IPProtocol
}

type fragmented struct {
	parts *reassembly.Prefix
	// total is the datagram's length, known once the last fragment came.
	total int
	first int64
}

type fragments map[fragKey]*fragmented

// reassemble adds the fragment just decoded; when it completes a TCP or
// UDP datagram, that datagram is decoded into d.Frame and true returned.
func (d *Decoder) reassemble(ipLayer gopacket.LayerType, ci gopacket.CaptureInfo, link layers.LinkType) bool {
	var k fragKey
	var off int
	var more bool
	var data []byte
	if ipLayer == layers.LayerTypeIPv4 {
		copy(k.src[:], d.ip4.SrcIP.To16())
		copy(k.dst[:], d.ip4.DstIP.To16())
		k.id, k.proto = uint32(d.ip4.Id), d.ip4.Protocol
		off, more, data = int(d.ip4.FragOffset)*8, d.ip4.Flags&layers.IPv4MoreFragments != 0, d.ip4.Payload
	} else {
		copy(k.src[:], d.ip6.SrcIP.To16())
		copy(k.dst[:], d.ip6.DstIP.To16())
		k.id, k.proto = d.ip6frag.Identification, d.ip6frag.NextHeader
		off, more, data = int(d.ip6frag.FragmentOffset)*8, d.ip6frag.MoreFragments, d.ip6frag.Payload
	}
	if k.proto != layers.IPProtocolTCP && k.proto != layers.IPProtocolUDP {
		return false
	}
	now := ci.Timestamp.UnixNano()
	if d.frags == nil {
		d.frags = make(fragments)
	}
	fr := d.frags[k]
	if fr == nil {
		d.frags.evict(now)
		fr = &fragmented{parts: reassembly.NewPrefix(maxDatagram), total: -1, first: now}
		d.frags[k] = fr
	}
	fr.parts.Add(off, data)
	if !more {
		fr.total = off + len(data)
	}
	if fr.total < 0 || fr.parts.Len() < fr.total {
		return false
	}
	delete(d.frags, k)
	datagram := fr.parts.Bytes()[:fr.total]
	transport := layers.LayerTypeUDP
	var err error
	if k.proto == layers.IPProtocolTCP {
		transport = layers.LayerTypeTCP
		err = d.tcp.DecodeFromBytes(datagram, gopacket.NilDecodeFeedback)
	} else {
		err = d.udp.DecodeFromBytes(datagram, gopacket.NilDecodeFeedback)
	}
	if err != nil {
		return false
	}
	header := d.fillFrame(ci, link, ipLayer, transport)
	f := &d.Frame
	f.PayloadLen = fr.total - len(header)
	if ipLayer == layers.LayerTypeIPv4 {
		f.IPLen = int(d.ip4.IHL)*4 + fr.total
	} else {
		f.IPLen = 40 + 8 + fr.total
	}
	return true
}

// evict drops reassemblies that are too old, then, if the table is
// still full, an arbitrary one.
func (fs fragments) evict(now int64) {
	for k, fr := range fs {
		if now-fr.first > fragmentLife {
			delete(fs, k)
		}
	}
	for k := range fs {
		if len(fs) < maxFragmented {
			break
		}
		delete(fs, k)
	}
}
