// Package tls parses the TLS ClientHello a client sends first: server name
// (SNI), ALPN protocols and offered versions. It works over raw bytes, never
// allocates more than the result needs, and never panics on bad input.
package tls

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/saaslens/saaslens/pkg/extract/wiretext"
)

// ErrNeedMore means the bytes so far are a valid beginning of a ClientHello
// but do not yet hold all of it.
var ErrNeedMore = errors.New("tls: ClientHello incomplete")

// ErrNotClientHello means the bytes are not the start of a TLS ClientHello.
var ErrNotClientHello = errors.New("tls: not a ClientHello")

const (
	recordTypeHandshake  = 0x16
	handshakeClientHello = 1
	handshakeServerHello = 2

	extServerName        = 0
	extALPN              = 16
	extSupportedVersions = 43
	extECH               = 0xfe0d
	extESNI              = 0xffce

	// maxHandshakeLen bounds the ClientHello we accept (2^24-1 on the wire);
	// real ones stay under a few kB, even with post-quantum key shares.
	maxHandshakeLen = 1 << 16
)

// ClientHello holds what identifies the service a client asks for.
type ClientHello struct {
	// LegacyVersion is the version field of the hello (0x0303 for TLS 1.2+).
	LegacyVersion uint16
	// Versions lists supported_versions, GREASE values removed; empty when
	// the client sent no such extension.
	Versions   []uint16
	ServerName string
	ALPN       []string
	// ECH is set when the hello carries an encrypted_client_hello extension
	// (Chrome also sends it as GREASE); ServerName is then the outer name.
	ECH bool
	// ESNI is set for the legacy draft encrypted_server_name extension.
	ESNI bool
}

// MaxVersion is the highest version offered: the largest supported_versions
// entry, else the legacy version.
func (h *ClientHello) MaxVersion() uint16 {
	max := uint16(0)
	for _, v := range h.Versions {
		if v > max {
			max = v
		}
	}
	if max == 0 {
		return h.LegacyVersion
	}
	return max
}

// IsGREASE reports whether v is a GREASE value (RFC 8701).
func IsGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// VersionName renders a TLS version number as "TLS 1.3" and the like.
func VersionName(v uint16) string {
	switch v {
	case 0x0300:
		return "SSL 3.0"
	case 0x0301:
		return "TLS 1.0"
	case 0x0302:
		return "TLS 1.1"
	case 0x0303:
		return "TLS 1.2"
	case 0x0304:
		return "TLS 1.3"
	case 0:
		return ""
	}
	return fmt.Sprintf("0x%04x", v)
}

// LooksLikeHandshake reports whether b could begin a TLS handshake record,
// from as little as its first three bytes.
func LooksLikeHandshake(b []byte) bool {
	if len(b) < 1 || b[0] != recordTypeHandshake {
		return false
	}
	return len(b) < 2 || (b[1] == 3 && (len(b) < 3 || b[2] <= 4))
}

// HandshakeFromRecords gathers the first handshake message from a stream of
// TLS records, which may split it across several records. It returns the
// message (type, length and body) in scratch's storage, or ErrNeedMore.
func HandshakeFromRecords(stream []byte, scratch []byte) ([]byte, error) {
	msg := scratch[:0]
	for off := 0; ; {
		if len(stream)-off < 5 {
			return nil, ErrNeedMore
		}
		hdr := stream[off : off+5]
		if !LooksLikeHandshake(hdr) {
			return nil, ErrNotClientHello
		}
		n := int(binary.BigEndian.Uint16(hdr[3:5]))
		if n == 0 || n > 1<<14+2048 {
			return nil, fmt.Errorf("tls: bad record length %d", n)
		}
		if len(stream)-off-5 < n {
			// Take what has arrived so a too-long message is refused early.
			msg = append(msg, stream[off+5:]...)
			if err := checkHandshakeHeader(msg); err != nil && err != ErrNeedMore {
				return nil, err
			}
			return nil, ErrNeedMore
		}
		msg = append(msg, stream[off+5:off+5+n]...)
		off += 5 + n
		if err := checkHandshakeHeader(msg); err != nil {
			if err == ErrNeedMore {
				continue
			}
			return nil, err
		}
		return msg[:4+int(uint24(msg[1:4]))], nil
	}
}

func uint24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

// checkHandshakeHeader tells whether msg holds a whole handshake message.
func checkHandshakeHeader(msg []byte) error {
	if len(msg) < 4 {
		return ErrNeedMore
	}
	n := uint24(msg[1:4])
	if n > maxHandshakeLen {
		return fmt.Errorf("tls: handshake message of %d bytes", n)
	}
	if uint32(len(msg)-4) < n {
		return ErrNeedMore
	}
	return nil
}

// ParseClientHelloRecords parses a ClientHello from the first bytes a
// client sent on a TCP connection (TLS records).
func ParseClientHelloRecords(stream []byte) (*ClientHello, error) {
	var scratch [2048]byte
	msg, err := HandshakeFromRecords(stream, scratch[:])
	if err != nil {
		return nil, err
	}
	return ParseClientHello(msg)
}

// ParseClientHello parses a ClientHello handshake message (type byte,
// 24-bit length, body), as carried in TLS records or QUIC CRYPTO frames.
func ParseClientHello(msg []byte) (*ClientHello, error) {
	if len(msg) < 4 {
		return nil, ErrNeedMore
	}
	if msg[0] != handshakeClientHello {
		return nil, ErrNotClientHello
	}
	if err := checkHandshakeHeader(msg); err != nil {
		return nil, err
	}
	p := parser{b: msg[4 : 4+int(uint24(msg[1:4]))]}
	h := &ClientHello{LegacyVersion: p.u16()}
	p.skip(32)          // random
	p.skip(int(p.u8())) // session id
	p.skip(int(p.u16()))
	p.skip(int(p.u8())) // compression methods
	if p.err != nil {
		return nil, fmt.Errorf("tls: ClientHello header: %w", p.err)
	}
	if p.empty() { // TLS 1.0 hellos may end without extensions
		return h, nil
	}
	exts := p.sub(int(p.u16()))
	for !exts.empty() && exts.err == nil {
		typ := exts.u16()
		body := exts.sub(int(exts.u16()))
		if exts.err != nil {
			break
		}
		switch typ {
		case extServerName:
			h.ServerName = parseServerName(body)
		case extALPN:
			list := body.sub(int(body.u16()))
			for !list.empty() && list.err == nil {
				proto := list.bytes(int(list.u8()))
				if list.err == nil {
					h.ALPN = append(h.ALPN, wiretext.Token(proto))
				}
			}
		case extSupportedVersions:
			list := body.sub(int(body.u8()))
			for !list.empty() && list.err == nil {
				if v := list.u16(); list.err == nil && !IsGREASE(v) {
					h.Versions = append(h.Versions, v)
				}
			}
		case extECH:
			h.ECH = true
		case extESNI:
			h.ESNI = true
		}
	}
	if exts.err != nil {
		return h, fmt.Errorf("tls: ClientHello extensions: %w", exts.err)
	}
	return h, nil
}

func parseServerName(body parser) string {
	list := body.sub(int(body.u16()))
	for !list.empty() && list.err == nil {
		typ := list.u8()
		name := list.bytes(int(list.u16()))
		if list.err == nil && typ == 0 && validHostName(name) {
			return string(name)
		}
	}
	return ""
}

// validHostName refuses names that would be unsafe or meaningless to store
// and show: empty, overlong or holding bytes outside printable ASCII.
func validHostName(b []byte) bool {
	if len(b) == 0 || len(b) > 255 {
		return false
	}
	for _, c := range b {
		if !wiretext.IsTokenByte(c) {
			return false
		}
	}
	return true
}

// IsServerHello reports whether a server's first bytes start a TLS record
// carrying a ServerHello.
func IsServerHello(b []byte) bool {
	return len(b) >= 6 && LooksLikeHandshake(b[:3]) && b[5] == handshakeServerHello
}

var errShort = errors.New("truncated")

// parser reads big-endian fields, latching the first error.
type parser struct {
	b   []byte
	err error
}

func (p *parser) empty() bool { return len(p.b) == 0 }

func (p *parser) take(n int) []byte {
	if p.err != nil {
		return nil
	}
	if n < 0 || n > len(p.b) {
		p.err, p.b = errShort, nil
		return nil
	}
	v := p.b[:n]
	p.b = p.b[n:]
	return v
}

func (p *parser) skip(n int)         { p.take(n) }
func (p *parser) bytes(n int) []byte { return p.take(n) }
func (p *parser) sub(n int) parser   { return parser{b: p.take(n), err: p.err} }
func (p *parser) u8() uint8 {
	if b := p.take(1); b != nil {
		return b[0]
	}
	return 0
}
func (p *parser) u16() uint16 {
	if b := p.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}
