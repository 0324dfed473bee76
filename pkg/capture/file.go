package capture

import (
	"errors"
	"io"
	"math"
	"time"
)

// Handler receives each TCP or UDP packet of a file. The Frame and its
// slices are valid only during the call.
type Handler func(*Frame)

// ReadFile decodes every record of one capture file, calling h for each TCP
// or UDP packet. Records before any damage are always delivered; the damage
// itself is reported in Summary.Err and as the returned error.
func ReadFile(path string, dec *Decoder, h Handler) (*Summary, error) {
	r, err := Open(path)
	if err != nil {
		return &Summary{Path: path, Err: err}, err
	}
	defer r.Close()
	return Read(r, dec, h)
}

// Read is ReadFile over an already opened Reader.
func Read(r *Reader, dec *Decoder, h Handler) (*Summary, error) {
	s := &Summary{Path: r.Path(), Format: r.Format(), Compressed: r.Compressed(), Other: make(map[Kind]uint64),
		Tunneled: make(map[TunnelKind]uint64)}
	lastLink := ^uint16(0)
	var lastTime time.Time
	for {
		data, ci, link, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return s, nil
			}
			s.Err = err
			return s, err
		}
		if uint16(link) != lastLink {
			s.noteLinkType(link)
			lastLink = uint16(link)
		}
		s.Packets++
		s.Bytes += uint64(ci.Length)
		if ci.Timestamp.IsZero() { // a pcapng Simple Packet Block has no time
			ci.Timestamp = lastTime
		} else if !representable(ci.Timestamp) {
			ci.Timestamp = time.Time{} // counted as untimed below
		}
		lastTime = ci.Timestamp
		if !lastTime.IsZero() {
			ts := ci.Timestamp.UnixNano()
			if !s.Timed || ts < s.First {
				s.First = ts
			}
			if !s.Timed || ts > s.Last {
				s.Last = ts
			}
			s.Timed = true
		}
		ok, kind := dec.Decode(data, ci, link)
		if t := dec.Frame.Tunnel.Kind; t != TunnelNone {
			s.Tunneled[t]++
		}
		if ok && lastTime.IsZero() { // streams need times
			ok, kind = false, kindUntimed
		}
		if !ok {
			s.Other[kind]++
			continue
		}
		s.Streamed++
		h(&dec.Frame)
	}
}

// representable tells whether a record's time can be stored: times are
// Unix nanoseconds in an int64, and capture formats count from 1970. A
// pcapng timestamp of 2^64-1 units wraps to a negative time in pcapgo;
// keeping it would date a stream to 1969.
func representable(t time.Time) bool {
	sec := t.Unix()
	return sec >= 0 && sec < math.MaxInt64/int64(time.Second)
}
