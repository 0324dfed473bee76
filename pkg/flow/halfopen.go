package flow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
	"github.com/saaslens/saaslens/pkg/capture"
)

// halfOpen is a TCP stream that has seen nothing but its client's bare
// SYNs (no data, as TCP Fast Open would carry): what a SYN flood or a port
// scan opens by the hundred thousand. It is held as this value, a third
// of a stream's size and nothing for the collector to follow, until the
// server answers or the client sends anything else; then it becomes the
// stream those same packets would have made (promote).
type halfOpen struct {
	id, first, last int64
	// synTime is the last SYN's time, which the server's SYN/ACK measures
	// from; clientBase the byte after it; seqEnd the highest sequence
	// end seen, for retransmits.
	synTime            int64
	bytes              uint64
	packets, retrans   uint32
	seqEnd, clientBase uint32
	name, mirror       string
	mac                [6]byte
	flags              uint8
	nameSource         NameSource
	hasMAC, clientIsA  bool
	// v6: the addresses came as IPv6 (a v4-mapped one stays so).
	v6 bool
	// changed: SYNs since the last Delta; carried: a Delta saved it, under
	// the key its first packet time then gave (savedFirst).
	changed, carried bool
	savedFirst       int64
}

// bareSYN is a client's opening SYN with nothing else in it.
func bareSYN(f *capture.Frame) bool {
	return f.Proto == layers.IPProtocolTCP && f.TCPFlags&(capture.FlagSYN|capture.FlagACK|capture.FlagFIN|capture.FlagRST) == capture.FlagSYN &&
		f.PayloadLen == 0 && len(f.Payload) == 0
}

// openHalf starts a half-open stream with its first SYN.
func (t *Tracker) openHalf(k key, f *capture.Frame, srcIsA bool) {
	h := halfOpen{first: f.Time, clientIsA: srcIsA, mirror: f.Tunnel.Source(), seqEnd: f.Seq + 1, v6: f.Src.Is6()}
	h.id = streamIDOf(f.Src, f.Dst, f.SrcPort, f.DstPort, layers.IPProtocolTCP, f.Time)
	h.name, h.nameSource = t.nameOf(f.Src, f.Dst)
	t.synAgain(k, h, f)
}

// synAgain accounts a client SYN to a half-open stream as account, tcp
// and sight would to a stream.
func (t *Tracker) synAgain(k key, h halfOpen, f *capture.Frame) {
	if f.Time > h.last {
		h.last = f.Time
	}
	if f.Time < h.first {
		h.first = f.Time
	}
	h.packets++
	h.bytes += uint64(f.IPLen)
	h.flags |= f.TCPFlags
	h.synTime = f.Time
	if h.packets > 1 { // the first SYN set seqEnd
		if end := f.Seq + 1; int32(end-h.seqEnd) > 0 {
			h.seqEnd = end
		} else {
			h.retrans++
		}
	}
	h.clientBase = f.Seq + 1
	h.changed = true
	if t.packetSink != nil {
		t.packet = Packet{StreamID: h.id, Time: f.Time, Length: f.IPLen, Direction: ToServer}
		t.packetSink.Packet(&t.packet)
	}
	if f.HasMAC {
		if !h.hasMAC {
			h.mac, h.hasMAC = f.SrcMAC, true
		}
		t.sightFrame(f)
	}
	t.halfOpen[k] = h
}

// promote turns a half-open stream into the stream its SYNs made, for a
// packet that is not another bare SYN of its client.
func (t *Tracker) promote(k key, h halfOpen) *stream {
	s := &stream{clientIsA: h.clientIsA, synTime: h.synTime, changed: h.changed}
	h.fill(k, &s.Stream)
	s.seqEnd[ToServer], s.seqSeen[ToServer] = h.seqEnd, true
	s.clientBase, s.clientBaseSet = h.clientBase, true
	delete(t.halfOpen, k)
	if h.carried {
		// The next Delta saves it as a stream, if it changes; the store
		// drops the half-open item either way.
		t.deleted = append(t.deleted, StateItem{Kind: ItemHalfOpen, Key: itemKeyOf(h.savedFirst, h.id)})
	}
	t.streams[k] = s
	return s
}

// fill writes the stream record h stands for into s.
func (h *halfOpen) fill(k key, s *Stream) {
	*s = Stream{ID: h.id, Proto: layers.IPProtocolTCP, ClientMAC: h.mac, HasClientMAC: h.hasMAC, MirrorSource: h.mirror,
		First: h.first, Last: h.last, Carried: h.carried, ServerName: h.name, NameSource: h.nameSource}
	a, b := netip.AddrFrom16(k.addrA), netip.AddrFrom16(k.addrB)
	if !h.v6 {
		a, b = a.Unmap(), b.Unmap()
	}
	if h.clientIsA {
		s.Client, s.ClientPort, s.Server, s.ServerPort = a, k.portA, b, k.portB
	} else {
		s.Client, s.ClientPort, s.Server, s.ServerPort = b, k.portB, a, k.portA
	}
	s.Packets[ToServer], s.Bytes[ToServer], s.TCPFlags[ToServer], s.Retransmits[ToServer] = uint64(h.packets), h.bytes, h.flags, uint64(h.retrans)
}

// halfOpenValueLen is the fixed part of a saved half-open stream.
const halfOpenValueLen = 16 + 16 + 2 + 2 + 1 + 8*5 + 4*4 + 6 + 1 + 1

// halfOpenValue is h's saved form, with its stream's key: fixed fields,
// then the name and mirror source, each after its length.
func halfOpenValue(k key, h *halfOpen) []byte {
	b := make([]byte, 0, halfOpenValueLen+2+len(h.name)+len(h.mirror))
	b = append(b, k.addrA[:]...)
	b = append(b, k.addrB[:]...)
	b = binary.BigEndian.AppendUint16(b, k.portA)
	b = binary.BigEndian.AppendUint16(b, k.portB)
	var flags byte
	for i, v := range []bool{h.clientIsA, h.hasMAC, h.v6} {
		if v {
			flags |= 1 << i
		}
	}
	b = append(b, flags)
	for _, v := range []int64{h.id, h.first, h.last, h.synTime, int64(h.bytes)} {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	for _, v := range []uint32{h.packets, h.retrans, h.seqEnd, h.clientBase} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = append(b, h.mac[:]...)
	b = append(b, h.flags, byte(h.nameSource))
	b = binary.AppendUvarint(b, uint64(len(h.name)))
	b = append(b, h.name...)
	b = binary.AppendUvarint(b, uint64(len(h.mirror)))
	return append(b, h.mirror...)
}

var errHalfOpenValue = errors.New("flow: saved half-open stream cut short")

// readHalfOpen reads halfOpenValue's form back.
func readHalfOpen(v []byte) (key, halfOpen, error) {
	var k key
	var h halfOpen
	if len(v) < halfOpenValueLen {
		return k, h, errHalfOpenValue
	}
	k.proto = uint8(layers.IPProtocolTCP)
	k.addrA, k.addrB = [16]byte(v[0:16]), [16]byte(v[16:32])
	k.portA, k.portB = binary.BigEndian.Uint16(v[32:]), binary.BigEndian.Uint16(v[34:])
	h.clientIsA, h.hasMAC, h.v6 = v[36]&1 != 0, v[36]&2 != 0, v[36]&4 != 0
	v = v[37:]
	for _, p := range []*int64{&h.id, &h.first, &h.last, &h.synTime} {
		*p, v = int64(binary.BigEndian.Uint64(v)), v[8:]
	}
	h.bytes, v = binary.BigEndian.Uint64(v), v[8:]
	for _, p := range []*uint32{&h.packets, &h.retrans, &h.seqEnd, &h.clientBase} {
		*p, v = binary.BigEndian.Uint32(v), v[4:]
	}
	h.mac, v = [6]byte(v[:6]), v[6:]
	h.flags, h.nameSource, v = v[0], NameSource(v[1]), v[2:]
	var err error
	if h.name, v, err = readString(v); err != nil {
		return k, h, err
	}
	if h.mirror, v, err = readString(v); err != nil {
		return k, h, err
	}
	if len(v) != 0 || h.nameSource > SourceRange || h.packets == 0 {
		return k, h, fmt.Errorf("flow: saved half-open stream %d is malformed", h.id)
	}
	return k, h, nil
}

func readString(v []byte) (string, []byte, error) {
	n, used := binary.Uvarint(v)
	if used <= 0 || n > uint64(len(v)-used) {
		return "", nil, errHalfOpenValue
	}
	return string(v[used : used+int(n)]), v[used+int(n):], nil
}
