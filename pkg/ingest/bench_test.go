package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/store"
)

// BenchmarkIngest measures capture file to committed rows, with and
// without per-packet rows, into a new database each time.
func BenchmarkIngest(b *testing.B) {
	// 500k packets, about 480 MB.
	path := fixture.BenchCapture(b, 500_000)
	benchmarkIngest(b, path)
}

// BenchmarkIngestRealistic measures the same on a capture of real traffic
// (many short DNS and QUIC flows), named by SAASLENS_BENCH_CAPTURE: build
// one with ../shared/tools/make-bench.sh OUTDIR 1500.
func BenchmarkIngestRealistic(b *testing.B) {
	benchmarkIngest(b, fixture.RealisticCapture(b))
}

// BenchmarkIngestFlood measures a million SYNs, each from its own
// address, streams only: a stream per packet, none completing a
// handshake.
func BenchmarkIngestFlood(b *testing.B) {
	benchmarkIngest(b, fixture.FloodCapture(b))
}

func benchmarkIngest(b *testing.B, path string) {
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, rows := range []bool{true, false} {
		name := "packet-rows"
		if !rows {
			name = "streams-only"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(info.Size())
			b.ReportAllocs()
			var packets uint64 // counted per run: the capture is only known by reading it
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				in := New(db, Options{PacketRows: rows})
				rep, err := in.Run(context.Background(), []string{path})
				if err != nil || rep.Count("ok") != 1 {
					b.Fatalf("%v %+v", err, rep)
				}
				// What building the daily and monthly totals costs is
				// ingest's too.
				if err := in.CloseDays(context.Background(), true); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				packets += rep.Packets
				db.Close()
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
			if hwm := peakRSS(); hwm > 0 {
				b.ReportMetric(hwm, "peak-RSS-MB")
			}
		})
	}
}

// peakRSS is the process's high-water resident set (Linux), in MB.
func peakRSS() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
