package dhcp

import (
	"net/netip"
	"testing"
)

func message(op, typ byte, opts ...byte) []byte {
	m := make([]byte, 240)
	m[0], m[1], m[2] = op, 1, 6
	copy(m[16:], []byte{10, 0, 0, 23})
	copy(m[28:], []byte{2, 0, 0, 0, 0, 0x23})
	copy(m[236:], []byte{99, 130, 83, 99})
	m = append(m, 53, 1, typ)
	return append(append(m, opts...), 255)
}

func TestParse(t *testing.T) {
	b := message(1, Request, 12, 5, 'a', 'l', 'i', 'c', 'e', 60, 3, 'M', 'S', 'F', 50, 4, 10, 0, 0, 23)
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.TypeName() != "REQUEST" || m.HostName != "alice" || m.VendorClass != "MSF" ||
		m.RequestedIP != netip.MustParseAddr("10.0.0.23") || m.ClientMAC != [6]byte{2, 0, 0, 0, 0, 0x23} {
		t.Errorf("%+v", m)
	}
	if _, err := Parse(b[:100]); err == nil {
		t.Error("a short message must be an error")
	}
	bad := message(1, Discover, 12, 200, 'x')
	if _, err := Parse(bad); err == nil {
		t.Error("an option running past the end must be an error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(message(1, Discover, 12, 5, 'a', 'l', 'i', 'c', 'e'))
	f.Add(message(2, Ack))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := Parse(b); err == nil && m == nil {
			t.Fatal("nil message without error")
		}
	})
}
