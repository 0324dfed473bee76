package flow

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"sort"

	"github.com/saaslens/saaslens/pkg/extract/quic"
	"github.com/saaslens/saaslens/pkg/reassembly"
)

// snapshotVersion changes whenever the saved form changes meaning; a saved
// state of another version is refused rather than misread.
const snapshotVersion = 1

// The saved form mirrors the Tracker's private state with exported fields,
// because encoding/gob only sees those.
type savedTracker struct {
	Version           int
	Now, NextSweep    int64
	PacketsSinceSweep int
	Streams           []savedStream
	Sightings         []Sighting
	DNSByPair         []savedName
	DNSByAddr         []savedName
}

type savedStream struct {
	Stream
	ClientIsA               bool
	FinSeen                 [2]bool
	SynTime, SynAckTime     int64
	HelloTime               int64
	ServerReplied           bool
	ClientBase              uint32
	ClientBaseSet           bool
	ClientPrefix            *reassembly.PrefixState
	ServerBase              uint32
	ServerBaseSet           bool
	ServerPrefix            *reassembly.PrefixState
	ServerParsed            int
	QUIC                    *quic.ClientState
	QUICTries               int
	QUICGaveUp, InspectDone bool
}

type savedName struct {
	Client, Addr [16]byte
	Name         string
	Expires      int64
}

// Snapshot saves everything the Tracker carries from one file to the next
// (open streams, half-seen handshakes, the DNS name table), so that a run
// stopped between two files can resume exactly where it stopped.
func (t *Tracker) Snapshot() ([]byte, error) {
	st := savedTracker{Version: snapshotVersion, Now: t.now, NextSweep: t.nextSweep, PacketsSinceSweep: t.packetsSinceSwp}
	for _, s := range t.sortedStreams() {
		ss := savedStream{
			Stream: s.Stream, ClientIsA: s.clientIsA, FinSeen: s.finSeen,
			SynTime: s.synTime, SynAckTime: s.synAckTime, HelloTime: s.helloTime, ServerReplied: s.serverReplied,
			ClientBase: s.clientBase, ClientBaseSet: s.clientBaseSet,
			ServerBase: s.serverBase, ServerBaseSet: s.serverBaseSet, ServerParsed: s.serverParsed,
			QUICTries: s.quicTries, QUICGaveUp: s.quicGaveUp, InspectDone: s.inspectDone,
		}
		if s.clientPrefix != nil {
			ss.ClientPrefix = s.clientPrefix.State()
		}
		if s.serverPrefix != nil {
			ss.ServerPrefix = s.serverPrefix.State()
		}
		if s.quic != nil {
			ss.QUIC = s.quic.State()
		}
		st.Streams = append(st.Streams, ss)
	}
	for _, sg := range t.sightings {
		st.Sightings = append(st.Sightings, *sg)
	}
	for k, e := range t.dnsByPair {
		st.DNSByPair = append(st.DNSByPair, savedName{Client: k.client, Addr: k.addr, Name: e.name, Expires: e.expires})
	}
	for a, e := range t.dnsByAddr {
		st.DNSByAddr = append(st.DNSByAddr, savedName{Addr: a, Name: e.name, Expires: e.expires})
	}
	// Sorted, so that the same state always saves to the same bytes.
	sort.Slice(st.Sightings, func(i, j int) bool {
		a, b := &st.Sightings[i], &st.Sightings[j]
		if c := bytes.Compare(a.MAC[:], b.MAC[:]); c != 0 {
			return c < 0
		}
		return a.IP.Less(b.IP)
	})
	for _, names := range [][]savedName{st.DNSByPair, st.DNSByAddr} {
		sort.Slice(names, func(i, j int) bool {
			if c := bytes.Compare(names[i].Client[:], names[j].Client[:]); c != 0 {
				return c < 0
			}
			return bytes.Compare(names[i].Addr[:], names[j].Addr[:]) < 0
		})
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&st); err != nil {
		return nil, fmt.Errorf("flow: saving tracker state: %w", err)
	}
	return buf.Bytes(), nil
}

// Restore replaces the Tracker's state with a Snapshot.
func (t *Tracker) Restore(data []byte) error {
	var st savedTracker
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&st); err != nil {
		return fmt.Errorf("flow: reading saved tracker state: %w", err)
	}
	if st.Version != snapshotVersion {
		return fmt.Errorf("flow: saved tracker state has version %d, want %d", st.Version, snapshotVersion)
	}
	streams := make(map[key]*stream, len(st.Streams))
	for i := range st.Streams {
		ss := &st.Streams[i]
		s := &stream{
			Stream: ss.Stream, clientIsA: ss.ClientIsA, finSeen: ss.FinSeen,
			synTime: ss.SynTime, synAckTime: ss.SynAckTime, helloTime: ss.HelloTime, serverReplied: ss.ServerReplied,
			clientBase: ss.ClientBase, clientBaseSet: ss.ClientBaseSet,
			serverBase: ss.ServerBase, serverBaseSet: ss.ServerBaseSet, serverParsed: ss.ServerParsed,
			quicTries: ss.QUICTries, quicGaveUp: ss.QUICGaveUp, inspectDone: ss.InspectDone,
		}
		var err error
		if ss.ClientPrefix != nil {
			if s.clientPrefix, err = reassembly.Restore(ss.ClientPrefix); err != nil {
				return fmt.Errorf("flow: stream %d: %w", s.ID, err)
			}
		}
		if ss.ServerPrefix != nil {
			if s.serverPrefix, err = reassembly.Restore(ss.ServerPrefix); err != nil {
				return fmt.Errorf("flow: stream %d: %w", s.ID, err)
			}
		}
		if ss.QUIC != nil {
			if s.quic, err = quic.RestoreClient(ss.QUIC); err != nil {
				return fmt.Errorf("flow: stream %d: %w", s.ID, err)
			}
		}
		if !s.Client.IsValid() || !s.Server.IsValid() {
			return fmt.Errorf("flow: stream %d: saved without addresses", s.ID)
		}
		streams[s.key()] = s
	}
	t.streams = streams
	t.now, t.nextSweep, t.packetsSinceSwp = st.Now, st.NextSweep, st.PacketsSinceSweep
	clear(t.sightings)
	for i := range st.Sightings {
		sg := st.Sightings[i]
		t.sightings[sightingKey{mac: sg.MAC, ip: sg.IP.As16()}] = &sg
	}
	clear(t.dnsByPair)
	for _, n := range st.DNSByPair {
		t.dnsByPair[dnsKey{client: n.Client, addr: n.Addr}] = dnsName{name: n.Name, expires: n.Expires}
	}
	clear(t.dnsByAddr)
	for _, n := range st.DNSByAddr {
		t.dnsByAddr[n.Addr] = dnsName{name: n.Name, expires: n.Expires}
	}
	return nil
}

// OpenStreams calls fn for each stream still open, oldest first, with its
// End left at EndOpen: what a store shows as "in progress" between files.
func (t *Tracker) OpenStreams(fn func(*Stream)) {
	for _, s := range t.sortedStreams() {
		fn(&s.Stream)
	}
}

// Now is the latest packet time seen, Unix nanoseconds.
func (t *Tracker) Now() int64 { return t.now }

func (t *Tracker) sortedStreams() []*stream {
	list := make([]*stream, 0, len(t.streams))
	for _, s := range t.streams {
		list = append(list, s)
	}
	sortByStart(list)
	return list
}
