// Package reassembly rebuilds the beginning of a byte stream from pieces
// that arrive at offsets, in any order, possibly repeated: the first bytes a
// client sends over TCP, or the CRYPTO stream of QUIC Initial packets.
package reassembly

import "fmt"

// maxGaps bounds the out-of-order ranges kept; a stream scattered wider
// than this is not worth following for a handshake.
const maxGaps = 16

type span struct{ start, end int }

// Prefix collects bytes [0, Limit) of a stream.
type Prefix struct {
	buf   []byte
	limit int
	// spans are the filled ranges, sorted and disjoint; the first one
	// starting at 0 is the contiguous prefix.
	spans    []span
	overflow bool
}

// NewPrefix returns a Prefix that keeps at most limit bytes.
func NewPrefix(limit int) *Prefix {
	return &Prefix{limit: limit, spans: make([]span, 0, 4)}
}

// Reset empties p for reuse with a new limit, keeping its memory.
func (p *Prefix) Reset(limit int) {
	p.buf, p.spans, p.limit, p.overflow = p.buf[:0], p.spans[:0], limit, false
}

// Add stores data found at offset off of the stream. Bytes past the limit
// are dropped and remembered as overflow. It returns true when the
// contiguous prefix grew.
func (p *Prefix) Add(off int, data []byte) bool {
	if off < 0 || len(data) == 0 {
		return false
	}
	end := off + len(data)
	if end > p.limit || end < off {
		p.overflow = true
		if off >= p.limit {
			return false
		}
		end = p.limit
		data = data[:end-off]
	}
	before := p.Len()
	if end > len(p.buf) {
		if end > cap(p.buf) {
			grown := make([]byte, end, max(end, 2*cap(p.buf), 512))
			copy(grown, p.buf)
			p.buf = grown
		} else {
			p.buf = p.buf[:end]
		}
	}
	copy(p.buf[off:end], data)
	p.insert(span{off, end})
	return p.Len() > before
}

func (p *Prefix) insert(s span) {
	p.spans = append(p.spans, s)
	for i := len(p.spans) - 1; i > 0 && p.spans[i-1].start > p.spans[i].start; i-- {
		p.spans[i-1], p.spans[i] = p.spans[i], p.spans[i-1]
	}
	merged := p.spans[:1]
	for _, cur := range p.spans[1:] {
		last := &merged[len(merged)-1]
		if cur.start <= last.end {
			last.end = max(last.end, cur.end)
		} else {
			merged = append(merged, cur)
		}
	}
	if len(merged) > maxGaps {
		p.overflow = true
		merged = merged[:maxGaps]
	}
	p.spans = merged
}

// Len is the length of the contiguous prefix.
func (p *Prefix) Len() int {
	if len(p.spans) == 0 || p.spans[0].start != 0 {
		return 0
	}
	return p.spans[0].end
}

// Bytes returns the contiguous prefix. It stays valid until the next Add.
func (p *Prefix) Bytes() []byte { return p.buf[:p.Len()] }

// Overflow reports whether bytes were dropped because of the limit.
func (p *Prefix) Overflow() bool { return p.overflow }

// Full reports whether the prefix holds all Limit bytes.
func (p *Prefix) Full() bool { return p.Len() >= p.limit }

// PrefixState is a Prefix in a form encoding/gob can save, so that a
// half-seen handshake survives a restart between two capture files.
type PrefixState struct {
	Limit    int
	Data     []byte
	Spans    [][2]int
	Overflow bool
}

// State copies p's contents out.
func (p *Prefix) State() *PrefixState {
	st := &PrefixState{Limit: p.limit, Data: append([]byte(nil), p.buf...), Overflow: p.overflow}
	for _, s := range p.spans {
		st.Spans = append(st.Spans, [2]int{s.start, s.end})
	}
	return st
}

// Restore rebuilds a Prefix from its State, rejecting states no Prefix
// could have produced.
func Restore(st *PrefixState) (*Prefix, error) {
	p := &Prefix{limit: st.Limit, buf: append([]byte(nil), st.Data...), overflow: st.Overflow}
	last := -1
	for _, s := range st.Spans {
		if s[0] <= last || s[1] <= s[0] || s[1] > len(p.buf) || s[1] > p.limit {
			return nil, fmt.Errorf("reassembly: invalid span [%d,%d) in saved state", s[0], s[1])
		}
		p.spans = append(p.spans, span{s[0], s[1]})
		last = s[1]
	}
	return p, nil
}
