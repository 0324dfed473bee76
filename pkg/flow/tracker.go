package flow

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/extract/quic"
	"github.com/saaslens/saaslens/pkg/reassembly"
)

// Config bounds the Tracker's memory and sets its timeouts.
type Config struct {
	// TCPIdle and UDPIdle end streams that saw no packet for that long.
	TCPIdle, UDPIdle time.Duration
	// ClosedLinger keeps a stream closed by FIN or RST for late packets.
	ClosedLinger time.Duration
	// PrefixLimit bounds the client bytes reassembled per TCP stream to
	// find a ClientHello or an HTTP request.
	PrefixLimit int
	// MaxQUICInitials is how many client datagrams are tried for a QUIC
	// ClientHello before giving up on a UDP stream.
	MaxQUICInitials int
	// MaxDNSNames bounds the address-to-name table built from DNS answers.
	MaxDNSNames int
	// DNSNameMinLife keeps a DNS answer usable at least this long, since
	// connections outlive the TTLs of the lookups that started them.
	DNSNameMinLife time.Duration
	// MaxStreams bounds the streams held open at once. A SYN flood or a
	// scan opens one per packet; past the bound the least useful streams
	// (half-open ones first, then the longest idle) end early, as
	// EndEvicted, an eighth of the bound at a time. 0 sets no bound.
	MaxStreams int
	// NameByAddress, when set, names a server no DNS answer named, from
	// its address alone (the catalog's published address ranges of
	// services reached without a name: meeting media, public resolvers);
	// a name from the traffic itself (SNI, QUIC, HTTP) still wins.
	NameByAddress func(netip.Addr) (string, bool)
}

// DefaultConfig has the timeouts of common flow meters (Zeek's TCP and UDP
// inactivity timeouts) and bounds fit for a busy office link.
func DefaultConfig() Config {
	return Config{
		TCPIdle:         5 * time.Minute,
		UDPIdle:         time.Minute,
		ClosedLinger:    5 * time.Second,
		PrefixLimit:     32 << 10,
		MaxQUICInitials: 8,
		MaxDNSNames:     1 << 20,
		DNSNameMinLife:  time.Hour,
		MaxStreams:      1 << 18,
	}
}

// sweepEvery is how much capture time passes between timeout sweeps.
const sweepEvery = int64(10 * time.Second)

// key identifies a stream regardless of direction: endpoint A is the one
// that sorts first.
type key struct {
	addrA, addrB [16]byte
	portA, portB uint16
	proto        uint8
}

type stream struct {
	Stream
	// clientIsA orients the key: whether endpoint A is the client.
	clientIsA bool
	finSeen   [2]bool

	synTime, synAckTime int64
	helloTime           int64
	serverReplied       bool
	// seqEnd is, per direction, the sequence number just past the bytes
	// seen so far (SYN and FIN count one), once seqSeen.
	seqEnd  [2]uint32
	seqSeen [2]bool

	// Client byte stream reassembly for TLS/HTTP, until decided.
	clientBase    uint32
	clientBaseSet bool
	clientPrefix  *reassembly.Prefix
	// Server byte stream for DNS over TCP.
	serverBase    uint32
	serverBaseSet bool
	serverPrefix  *reassembly.Prefix
	serverParsed  int

	quic        *quic.Client
	quicTries   int
	quicGaveUp  bool
	inspectDone bool

	// changed: packets since the last Delta. (Carried: some Delta holds
	// it, under itemKey, so its end must be recorded too.)
	changed bool
	itemKey []byte
}

type sightingKey struct {
	mac [6]byte
	ip  [16]byte
}

type dnsKey struct{ client, addr [16]byte }

type dnsName struct {
	name    string
	expires int64
	// persisted: some Delta carried it, so its end must be recorded.
	persisted bool
}

// Tracker follows streams across packets and across the files of a
// rotated capture: keep one Tracker for a run of consecutive files.
type Tracker struct {
	cfg        Config
	sink       Sink
	packetSink PacketSink
	streams    map[key]*stream
	halfOpen   map[key]halfOpen

	now, nextSweep  int64
	packetsSinceSwp int
	expired         []ending

	sightings map[sightingKey]*Sighting
	dnsByPair map[dnsKey]dnsName
	dnsByAddr map[[16]byte]dnsName

	// What changed since the last Delta, so that a store rewrites only
	// that at each file. Changed streams are flagged in place instead:
	// a list would keep every stream of a long inspect run alive.
	changedPairs map[dnsKey]struct{}
	changedAddrs map[[16]byte]struct{}
	deleted      []StateItem
	evicted      uint64

	hello  Hello
	dnsRec DNSResponse
	dhcp   DHCP
	packet Packet
	// record is a half-open stream's record, as handed to the sink.
	record Stream
}

// NewTracker returns a Tracker delivering records to sink.
func NewTracker(cfg Config, sink Sink) *Tracker {
	t := &Tracker{
		cfg:       cfg,
		sink:      sink,
		streams:   make(map[key]*stream),
		halfOpen:  make(map[key]halfOpen),
		sightings: make(map[sightingKey]*Sighting),
		dnsByPair: make(map[dnsKey]dnsName),
		dnsByAddr: make(map[[16]byte]dnsName),

		changedPairs: make(map[dnsKey]struct{}),
		changedAddrs: make(map[[16]byte]struct{}),
	}
	t.packetSink, _ = sink.(PacketSink)
	return t
}

// Active is the number of streams held in memory.
func (t *Tracker) Active() int { return len(t.streams) + len(t.halfOpen) }

// Handle is a capture.Handler: it accounts one TCP or UDP packet.
func (t *Tracker) Handle(f *capture.Frame) {
	if f.Time > t.now {
		t.now = f.Time
	}
	t.packetsSinceSwp++
	// A sweep visits every stream; waiting for packets to number an eighth
	// of them keeps its cost per packet bounded.
	if t.now >= t.nextSweep && t.packetsSinceSwp*8 >= t.Active() {
		t.sweep()
	}

	src, dst := f.Src.As16(), f.Dst.As16()
	k := key{proto: uint8(f.Proto)}
	srcIsA := compareEndpoints(src, f.SrcPort, dst, f.DstPort) <= 0
	if srcIsA {
		k.addrA, k.portA, k.addrB, k.portB = src, f.SrcPort, dst, f.DstPort
	} else {
		k.addrA, k.portA, k.addrB, k.portB = dst, f.DstPort, src, f.SrcPort
	}
	s := t.streams[k]
	if s == nil {
		if h, ok := t.halfOpen[k]; ok {
			if bareSYN(f) && srcIsA == h.clientIsA {
				t.synAgain(k, h, f)
				return
			}
			s = t.promote(k, h)
		}
	}
	if s != nil && f.Proto == layers.IPProtocolTCP && f.TCPFlags&(capture.FlagSYN|capture.FlagACK) == capture.FlagSYN && s.isClosed() {
		t.end(s, k, EndReuse)
		s = nil
	}
	if s == nil && t.cfg.MaxStreams > 0 && t.Active() >= t.cfg.MaxStreams {
		t.evict()
	}
	if s == nil && bareSYN(f) {
		t.openHalf(k, f, srcIsA)
		return
	}
	if s == nil {
		s = t.open(k, f, srcIsA)
	}
	dir := ToServer
	if srcIsA != s.clientIsA {
		dir = ToClient
	}
	s.account(f, dir)
	s.changed = true
	if t.packetSink != nil {
		t.packet = Packet{StreamID: s.ID, Time: f.Time, Length: f.IPLen, Direction: dir}
		t.packetSink.Packet(&t.packet)
	}
	if dir == ToServer && f.HasMAC {
		t.sight(f, s)
	}
	if f.Proto == layers.IPProtocolTCP {
		t.tcp(s, f, dir)
	} else {
		t.udp(s, f, dir)
	}
}

func compareEndpoints(a [16]byte, pa uint16, b [16]byte, pb uint16) int {
	if c := bytes.Compare(a[:], b[:]); c != 0 {
		return c
	}
	return int(pa) - int(pb)
}

func (t *Tracker) open(k key, f *capture.Frame, srcIsA bool) *stream {
	clientIsSrc := clientIsSource(f)
	s := &stream{clientIsA: clientIsSrc == srcIsA}
	s.Proto = f.Proto
	if clientIsSrc {
		s.Client, s.ClientPort, s.Server, s.ServerPort = f.Src, f.SrcPort, f.Dst, f.DstPort
	} else {
		s.Client, s.ClientPort, s.Server, s.ServerPort = f.Dst, f.DstPort, f.Src, f.SrcPort
	}
	s.First = f.Time
	s.MirrorSource = f.Tunnel.Source()
	s.ID = streamIDOf(s.Client, s.Server, s.ClientPort, s.ServerPort, s.Proto, s.First)
	s.ServerName, s.NameSource = t.nameOf(s.Client, s.Server)
	t.streams[k] = s
	return s
}

// nameOf is the server's name as a new stream starts: from the client's
// DNS lookup, else from the address alone.
func (t *Tracker) nameOf(client, server netip.Addr) (string, NameSource) {
	if name, ok := t.lookupName(client, server); ok {
		return name, SourceDNS
	}
	if t.cfg.NameByAddress != nil {
		if name, ok := t.cfg.NameByAddress(server); ok {
			return name, SourceRange
		}
	}
	return "", SourceNone
}

// streamIDOf hashes the oriented 5-tuple and start time into 63 bits, so
// it fits SQLite's signed INTEGER.
func streamIDOf(client, server netip.Addr, clientPort, serverPort uint16, proto layers.IPProtocol, first int64) int64 {
	h := fnv.New64a()
	var b [16 + 16 + 2 + 2 + 1 + 8]byte
	c, sv := client.As16(), server.As16()
	copy(b[0:], c[:])
	copy(b[16:], sv[:])
	binary.BigEndian.PutUint16(b[32:], clientPort)
	binary.BigEndian.PutUint16(b[34:], serverPort)
	b[36] = uint8(proto)
	binary.BigEndian.PutUint64(b[37:], uint64(first))
	h.Write(b[:])
	return int64(h.Sum64() &^ (1 << 63))
}

// clientIsSource decides, from a stream's first packet, whether its sender
// is the client: a SYN says so, a SYN/ACK says the opposite, otherwise the
// port that looks more like a service marks the server.
func clientIsSource(f *capture.Frame) bool {
	if f.Proto == layers.IPProtocolTCP && f.TCPFlags&capture.FlagSYN != 0 {
		return f.TCPFlags&capture.FlagACK == 0
	}
	sr, dr := portRank(f.SrcPort), portRank(f.DstPort)
	if sr != dr {
		return dr > sr
	}
	return true
}

// wellKnownServices are ports that are servers even above 1024.
var wellKnownServices = map[uint16]bool{
	53: true, 67: true, 80: true, 123: true, 443: true, 853: true, 1194: true, 1433: true,
	1521: true, 1883: true, 3306: true, 3389: true, 3478: true, 4433: true, 5060: true,
	5061: true, 5222: true, 5223: true, 5228: true, 5349: true, 5432: true, 5938: true,
	6379: true, 8080: true, 8443: true, 8883: true, 9000: true, 19302: true,
}

func portRank(p uint16) int {
	switch {
	case wellKnownServices[p]:
		return 3
	case p < 1024:
		return 2
	case p < 32768:
		return 1
	}
	return 0
}

func (s *stream) isClosed() bool {
	return s.End == EndRST || (s.finSeen[0] && s.finSeen[1])
}

func (s *stream) account(f *capture.Frame, dir int) {
	if f.Time > s.Last {
		s.Last = f.Time
	}
	if f.Time < s.First { // merged captures can be slightly out of order
		s.First = f.Time
	}
	s.Packets[dir]++
	s.Bytes[dir] += uint64(f.IPLen)
	s.PayloadBytes[dir] += uint64(f.PayloadLen)
	if f.Proto != layers.IPProtocolTCP {
		return
	}
	s.TCPFlags[dir] |= f.TCPFlags
	if f.TCPFlags&capture.FlagFIN != 0 {
		s.finSeen[dir] = true
		if s.finSeen[0] && s.finSeen[1] && s.End != EndRST {
			s.End = EndFIN
		}
	}
	if f.TCPFlags&capture.FlagRST != 0 {
		s.End = EndRST
	}
	// A time that steps back (packets written out of order, a clock
	// set back between rotated files) measures nothing: only positive
	// intervals are kept.
	syn, ack := f.TCPFlags&capture.FlagSYN != 0, f.TCPFlags&capture.FlagACK != 0
	switch {
	case dir == ToServer && syn && !ack && s.synAckTime == 0:
		s.synTime = f.Time // the last SYN before the answer measures the path
	case dir == ToClient && syn && ack && s.synTime != 0 && s.synAckTime == 0 && f.Time > s.synTime:
		s.synAckTime = f.Time
		s.ServerRTT = f.Time - s.synTime
	case dir == ToServer && !syn && ack && s.synAckTime != 0 && s.ClientRTT == 0 && f.Time > s.synAckTime:
		s.ClientRTT = f.Time - s.synAckTime
	}
	s.trackSequence(f, dir, syn)
}

// trackSequence counts a segment whose bytes were all seen before in its
// direction as retransmitted. Sequence numbers wrap, so they are compared
// by their difference, as TCP does (RFC 9293, section 3.4).
func (s *stream) trackSequence(f *capture.Frame, dir int, syn bool) {
	length := uint32(f.PayloadLen)
	if syn {
		length++
	}
	if f.TCPFlags&capture.FlagFIN != 0 {
		length++
	}
	if length == 0 || f.TCPFlags&capture.FlagRST != 0 {
		return // a bare ACK or a reset carries no bytes to repeat
	}
	end := f.Seq + length
	if !s.seqSeen[dir] {
		s.seqEnd[dir], s.seqSeen[dir] = end, true
		return
	}
	ahead := int32(end - s.seqEnd[dir])
	switch {
	case ahead > 0:
		s.seqEnd[dir] = end
	case f.PayloadLen <= 1 && f.Seq == s.seqEnd[dir]-1 && !syn && f.TCPFlags&capture.FlagFIN == 0:
		// A keep-alive: one byte (or none) just before the next.
	default:
		s.Retransmits[dir]++
	}
}

func (t *Tracker) sight(f *capture.Frame, s *stream) {
	if !s.HasClientMAC {
		s.ClientMAC, s.HasClientMAC = f.SrcMAC, true
	}
	t.sightFrame(f)
}

// sightFrame notes that the frame's MAC sent from its address.
func (t *Tracker) sightFrame(f *capture.Frame) {
	if !isLocal(f.Src) {
		return
	}
	k := sightingKey{mac: f.SrcMAC, ip: f.Src.As16()}
	sg := t.sightings[k]
	if sg == nil && len(t.sightings) >= maxSightings {
		t.Checkpoint() // a flood from local addresses: deliver early, stay bounded
	}
	if sg == nil {
		sg = &Sighting{MAC: f.SrcMAC, IP: f.Src, First: f.Time}
		t.sightings[k] = sg
	}
	if f.Time > sg.Last {
		sg.Last = f.Time
	}
	if f.Time < sg.First {
		sg.First = f.Time
	}
	sg.Packets++
}

// maxSightings bounds the device sightings held between checkpoints.
const maxSightings = 1 << 14

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// isLocal tells whether an address belongs to a local network, whose
// frames carry the device's own MAC rather than a router's.
func isLocal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || a.IsLinkLocalUnicast() || cgnat.Contains(a)
}

// sweep ends the streams whose timeouts have passed.
func (t *Tracker) sweep() {
	t.nextSweep = t.now + sweepEvery
	t.packetsSinceSwp = 0
	t.expired = t.expired[:0]
	for _, s := range t.streams {
		if reason, ok := t.timedOut(s); ok {
			if s.End == EndOpen {
				s.End = reason
			}
			t.expired = append(t.expired, endingStream(s))
		}
	}
	for k, h := range t.halfOpen {
		if t.now-h.last >= int64(t.cfg.TCPIdle) {
			t.expired = append(t.expired, endingHalf(k, &h, EndIdle))
		}
	}
	t.endAll(t.expired)
	t.expireNames()
}

// ending is a stream about to be handed to the sink and taken out of
// the table, ending as end when it is half-open.
type ending struct {
	openKey
	end EndReason
}

func endingStream(s *stream) ending { return ending{openKey: openKey{first: s.First, id: s.ID, s: s}} }

func endingHalf(k key, h *halfOpen, end EndReason) ending {
	return ending{openKey: openKey{first: h.first, id: h.id, k: k}, end: end}
}

// endAll hands the streams to the sink in start order, so that output
// does not depend on map iteration order, and takes them out.
func (t *Tracker) endAll(list []ending) {
	slices.SortFunc(list, func(a, b ending) int {
		if c := cmp.Compare(a.first, b.first); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	for _, e := range list {
		if e.s != nil {
			t.sink.Stream(&e.s.Stream)
			t.remove(e.s, e.s.key())
			continue
		}
		h := t.halfOpen[e.k]
		h.fill(e.k, &t.record)
		t.record.End = e.end
		t.sink.Stream(&t.record)
		t.removeHalf(e.k, &h)
	}
}

// removeHalf takes an ended half-open stream out of the table, noting its
// end for the next Delta when an earlier one carried it.
func (t *Tracker) removeHalf(k key, h *halfOpen) {
	delete(t.halfOpen, k)
	if h.carried {
		t.deleted = append(t.deleted, StateItem{Kind: ItemHalfOpen, Key: itemKeyOf(h.savedFirst, h.id)})
	}
}

// evict ends the least useful eighth of the open streams: half-open ones
// (nothing heard from the server) first, then those idle longest. The
// sort runs over small values, not the streams: following a pointer per
// comparison made evictions most of a flood's cost.
func (t *Tracker) evict() {
	type candidate struct {
		answered bool
		last, id int64
		s        *stream // nil for a half-open one
	}
	list := make([]candidate, 0, t.Active())
	for _, s := range t.streams {
		list = append(list, candidate{answered: s.Packets[ToClient] > 0, last: s.Last, id: s.ID, s: s})
	}
	for _, h := range t.halfOpen {
		list = append(list, candidate{last: h.last, id: h.id})
	}
	slices.SortFunc(list, func(a, b candidate) int {
		if a.answered != b.answered {
			if a.answered {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(a.last, b.last); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	n := max(1, len(list)/8)
	victims := make([]ending, 0, n)
	halfOpen := map[int64]bool{}
	for _, c := range list[:n] {
		switch {
		case c.s == nil:
			halfOpen[c.id] = true
		default:
			if c.s.End == EndOpen {
				c.s.End = EndEvicted
			}
			victims = append(victims, endingStream(c.s))
		}
	}
	if len(halfOpen) > 0 {
		for k, h := range t.halfOpen {
			if halfOpen[h.id] {
				victims = append(victims, endingHalf(k, &h, EndEvicted))
			}
		}
	}
	t.endAll(victims)
	t.evicted += uint64(len(victims))
}

// Evicted counts the streams ended early because MaxStreams were open.
func (t *Tracker) Evicted() uint64 { return t.evicted }

// remove takes an ended stream out of the table, noting its end for the
// next Delta when an earlier one carried it.
func (t *Tracker) remove(s *stream, k key) {
	delete(t.streams, k)
	if s.Carried && s.itemKey != nil {
		t.deleted = append(t.deleted, StateItem{Kind: ItemStream, Key: s.itemKey})
	}
}

func (t *Tracker) timedOut(s *stream) (EndReason, bool) {
	idle := t.now - s.Last
	if s.isClosed() {
		return s.End, idle >= int64(t.cfg.ClosedLinger)
	}
	limit := t.cfg.UDPIdle
	if s.Proto == layers.IPProtocolTCP {
		limit = t.cfg.TCPIdle
	}
	return EndIdle, idle >= int64(limit)
}

func (s *stream) key() key {
	c, sv := s.Client.As16(), s.Server.As16()
	k := key{proto: uint8(s.Proto)}
	if s.clientIsA {
		k.addrA, k.portA, k.addrB, k.portB = c, s.ClientPort, sv, s.ServerPort
	} else {
		k.addrA, k.portA, k.addrB, k.portB = sv, s.ServerPort, c, s.ClientPort
	}
	return k
}

func (t *Tracker) end(s *stream, k key, reason EndReason) {
	if s.End == EndOpen || reason == EndReuse && !s.isClosed() {
		s.End = reason
	}
	t.sink.Stream(&s.Stream)
	t.remove(s, k)
}

func sortByStart(list []*stream) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].First != list[j].First {
			return list[i].First < list[j].First
		}
		return list[i].ID < list[j].ID
	})
}

// Checkpoint delivers the device sightings gathered since the last one;
// call it at the end of each file so each file's records stand alone.
func (t *Tracker) Checkpoint() {
	list := make([]*Sighting, 0, len(t.sightings))
	for _, sg := range t.sightings {
		list = append(list, sg)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].First != list[j].First {
			return list[i].First < list[j].First
		}
		return bytes.Compare(list[i].MAC[:], list[j].MAC[:]) < 0
	})
	for _, sg := range list {
		t.sink.Sighting(sg)
	}
	clear(t.sightings)
}

// Flush ends every stream still open, as at the end of the input.
func (t *Tracker) Flush() {
	t.expired = t.expired[:0]
	for _, s := range t.streams {
		t.expired = append(t.expired, endingStream(s))
	}
	for k, h := range t.halfOpen {
		t.expired = append(t.expired, endingHalf(k, &h, EndOpen))
	}
	t.endAll(t.expired)
	t.Checkpoint()
}
