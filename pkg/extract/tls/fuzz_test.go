package tls

import (
	"testing"
)

func FuzzParseClientHelloRecords(f *testing.F) {
	for _, seed := range seedHellos() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseClientHelloRecords(b)
		if err == nil && h == nil {
			t.Fatal("nil hello without error")
		}
		if h != nil && h.ServerName != "" && !validHostName([]byte(h.ServerName)) {
			t.Fatalf("unsafe server name %q", h.ServerName)
		}
		IsServerHello(b)
	})
}
