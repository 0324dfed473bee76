// Package histogram counts durations in log-linear buckets, so that
// percentiles over millions of streams can be cut from hourly totals: a
// bucket spans at most 1/64 of its values (an octave split in 64), and a
// percentile read from the buckets is the midpoint of the one holding the
// exact nearest-rank value, within 0.8% of it. Values under 128 keep a
// bucket each, so counts of 0 and 1 (flags) stay exact.
package histogram

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// subBits is log2 of the buckets per octave.
const subBits = 6

const subBuckets = 1 << subBits

// Bucket returns the bucket of v; negative values count as 0.
func Bucket(v int64) uint32 {
	if v < subBuckets {
		return uint32(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	return uint32(shift)<<subBits + uint32(v>>shift)
}

// Bounds returns the least and the greatest value of bucket b.
func Bounds(b uint32) (lo, hi int64) {
	if b < 2*subBuckets {
		return int64(b), int64(b)
	}
	shift := b>>subBits - 1
	mantissa := int64(b - shift<<subBits)
	return mantissa << shift, (mantissa+1)<<shift - 1
}

// Mid is the value a percentile falling in bucket b reads as.
func Mid(b uint32) int64 {
	lo, hi := Bounds(b)
	return lo + (hi-lo)/2
}

// Bin is a bucket's count.
type Bin struct {
	Bucket uint32
	Count  int64
}

// Histogram holds bins in bucket order, none with a zero count.
type Histogram []Bin

// Of counts values.
func Of(values ...int64) Histogram {
	counts := map[uint32]int64{}
	for _, v := range values {
		counts[Bucket(v)]++
	}
	return FromCounts(counts)
}

// FromCounts orders counts per bucket into a histogram, dropping zeros.
func FromCounts(counts map[uint32]int64) Histogram {
	h := make(Histogram, 0, len(counts))
	for b, n := range counts {
		if n != 0 {
			h = append(h, Bin{b, n})
		}
	}
	slices.SortFunc(h, func(a, b Bin) int { return int(a.Bucket) - int(b.Bucket) })
	return h
}

// Total is the number of values counted.
func (h Histogram) Total() int64 {
	var n int64
	for _, b := range h {
		n += b.Count
	}
	return n
}

// Percentile returns the midpoint of the bucket holding the nearest-rank
// percentile p (in (0, 100]) of the values counted, and false when there
// are none.
func (h Histogram) Percentile(p float64) (int64, bool) {
	total := h.Total()
	if total <= 0 {
		return 0, false
	}
	rank := max(int64(math.Ceil(p/100*float64(total))), 1)
	var seen int64
	for _, b := range h {
		if seen += b.Count; seen >= rank {
			return Mid(b.Bucket), true
		}
	}
	return Mid(h[len(h)-1].Bucket), true
}

// Count returns the count of bucket b.
func (h Histogram) Count(b uint32) int64 {
	i, found := slices.BinarySearchFunc(h, b, func(x Bin, b uint32) int { return int(x.Bucket) - int(b) })
	if !found {
		return 0
	}
	return h[i].Count
}

// Add appends the sum of a and b to dst[:0] (which must not share memory
// with either), dropping buckets that sum to zero.
func Add(dst, a, b Histogram) Histogram {
	dst = dst[:0]
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var next Bin
		switch {
		case j == len(b) || (i < len(a) && a[i].Bucket < b[j].Bucket):
			next, i = a[i], i+1
		case i == len(a) || b[j].Bucket < a[i].Bucket:
			next, j = b[j], j+1
		default:
			next, i, j = Bin{a[i].Bucket, a[i].Count + b[j].Count}, i+1, j+1
		}
		if next.Count != 0 {
			dst = append(dst, next)
		}
	}
	return dst
}

// Append encodes h after dst: per bin, the distance from the previous
// bucket and the count, as varints (zigzag, so that a delta to subtract
// encodes too).
func (h Histogram) Append(dst []byte) []byte {
	var prev uint32
	for _, b := range h {
		dst = binary.AppendUvarint(dst, uint64(b.Bucket-prev))
		dst = binary.AppendVarint(dst, b.Count)
		prev = b.Bucket
	}
	return dst
}

// ErrCorrupt reports bytes that no histogram encodes to.
var ErrCorrupt = errors.New("histogram: corrupt encoding")

// Decode appends the histogram encoded in src to dst[:0].
func Decode(dst Histogram, src []byte) (Histogram, error) {
	dst = dst[:0]
	var bucket uint64
	for off := 0; off < len(src); {
		delta, n := binary.Uvarint(src[off:])
		if n <= 0 {
			return nil, fmt.Errorf("%w: bucket at byte %d", ErrCorrupt, off)
		}
		off += n
		count, n := binary.Varint(src[off:])
		if n <= 0 {
			return nil, fmt.Errorf("%w: count at byte %d", ErrCorrupt, off)
		}
		off += n
		if (len(dst) > 0 && delta == 0) || bucket+delta > math.MaxUint32 || count == 0 {
			return nil, fmt.Errorf("%w: bin at byte %d", ErrCorrupt, off-n)
		}
		bucket += delta
		dst = append(dst, Bin{uint32(bucket), count})
	}
	return dst, nil
}
