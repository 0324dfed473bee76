package quic

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/saaslens/saaslens/pkg/extract/tls"
	"github.com/saaslens/saaslens/pkg/extract/wiretext"
)

// Google QUIC before TLS (Q0xx versions) opens with a CHLO message: a tag
// map whose SNI entry names the server. Up to Q046 it is sent in the
// clear in the first client packet; Q050 protects it like an IETF Initial
// (with its own salt) and carries it in CRYPTO frames.

// VersionGoogleQ050 is Google QUIC Q050, which protects its Initial.
const VersionGoogleQ050 uint32 = 0x51303530

var (
	tagCHLO = []byte("CHLO")
	tagSNI  = []byte("SNI\x00")
)

// maxCHLOEntries bounds a CHLO's tag count (real ones hold about 30).
const maxCHLOEntries = 256

var errNotCHLO = errors.New("quic: not a gQUIC CHLO")

// ParseCHLO reads a CHLO message at the start of b and returns its SNI,
// "" when it has none. tls.ErrNeedMore means b ends inside the message.
func ParseCHLO(b []byte) (string, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], tagCHLO) {
		return "", errNotCHLO
	}
	n := int(binary.LittleEndian.Uint16(b[4:]))
	if n > maxCHLOEntries {
		return "", errNotCHLO
	}
	values := 8 + 8*n
	if len(b) < values {
		return "", tls.ErrNeedMore
	}
	var sni []byte
	prevEnd := uint32(0)
	for i := range n {
		entry := b[8+8*i:]
		end := binary.LittleEndian.Uint32(entry[4:])
		if end < prevEnd || end > 1<<16 {
			return "", errNotCHLO
		}
		if bytes.Equal(entry[:4], tagSNI) {
			if len(b) < values+int(end) {
				return "", tls.ErrNeedMore
			}
			sni = b[values+int(prevEnd) : values+int(end)]
		}
		prevEnd = end
	}
	if len(sni) == 0 {
		return "", nil
	}
	return wiretext.Token(sni), nil
}

// GoogleCHLO reads the server name from the first client datagram of a
// Google QUIC connection that sends its CHLO in the clear: the Q0xx
// public header (Q024–Q043) or the IETF-style long header of Q046. It
// returns the version, and ok false for anything else (IETF QUIC,
// Q050, other UDP).
func GoogleCHLO(d []byte) (version uint32, name string, ok bool) {
	var at int
	switch {
	case len(d) >= 5 && d[0]&0x80 == 0 && d[0]&0x01 != 0: // public header with a version
		at = 1
		if d[0]&0x08 != 0 { // 8-byte connection id
			at += 8
		}
	case IsLongHeader(d):
		at = 1
	default:
		return 0, "", false
	}
	if len(d) < at+4 || d[at] != 'Q' || !isDigit(d[at+1]) || !isDigit(d[at+2]) || !isDigit(d[at+3]) {
		return 0, "", false
	}
	version = binary.BigEndian.Uint32(d[at:])
	if version >= VersionGoogleQ050 {
		return 0, "", false // protected: an Initial to decrypt
	}
	// The CHLO is the data of the first STREAM frame, after the packet
	// number and the message hash; its framing changed between versions,
	// so it is found by its tag and checked by its structure.
	i := bytes.Index(d[at+4:], tagCHLO)
	if i < 0 {
		return version, "", true
	}
	name, err := ParseCHLO(d[at+4+i:])
	if err != nil {
		return version, "", true
	}
	return version, name, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
