package tls

import (
	"encoding/binary"
	"strings"
	"testing"
)

// hello builds a ClientHello message with the given extensions.
func hello(exts ...[]byte) []byte {
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0, 0, 2, 0x13, 0x01, 1, 0)
	var all []byte
	for _, e := range exts {
		all = append(all, e...)
	}
	body = binary.BigEndian.AppendUint16(body, uint16(len(all)))
	body = append(body, all...)
	return append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
}

func ext(typ uint16, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func sniExt(name string) []byte {
	entry := append([]byte{0}, byte(len(name)>>8), byte(len(name)))
	entry = append(entry, name...)
	return ext(0, append([]byte{byte(len(entry) >> 8), byte(len(entry))}, entry...))
}

func records(msg []byte, max int) []byte {
	var out []byte
	for len(msg) > 0 {
		n := min(max, len(msg))
		out = append(out, 0x16, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

func seedHellos() [][]byte {
	h := hello(sniExt("example.com"), ext(16, []byte{0, 3, 2, 'h', '2'}), ext(43, []byte{4, 0x3a, 0x3a, 3, 4}), ext(0xfe0d, []byte{0}))
	return [][]byte{records(h, 1<<14), records(h, 20), records(h, 1<<14)[:30], {0x16, 3, 1}}
}

func TestParseClientHello(t *testing.T) {
	h := hello(sniExt("example.com"), ext(16, []byte{0, 6, 2, 'h', '2', 2, 'h', '3'}), ext(43, []byte{4, 0x3a, 0x3a, 3, 4}), ext(0xfe0d, []byte{0}))
	for _, size := range []int{1 << 14, 50, 7, 1} { // one record, or split over many
		got, err := ParseClientHelloRecords(records(h, size))
		if err != nil {
			t.Fatalf("records of %d: %v", size, err)
		}
		if got.ServerName != "example.com" || len(got.ALPN) != 2 || got.ALPN[1] != "h3" || !got.ECH || got.MaxVersion() != 0x0304 {
			t.Errorf("records of %d: %+v", size, got)
		}
	}
	stream := records(h, 50)
	for cut := 0; cut < len(stream); cut++ {
		if _, err := ParseClientHelloRecords(stream[:cut]); err != ErrNeedMore {
			t.Fatalf("cut at %d: %v, want ErrNeedMore", cut, err)
		}
	}
	if _, err := ParseClientHelloRecords([]byte("GET / HTTP/1.1\r\n")); err != ErrNotClientHello {
		t.Errorf("HTTP: %v", err)
	}
	if got, _ := ParseClientHelloRecords(records(hello(sniExt("bad\x00name")), 1<<14)); got == nil || got.ServerName != "" {
		t.Errorf("a name with a NUL byte must be dropped: %+v", got)
	}
}

// ALPN protocol ids are bytes chosen by the client: an escape sequence or
// invalid UTF-8 must not reach a terminal or a TEXT column.
func TestHostileALPNIsSanitised(t *testing.T) {
	var list []byte
	for _, p := range []string{"h2", "\x1b[2J\x00", "\xff\xfe"} {
		list = append(list, byte(len(p)))
		list = append(list, p...)
	}
	body := append([]byte{byte(len(list) >> 8), byte(len(list))}, list...)
	h, err := ParseClientHelloRecords(records(hello(sniExt("a.example"), ext(16, body)), 1<<14))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"h2", "?[2J?", "??"}
	if strings.Join(h.ALPN, "|") != strings.Join(want, "|") {
		t.Errorf("ALPN %q, want %q", h.ALPN, want)
	}
}
