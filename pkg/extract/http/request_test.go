package http

import "testing"

func TestParseRequest(t *testing.T) {
	req := "GET /x HTTP/1.1\r\nUser-Agent: t\r\nhOsT:  api.example.com:8080 \r\n\r\n"
	r, err := ParseRequest([]byte(req))
	if err != nil || r.Method != "GET" || r.Host != "api.example.com:8080" {
		t.Fatalf("%+v %v", r, err)
	}
	for cut := 1; cut < len(req)-len(" \r\n\r\n")-len("api.example.com:8080"); cut++ {
		if _, err := ParseRequest([]byte(req[:cut])); err != ErrNeedMore {
			t.Fatalf("cut at %d: %v, want ErrNeedMore", cut, err)
		}
	}
	if _, err := ParseRequest([]byte("\x16\x03\x01")); err != ErrNotRequest {
		t.Errorf("TLS bytes: %v", err)
	}
	if r, _ := ParseRequest([]byte("CONNECT vpn.example.com:443 HTTP/1.1\r\n\r\n")); r == nil || r.Host != "vpn.example.com:443" {
		t.Errorf("CONNECT: %+v", r)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"))
	f.Add([]byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err == nil && r == nil {
			t.Fatal("nil request without error")
		}
		if r != nil {
			for _, c := range []byte(r.Host) {
				if c <= 0x20 || c >= 0x7f {
					t.Fatalf("unprintable host %q", r.Host)
				}
			}
		}
	})
}
