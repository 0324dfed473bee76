package flow_test

import (
	"os"
	"testing"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/fixture"
	"github.com/saaslens/saaslens/pkg/flow"
)

// benchPackets makes a capture of about 1.9 GB, past any cache.
const benchPackets = 2_000_000

// BenchmarkDecodeExtract reads the synthetic capture end to end: file
// reading, link to transport decoding, stream tracking and extraction.
func BenchmarkDecodeExtract(b *testing.B) {
	path, packets := fixture.BenchCapture(b, benchPackets)
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var c counter
		dec := capture.NewDecoder()
		tr := flow.NewTracker(flow.DefaultConfig(), &c)
		if _, err := capture.ReadFile(path, dec, tr.Handle); err != nil {
			b.Fatal(err)
		}
		tr.Flush()
		if c.hellos == 0 {
			b.Fatal("no ClientHello found")
		}
	}
	b.StopTimer()
	perPass := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(packets)/perPass, "packets/s")
}

type counter struct{ streams, hellos, dns int }

func (c *counter) Stream(*flow.Stream)     { c.streams++ }
func (c *counter) Hello(*flow.Hello)       { c.hellos++ }
func (c *counter) DNS(*flow.DNSResponse)   { c.dns++ }
func (c *counter) DHCP(*flow.DHCP)         {}
func (c *counter) Sighting(*flow.Sighting) {}
