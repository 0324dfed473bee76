package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/store"
)

// runWithin fails the test instead of hanging when a run blocks (a FIFO
// opened for reading waits for a writer forever, deaf to the context).
func runWithin(t *testing.T, limit time.Duration, in *Ingester, paths ...string) *Report {
	t.Helper()
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := in.Run(context.Background(), paths)
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.rep
	case <-time.After(limit):
		t.Fatalf("run still blocked after %s", limit)
		return nil
	}
}

// A FIFO, a path that does not exist and a file deleted between the scan
// and its turn are reported and passed over, unrecorded so that a later
// run tries them again; the good files beside them are stored.
func TestUnreadableFilesDoNotStopTheRun(t *testing.T) {
	dir := t.TempDir()
	caps := filepath.Join(dir, "caps")
	good := rotation(t, caps, 4000, 2)
	gone := filepath.Join(caps, "gone.pcap")
	writeFile(t, gone, fixtureFile(t, "lan.pcap.gz"))
	fifo := filepath.Join(dir, "live.pcap")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such-dir")
	testHookPacket = func(string, uint64) { os.Remove(gone) }
	defer func() { testHookPacket = nil }()

	db := openDB(t, filepath.Join(dir, "db"))
	rep := runWithin(t, 20*time.Second, New(db, withPackets), caps, fifo, missing)
	status := map[string]string{}
	for _, f := range rep.Files {
		status[f.Path] = f.Status
		if f.Status != "ok" && f.Error == "" {
			t.Errorf("%s: %s without an error message", f.Path, f.Status)
		}
	}
	want := map[string]string{good[0]: "ok", good[1]: "ok", gone: "vanished", fifo: "unreadable", missing: "vanished"}
	for p, s := range want {
		if status[p] != s {
			t.Errorf("%s: status %q, want %q (all: %v)", p, status[p], s, status)
		}
	}
	if n := count(t, db.SQL(), "SELECT count(*) FROM captures"); n != 2 {
		t.Errorf("%d captures recorded, want the 2 good ones", n)
	}
	checkUsage(t, db.SQL())

	again := runWithin(t, 20*time.Second, New(db, withPackets), caps, fifo)
	if len(again.Files) != 1 || again.Files[0].Path != fifo || again.Files[0].Status != "unreadable" {
		t.Errorf("second run: %+v, want the FIFO tried again and reported", again.Files)
	}
}

// Without read permission a file is reported, not recorded, and the rest
// of its directory is stored. Root reads anything, so this runs only as
// another user.
func TestFileWithoutPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root, which ignores file permissions")
	}
	dir := t.TempDir()
	good := rotation(t, dir, 2000, 1)
	locked := filepath.Join(dir, "locked.pcap")
	writeFile(t, locked, fixtureFile(t, "lan.pcap.gz"))
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	rep := run(t, db, withPackets, dir)
	if rep.Count("ok") != len(good) || rep.Count("unreadable") != 1 {
		t.Errorf("%+v", rep.Files)
	}
	if n := count(t, db.SQL(), "SELECT count(*) FROM captures WHERE path = ?", locked); n != 0 {
		t.Error("an unreadable file was recorded, so it would never be retried")
	}
}

// recode rewrites a pcap as the variants of it that real directories
// hold beside the original: its pcapng conversion, a copy truncated to a
// 60-byte snap length (editcap -s 60) and a copy cut after half its
// records (editcap -c).
func recode(t *testing.T, pcap []byte) map[string][]byte {
	t.Helper()
	link, recs := readRecords(t, pcap)
	write := func(keep int, snap int) []byte {
		var b bytes.Buffer
		w := pcapgo.NewWriter(&b)
		if err := w.WriteFileHeader(uint32(snap), link); err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs[:keep] {
			ci, data := rec.ci, rec.data
			if len(data) > snap {
				data = data[:snap]
				ci.CaptureLength = snap
			}
			if err := w.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
		return b.Bytes()
	}
	var ng bytes.Buffer
	nw, err := pcapgo.NewNgWriter(&ng, link)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if err := nw.WritePacket(rec.ci, rec.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := nw.Flush(); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"pcapng": ng.Bytes(), "snap60": write(len(recs), 60), "cut": write(len(recs)/2, 65535)}
}

// The same traffic in several files counts once: whatever order the
// variants of a capture arrive in, the database ends as the original
// alone makes it, in every table that counts traffic (devices excepted:
// see docs/reliability.md), and usage_daily equals the sums over streams.
func TestTrafficSeenAgainCountsOnce(t *testing.T) {
	synthetic, err := fixture.Rotation(3000, 1)
	if err != nil {
		t.Fatal(err)
	}
	originals := map[string][]byte{"synthetic.pcap": synthetic[0], "segmented.pcap": fixtureFile(t, "segmented-clienthello.pcap"),
		"sll2-dns.pcap": fixtureFile(t, "sll2-dns.pcap")}
	lan, err := gzip.NewReader(bytes.NewReader(fixtureFile(t, "lan.pcap.gz")))
	if err != nil {
		t.Fatal(err)
	}
	if originals["lan.pcap"], err = io.ReadAll(lan); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range originals {
		writeFile(t, filepath.Join(dir, "original", name), b)
		for variant, vb := range recode(t, b) {
			writeFile(t, filepath.Join(dir, variant, name), vb)
		}
	}
	tables := []string{
		`SELECT id, proto, client, client_port, server, server_port, client_mac, first, last, packets_up, packets_down, bytes_up, bytes_down,
			payload_up, payload_down, tcp_flags_up, tcp_flags_down, server_rtt_ns, client_rtt_ns, tls_handshake_ns, server_name, name_source,
			alpn, tls_version, ech, quic_version, end_reason FROM streams`,
		"SELECT * FROM usage_daily", "SELECT * FROM packets",
		"SELECT stream_id, time, src, dst, sport, dport, server_name, alpn, version, transport, quic_version, ech FROM tls",
		"SELECT time, stream_id, client, resolver, query, query_type, rcode, name, type, ttl, answer FROM dns",
		"SELECT time, stream_id, message_type, xid, mac, client_ip, your_ip, requested_ip, hostname, vendor_class FROM dhcp",
	}
	snapshot := func(db *store.DB) string {
		var out strings.Builder
		for _, q := range tables {
			out.WriteString(dumpQuery(t, db.SQL(), q))
		}
		return out.String()
	}
	ref := openDB(t, filepath.Join(t.TempDir(), "ref.db"))
	run(t, ref, withPackets, filepath.Join(dir, "original"))
	want := snapshot(ref)
	if count(t, ref.SQL(), "SELECT count(*) FROM tls") == 0 || count(t, ref.SQL(), "SELECT count(*) FROM dns") == 0 ||
		count(t, ref.SQL(), "SELECT count(*) FROM dhcp") == 0 {
		t.Fatal("the originals should give tls, dns and dhcp rows")
	}
	for _, order := range [][]string{
		{"snap60", "cut", "pcapng", "original"},
		{"original", "pcapng", "snap60", "cut"},
		{"cut", "original", "snap60"},
	} {
		db := openDB(t, filepath.Join(t.TempDir(), "db"))
		for _, variant := range order {
			run(t, db, withPackets, filepath.Join(dir, variant))
		}
		if got := snapshot(db); got != want {
			t.Errorf("after %v: %s", order, firstDifference(got, want))
		}
		checkUsage(t, db.SQL())
	}
}

// A capture split into short files (editcap -c 20) whose boundaries step
// back in time, as real captures do by a few milliseconds, gives the same
// streams as the capture read whole: the split's names order its files,
// where sorting by first packet time would swap them.
func TestSplitCaptureEqualsWhole(t *testing.T) {
	var whole bytes.Buffer
	if _, err := fixture.WriteSynthetic(&whole, 1200); err != nil {
		t.Fatal(err)
	}
	link, recs := readRecords(t, whole.Bytes())
	const per = 20
	for i := per; i < len(recs); i += per {
		recs[i].ci.Timestamp = recs[i-per].ci.Timestamp.Add(-3 * time.Millisecond)
	}
	write := func(path string, rs []record) {
		var b bytes.Buffer
		w := pcapgo.NewWriter(&b)
		if err := w.WriteFileHeader(65535, link); err != nil {
			t.Fatal(err)
		}
		for _, rec := range rs {
			if err := w.WritePacket(rec.ci, rec.data); err != nil {
				t.Fatal(err)
			}
		}
		writeFile(t, path, b.Bytes())
	}
	dir := t.TempDir()
	write(filepath.Join(dir, "whole", "capture.pcap"), recs)
	for i := 0; i*per < len(recs); i++ {
		write(filepath.Join(dir, "split", fmt.Sprintf("capture_%05d_20260302090000.pcap", i)), recs[i*per:min(len(recs), (i+1)*per)])
	}
	tables := []string{
		"SELECT id, proto, client, client_port, server, server_port, first, last, packets_up, packets_down, bytes_up, bytes_down, server_name FROM streams",
		"SELECT * FROM usage_daily", "SELECT * FROM packets",
		"SELECT stream_id, time, src, dst, sport, dport, server_name FROM tls",
	}
	dumpOf := func(sub string) string {
		db := openDB(t, filepath.Join(t.TempDir(), "db"))
		run(t, db, withPackets, filepath.Join(dir, sub))
		var out strings.Builder
		for _, q := range tables {
			out.WriteString(dumpQuery(t, db.SQL(), q))
		}
		return out.String()
	}
	if got, want := dumpOf("split"), dumpOf("whole"); got != want {
		t.Error(firstDifference(got, want))
	}
}

func TestNaturalOrder(t *testing.T) {
	names := []string{"cap.pcap10", "cap.pcap", "cap.pcap2", "cap.pcap1", "b_00010_x", "b_00009_x", "b_9_x"}
	sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
	want := []string{"b_9_x", "b_00009_x", "b_00010_x", "cap.pcap", "cap.pcap1", "cap.pcap2", "cap.pcap10"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", names, want)
	}
}

// Times at the edges of what capture formats hold are stored as times:
// a pcap timestamp of 0xFFFFFFFF seconds (2106) and one of 0 (1970).
func TestEdgeTimesAreStored(t *testing.T) {
	for _, sec := range []uint32{0xFFFFFFFF, 0} {
		b := append([]byte(nil), fixtureFile(t, "rotated-0.pcap")...)
		for off := 24; off+16 <= len(b); {
			binary.LittleEndian.PutUint32(b[off:], sec)
			binary.LittleEndian.PutUint32(b[off+4:], 0)
			off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
		}
		path := filepath.Join(t.TempDir(), "edge.pcap")
		writeFile(t, path, b)
		db := openDB(t, filepath.Join(t.TempDir(), "db"))
		run(t, db, withPackets, path)
		want := int64(sec) * int64(time.Second)
		var first, last sql.NullInt64
		if err := db.SQL().QueryRow(`SELECT first, last FROM captures`).Scan(&first, &last); err != nil {
			t.Fatal(err)
		}
		if !first.Valid || first.Int64 != want || last.Int64 != want {
			t.Errorf("timestamp %#x s: captures.first %v, last %v; want %d", sec, first, last, want)
		}
		if n := count(t, db.SQL(), `SELECT count(*) FROM streams WHERE first = ?`, want); n == 0 {
			t.Errorf("timestamp %#x s: no stream starts then", sec)
		}
	}
}

// A flood of one-off clients, more than the usage sums a file keeps in
// memory, still leaves usage_daily equal to the sums over streams.
func TestFloodKeepsUsageEqualToStreams(t *testing.T) {
	var b bytes.Buffer
	if err := fixture.WriteSYNFlood(&b, 70000, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "flood.pcap")
	writeFile(t, path, b.Bytes())
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	run(t, db, Options{}, path)
	if n := count(t, db.SQL(), "SELECT count(*) FROM streams"); n != 70000 {
		t.Errorf("%d streams, want 70000", n)
	}
	checkUsage(t, db.SQL())
}

type record struct {
	ci   gopacket.CaptureInfo
	data []byte
}

// readRecords returns a pcap's link type and records.
func readRecords(t *testing.T, pcap []byte) (layers.LinkType, []record) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(pcap))
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return r.LinkType(), recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, record{ci, data})
	}
}

// The mirror session of each stream and the tunnels of each file reach
// the database.
func TestTunnelsStored(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	path := filepath.Join(t.TempDir(), "tunnels.pcap")
	writeFile(t, path, fixtureFile(t, "tunnels.pcap"))
	run(t, db, Options{}, path)
	var want strings.Builder
	for _, c := range fixture.TunneledConnections {
		fmt.Fprintf(&want, "[%s %s]\n", c.ServerName, c.MirrorSource)
	}
	got := dumpQuery(t, db.SQL(), "SELECT server_name, mirror_source FROM streams")
	wantDump := fmt.Sprintf("== SELECT server_name, mirror_source FROM streams (%d rows)\n%s\n", len(fixture.TunneledConnections), sortedLines(want.String()))
	if got != wantDump {
		t.Errorf("got\n%swant\n%s", got, wantDump)
	}
	var tunneled string
	if err := db.SQL().QueryRow("SELECT tunneled FROM captures").Scan(&tunneled); err != nil {
		t.Fatal(err)
	}
	// Each connection is 8 packets: handshake, hello, server hello, close.
	perTunnel := map[string]int{}
	for _, c := range fixture.TunneledConnections {
		perTunnel[c.Tunnel] += 8
	}
	wantTunneled, err := json.Marshal(perTunnel)
	if err != nil {
		t.Fatal(err)
	}
	if tunneled != string(wantTunneled) {
		t.Errorf("captures.tunneled %s, want %s", tunneled, wantTunneled)
	}
}

func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
