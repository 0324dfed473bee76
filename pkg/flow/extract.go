package flow

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/extract/dhcp"
	"github.com/saaslens/saaslens/pkg/extract/dns"
	"github.com/saaslens/saaslens/pkg/extract/http"
	"github.com/saaslens/saaslens/pkg/extract/quic"
	"github.com/saaslens/saaslens/pkg/extract/tls"
	"github.com/saaslens/saaslens/pkg/reassembly"
)

// maxDNSOverTCP bounds the server bytes kept for DNS over TCP (zone
// transfers are not what we look for).
const maxDNSOverTCP = 64 << 10

func (t *Tracker) tcp(s *stream, f *capture.Frame, dir int) {
	syn := f.TCPFlags&capture.FlagSYN != 0
	if dir == ToServer {
		if syn {
			s.clientBase, s.clientBaseSet = f.Seq+1, true
		}
		if !s.inspectDone && len(f.Payload) > 0 {
			t.clientBytes(s, f)
		}
		return
	}
	if syn {
		s.serverBase, s.serverBaseSet = f.Seq+1, true
	}
	if len(f.Payload) == 0 {
		return
	}
	if s.helloTime != 0 && !s.serverReplied {
		s.serverReplied = true
		if tls.IsServerHello(f.Payload) {
			s.TLSHandshake = max(f.Time-s.helloTime, 0) // 0: not measured
		}
	}
	if s.ServerPort == 53 {
		t.dnsOverTCP(s, f)
	}
}

// clientBytes reassembles the start of the client's byte stream until it
// shows a ClientHello, an HTTP request, or neither.
func (t *Tracker) clientBytes(s *stream, f *capture.Frame) {
	seq := f.Seq
	if f.TCPFlags&capture.FlagSYN != 0 { // data in a SYN (TCP Fast Open) follows the SYN's own number
		seq++
	}
	if !s.clientBaseSet {
		s.clientBase, s.clientBaseSet = seq, true
	}
	off := int(int32(seq - s.clientBase))
	if off < 0 || off >= t.cfg.PrefixLimit {
		return
	}
	if s.clientPrefix == nil {
		// The common case, a whole ClientHello or request in the first
		// segment, needs no copy.
		if off == 0 && t.inspectClient(s, f, f.Payload, false) {
			return
		}
		s.clientPrefix = reassembly.NewPrefix(t.cfg.PrefixLimit)
	}
	if !s.clientPrefix.Add(off, f.Payload) && !s.clientPrefix.Overflow() {
		return
	}
	t.inspectClient(s, f, s.clientPrefix.Bytes(), s.clientPrefix.Full())
}

// inspectClient looks at the client's first bytes; it returns true once
// the stream needs no more of them.
func (t *Tracker) inspectClient(s *stream, f *capture.Frame, b []byte, full bool) bool {
	if len(b) == 0 {
		return false
	}
	if s.helloTime == 0 && tls.LooksLikeHandshake(b) {
		s.helloTime = f.Time
	}
	done := true
	switch {
	case tls.LooksLikeHandshake(b):
		hello, err := tls.ParseClientHelloRecords(b)
		if err == tls.ErrNeedMore && !full {
			done = false
		} else if hello != nil {
			t.emitHello(s, f.Time, hello, false, 0)
		}
	case http.LooksLikeRequest(b):
		req, err := http.ParseRequest(b)
		if err == http.ErrNeedMore && !full {
			done = false
		} else if req != nil && req.Host != "" && s.NameSource != SourceSNI {
			s.ServerName, s.NameSource = req.Host, SourceHTTP
		}
	}
	if done {
		s.inspectDone, s.clientPrefix = true, nil
	}
	return done
}

func (t *Tracker) emitHello(s *stream, at int64, h *tls.ClientHello, overQUIC bool, quicVersion uint32) {
	if h.ServerName != "" {
		s.ServerName = h.ServerName
		s.NameSource = SourceSNI
		if overQUIC {
			s.NameSource = SourceQUIC
		}
	}
	s.ALPN = strings.Join(h.ALPN, ",")
	s.TLSVersion = h.MaxVersion()
	s.ECH = h.ECH
	t.hello = Hello{
		StreamID: s.ID, Time: at, Client: s.Client, Server: s.Server,
		ClientPort: s.ClientPort, ServerPort: s.ServerPort,
		QUIC: overQUIC, QUICVersion: quicVersion,
		ServerName: h.ServerName, ALPN: h.ALPN, Versions: h.Versions,
		LegacyVersion: h.LegacyVersion, ECH: h.ECH, ESNI: h.ESNI,
	}
	t.sink.Hello(&t.hello)
}

func (t *Tracker) udp(s *stream, f *capture.Frame, dir int) {
	switch {
	case s.ServerPort == 53:
		if dir == ToClient {
			t.dnsMessage(s, f, f.Payload)
		}
		return
	case s.ServerPort == 67 || s.ServerPort == 68 || s.ClientPort == 67 || s.ClientPort == 68:
		t.dhcpMessage(s, f)
		return
	}
	if dir == ToServer && !s.inspectDone && http.LooksLikeRequest(f.Payload) {
		// HTTP over UDP: SSDP and other UPnP discovery.
		if req, err := http.ParseRequest(f.Payload); err == nil && req.Host != "" {
			s.ServerName, s.NameSource = req.Host, SourceHTTP
		}
		s.inspectDone = true
		return
	}
	if dir == ToClient {
		if s.helloTime != 0 && !s.serverReplied && quic.IsLongHeader(f.Payload) {
			s.serverReplied = true
			s.TLSHandshake = max(f.Time-s.helloTime, 0) // 0: not measured
		}
		return
	}
	if s.quicGaveUp || s.inspectDone {
		return
	}
	if version, name, ok := quic.GoogleCHLO(f.Payload); ok {
		// Google QUIC with its CHLO in the clear: one look is enough.
		s.QUICVersion, s.inspectDone = version, true
		if name != "" {
			s.helloTime = f.Time
			t.emitHello(s, f.Time, &tls.ClientHello{ServerName: name}, true, version)
		}
		return
	}
	if !quic.IsLongHeader(f.Payload) {
		return
	}
	if s.quic == nil {
		s.quic = quic.NewClient()
	}
	s.quicTries++
	hello, err := s.quic.AddDatagram(f.Payload)
	if s.quic.Version != 0 {
		s.QUICVersion = s.quic.Version
		if s.helloTime == 0 && s.quic.Opened > 0 {
			s.helloTime = f.Time
		}
	}
	switch {
	case hello != nil:
		t.emitHello(s, f.Time, hello, true, s.quic.Version)
		s.inspectDone, s.quic = true, nil
	case err != tls.ErrNeedMore && s.quic.Opened == 0 && s.quicTries >= 2,
		s.quicTries >= t.cfg.MaxQUICInitials:
		s.quicGaveUp, s.quic = true, nil
	}
}

func (t *Tracker) dnsOverTCP(s *stream, f *capture.Frame) {
	if !s.serverBaseSet {
		s.serverBase, s.serverBaseSet = f.Seq, true
	}
	off := int(int32(f.Seq - s.serverBase))
	if off < 0 || off >= maxDNSOverTCP {
		return
	}
	if s.serverPrefix == nil {
		s.serverPrefix = reassembly.NewPrefix(maxDNSOverTCP)
	}
	if !s.serverPrefix.Add(off, f.Payload) {
		return
	}
	b := s.serverPrefix.Bytes()
	for len(b)-s.serverParsed >= 2 {
		n := int(binary.BigEndian.Uint16(b[s.serverParsed:]))
		if len(b)-s.serverParsed-2 < n {
			break
		}
		t.dnsMessage(s, f, b[s.serverParsed+2:s.serverParsed+2+n])
		s.serverParsed += 2 + n
	}
}

func (t *Tracker) dnsMessage(s *stream, f *capture.Frame, payload []byte) {
	m, err := dns.Parse(payload)
	if m == nil || !m.Response || err != nil && len(m.Answers) == 0 {
		return
	}
	t.dnsRec = DNSResponse{StreamID: s.ID, Time: f.Time, Client: s.Client, Server: s.Server,
		ClientPort: s.ClientPort, ServerPort: s.ServerPort, Proto: s.Proto, Message: *m}
	t.sink.DNS(&t.dnsRec)
	t.learnNames(s.Client, f.Time, m)
}

func (t *Tracker) dhcpMessage(s *stream, f *capture.Frame) {
	m, err := dhcp.Parse(f.Payload)
	if m == nil || err != nil && m.Type == 0 {
		return
	}
	t.dhcp = DHCP{StreamID: s.ID, Time: f.Time, Message: *m}
	t.sink.DHCP(&t.dhcp)
}

// learnNames remembers which name the client looked up for each address,
// so a stream without SNI can be named from it.
func (t *Tracker) learnNames(client netip.Addr, now int64, m *dns.Message) {
	if m.QName == "" || m.QName == "." {
		return
	}
	c := client.As16()
	for _, a := range m.Answers {
		if !a.Addr.IsValid() {
			continue
		}
		life := int64(a.TTL) * 1e9
		if min := int64(t.cfg.DNSNameMinLife); life < min {
			life = min
		}
		entry := dnsName{name: m.QName, expires: now + life}
		addr := a.Addr.As16()
		pair := dnsKey{client: c, addr: addr}
		entry.persisted = t.dnsByPair[pair].persisted
		t.dnsByPair[pair] = entry
		t.changedPairs[pair] = struct{}{}
		entry.persisted = t.dnsByAddr[addr].persisted
		t.dnsByAddr[addr] = entry
		t.changedAddrs[addr] = struct{}{}
	}
	if len(t.dnsByPair) > t.cfg.MaxDNSNames {
		t.expireNames()
	}
}

func (t *Tracker) lookupName(client, server netip.Addr) (string, bool) {
	if len(t.dnsByAddr) == 0 {
		return "", false
	}
	addr := server.As16()
	if e, ok := t.dnsByPair[dnsKey{client: client.As16(), addr: addr}]; ok && e.expires >= t.now {
		return e.name, true
	}
	if e, ok := t.dnsByAddr[addr]; ok && e.expires >= t.now {
		return e.name, true
	}
	return "", false
}

// expireNames drops expired DNS names, then arbitrary ones while the table
// is still over its bound.
func (t *Tracker) expireNames() {
	for k, e := range t.dnsByPair {
		if e.expires < t.now || len(t.dnsByPair) > t.cfg.MaxDNSNames {
			delete(t.dnsByPair, k)
			delete(t.changedPairs, k)
			if e.persisted {
				t.deleted = append(t.deleted, StateItem{Kind: ItemNameByPair, Key: pairItemKey(k)})
			}
		}
	}
	for k, e := range t.dnsByAddr {
		if e.expires < t.now || len(t.dnsByAddr) > t.cfg.MaxDNSNames {
			delete(t.dnsByAddr, k)
			delete(t.changedAddrs, k)
			if e.persisted {
				t.deleted = append(t.deleted, StateItem{Kind: ItemNameByAddr, Key: bytes.Clone(k[:])})
			}
		}
	}
}
