// Package dns parses DNS messages (RFC 1035) far enough to tie names to
// addresses: the question, CNAME records and A/AAAA answers with TTLs.
package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/saaslens/saaslens/pkg/extract/wiretext"
)

// Record types of interest.
const (
	TypeA     uint16 = 1
	TypeCNAME uint16 = 5
	TypePTR   uint16 = 12
	TypeAAAA  uint16 = 28
)

var errShort = errors.New("dns: message truncated")

// Answer is one resource record of the answer section that names an
// address (A, AAAA) or another name (CNAME).
type Answer struct {
	Name string
	Type uint16
	TTL  uint32
	// Addr is set for A and AAAA records, Target for CNAME and PTR records.
	Addr   netip.Addr
	Target string
}

// Message is a parsed DNS message.
type Message struct {
	ID       uint16
	Response bool
	RCode    uint8
	// QName and QType are from the first question.
	QName string
	QType uint16
	// AnswerCount is the answer section's size from the header, records of
	// every type; Answers keeps those that name addresses or names.
	AnswerCount int
	Answers     []Answer
}

// CNAMEChain follows the CNAME records from the question name, returning
// the names in order after it (loops and dead ends stop the walk).
func (m *Message) CNAMEChain() []string {
	var chain []string
	name := m.QName
	for step := 0; step < len(m.Answers); step++ {
		next := ""
		for _, a := range m.Answers {
			if a.Type == TypeCNAME && strings.EqualFold(a.Name, name) {
				next = a.Target
				break
			}
		}
		if next == "" {
			break
		}
		chain = append(chain, next)
		name = next
	}
	return chain
}

// Addrs returns the A and AAAA answers.
func (m *Message) Addrs() []Answer {
	var out []Answer
	for _, a := range m.Answers {
		if a.Addr.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// Parse reads a DNS message as carried in a UDP datagram (for TCP, strip
// the two-byte length first).
func Parse(msg []byte) (*Message, error) {
	if len(msg) < 12 {
		return nil, errShort
	}
	flags := binary.BigEndian.Uint16(msg[2:4])
	m := &Message{
		ID:       binary.BigEndian.Uint16(msg[0:2]),
		Response: flags&0x8000 != 0,
		RCode:    uint8(flags & 0x000f),
	}
	if opcode := (flags >> 11) & 0xf; opcode != 0 {
		return nil, fmt.Errorf("dns: opcode %d is not a query", opcode)
	}
	qd := int(binary.BigEndian.Uint16(msg[4:6]))
	an := int(binary.BigEndian.Uint16(msg[6:8]))
	m.AnswerCount = an
	off := 12
	for i := 0; i < qd; i++ {
		name, n, err := readName(msg, off)
		if err != nil {
			return nil, fmt.Errorf("dns: question: %w", err)
		}
		off = n
		if off+4 > len(msg) {
			return nil, errShort
		}
		if i == 0 {
			m.QName, m.QType = name, binary.BigEndian.Uint16(msg[off:])
		}
		off += 4
	}
	for i := 0; i < an; i++ {
		name, n, err := readName(msg, off)
		if err != nil {
			return m, fmt.Errorf("dns: answer %d: %w", i, err)
		}
		off = n
		if off+10 > len(msg) {
			return m, errShort
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		ttl := binary.BigEndian.Uint32(msg[off+4:])
		rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+rdlen > len(msg) {
			return m, errShort
		}
		rdata := msg[off : off+rdlen]
		switch {
		case typ == TypeA && rdlen == 4:
			m.Answers = append(m.Answers, Answer{Name: name, Type: typ, TTL: ttl, Addr: netip.AddrFrom4([4]byte(rdata))})
		case typ == TypeAAAA && rdlen == 16:
			m.Answers = append(m.Answers, Answer{Name: name, Type: typ, TTL: ttl, Addr: netip.AddrFrom16([16]byte(rdata))})
		case typ == TypeCNAME || typ == TypePTR:
			target, _, err := readName(msg, off)
			if err != nil {
				return m, fmt.Errorf("dns: %s record: %w", name, err)
			}
			m.Answers = append(m.Answers, Answer{Name: name, Type: typ, TTL: ttl, Target: target})
		}
		off += rdlen
	}
	return m, nil
}

// readName decodes a possibly compressed name starting at off and returns
// it with the offset just past its encoding at off.
func readName(msg []byte, off int) (string, int, error) {
	var buf [255]byte
	n := 0
	end := -1
	// Each pointer must go strictly backwards, which bounds the walk and
	// rules out loops.
	limit := off
	for {
		if off >= len(msg) {
			return "", 0, errShort
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if end < 0 {
					end = off + 1
				}
				if n == 0 {
					return ".", end, nil
				}
				return string(buf[:n-1]), end, nil
			}
			if off+1+c > len(msg) {
				return "", 0, errShort
			}
			if n+c+1 > len(buf) {
				return "", 0, errors.New("name longer than 255 bytes")
			}
			for _, b := range msg[off+1 : off+1+c] {
				if b == '.' || !wiretext.IsTokenByte(b) {
					b = wiretext.Replacement // keep names printable and unambiguous
				}
				buf[n] = b
				n++
			}
			buf[n] = '.'
			n++
			off += 1 + c
		case 0xc0:
			if off+2 > len(msg) {
				return "", 0, errShort
			}
			ptr := int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			if end < 0 {
				end = off + 2
			}
			if ptr >= limit {
				return "", 0, errors.New("compression pointer does not point backwards")
			}
			limit, off = ptr, ptr
		default:
			return "", 0, fmt.Errorf("label type 0x%02x", c&0xc0)
		}
	}
}
