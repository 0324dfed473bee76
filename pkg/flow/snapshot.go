package flow

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"slices"
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
	Sightings         []Sighting
	// Streams and names are StateItems now; a header saved before holds
	// them here, and Restore still reads them.
	Streams   []savedStream
	DNSByPair []savedName
	DNSByAddr []savedName
}

type savedStream struct {
	Stream
	ClientIsA               bool
	FinSeen                 [2]bool
	SynTime, SynAckTime     int64
	HelloTime               int64
	ServerReplied           bool
	SeqEnd                  [2]uint32
	SeqSeen                 [2]bool
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

// ItemKind tells what a StateItem holds.
type ItemKind uint8

const (
	ItemStream     ItemKind = 1 // an open stream; key: its first packet time and ID, 8 bytes big-endian each
	ItemNameByPair ItemKind = 2 // a DNS name by client and address; key: both, 32 bytes
	ItemNameByAddr ItemKind = 3 // a DNS name by address; key: 16 bytes
	ItemHalfOpen   ItemKind = 4 // a half-open TCP stream; key as ItemStream's
)

// StateItem is one open stream or DNS name of a Tracker's saved state.
type StateItem struct {
	Kind  ItemKind
	Key   []byte
	Value []byte
}

// Delta is what a Tracker carries from one file to the next, as changes
// to what the previous Delta saved: a small header, the items (open
// streams, DNS names) changed since, and those gone since. A store keeps
// the items keyed by kind and key; writing a Delta costs what changed in
// the file, not what is open, so a run of many small files or a flood of
// half-open streams stays cheap per file.
type Delta struct {
	Header  []byte
	Deleted []StateItem // Value nil
	names   []StateItem
	// streams are encoded one at a time as EachChanged goes: a flood
	// leaves hundreds of thousands of open streams to save at once.
	streams []*stream
	// halfOpen are looked up in the Tracker as EachChanged goes, rather
	// than copied: a flood leaves hundreds of thousands.
	halfOpen []openKey
	tracker  *Tracker
}

// openKey is an open stream's place in the Tracker, with what orders it:
// streams oldest first, a half-open one when s is nil.
type openKey struct {
	first, id int64
	s         *stream
	k         key
}

// sortOpen orders open streams oldest first.
func sortOpen(list []openKey) {
	slices.SortFunc(list, func(a, b openKey) int {
		if c := cmp.Compare(a.first, b.first); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
}

// Len is the number of changed items.
func (d *Delta) Len() int { return len(d.names) + len(d.streams) + len(d.halfOpen) }

// EachChanged calls fn with each changed item in turn, in kind and key
// order. Call it before the Tracker handles more packets.
func (d *Delta) EachChanged(fn func(StateItem) error) error {
	for _, s := range d.streams {
		value, err := json.Marshal(saveStream(s))
		if err != nil {
			return fmt.Errorf("flow: saving stream %d: %w", s.ID, err)
		}
		if err := fn(StateItem{Kind: ItemStream, Key: s.itemKey, Value: value}); err != nil {
			return err
		}
	}
	for _, it := range d.names {
		if err := fn(it); err != nil {
			return err
		}
	}
	for _, o := range d.halfOpen {
		h := d.tracker.halfOpen[o.k]
		if err := fn(StateItem{Kind: ItemHalfOpen, Key: itemKeyOf(h.first, h.id), Value: halfOpenValue(o.k, &h)}); err != nil {
			return err
		}
	}
	return nil
}

// Delta saves what changed since the last Delta, or since the Tracker was
// made or restored, and starts the next one. Together with every earlier
// Delta it restores the Tracker exactly where it stands (Restore), so a
// run stopped between two files resumes as if never stopped.
func (t *Tracker) Delta() (*Delta, error) {
	st := savedTracker{Version: snapshotVersion, Now: t.now, NextSweep: t.nextSweep, PacketsSinceSweep: t.packetsSinceSwp}
	for _, sg := range t.sightings {
		st.Sightings = append(st.Sightings, *sg)
	}
	// Sorted, so that the same state always saves to the same bytes.
	sort.Slice(st.Sightings, func(i, j int) bool {
		a, b := &st.Sightings[i], &st.Sightings[j]
		if c := bytes.Compare(a.MAC[:], b.MAC[:]); c != 0 {
			return c < 0
		}
		return a.IP.Less(b.IP)
	})
	var header bytes.Buffer
	if err := gob.NewEncoder(&header).Encode(&st); err != nil {
		return nil, fmt.Errorf("flow: saving tracker state: %w", err)
	}
	d := &Delta{Header: header.Bytes(), Deleted: t.deleted, tracker: t}
	t.deleted = nil
	d.streams = t.changedOpenStreams()
	sort.Slice(d.streams, func(i, j int) bool { return d.streams[i].ID < d.streams[j].ID })
	for _, s := range d.streams {
		key := itemKeyOf(s.First, s.ID)
		if s.itemKey != nil && !bytes.Equal(key, s.itemKey) { // an earlier packet came late
			d.Deleted = append(d.Deleted, StateItem{Kind: ItemStream, Key: s.itemKey})
		}
		s.changed, s.Carried, s.itemKey = false, true, key
	}
	for k, h := range t.halfOpen {
		if !h.changed {
			continue
		}
		if h.carried && h.savedFirst != h.first {
			d.Deleted = append(d.Deleted, StateItem{Kind: ItemHalfOpen, Key: itemKeyOf(h.savedFirst, h.id)})
		}
		h.changed, h.carried, h.savedFirst = false, true, h.first
		t.halfOpen[k] = h
		d.halfOpen = append(d.halfOpen, openKey{first: h.first, id: h.id, k: k})
	}
	sortOpen(d.halfOpen)
	for k := range t.changedPairs {
		if e, ok := t.dnsByPair[k]; ok {
			e.persisted = true
			t.dnsByPair[k] = e
			d.names = append(d.names, StateItem{Kind: ItemNameByPair, Key: pairItemKey(k), Value: nameValue(e)})
		}
	}
	clear(t.changedPairs)
	for k := range t.changedAddrs {
		if e, ok := t.dnsByAddr[k]; ok {
			e.persisted = true
			t.dnsByAddr[k] = e
			d.names = append(d.names, StateItem{Kind: ItemNameByAddr, Key: bytes.Clone(k[:]), Value: nameValue(e)})
		}
	}
	clear(t.changedAddrs)
	sortItems(d.names)
	sortItems(d.Deleted)
	return d, nil
}

// sortItems orders items by kind and key, so that the same changes always
// save in the same order.
func sortItems(items []StateItem) {
	sort.Slice(items, func(i, j int) bool {
		if items[i].Kind != items[j].Kind {
			return items[i].Kind < items[j].Kind
		}
		return bytes.Compare(items[i].Key, items[j].Key) < 0
	})
}

// itemKeyOf is a stream's item key, from its first packet time and ID. It
// leads with the time, so that a store's items are in time order: a
// flood adds at one end of the table and evicts at the other, instead of
// touching pages all over it.
func itemKeyOf(first, id int64) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(first)^1<<63)
	return binary.BigEndian.AppendUint64(k, uint64(id))
}

func pairItemKey(k dnsKey) []byte { return append(bytes.Clone(k.client[:]), k.addr[:]...) }

func nameValue(e dnsName) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(e.expires)), e.name...)
}

func saveStream(s *stream) *savedStream {
	ss := &savedStream{
		Stream: s.Stream, ClientIsA: s.clientIsA, FinSeen: s.finSeen,
		SynTime: s.synTime, SynAckTime: s.synAckTime, HelloTime: s.helloTime, ServerReplied: s.serverReplied,
		SeqEnd: s.seqEnd, SeqSeen: s.seqSeen,
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
	return ss
}

func restoreStream(ss *savedStream) (*stream, error) {
	s := &stream{
		Stream: ss.Stream, clientIsA: ss.ClientIsA, finSeen: ss.FinSeen,
		synTime: ss.SynTime, synAckTime: ss.SynAckTime, helloTime: ss.HelloTime, serverReplied: ss.ServerReplied,
		seqEnd: ss.SeqEnd, seqSeen: ss.SeqSeen,
		clientBase: ss.ClientBase, clientBaseSet: ss.ClientBaseSet,
		serverBase: ss.ServerBase, serverBaseSet: ss.ServerBaseSet, serverParsed: ss.ServerParsed,
		quicTries: ss.QUICTries, quicGaveUp: ss.QUICGaveUp, inspectDone: ss.InspectDone,
	}
	var err error
	if ss.ClientPrefix != nil {
		if s.clientPrefix, err = reassembly.Restore(ss.ClientPrefix); err != nil {
			return nil, fmt.Errorf("flow: stream %d: %w", s.ID, err)
		}
	}
	if ss.ServerPrefix != nil {
		if s.serverPrefix, err = reassembly.Restore(ss.ServerPrefix); err != nil {
			return nil, fmt.Errorf("flow: stream %d: %w", s.ID, err)
		}
	}
	if ss.QUIC != nil {
		if s.quic, err = quic.RestoreClient(ss.QUIC); err != nil {
			return nil, fmt.Errorf("flow: stream %d: %w", s.ID, err)
		}
	}
	if !s.Client.IsValid() || !s.Server.IsValid() {
		return nil, fmt.Errorf("flow: stream %d: saved without addresses", s.ID)
	}
	return s, nil
}

// Restore replaces the Tracker's state with the last Delta's header and
// the items every Delta so far left in place. A header saved before state
// was kept as items (it holds the streams and names itself) is read too;
// what it holds goes out as items in the next Delta.
func (t *Tracker) Restore(header []byte, items []StateItem) error {
	var st savedTracker
	if err := gob.NewDecoder(bytes.NewReader(header)).Decode(&st); err != nil {
		return fmt.Errorf("flow: reading saved tracker state: %w", err)
	}
	if st.Version != snapshotVersion {
		return fmt.Errorf("flow: saved tracker state has version %d, want %d", st.Version, snapshotVersion)
	}
	fresh := NewTracker(t.cfg, t.sink)
	fresh.now, fresh.nextSweep, fresh.packetsSinceSwp = st.Now, st.NextSweep, st.PacketsSinceSweep
	for i := range st.Sightings {
		sg := st.Sightings[i]
		fresh.sightings[sightingKey{mac: sg.MAC, ip: sg.IP.As16()}] = &sg
	}
	for i := range st.Streams {
		s, err := restoreStream(&st.Streams[i])
		if err != nil {
			return err
		}
		s.changed, s.Carried = true, true
		fresh.streams[s.key()] = s
	}
	for _, n := range st.DNSByPair {
		k := dnsKey{client: n.Client, addr: n.Addr}
		fresh.dnsByPair[k] = dnsName{name: n.Name, expires: n.Expires}
		fresh.changedPairs[k] = struct{}{}
	}
	for _, n := range st.DNSByAddr {
		fresh.dnsByAddr[n.Addr] = dnsName{name: n.Name, expires: n.Expires}
		fresh.changedAddrs[n.Addr] = struct{}{}
	}
	for _, it := range items {
		if err := fresh.restoreItem(it); err != nil {
			return err
		}
	}
	t.streams, t.halfOpen, t.now, t.nextSweep, t.packetsSinceSwp = fresh.streams, fresh.halfOpen, fresh.now, fresh.nextSweep, fresh.packetsSinceSwp
	t.sightings, t.dnsByPair, t.dnsByAddr = fresh.sightings, fresh.dnsByPair, fresh.dnsByAddr
	t.changedPairs, t.changedAddrs, t.deleted = fresh.changedPairs, fresh.changedAddrs, nil
	return nil
}

func (t *Tracker) restoreItem(it StateItem) error {
	switch it.Kind {
	case ItemStream:
		var ss savedStream
		if err := json.Unmarshal(it.Value, &ss); err != nil {
			return fmt.Errorf("flow: reading saved stream: %w", err)
		}
		s, err := restoreStream(&ss)
		if err != nil {
			return err
		}
		s.Carried, s.itemKey = true, bytes.Clone(it.Key)
		t.streams[s.key()] = s
	case ItemHalfOpen:
		k, h, err := readHalfOpen(it.Value)
		if err != nil {
			return err
		}
		h.carried, h.savedFirst = true, h.first
		if !bytes.Equal(it.Key, itemKeyOf(h.first, h.id)) {
			return fmt.Errorf("flow: saved half-open stream %d under another key", h.id)
		}
		t.halfOpen[k] = h
	case ItemNameByPair, ItemNameByAddr:
		if len(it.Value) < 8 || it.Kind == ItemNameByPair && len(it.Key) != 32 || it.Kind == ItemNameByAddr && len(it.Key) != 16 {
			return fmt.Errorf("flow: saved DNS name of kind %d with a %d-byte key and %d-byte value", it.Kind, len(it.Key), len(it.Value))
		}
		e := dnsName{expires: int64(binary.BigEndian.Uint64(it.Value)), name: string(it.Value[8:]), persisted: true}
		if it.Kind == ItemNameByPair {
			t.dnsByPair[dnsKey{client: [16]byte(it.Key[:16]), addr: [16]byte(it.Key[16:])}] = e
		} else {
			t.dnsByAddr[[16]byte(it.Key)] = e
		}
	default:
		return fmt.Errorf("flow: saved state item of unknown kind %d", it.Kind)
	}
	return nil
}

// OpenChanged calls fn for each open stream that saw packets since the
// last Delta, oldest first: what a store updates as "in progress" at the
// end of a file. Streams that saw nothing are as the store has them.
func (t *Tracker) OpenChanged(fn func(*Stream)) {
	var list []openKey
	for _, s := range t.streams {
		if s.changed {
			list = append(list, openKey{first: s.First, id: s.ID, s: s})
		}
	}
	for k, h := range t.halfOpen {
		if h.changed {
			list = append(list, openKey{first: h.first, id: h.id, k: k})
		}
	}
	sortOpen(list)
	for _, o := range list {
		if o.s != nil {
			fn(&o.s.Stream)
			continue
		}
		h := t.halfOpen[o.k]
		h.fill(o.k, &t.record)
		fn(&t.record)
	}
}

// changedOpenStreams lists, oldest first, the open streams that saw
// packets since the last Delta. It visits every open stream, in memory:
// what the store writes is what changed.
func (t *Tracker) changedOpenStreams() []*stream {
	var list []*stream
	for _, s := range t.streams {
		if s.changed {
			list = append(list, s)
		}
	}
	sortByStart(list)
	return list
}

// OpenStreams calls fn for each stream still open, in no particular
// order (callers that need one sort), with its End left at EndOpen.
func (t *Tracker) OpenStreams(fn func(*Stream)) {
	for _, s := range t.streams {
		fn(&s.Stream)
	}
	for k, h := range t.halfOpen {
		h.fill(k, &t.record)
		fn(&t.record)
	}
}

// Now is the latest packet time seen, Unix nanoseconds.
func (t *Tracker) Now() int64 { return t.now }
