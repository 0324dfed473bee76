package capture_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
)

// FuzzReadCapture: any bytes as a capture file never panic; reading either
// ends cleanly or with a ReadError.
func FuzzReadCapture(f *testing.F) {
	for name, b := range fixture.Files() {
		if name == "lan.pcap.gz" {
			raw, _ := os.ReadFile(testdata(name))
			f.Add(raw)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var re *capture.ReadError
		r, err := capture.NewReader("fuzz", bytes.NewReader(b))
		if err != nil {
			if !errors.As(err, &re) {
				t.Fatalf("open: %v is not a ReadError", err)
			}
			return
		}
		dec := capture.NewDecoder()
		for i := 0; i < 10000; i++ {
			data, ci, link, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !errors.As(err, &re) || re.Offset < 0 || re.Offset > int64(len(b))*1024 {
					t.Fatalf("record %d: %v is not a ReadError at an offset in the input", i, err)
				}
				return
			}
			dec.Decode(data, ci, link)
		}
	})
}

// FuzzDecode: any bytes as a frame of each link type decode without a
// panic, however the tunnel layers nest, and never past the nesting bound.
func FuzzDecode(f *testing.F) {
	r, err := capture.Open(testdata("tunnels.pcap"))
	if err != nil {
		f.Fatal(err)
	}
	for {
		data, _, _, err := r.Next()
		if err != nil {
			break
		}
		f.Add(append([]byte(nil), data...))
	}
	r.Close()
	dec := capture.NewDecoder()
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0)}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, link := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw} {
			if ok, _ := dec.Decode(b, ci, link); ok && dec.Frame.IPLen < 0 {
				t.Fatalf("negative IP length %d", dec.Frame.IPLen)
			}
		}
	})
}
