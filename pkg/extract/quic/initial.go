// Package quic reads the client's Initial packets of a QUIC connection:
// it derives the Initial keys from the Destination Connection ID (RFC 9001
// section 5.2, RFC 9369 for version 2), removes header protection,
// decrypts, and collects the CRYPTO frames that carry the TLS ClientHello.
package quic

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Version numbers with known Initial salts.
const (
	Version1 uint32 = 0x00000001
	Version2 uint32 = 0x6b3343cf
)

var (
	// ErrNotInitial means the packet is not a QUIC Initial packet.
	ErrNotInitial = errors.New("quic: not an Initial packet")
	errShort      = errors.New("quic: packet truncated")
)

var (
	saltV1        = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	saltV2        = []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
	saltDraft29   = []byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99}
	saltDraft23   = []byte{0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02}
	saltDraft22   = []byte{0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a, 0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a}
	saltGoogleT50 = []byte{0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80, 0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10}
	saltGoogleT51 = []byte{0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50, 0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d}
	saltGoogleQ50 = []byte{0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94, 0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0, 0xd3, 0xb5, 0x6b, 0x45}
)

// schedules returns the Initial key schedules to try for a version: its own for v1,
// v2 and the drafts and Facebook (mvfst) and Google (T05x) variants that
// interop captures and older clients still carry. Any other version gets
// them all, v1 first: clients that probe version negotiation with a
// reserved version (0x?a?a?a?a) protect that Initial with the keys of the
// version they really speak. The AEAD tag rules out a wrong guess.
func schedules(v uint32) []keySchedule {
	switch {
	case v == Version1, v == 0xff000021, v == 0xff000022, v == 0xfaceb00e, v == 0xfaceb011, v == 0xfaceb012, v == 0xfaceb013:
		return onlyV1
	case isV2(v):
		return onlyV2
	case v >= 0xff00001d && v <= 0xff000020, v == 0xfaceb002:
		return onlyDraft29
	case v >= 0xff000017 && v <= 0xff00001c:
		return onlyDraft23
	case v == 0xff000016, v == 0xfaceb001:
		return onlyDraft22
	case v == 0x54303530:
		return onlyGoogleT50
	case v == 0x54303531:
		return onlyGoogleT51
	case v == VersionGoogleQ050:
		return onlyGoogleQ50
	}
	return anyVersion
}

// keySchedule is a salt with the label prefix its version uses.
type keySchedule struct {
	salt        []byte
	labelPrefix string
}

var (
	scheduleV1 = keySchedule{saltV1, "quic "}
	scheduleV2 = keySchedule{saltV2, "quicv2 "}
	// The lists schedules returns, made once: it is asked at every
	// Initial.
	onlyV1, onlyV2 = []keySchedule{scheduleV1}, []keySchedule{scheduleV2}
	onlyDraft29    = []keySchedule{{saltDraft29, "quic "}}
	onlyDraft23    = []keySchedule{{saltDraft23, "quic "}}
	onlyDraft22    = []keySchedule{{saltDraft22, "quic "}}
	onlyGoogleT50  = []keySchedule{{saltGoogleT50, "quic "}}
	onlyGoogleT51  = []keySchedule{{saltGoogleT51, "quic "}}
	onlyGoogleQ50  = []keySchedule{{saltGoogleQ50, "quic "}}
	anyVersion     = []keySchedule{scheduleV1, onlyDraft29[0], onlyDraft23[0], scheduleV2, onlyDraft22[0]}
)

func isV2(v uint32) bool { return v == Version2 || v == 0x709a50c4 }

// IsLongHeader reports whether a datagram starts with a long-header packet.
func IsLongHeader(b []byte) bool { return len(b) >= 5 && b[0]&0xc0 == 0xc0 }

// Header is the unprotected part of a long-header packet.
type Header struct {
	Version uint32
	// Initial is true for an Initial packet (whose type bits differ in v2).
	Initial    bool
	DCID, SCID []byte
	// PNOffset is where the protected packet number starts; PacketLen is
	// this packet's full length, so the next coalesced one starts there.
	PNOffset, PacketLen int
}

// ParseHeader reads the long header at the start of b.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if !IsLongHeader(b) {
		return h, ErrNotInitial
	}
	h.Version = binary.BigEndian.Uint32(b[1:5])
	if h.Version == 0 { // version negotiation
		return h, ErrNotInitial
	}
	typ := (b[0] >> 4) & 0x3
	if isV2(h.Version) {
		h.Initial = typ == 1
	} else {
		h.Initial = typ == 0
	}
	off := 5
	var ok bool
	if h.DCID, off, ok = connID(b, off); !ok {
		return h, errShort
	}
	if h.SCID, off, ok = connID(b, off); !ok {
		return h, errShort
	}
	if h.Initial {
		tokenLen, n := varint(b[off:])
		if n == 0 || tokenLen > uint64(len(b)-off-n) {
			return h, errShort
		}
		off += n + int(tokenLen)
	} else if typ == 3 && !isV2(h.Version) || typ == 0 && isV2(h.Version) {
		// Retry packets have no length field and fill the datagram.
		h.PNOffset, h.PacketLen = off, len(b)
		return h, nil
	}
	length, n := varint(b[off:])
	if n == 0 {
		return h, errShort
	}
	off += n
	if length > uint64(len(b)-off) {
		return h, errShort
	}
	h.PNOffset, h.PacketLen = off, off+int(length)
	return h, nil
}

// maxCIDLen is the longest connection ID QUIC allows (RFC 9000 section 17.2).
const maxCIDLen = 20

func connID(b []byte, off int) ([]byte, int, bool) {
	if off >= len(b) {
		return nil, off, false
	}
	n := int(b[off])
	if n > maxCIDLen || off+1+n > len(b) {
		return nil, off, false
	}
	return b[off+1 : off+1+n], off + 1 + n, true
}

// varint decodes a QUIC variable-length integer, returning its size (0 when
// b is too short).
func varint(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n
}

// Keys protect the Initial packets of one direction of a connection.
type Keys struct {
	aead cipher.AEAD
	iv   [12]byte
	hp   cipher.Block
	// version, dcid and candidate say how the keys were derived, so that a
	// saved Client can derive them again.
	version   uint32
	dcid      []byte
	candidate int
}

// ClientInitialKeys derives the candidate keys of the client's Initial
// packets from the Destination Connection ID of its first Initial packet:
// one set for a known version, several for an unknown one.
func ClientInitialKeys(version uint32, dcid []byte) ([]*Keys, error) {
	var keys []*Keys
	for i := range candidates(version) {
		k, err := candidateKeys(version, dcid, i)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// candidates is how many key schedules a version's Initial may use.
func candidates(version uint32) int { return len(schedules(version)) }

// candidateKeys derives the i-th candidate of ClientInitialKeys alone: a
// client opens with the first candidate nearly always, and each set of
// keys costs two AES key schedules and a GCM, so the others are derived
// only when it fails.
func candidateKeys(version uint32, dcid []byte, i int) (*Keys, error) {
	k, err := initialKeys(schedules(version)[i], dcid)
	if err != nil {
		return nil, err
	}
	k.version, k.dcid, k.candidate = version, bytes.Clone(dcid), i
	return k, nil
}

// initialKeys runs HKDF (RFC 5869) over SHA-256 written out: every secret
// and key here is at most one hash long, so Extract and each Expand are a
// single HMAC over a few bytes, computed on the stack. crypto/hkdf and
// crypto/hmac allocated a state per call and took six times as long; every
// QUIC connection pays this once, and real traffic has many short ones.
func initialKeys(ks keySchedule, dcid []byte) (*Keys, error) {
	if len(dcid) > maxCIDLen {
		return nil, fmt.Errorf("quic: connection ID of %d bytes", len(dcid))
	}
	initial := hmacSHA256(ks.salt, dcid)
	client := expandLabel(initial[:], "client in", 32)
	prefix := ks.labelPrefix
	key := expandLabel(client[:], prefix+"key", 16)
	iv := expandLabel(client[:], prefix+"iv", 12)
	hpKey := expandLabel(client[:], prefix+"hp", 16)
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	hp, err := aes.NewCipher(hpKey[:16])
	if err != nil {
		return nil, err
	}
	k := &Keys{aead: aead, hp: hp}
	copy(k.iv[:], iv[:12])
	return k, nil
}

// expandLabel is HKDF-Expand-Label of TLS 1.3 (RFC 8446 section 7.1) with
// an empty context, for at most one hash's length: HKDF-Expand's first
// block, whose first length bytes are the output.
func expandLabel(secret []byte, label string, length int) [sha256.Size]byte {
	var info [48]byte
	b := append(info[:0], 0, byte(length), byte(len("tls13 ")+len(label)))
	b = append(b, "tls13 "...)
	b = append(b, label...)
	// The empty context's length, then HKDF-Expand's block counter.
	b = append(b, 0, 1)
	return hmacSHA256(secret, b)
}

// hmacSHA256 is HMAC (RFC 2104) with SHA-256 for keys up to a block and
// messages up to a block long, which is all the Initial key schedule uses.
func hmacSHA256(key, msg []byte) [sha256.Size]byte {
	const block = 64
	var inner [2 * block]byte
	var outer [block + sha256.Size]byte
	copy(inner[:], key)
	copy(outer[:], key)
	for i := range block {
		inner[i] ^= 0x36
		outer[i] ^= 0x5c
	}
	n := copy(inner[block:], msg)
	sum := sha256.Sum256(inner[:block+n])
	copy(outer[block:], sum[:])
	return sha256.Sum256(outer[:])
}

// Open removes header protection from and decrypts the packet at the start
// of pkt, whose header h was parsed from it. pkt is modified in place.
// largest is the largest packet number opened so far in this direction (-1
// for none). It returns the plaintext payload, which aliases pkt.
func (k *Keys) Open(pkt []byte, h Header, largest int64) ([]byte, int64, error) {
	if h.PacketLen > len(pkt) || h.PNOffset+4+16 > h.PacketLen {
		return nil, 0, errShort
	}
	var mask [16]byte
	k.hp.Encrypt(mask[:], pkt[h.PNOffset+4:h.PNOffset+20])
	pkt[0] ^= mask[0] & 0x0f
	pnLen := int(pkt[0]&0x03) + 1
	var truncated uint64
	for i := 0; i < pnLen; i++ {
		pkt[h.PNOffset+i] ^= mask[1+i]
		truncated = truncated<<8 | uint64(pkt[h.PNOffset+i])
	}
	pn := decodePacketNumber(largest, truncated, pnLen*8)
	var nonce [12]byte
	nonce = k.iv
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(uint64(pn) >> (8 * i))
	}
	hdrEnd := h.PNOffset + pnLen
	plain, err := k.aead.Open(pkt[hdrEnd:hdrEnd], nonce[:], pkt[hdrEnd:h.PacketLen], pkt[:hdrEnd])
	if err != nil {
		return nil, pn, fmt.Errorf("quic: decrypting Initial packet %d: %w", pn, err)
	}
	return plain, pn, nil
}

// decodePacketNumber expands a truncated packet number (RFC 9000 A.3).
func decodePacketNumber(largest int64, truncated uint64, bits int) int64 {
	expected := largest + 1
	win := int64(1) << bits
	hwin := win / 2
	mask := win - 1
	candidate := (expected &^ mask) | int64(truncated)
	switch {
	case candidate <= expected-hwin && candidate < (1<<62)-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}

// CryptoFrames calls fn for each CRYPTO frame in a decrypted Initial
// payload of version. Frames that may not appear in Initial packets end
// the walk with an error.
func CryptoFrames(version uint32, payload []byte, fn func(offset uint64, data []byte)) error {
	// Google's Q050, T050 and T051 frame their Initials the Google way,
	// where CRYPTO is 0x08 (IETF's STREAM, which no Initial carries);
	// 0x06 is taken from them too.
	cryptoType := uint64(0x06)
	if version == VersionGoogleQ050 || version == 0x54303530 || version == 0x54303531 {
		cryptoType = 0x08
	}
	for off := 0; off < len(payload); {
		typ, n := varint(payload[off:])
		if n == 0 {
			return errShort
		}
		off += n
		switch typ {
		case 0x00, 0x01: // PADDING, PING
		case 0x02, 0x03: // ACK
			m, err := skipACK(payload[off:], typ == 0x03)
			if err != nil {
				return err
			}
			off += m
		case 0x06, cryptoType:
			cryptoOff, n1 := varint(payload[off:])
			length, n2 := varint(payload[off+n1:])
			if n1 == 0 || n2 == 0 {
				return errShort
			}
			off += n1 + n2
			if length > uint64(len(payload)-off) {
				return errShort
			}
			fn(cryptoOff, payload[off:off+int(length)])
			off += int(length)
		case 0x1c: // CONNECTION_CLOSE ends what is worth reading
			return nil
		default:
			return fmt.Errorf("quic: frame type 0x%x in Initial packet", typ)
		}
	}
	return nil
}

func skipACK(b []byte, ecn bool) (int, error) {
	off := 0
	fields := 4 // largest, delay, range count, first range
	var ranges uint64
	for i := 0; i < fields; i++ {
		v, n := varint(b[off:])
		if n == 0 {
			return 0, errShort
		}
		if i == 2 {
			ranges = v
		}
		off += n
	}
	extra := 2 * ranges
	if ecn {
		extra += 3
	}
	if extra > uint64(len(b)) {
		return 0, errShort
	}
	for i := uint64(0); i < extra; i++ {
		_, n := varint(b[off:])
		if n == 0 {
			return 0, errShort
		}
		off += n
	}
	return off, nil
}

// Seal protects a long-header packet, the inverse of Open, for tests and
// generated fixtures. header holds the packet up to its Length field
// (included, sized for the result) and pn is written in pnLen bytes.
func (k *Keys) Seal(header []byte, pn uint64, pnLen int, payload []byte) []byte {
	pkt := append([]byte(nil), header...)
	pkt[0] = pkt[0]&^0x03 | byte(pnLen-1)
	pnOffset := len(pkt)
	for i := pnLen - 1; i >= 0; i-- {
		pkt = append(pkt, byte(pn>>(8*i)))
	}
	nonce := k.iv
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	pkt = k.aead.Seal(pkt, nonce[:], payload, pkt)
	var mask [16]byte
	k.hp.Encrypt(mask[:], pkt[pnOffset+4:pnOffset+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := 0; i < pnLen; i++ {
		pkt[pnOffset+i] ^= mask[1+i]
	}
	return pkt
}

// AppendVarint appends a QUIC variable-length integer.
func AppendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, byte(v>>8)|0x40, byte(v))
	case v < 1<<30:
		return append(b, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v))
	}
	return append(b, byte(v>>56)|0xc0, byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
