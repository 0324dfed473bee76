package reassembly

import (
	"bytes"
	"testing"
)

func TestPrefixOutOfOrderWithRepeats(t *testing.T) {
	p := NewPrefix(10)
	stream := []byte("0123456789ABC")
	if p.Add(4, stream[4:7]) || p.Len() != 0 {
		t.Fatal("a piece after a gap must not grow the prefix")
	}
	if !p.Add(0, stream[0:5]) || p.Len() != 7 {
		t.Fatalf("prefix %d, want 7 after filling the gap", p.Len())
	}
	p.Add(0, stream[0:3]) // retransmission
	p.Add(7, stream[7:13])
	if !bytes.Equal(p.Bytes(), stream[:10]) || !p.Full() || !p.Overflow() {
		t.Fatalf("got %q full=%v overflow=%v", p.Bytes(), p.Full(), p.Overflow())
	}
}

func TestPrefixBoundsGaps(t *testing.T) {
	p := NewPrefix(1000)
	for off := 10; off < 10*(maxGaps+5); off += 10 {
		p.Add(off, []byte{1})
	}
	if len(p.spans) > maxGaps || !p.Overflow() {
		t.Fatalf("%d spans kept, overflow=%v", len(p.spans), p.Overflow())
	}
}
