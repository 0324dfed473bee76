package quic

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/saaslens/saaslens/pkg/extract/tls"
)

// chlo builds a CHLO message with the given tags and values, in order.
func chlo(entries ...[2]string) []byte {
	b := append([]byte("CHLO"), byte(len(entries)), 0, 0, 0)
	end := uint32(0)
	var values []byte
	for _, e := range entries {
		end += uint32(len(e[1]))
		b = append(b, e[0]...)
		b = binary.LittleEndian.AppendUint32(b, end)
		values = append(values, e[1]...)
	}
	return append(b, values...)
}

func TestParseCHLO(t *testing.T) {
	msg := chlo([2]string{"PAD\x00", "----"}, [2]string{"SNI\x00", "www.example.com"}, [2]string{"VER\x00", "Q043"})
	for _, c := range []struct {
		name string
		in   []byte
		want string
		err  error
	}{
		{"whole", msg, "www.example.com", nil},
		{"cut in the values", msg[:len(msg)-10], "", tls.ErrNeedMore},
		{"cut in the tags", msg[:12], "", tls.ErrNeedMore},
		{"no SNI", chlo([2]string{"VER\x00", "Q043"}), "", nil},
		{"hostile SNI", chlo([2]string{"SNI\x00", "a\x1b[2J\xff"}), "a?[2J?", nil},
		{"offsets going back", append(chlo([2]string{"PAD\x00", "xx"}, [2]string{"SNI\x00", "a"})[:20], 1, 0, 0, 0), "", errNotCHLO},
		{"not a CHLO", []byte("SHLO\x00\x00\x00\x00"), "", errNotCHLO},
	} {
		got, err := ParseCHLO(c.in)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("%s: got %q, %v; want %q, %v", c.name, got, err, c.want, c.err)
		}
	}
}

// A Q043 client packet: public header with version and connection id,
// packet number, message hash, then a STREAM frame holding the CHLO.
func TestGoogleCHLOInTheClear(t *testing.T) {
	d := append([]byte{0x0d, 1, 2, 3, 4, 5, 6, 7, 8}, "Q043"...)
	d = append(d, 1)                   // packet number
	d = append(d, make([]byte, 12)...) // message authentication hash
	d = append(d, 0xa0, 1, 0, 0)       // STREAM frame, stream 1
	d = append(d, chlo([2]string{"SNI\x00", "dns.google.com"})...)
	version, name, ok := GoogleCHLO(d)
	if !ok || version != 0x51303433 || name != "dns.google.com" {
		t.Errorf("got %#x %q %v", version, name, ok)
	}
	for _, other := range [][]byte{{0xc0, 0, 0, 0, 1}, append([]byte{0x0d, 1, 2, 3, 4, 5, 6, 7, 8}, "Q050"...), []byte("plain UDP")} {
		if _, _, ok := GoogleCHLO(other); ok {
			t.Errorf("%q taken for a gQUIC CHLO in the clear", other)
		}
	}
}
