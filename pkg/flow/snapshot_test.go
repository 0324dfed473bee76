package flow_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
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
			// Deltas taken along the way, as at the end of each file of a
			// rotation, kept as a store keeps them.
			saved := savedState{items: map[string]flow.StateItem{}}
			for i := range fs[:split] {
				first.Handle(&fs[i])
				if i%7 == 3 {
					saved.apply(t, first)
				}
			}
			saved.apply(t, first)
			second := flow.NewTracker(flow.DefaultConfig(), &got)
			if err := second.Restore(saved.header, saved.list()); err != nil {
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
			// Carried tells the store what an earlier Delta holds; it is
			// the one field where the records may differ.
			for i := range got.streams {
				got.streams[i].Carried = false
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s split at packet %d: records differ from an uninterrupted run\n got %d streams %d hellos %d dns\nwant %d streams %d hellos %d dns",
					filepath.Base(path), split, len(got.streams), len(got.hellos), len(got.dns),
					len(want.streams), len(want.hellos), len(want.dns))
			}
		}
	}
}

// savedState keeps Deltas as a store does: the last header, and items
// put and deleted by kind and key.
type savedState struct {
	header []byte
	items  map[string]flow.StateItem
}

func (s *savedState) apply(t *testing.T, tr *flow.Tracker) {
	t.Helper()
	d, err := tr.Delta()
	if err != nil {
		t.Fatal(err)
	}
	s.header = d.Header
	for _, it := range d.Deleted {
		key := fmt.Sprint(it.Kind, it.Key)
		if _, ok := s.items[key]; !ok {
			t.Fatalf("delta deletes item %s that no delta put", key)
		}
		delete(s.items, key)
	}
	if err := d.EachChanged(func(it flow.StateItem) error {
		s.items[fmt.Sprint(it.Kind, it.Key)] = it
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (s *savedState) list() []flow.StateItem {
	var out []flow.StateItem
	for _, it := range s.items {
		out = append(out, it)
	}
	return out
}

func TestRestoreRefusesGarbage(t *testing.T) {
	tr := flow.NewTracker(flow.DefaultConfig(), &collector{})
	if err := tr.Restore([]byte("not a snapshot"), nil); err == nil {
		t.Error("garbage restored without error")
	}
	d, err := tr.Delta()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []flow.StateItem{{Kind: flow.ItemStream, Key: make([]byte, 8), Value: []byte("{")},
		{Kind: flow.ItemNameByAddr, Key: make([]byte, 3), Value: make([]byte, 9)}, {Kind: 9},
		{Kind: flow.ItemHalfOpen, Key: make([]byte, 16), Value: make([]byte, 40)},
		{Kind: flow.ItemHalfOpen, Key: make([]byte, 16), Value: append(make([]byte, 104), 5, 'a')}} {
		if err := tr.Restore(d.Header, []flow.StateItem{bad}); err == nil {
			t.Errorf("item %+v restored without error", bad)
		}
	}
}

func TestOpenStreamsListsEveryOpenStream(t *testing.T) {
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
}
