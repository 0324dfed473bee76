package tls

import (
	"testing"

	"github.com/saaslens/saaslens/pkg/extract/wiretext"
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
		if h != nil {
			for _, p := range h.ALPN {
				if p != wiretext.Token([]byte(p)) {
					t.Fatalf("unsafe ALPN protocol %q", p)
				}
			}
		}
		IsServerHello(b)
	})
}
