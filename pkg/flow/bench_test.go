package flow_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/fixture"
	"github.com/saaslens/saaslens/pkg/flow"
)

// benchPackets makes a capture of about 1.9 GB, past any cache.
const benchPackets = 2_000_000

var (
	syntheticOnce    sync.Once
	syntheticPath    string
	syntheticPackets int
)

// syntheticCapture writes the benchmark capture once per run; set
// SAASLENS_BENCH_PCAP to keep it at a path (e.g. to run tshark on it too).
func syntheticCapture(b *testing.B) (string, int) {
	syntheticOnce.Do(func() {
		syntheticPath = os.Getenv("SAASLENS_BENCH_PCAP")
		if syntheticPath == "" {
			dir, err := os.MkdirTemp("", "saaslens-bench")
			if err != nil {
				b.Fatal(err)
			}
			syntheticPath = filepath.Join(dir, "synthetic.pcap")
		}
		f, err := os.Create(syntheticPath)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if syntheticPackets, err = fixture.WriteSynthetic(f, benchPackets); err != nil {
			b.Fatal(err)
		}
	})
	return syntheticPath, syntheticPackets
}

// BenchmarkDecodeExtract reads the synthetic capture end to end: file
// reading, link to transport decoding, stream tracking and extraction.
func BenchmarkDecodeExtract(b *testing.B) {
	path, packets := syntheticCapture(b)
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
