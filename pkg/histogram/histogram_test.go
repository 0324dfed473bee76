package histogram

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Buckets tile the values: each value falls in the bucket whose bounds
// hold it, consecutive buckets meet, and none is wider than 1/64 of its
// least value.
func TestBucketsTileTheValues(t *testing.T) {
	values := []int64{0, 1, 63, 64, 127, 128, 129, 130, 1000, 1 << 20, 22_000_000, math.MaxInt64 - 1, math.MaxInt64}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		values = append(values, r.Int64N(1<<uint(r.IntN(62)+1)))
	}
	for _, v := range values {
		b := Bucket(v)
		lo, hi := Bounds(b)
		if v < lo || v > hi {
			t.Fatalf("%d in bucket %d of [%d, %d]", v, b, lo, hi)
		}
		if Bucket(lo) != b || Bucket(hi) != b {
			t.Fatalf("bucket %d [%d, %d]: its bounds fall in %d and %d", b, lo, hi, Bucket(lo), Bucket(hi))
		}
		if hi < math.MaxInt64 && Bucket(hi+1) != b+1 {
			t.Fatalf("after bucket %d [%d, %d] comes %d", b, lo, hi, Bucket(hi+1))
		}
		if float64(hi-lo+1) > float64(lo)/64 && lo >= 128 {
			t.Fatalf("bucket %d [%d, %d] wider than 1/64", b, lo, hi)
		}
		if mid := Mid(b); math.Abs(float64(mid-v)) > float64(v)*0.008 {
			t.Fatalf("%d reads as %d", v, mid)
		}
	}
	if Bucket(-5) != 0 {
		t.Error("a negative value is not counted as 0")
	}
}

// A percentile read from the buckets falls in the bucket of the exact
// nearest-rank percentile of the values.
func TestPercentileFallsInTheExactOnesBucket(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		values := make([]int64, 1+r.IntN(2000))
		for i := range values {
			values[i] = int64(r.ExpFloat64() * 30e6)
		}
		h := Of(values...)
		slices.Sort(values)
		for _, p := range []float64{1, 50, 95, 99.9, 100} {
			rank := max(int(math.Ceil(p/100*float64(len(values)))), 1)
			exact := values[rank-1]
			got, ok := h.Percentile(p)
			if !ok || Bucket(got) != Bucket(exact) {
				t.Fatalf("round %d: p%g of %d values: %d (bucket %d), exact %d (bucket %d)", round, p, len(values), got, Bucket(got), exact, Bucket(exact))
			}
		}
	}
	if _, ok := Histogram(nil).Percentile(50); ok {
		t.Error("a percentile of nothing")
	}
}

func TestAddAndEncode(t *testing.T) {
	a := Of(5, 5, 200, 3_000_000)
	b := Of(5, 1_000_000_000)
	minusA := make(Histogram, len(a))
	for i, bin := range a {
		minusA[i] = Bin{bin.Bucket, -bin.Count}
	}
	sum := Add(nil, a, b)
	want := Histogram{{5, 3}, {Bucket(200), 1}, {Bucket(3_000_000), 1}, {Bucket(1_000_000_000), 1}}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("a + b (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(b, Add(nil, sum, minusA)); diff != "" {
		t.Errorf("a + b - a (-want +got):\n%s", diff)
	}
	if got := Add(nil, a, minusA); len(got) != 0 {
		t.Errorf("a - a = %v", got)
	}
	for _, h := range []Histogram{sum, minusA, nil} {
		got, err := Decode(nil, h.Append(nil))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(h, got, cmp.Comparer(func(a, b Histogram) bool { return len(a) == 0 && len(b) == 0 || slices.Equal(a, b) })); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	for _, bad := range [][]byte{{0x80}, {1}, {1, 0}, {1, 2, 0, 2}, {0xff, 0xff, 0xff, 0xff, 0x7f, 2}} {
		if _, err := Decode(nil, bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("% x decoded: %v", bad, err)
		}
	}
}

// Decode never panics, and what it accepts encodes to bytes that decode to
// the same bins (varints may come padded).
func FuzzDecode(f *testing.F) {
	f.Add(Of(1, 2, 3, 1_000_000).Append(nil))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, src []byte) {
		h, err := Decode(nil, src)
		if err != nil {
			return
		}
		again, err := Decode(nil, h.Append(nil))
		if err != nil || !slices.Equal(h, again) {
			t.Fatalf("% x decoded to %v, encoded and decoded again to %v (%v)", src, h, again, err)
		}
	})
}
