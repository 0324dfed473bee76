package capture_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/fixture"
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
		r, err := capture.NewReader("fuzz", bytes.NewReader(b))
		if err != nil {
			return
		}
		dec := capture.NewDecoder()
		for i := 0; i < 10000; i++ {
			data, ci, link, err := r.Next()
			if err != nil {
				return
			}
			dec.Decode(data, ci, link)
		}
	})
}
