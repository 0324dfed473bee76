package flow_test

import (
	"os"
	"testing"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
)

// benchPackets makes a capture of about 1.9 GB, past any cache.
const benchPackets = 2_000_000

// BenchmarkDecodeExtract reads the synthetic capture end to end: file
// reading, link to transport decoding, stream tracking and extraction.
func BenchmarkDecodeExtract(b *testing.B) {
	path := fixture.BenchCapture(b, benchPackets)
	benchmarkDecodeExtract(b, path)
}

// BenchmarkDecodeExtractRealistic reads the capture of real traffic that
// SAASLENS_BENCH_CAPTURE names (../shared/tools/make-bench.sh OUTDIR 1500):
// the decoding that ingest's BenchmarkIngestRealistic is held against.
func BenchmarkDecodeExtractRealistic(b *testing.B) {
	benchmarkDecodeExtract(b, fixture.RealisticCapture(b))
}

func benchmarkDecodeExtract(b *testing.B, path string) {
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	b.ReportAllocs()
	b.ResetTimer()
	var packets uint64 // counted per pass: a capture given by name is only known by reading it
	for i := 0; i < b.N; i++ {
		var c counter
		dec := capture.NewDecoder()
		tr := flow.NewTracker(flow.DefaultConfig(), &c)
		sum, err := capture.ReadFile(path, dec, tr.Handle)
		if err != nil {
			b.Fatal(err)
		}
		tr.Flush()
		if c.hellos == 0 {
			b.Fatal("no ClientHello found")
		}
		packets += sum.Packets
	}
	b.StopTimer()
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}

type counter struct{ streams, hellos, dns int }

func (c *counter) Stream(*flow.Stream)     { c.streams++ }
func (c *counter) Hello(*flow.Hello)       { c.hellos++ }
func (c *counter) DNS(*flow.DNSResponse)   { c.dns++ }
func (c *counter) DHCP(*flow.DHCP)         {}
func (c *counter) Sighting(*flow.Sighting) {}
