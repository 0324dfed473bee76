package flow

import (
	"bytes"
	"encoding/gob"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/saaslens/saaslens/pkg/capture"
)

type streamList struct{ streams []Stream }

func (l *streamList) Stream(s *Stream)   { c := *s; c.Carried = false; l.streams = append(l.streams, c) }
func (l *streamList) Hello(*Hello)       {}
func (l *streamList) DNS(*DNSResponse)   {}
func (l *streamList) DHCP(*DHCP)         {}
func (l *streamList) Sighting(*Sighting) {}

// A database written before state was kept as items holds one header with
// every open stream and DNS name inside. Restoring it carries on as an
// uninterrupted run would, and the next Delta moves what it held into
// items, so the header shrinks back to its own fields.
func TestRestoreFromAHeaderHoldingEverything(t *testing.T) {
	paths := []string{filepath.Join("..", "..", "testdata", "rotated-0.pcap"), filepath.Join("..", "..", "testdata", "rotated-1.pcap")}
	read := func(tr *Tracker, path string) {
		if _, err := capture.ReadFile(path, capture.NewDecoder(), tr.Handle); err != nil {
			t.Fatal(err)
		}
	}
	var want streamList
	whole := NewTracker(DefaultConfig(), &want)
	read(whole, paths[0])
	read(whole, paths[1])
	whole.Flush()

	var got streamList
	first := NewTracker(DefaultConfig(), &got)
	read(first, paths[0])
	old := savedTracker{Version: snapshotVersion, Now: first.now, NextSweep: first.nextSweep, PacketsSinceSweep: first.packetsSinceSwp}
	for _, s := range first.streams {
		old.Streams = append(old.Streams, *saveStream(s))
	}
	for k, e := range first.dnsByPair {
		old.DNSByPair = append(old.DNSByPair, savedName{Client: k.client, Addr: k.addr, Name: e.name, Expires: e.expires})
	}
	var header bytes.Buffer
	if err := gob.NewEncoder(&header).Encode(&old); err != nil {
		t.Fatal(err)
	}
	if len(old.Streams) == 0 {
		t.Fatal("the first file should leave a stream open")
	}
	second := NewTracker(DefaultConfig(), &got)
	if err := second.Restore(header.Bytes(), nil); err != nil {
		t.Fatal(err)
	}
	d, err := second.Delta()
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Len(); n != len(old.Streams)+len(old.DNSByPair) {
		t.Errorf("first delta after restoring carries %d items, want the %d streams and %d names the header held",
			n, len(old.Streams), len(old.DNSByPair))
	}
	read(second, paths[1])
	second.Flush()
	if !reflect.DeepEqual(got.streams, want.streams) {
		t.Errorf("streams differ from an uninterrupted run:\n got %+v\nwant %+v", got.streams, want.streams)
	}
}
