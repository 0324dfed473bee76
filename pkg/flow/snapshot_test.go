package flow_test

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/sharedtest"
)

// frames decodes a file into owned copies of its TCP and UDP frames.
func frames(t *testing.T, path string) []capture.Frame {
	t.Helper()
	var out []capture.Frame
	dec := capture.NewDecoder()
	capture.ReadFile(path, dec, func(f *capture.Frame) {
		c := *f
		c.Payload = bytes.Clone(f.Payload)
		out = append(out, c)
	})
	return out
}

// Stopping a Tracker after any packet, saving it and going on with a
// restored copy yields exactly the records of an uninterrupted run: the
// property that lets ingest resume after a kill with an identical database.
func TestSnapshotRestoreAnywhere(t *testing.T) {
	paths, _ := filepath.Glob(testdata("*.pcap*"))
	for _, c := range sharedtest.Captures(t) {
		paths = append(paths, c.Path)
	}
	for _, path := range paths {
		fs := frames(t, path)
		if len(fs) == 0 {
			continue
		}
		var want collector
		run := flow.NewTracker(flow.DefaultConfig(), &want)
		for i := range fs {
			run.Handle(&fs[i])
		}
		run.Flush()

		step := max(1, len(fs)/12)
		for split := 1; split < len(fs); split += step {
			var got collector
			first := flow.NewTracker(flow.DefaultConfig(), &got)
			for i := range fs[:split] {
				first.Handle(&fs[i])
			}
			saved, err := first.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			second := flow.NewTracker(flow.DefaultConfig(), &got)
			if err := second.Restore(saved); err != nil {
				t.Fatalf("%s split at %d: %v", filepath.Base(path), split, err)
			}
			if second.Active() != first.Active() || second.Now() != first.Now() {
				t.Fatalf("%s split at %d: restored %d streams at %d, saved %d at %d", filepath.Base(path), split,
					second.Active(), second.Now(), first.Active(), first.Now())
			}
			for i := range fs[split:] {
				second.Handle(&fs[split+i])
			}
			second.Flush()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s split at packet %d: records differ from an uninterrupted run\n got %d streams %d hellos %d dns\nwant %d streams %d hellos %d dns",
					filepath.Base(path), split, len(got.streams), len(got.hellos), len(got.dns),
					len(want.streams), len(want.hellos), len(want.dns))
			}
		}
	}
}

func TestRestoreRefusesGarbage(t *testing.T) {
	tr := flow.NewTracker(flow.DefaultConfig(), &collector{})
	if err := tr.Restore([]byte("not a snapshot")); err == nil {
		t.Error("garbage restored without error")
	}
}

func TestOpenStreamsOldestFirst(t *testing.T) {
	tr := flow.NewTracker(flow.DefaultConfig(), &collector{})
	fs := frames(t, testdata("rotated-0.pcap"))
	for i := range fs {
		tr.Handle(&fs[i])
	}
	var firsts []int64
	tr.OpenStreams(func(s *flow.Stream) {
		if s.End != flow.EndOpen {
			t.Errorf("open stream %d has end %v", s.ID, s.End)
		}
		firsts = append(firsts, s.First)
	})
	if len(firsts) == 0 || len(firsts) != tr.Active() {
		t.Fatalf("%d open streams listed, %d active", len(firsts), tr.Active())
	}
	for i := 1; i < len(firsts); i++ {
		if firsts[i] < firsts[i-1] {
			t.Fatalf("open streams not in start order: %v", firsts)
		}
	}
}
