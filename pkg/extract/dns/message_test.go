package dns

import (
	"encoding/hex"
	"testing"
)

// A response for www.example.com: CNAME to edge.example.net, then one A,
// with compression pointers.
const response = "12348180000100020000000003777777076578616d706c6503636f6d0000010001" +
	"c00c0005000100000e1000120465646765076578616d706c65036e657400" +
	"c02d000100010000003c00045db8d822"

func TestParseResponse(t *testing.T) {
	b, _ := hex.DecodeString(response)
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Response || m.QName != "www.example.com" || m.QType != TypeA {
		t.Errorf("header %+v", m)
	}
	if chain := m.CNAMEChain(); len(chain) != 1 || chain[0] != "edge.example.net" {
		t.Errorf("chain %v", chain)
	}
	a := m.Addrs()
	if len(a) != 1 || a[0].Addr.String() != "93.184.216.34" || a[0].TTL != 60 || a[0].Name != "edge.example.net" {
		t.Errorf("answers %+v", a)
	}
	for cut := 0; cut < len(b); cut++ {
		Parse(b[:cut]) // must not panic
	}
}

func TestCompressionLoopIsRefused(t *testing.T) {
	// The question name is a pointer to itself.
	b, _ := hex.DecodeString("123481800001000000000000c00c00010001")
	if _, err := Parse(b); err == nil {
		t.Fatal("a self-pointing name must be an error")
	}
}

func FuzzParse(f *testing.F) {
	b, _ := hex.DecodeString(response)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err == nil && m == nil {
			t.Fatal("nil message without error")
		}
		if m != nil {
			m.CNAMEChain()
		}
	})
}
