package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/extract/dns"
	"github.com/saaslens/saaslens/pkg/extract/tls"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// CaptureFile names a file about to be ingested.
type CaptureFile struct {
	Path   string
	Size   int64
	MTime  int64
	Series string
	// Continued tells whether the file carries on the streams of its
	// series' previous file.
	Continued bool
	// PacketRows asks for one packets row per TCP/UDP packet.
	PacketRows bool
	// ReadFrom is where reading starts: past the records an earlier,
	// shorter version of the same file gave.
	ReadFrom int64
}

// CaptureResult is what reading the file gave.
type CaptureResult struct {
	ContentHash string
	Summary     *capture.Summary
	// ReadErr is the damage that ended reading early, if any.
	ReadErr error
	// ReadTo is the offset just past the last whole record read.
	ReadTo int64
	// Series state to keep for the next file: what changed in the
	// tracker's state; nil keeps none (a file read on its own).
	SeriesNow   int64
	SeriesState *flow.Delta
	Elapsed     time.Duration
}

// Batching rows through a second goroutine lets SQLite's work overlap
// decoding: the two are about equally expensive per packet.
const batchPackets = 2048

// Rows per INSERT: packet rows are narrow and many; the other tables'
// rows are wide, and SQLite binds at most 32,766 arguments a statement.
const (
	packetRowsPerInsert = 256
	rowsPerInsert       = 64
)

type streamWrite struct {
	flow.Stream
	progress bool
	// usage is what the stream adds to the totals, as added on the
	// decoding goroutine.
	usage *usage
}

type helloRow struct {
	flow.Hello
	alpn string
}

type batch struct {
	packets   []flow.Packet
	streams   []streamWrite
	hellos    []helloRow
	dns       []flow.DNSResponse
	dhcp      []flow.DHCP
	sightings []flow.Sighting
	// totals, when not nil, hold what the streams of this batch and of
	// the batches before added and no earlier batch's totals did.
	totals *totals
}

func (b *batch) reset() {
	b.packets, b.streams, b.hellos = b.packets[:0], b.streams[:0], b.hellos[:0]
	b.dns, b.dhcp, b.sightings = b.dns[:0], b.dhcp[:0], b.sightings[:0]
	b.totals = nil
}

func (b *batch) size() int {
	return len(b.packets) + 8*(len(b.streams)+len(b.hellos)+len(b.dns)+len(b.dhcp)+len(b.sightings))
}

// FileWriter writes one capture file's records in one transaction. It is a
// flow.Sink (and PacketSink when packet rows are wanted). Nothing it writes
// is visible to readers until Commit; Rollback, or a crash, leaves the
// database as it was.
type FileWriter struct {
	db  *DB
	ctx context.Context
	// conn holds the file's transaction. A Conn with BEGIN and COMMIT of
	// our own, rather than a Tx, because only a Conn lets the packet rows
	// go to the driver directly (see writePackets).
	conn      *sql.Conn
	file      CaptureFile
	captureID int64
	// packetsBase is the highest packets rowid before this file: rows past
	// it are this file's.
	packetsBase int64
	// storedUntil is the last packet time of any stored capture: a stream
	// starting later, and not carried, has no row yet.
	storedUntil int64
	started     time.Time

	cur      *batch
	full     chan *batch
	free     chan *batch
	done     chan error
	closed   bool
	released bool
	// Owned by the decoding goroutine, until handed over with a batch:
	// adding streams to the totals costs the writing goroutine, which
	// has none to spare, as much as a table's rows.
	pending      *totals
	pendingNames addrNames

	// owned by the writer goroutine
	wc       *writerConn
	st       *statements
	names    addrNames
	calendar timecut.Calendar // the rollup zone's, for monthly
	// daysClosed is where the daily and monthly totals end (totals.closed).
	daysClosed int64
	// takeBacks holds what streams stored before take back from the
	// totals, and what streams this file's observation does not keep
	// (seenAgain) added: written with the next totals handed over, which
	// hold what every stream written so far added.
	takeBacks *totals
	lastError error
}

// writerConn is the connection files are written on, with statements
// prepared once for all files: preparing them for each file was most of
// the cost of a run of many small files.
type writerConn struct {
	conn     *sql.Conn
	st       statements
	prepared []*sql.Stmt
	// The tables written a row per packet, stream or message go through
	// rowInserters, many rows per INSERT.
	rawStmts                    []driver.Stmt
	packets, tls, dns           *rowInserter
	clientTotals, serviceTotals *rowInserter
	serverTotals, dailyTotals   *rowInserter
	monthlyTotals               *rowInserter
	// Most streams are new: their rows go in with a plain INSERT. An
	// upsert, for the few that may be stored already, makes SQLite keep a
	// statement journal, which cost a seventh of an ingest.
	streams, newStreams *rowInserter
	// batches go round between the decoding and the writing goroutine;
	// every file leaves them empty for the next. Enough that decoding
	// goes on while totals handed over are written (a few megabytes).
	batches [64]*batch
}

type statements struct {
	streamPrev, derivedRows, dhcp                        *sql.Stmt
	device, deviceName, addrExtend, addrInsert           *sql.Stmt
	usageDrop, itemPut, itemDelete, hourDrop, serverDrop *sql.Stmt
	dailyDrop, dailyHours                                *sql.Stmt
	monthlyDrop, monthDays, monthRecount, rollupZone     *sql.Stmt
	captureInsert, captureUpdate, sameContent, maxPacket *sql.Stmt
	storedUntil                                          *sql.Stmt
	pathUpsert, stateUpsert                              *sql.Stmt
}

// BeginFile starts the transaction of one capture file. Files are written
// one at a time: a second BeginFile waits for the first file's Commit or
// Rollback.
func (s *DB) BeginFile(ctx context.Context, f CaptureFile) (*FileWriter, error) {
	s.writeMu.Lock()
	wc, err := s.writerConn(ctx)
	if err != nil {
		s.writeMu.Unlock()
		return nil, fmt.Errorf("store: begin %s: %w", f.Path, err)
	}
	conn := wc.conn
	// IMMEDIATE takes the write lock now, so a second writer waits here
	// (busy_timeout) rather than failing at its first insert.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		s.writeMu.Unlock()
		return nil, fmt.Errorf("store: begin %s: %w", f.Path, err)
	}
	w := &FileWriter{db: s, ctx: ctx, conn: conn, wc: wc, st: &wc.st, file: f, started: time.Now(),
		full: make(chan *batch, 64), free: make(chan *batch, 64), done: make(chan error, 1),
		names: addrNames{m: make(map[netip.Addr]addrName)}, pendingNames: addrNames{m: make(map[netip.Addr]addrName)}}
	res, err := wc.st.captureInsert.ExecContext(ctx, f.Path, f.Size, f.MTime, "pending:"+f.Path, f.Series, f.Continued, f.ReadFrom, f.PacketRows)
	if err == nil {
		w.captureID, err = res.LastInsertId()
	}
	if err == nil && f.PacketRows {
		err = wc.st.maxPacket.QueryRowContext(ctx).Scan(&w.packetsBase)
	}
	if err == nil {
		err = wc.st.storedUntil.QueryRowContext(ctx).Scan(&w.storedUntil)
	}
	var zone string
	if err == nil {
		err = wc.st.rollupZone.QueryRowContext(ctx).Scan(&zone, &w.daysClosed)
	}
	if err == nil {
		w.calendar.Loc, err = loadZone(zone)
	}
	if err != nil {
		w.rollback()
		return nil, fmt.Errorf("store: begin %s: %w", f.Path, err)
	}
	w.pending, w.takeBacks = newTotals(w.calendar.Loc, w.daysClosed), newTotals(w.calendar.Loc, w.daysClosed)
	for i := range wc.batches {
		if wc.batches[i] == nil {
			wc.batches[i] = &batch{packets: make([]flow.Packet, 0, batchPackets)}
		}
		w.free <- wc.batches[i]
	}
	w.cur = <-w.free
	go w.drain()
	return w, nil
}

func (w *FileWriter) flushBatch() {
	w.full <- w.cur
	w.cur = <-w.free
}

func (w *FileWriter) maybeFlush() {
	if w.cur.size() >= batchPackets {
		w.flushBatch()
	}
}

// Packet implements flow.PacketSink.
func (w *FileWriter) Packet(p *flow.Packet) {
	w.cur.packets = append(w.cur.packets, *p)
	if len(w.cur.packets) >= batchPackets {
		w.flushBatch()
	}
}

// Stream implements flow.Sink: the stream has ended.
func (w *FileWriter) Stream(s *flow.Stream) { w.addStream(s, false) }

// StreamProgress records a stream still open at the end of the file, so
// that readers see it before it ends.
func (w *FileWriter) StreamProgress(s *flow.Stream) { w.addStream(s, true) }

func (w *FileWriter) addStream(s *flow.Stream, progress bool) {
	u := usageOf(s, streamEnd(s, progress), w.pendingNames)
	if w.pending.due(u) || len(w.pending.usage) >= handOverKeys && len(w.full) == 0 {
		w.handOver()
	}
	w.pending.account(u, +1)
	w.cur.streams = append(w.cur.streams, streamWrite{Stream: *s, progress: progress, usage: u})
	w.maybeFlush()
}

// handOverKeys is how many keys the totals gather before they go to the
// writing goroutine whenever it has caught up: it writes them meanwhile,
// and the commit, which no decoding overlaps, has fewer to write. A key
// handed over twice is written twice, but traffic that makes so many keys
// repeats few of them.
const handOverKeys = 1 << 12

// streamEnd is the end_reason a stream's row is written with.
func streamEnd(s *flow.Stream, progress bool) string {
	if progress {
		return flow.EndOpen.String()
	}
	return s.End.String()
}

// handOver sends the totals to the writing goroutine with the batch of
// the streams added to them last: it writes them after that batch's
// streams, once it knows what every stream they hold takes back.
func (w *FileWriter) handOver() {
	w.cur.totals = w.pending
	w.pending = newTotals(w.pending.calendar.Loc, w.pending.closed)
	w.flushBatch()
}

// Hello implements flow.Sink.
func (w *FileWriter) Hello(h *flow.Hello) {
	w.cur.hellos = append(w.cur.hellos, helloRow{Hello: *h, alpn: strings.Join(h.ALPN, ",")})
	w.maybeFlush()
}

// DNS implements flow.Sink.
func (w *FileWriter) DNS(d *flow.DNSResponse) {
	c := *d
	c.Answers = append([]dns.Answer(nil), d.Answers...)
	w.cur.dns = append(w.cur.dns, c)
	w.maybeFlush()
}

// DHCP implements flow.Sink.
func (w *FileWriter) DHCP(d *flow.DHCP) {
	w.cur.dhcp = append(w.cur.dhcp, *d)
	w.maybeFlush()
}

// Sighting implements flow.Sink.
func (w *FileWriter) Sighting(s *flow.Sighting) {
	w.cur.sightings = append(w.cur.sightings, *s)
	w.maybeFlush()
}

// drain runs in its own goroutine, writing batches in order.
func (w *FileWriter) drain() {
	for b := range w.full {
		if w.lastError == nil {
			w.lastError = w.writeBatch(b)
		}
		b.reset()
		w.free <- b
	}
	if w.lastError == nil {
		w.lastError = w.flushRows()
	}
	w.done <- w.lastError
}

// finish hands over the last batch and waits for the writer goroutine.
func (w *FileWriter) finish() error {
	if w.closed {
		return w.lastError
	}
	w.closed = true
	w.cur.totals = w.pending
	w.full <- w.cur
	close(w.full)
	return <-w.done
}

// DuplicateError is Commit's refusal of a file whose content is already
// in the database under another path; the file's transaction is rolled back.
type DuplicateError struct{ Of Capture }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("store: same content as %s, already ingested", e.Of.Path)
}

// Commit completes the captures row, saves the series state and commits,
// unless the content turns out to be a copy of an ingested capture
// (*DuplicateError).
func (w *FileWriter) Commit(r CaptureResult) error {
	if err := w.finish(); err != nil {
		w.rollback()
		return fmt.Errorf("store: writing %s: %w", w.file.Path, err)
	}
	var dup Capture
	err := w.st.sameContent.QueryRowContext(w.ctx, r.ContentHash).Scan(&dup.ID, &dup.Path, &dup.Status, &dup.ContentHash)
	if err == nil {
		w.rollback()
		return &DuplicateError{Of: dup}
	}
	if err != sql.ErrNoRows {
		w.rollback()
		return fmt.Errorf("store: committing %s: %w", w.file.Path, err)
	}
	if err := w.commit(r); err != nil {
		w.rollback()
		return fmt.Errorf("store: committing %s: %w", w.file.Path, err)
	}
	return nil
}

func (w *FileWriter) commit(r CaptureResult) error {
	sum := r.Summary
	other, err := json.Marshal(sum.OtherByName())
	if err != nil {
		return err
	}
	tunneled, err := json.Marshal(sum.TunneledByName())
	if err != nil {
		return err
	}
	status, errText := "ok", sql.NullString{}
	if r.ReadErr != nil {
		status, errText = "damaged", sql.NullString{String: r.ReadErr.Error(), Valid: true}
		if sum.Packets == 0 {
			status = "unreadable"
		}
	}
	var first, last sql.NullInt64
	if sum.Timed {
		first, last = sql.NullInt64{Int64: sum.First, Valid: true}, sql.NullInt64{Int64: sum.Last, Valid: true}
	}
	links := make([]string, len(sum.LinkTypes))
	for i, l := range sum.LinkTypes {
		links[i] = capture.LinkTypeName(l)
	}
	elapsed := r.Elapsed
	if elapsed == 0 {
		elapsed = time.Since(w.started)
	}
	_, err = w.st.captureUpdate.ExecContext(w.ctx, r.ContentHash, string(sum.Format), sum.Compressed, strings.Join(links, ","), sum.Packets, sum.Bytes,
		sum.Streamed, string(other), first, last, status, errText, r.ReadTo, time.Now().UnixNano(), elapsed.Nanoseconds(), string(tunneled), w.captureID)
	if err != nil {
		return fmt.Errorf("captures row: %w", err)
	}
	if _, err := w.st.pathUpsert.ExecContext(w.ctx, w.file.Path, w.file.Size, w.file.MTime, w.captureID); err != nil {
		return fmt.Errorf("capture_paths row: %w", err)
	}
	if r.SeriesState != nil {
		if err := w.saveSeriesState(r.SeriesNow, r.SeriesState); err != nil {
			return fmt.Errorf("series state: %w", err)
		}
	}
	if _, err := w.conn.ExecContext(w.ctx, "COMMIT"); err != nil {
		return err
	}
	w.release()
	return nil
}

// release lets the next file begin; once, whatever path ends this one.
func (w *FileWriter) release() {
	if !w.released {
		w.released = true
		w.db.writeMu.Unlock()
	}
}

func (w *FileWriter) saveSeriesState(now int64, d *flow.Delta) error {
	if _, err := w.st.stateUpsert.ExecContext(w.ctx, w.file.Series, now, w.captureID, d.Header); err != nil {
		return err
	}
	// Deletions first: a DNS name that expired and was learned again
	// within one file is in both.
	for _, it := range d.Deleted {
		if _, err := w.st.itemDelete.ExecContext(w.ctx, w.file.Series, int64(it.Kind), it.Key); err != nil {
			return err
		}
	}
	return d.EachChanged(func(it flow.StateItem) error {
		_, err := w.st.itemPut.ExecContext(w.ctx, w.file.Series, int64(it.Kind), it.Key, it.Value)
		return err
	})
}

// Rollback abandons the file: nothing it wrote remains.
func (w *FileWriter) Rollback() {
	w.finish()
	w.rollback()
}

func (w *FileWriter) rollback() {
	if w.released {
		return
	}
	// The inserters belong to the connection, and outlive the file.
	for _, ins := range w.wc.inserters() {
		ins.discard()
	}
	// Not w.ctx: a cancelled run must still roll back.
	if _, err := w.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		// The connection's state is unknown: the next file opens another.
		w.db.writer = nil
		w.wc.close()
	}
	w.release()
}

// writerConn returns the write connection, opening it and preparing its
// statements on first use. The caller holds writeMu.
func (s *DB) writerConn(ctx context.Context) (*writerConn, error) {
	if s.writer != nil {
		return s.writer, nil
	}
	conn, err := s.sql.Conn(ctx)
	if err != nil {
		return nil, err
	}
	wc := &writerConn{conn: conn}
	if err := wc.prepare(ctx); err != nil {
		wc.close()
		return nil, err
	}
	s.writer = wc
	return wc, nil
}

func (w *writerConn) prepare(ctx context.Context) error {
	type prep struct {
		dst **sql.Stmt
		sql string
	}
	list := []prep{
		{&w.st.streamPrev, `SELECT first, packets_up, packets_down, bytes_up, bytes_down, last,
			coalesce(server_rtt_ns, 0), coalesce(client_rtt_ns, 0), coalesce(tls_handshake_ns, 0), end_reason, retransmits_up + retransmits_down,
			client, client_mac, server_name, proto, server_port, server,
			(SELECT series FROM captures WHERE captures.id = streams.capture_id) FROM streams WHERE id = ?`},
		{&w.st.derivedRows, `SELECT coalesce(sum(capture_id = ?2), 0), coalesce(sum(capture_id != ?2), 0) FROM (
			SELECT capture_id FROM tls WHERE stream_id = ?1 AND time BETWEEN ?3 AND ?4
			UNION ALL SELECT capture_id FROM dns WHERE stream_id = ?1 AND time BETWEEN ?3 AND ?4
			UNION ALL SELECT capture_id FROM dhcp WHERE stream_id = ?1 AND time BETWEEN ?3 AND ?4)`},
		{&w.st.dhcp, `INSERT INTO dhcp(time, stream_id, message_type, xid, mac, client_ip, your_ip, requested_ip, hostname, vendor_class, capture_id)
			VALUES (?,?,?,?,?,?,?,?,?,?,?)`},
		{&w.st.device, `INSERT INTO devices(mac, hostname, vendor_class, first, last, packets, hostname_time)
			VALUES (?, '', '', ?, ?, ?, 0)
			ON CONFLICT(mac) DO UPDATE SET first=min(first, excluded.first), last=max(last, excluded.last),
			packets=packets+excluded.packets`},
		{&w.st.deviceName, `INSERT INTO devices(mac, hostname, vendor_class, first, last, packets, hostname_time)
			VALUES (?1, ?2, ?3, ?4, ?4, 0, ?4)
			ON CONFLICT(mac) DO UPDATE SET first=min(first, excluded.first), last=max(last, excluded.last),
			hostname=CASE WHEN excluded.hostname_time >= hostname_time AND excluded.hostname != '' THEN excluded.hostname ELSE hostname END,
			vendor_class=CASE WHEN excluded.hostname_time >= hostname_time AND excluded.vendor_class != '' THEN excluded.vendor_class ELSE vendor_class END,
			hostname_time=max(hostname_time, excluded.hostname_time)`},
		{&w.st.addrExtend, fmt.Sprintf(`UPDATE device_addresses SET first=min(first, ?3), last=max(last, ?4), packets=packets+?5
			WHERE rowid = (SELECT rowid FROM device_addresses WHERE mac = ?1 AND ip = ?2 ORDER BY last DESC LIMIT 1) AND ?3 <= last + %d`, addressGap)},
		{&w.st.addrInsert, `INSERT INTO device_addresses(mac, ip, first, last, packets) VALUES (?,?,?,?,?)`},
		// A row whose streams all moved to another key (a stream named
		// only by a later file) is left with zeros.
		{&w.st.usageDrop, `DELETE FROM client_usage_hourly WHERE hour=? AND client=? AND client_mac=? AND server_name=?
			AND proto=? AND server_port=? AND streams=0`},
		{&w.st.hourDrop, `DELETE FROM usage_hourly WHERE hour=? AND server_name=? AND proto=? AND server_port=? AND streams=0`},
		{&w.st.serverDrop, `DELETE FROM server_usage_hourly WHERE hour=? AND server_name=? AND server=? AND streams=0`},
		{&w.st.dailyDrop, `DELETE FROM client_usage_daily WHERE day=? AND client=? AND client_mac=? AND server_name=?
			AND proto=? AND server_port=? AND streams=0`},
		{&w.st.dailyHours, dailyHoursRecount},
		{&w.st.monthlyDrop, `DELETE FROM client_usage_monthly WHERE month=? AND client=? AND client_mac=? AND server_name=? AND streams=0`},
		{&w.st.monthDays, monthDaysQuery},
		{&w.st.monthRecount, `UPDATE client_usage_monthly SET days=?, first_hour=?, last_hour=? WHERE month=? AND client=? AND client_mac=? AND server_name=?`},
		{&w.st.rollupZone, `SELECT zone, closed FROM rollup_zone`},
		{&w.st.itemPut, `INSERT INTO ingest_items(series, kind, key, value) VALUES (?,?,?,?)
			ON CONFLICT DO UPDATE SET value=excluded.value`},
		{&w.st.itemDelete, `DELETE FROM ingest_items WHERE series=? AND kind=? AND key=?`},
		// The captures row is completed at Commit; inserting it at the
		// start gives the id that the file's rows refer to.
		{&w.st.captureInsert, `INSERT INTO captures(path, size, mtime, content_hash, format, compressed, link_types,
			packets, bytes, tcp_udp_packets, other, status, series, continued, read_from, read_to, packet_rows, ingested_at, ingest_ns)
			VALUES (?, ?, ?, ?, '', 0, '', 0, 0, 0, '{}', 'ingesting', ?, ?, ?, 0, ?, 0, 0)`},
		{&w.st.captureUpdate, `UPDATE captures SET content_hash=?, format=?, compressed=?, link_types=?, packets=?, bytes=?,
			tcp_udp_packets=?, other=?, first=?, last=?, status=?, error=?, read_to=?, ingested_at=?, ingest_ns=?, tunneled=? WHERE id=?`},
		{&w.st.sameContent, `SELECT id, path, status, content_hash FROM captures WHERE content_hash=?`},
		{&w.st.maxPacket, `SELECT coalesce(max(rowid), 0) FROM stream_packets`},
		{&w.st.storedUntil, `SELECT coalesce(max(last), 0) FROM captures`},
		{&w.st.pathUpsert, `INSERT INTO capture_paths(path, size, mtime, capture_id) VALUES (?,?,?,?)
			ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime=excluded.mtime, capture_id=excluded.capture_id`},
		{&w.st.stateUpsert, `INSERT INTO ingest_state(series, now, capture_id, tracker) VALUES (?,?,?,?)
			ON CONFLICT(series) DO UPDATE SET now=excluded.now, capture_id=excluded.capture_id, tracker=excluded.tracker`},
	}
	for _, p := range list {
		st, err := w.conn.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", strings.Fields(p.sql)[0:3], err)
		}
		*p.dst = st
		w.prepared = append(w.prepared, st)
	}
	return w.conn.Raw(func(dc any) error {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("driver connection %T cannot prepare", dc)
		}
		for _, p := range []struct {
			dst        **rowInserter
			table      string
			cols, rows int
			onConflict string
		}{
			{&w.packets, "stream_packets(stream_id, time, length, direction)", 4, packetRowsPerInsert, ""},
			{&w.newStreams, streamColumns, 31, rowsPerInsert, ""},
			{&w.streams, streamColumns, 31, rowsPerInsert, `ON CONFLICT(id) DO UPDATE SET client_mac=excluded.client_mac, first=excluded.first, last=excluded.last,
			packets_up=excluded.packets_up, packets_down=excluded.packets_down, bytes_up=excluded.bytes_up,
			bytes_down=excluded.bytes_down, payload_up=excluded.payload_up, payload_down=excluded.payload_down,
			tcp_flags_up=excluded.tcp_flags_up, tcp_flags_down=excluded.tcp_flags_down,
			server_rtt_ns=excluded.server_rtt_ns, client_rtt_ns=excluded.client_rtt_ns,
			tls_handshake_ns=excluded.tls_handshake_ns, server_name=excluded.server_name,
			name_source=excluded.name_source, alpn=excluded.alpn, tls_version=excluded.tls_version,
			ech=excluded.ech, quic_version=excluded.quic_version, end_reason=excluded.end_reason,
			capture_id=excluded.capture_id, mirror_source=excluded.mirror_source,
			retransmits_up=excluded.retransmits_up, retransmits_down=excluded.retransmits_down`},
			{&w.tls, `tls(stream_id, time, src, dst, sport, dport, server_name, alpn, version, transport, quic_version, ech, capture_id)`, 13, rowsPerInsert, ""},
			{&w.dns, `dns(time, stream_id, client, resolver, query, query_type, rcode, name, type, ttl, answer, capture_id)`, 12, rowsPerInsert, ""},
			{&w.clientTotals, `client_usage_hourly(hour, client, client_mac, server_name, proto, server_port,
			streams, packets_up, packets_down, bytes_up, bytes_down, duration_ns, rtt_sum_ns, rtt_count, handshake_sum_ns, handshake_count)`, 16, rowsPerInsert, addTotals},
			{&w.serviceTotals, `usage_hourly(hour, server_name, proto, server_port,
			streams, packets_up, packets_down, bytes_up, bytes_down, duration_ns, rtt_sum_ns, rtt_count, handshake_sum_ns, handshake_count)`, 14, rowsPerInsert, addTotals},
			{&w.serverTotals, `server_usage_hourly(hour, server_name, server,
			streams, packets_up, packets_down, bytes_up, bytes_down, duration_ns, rtt_sum_ns, rtt_count, handshake_sum_ns, handshake_count)`, 13, rowsPerInsert, addTotals},
			{&w.dailyTotals, `client_usage_daily(day, client, client_mac, server_name, proto, server_port,
			streams, packets_up, packets_down, bytes_up, bytes_down, duration_ns, rtt_sum_ns, rtt_count, handshake_sum_ns, handshake_count, hours)`,
				17, rowsPerInsert, addTotals + ", hours=hours|excluded.hours"},
			{&w.monthlyTotals, monthlyColumns, 17, rowsPerInsert, addTotals + monthlyMerge},
		} {
			ins, err := prepareInserter(ctx, prep, &w.rawStmts, p.table, p.cols, p.rows, p.onConflict)
			if err != nil {
				return err
			}
			*p.dst = ins
		}
		return nil
	})
}

const streamColumns = `streams(id, proto, client, client_port, server, server_port, client_mac, first, last,
			packets_up, packets_down, bytes_up, bytes_down, payload_up, payload_down, tcp_flags_up, tcp_flags_down,
			server_rtt_ns, client_rtt_ns, tls_handshake_ns, server_name, name_source, alpn, tls_version, ech, quic_version,
			end_reason, capture_id, mirror_source, retransmits_up, retransmits_down)`

// addTotals adds a totals row to the one of its key.
const addTotals = `ON CONFLICT DO UPDATE SET streams=streams+excluded.streams, packets_up=packets_up+excluded.packets_up,
			packets_down=packets_down+excluded.packets_down, bytes_up=bytes_up+excluded.bytes_up,
			bytes_down=bytes_down+excluded.bytes_down, duration_ns=duration_ns+excluded.duration_ns,
			rtt_sum_ns=rtt_sum_ns+excluded.rtt_sum_ns, rtt_count=rtt_count+excluded.rtt_count,
			handshake_sum_ns=handshake_sum_ns+excluded.handshake_sum_ns, handshake_count=handshake_count+excluded.handshake_count`

// inserters lists the row inserters in the order their rows are flushed.
func (w *writerConn) inserters() []*rowInserter {
	return []*rowInserter{w.packets, w.tls, w.dns, w.newStreams, w.streams, w.clientTotals, w.serviceTotals, w.serverTotals, w.dailyTotals, w.monthlyTotals}
}

// flushRows writes every pending row: before a query reads the tables in
// the file's transaction, and when the file ends.
func (w *FileWriter) flushRows() error {
	for _, ins := range w.wc.inserters() {
		if err := ins.flush(w.ctx, w.conn); err != nil {
			return err
		}
	}
	return nil
}

// close releases the statements and the connection.
func (w *writerConn) close() {
	for _, st := range w.prepared {
		st.Close()
	}
	if len(w.rawStmts) > 0 {
		w.conn.Raw(func(any) error {
			for _, st := range w.rawStmts {
				st.Close()
			}
			return nil
		})
	}
	w.conn.Close()
}

func (w *FileWriter) writeBatch(b *batch) error {
	if err := w.writePackets(b.packets); err != nil {
		return fmt.Errorf("packets: %w", err)
	}
	for i := range b.hellos {
		if err := w.writeHello(&b.hellos[i]); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
	}
	for i := range b.dns {
		if err := w.writeDNS(&b.dns[i]); err != nil {
			return fmt.Errorf("dns: %w", err)
		}
	}
	for i := range b.dhcp {
		if err := w.writeDHCP(&b.dhcp[i]); err != nil {
			return fmt.Errorf("dhcp: %w", err)
		}
	}
	if err := w.writeSightings(b.sightings); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	// Streams last: a stream seen again settles which observation's rows
	// stay (seenAgain), so its hello and DNS rows must be written first.
	for i := range b.streams {
		if err := w.writeStream(&b.streams[i]); err != nil {
			return fmt.Errorf("stream %d: %w", b.streams[i].ID, err)
		}
	}
	if b.totals == nil {
		return nil
	}
	// Together, since a stream's usage taken back alone could leave a
	// row with fewer streams than none, or count its emptied hours again
	// for nothing.
	b.totals.merge(w.takeBacks)
	w.takeBacks = newTotals(w.calendar.Loc, w.daysClosed)
	if err := w.flushUsage(b.totals); err != nil {
		return fmt.Errorf("totals: %w", err)
	}
	return nil
}

// writePackets hands packet rows to the driver itself: database/sql would
// copy every argument into a new slice per statement, most of an
// ingest's garbage.
func (w *FileWriter) writePackets(ps []flow.Packet) error {
	for i := range ps {
		row, err := w.wc.packets.row(w.ctx, w.conn)
		if err != nil {
			return err
		}
		w.setPacket(row, &ps[i])
	}
	return nil
}

// setPacket uses boxed values made once: turning an int64 or a string into
// an interface allocates, and at a few million rows that garbage costs
// more than the inserts' bookkeeping.
func (w *FileWriter) setPacket(row []driver.NamedValue, p *flow.Packet) {
	row[0].Value, row[1].Value = p.StreamID, p.Time
	row[2].Value, row[3].Value = boxedSmall(p.Length), boxedSmall(p.Direction)
}

var (
	smallOnce sync.Once
	small     []any
)

// boxedSmall returns v as an interface holding an int64, without
// allocating for values that fit 16 bits (ports, lengths, protocols).
func boxedSmall(v int) any {
	smallOnce.Do(func() {
		small = make([]any, 1<<16)
		for i := range small {
			small[i] = int64(i)
		}
	})
	if v >= 0 && v < len(small) {
		return small[v]
	}
	return int64(v)
}

func (w *FileWriter) writeStream(s *streamWrite) error {
	end := streamEnd(&s.Stream, s.progress)
	prev, err := w.previous(s)
	if err != nil {
		return err
	}
	if prev != nil && !prev.ownSeries {
		keep, err := w.seenAgain(s, prev)
		if err != nil {
			return err
		}
		if !keep {
			w.takeBacks.account(s.usage, -1)
			return nil
		}
	}
	w.takeBacks.account(prev, -1)
	mac := ""
	if s.HasClientMAC {
		mac = macString(s.ClientMAC)
	}
	// previous found no row, or knew there could be none.
	ins := w.wc.newStreams
	if prev != nil {
		ins = w.wc.streams
	}
	row, err := ins.row(w.ctx, w.conn)
	if err != nil {
		return err
	}
	setRow(row, s.ID, boxedSmall(int(s.Proto)), w.names.boxed(s.Client), boxedSmall(int(s.ClientPort)),
		w.names.boxed(s.Server), boxedSmall(int(s.ServerPort)), mac, s.First, s.Last,
		int64(s.Packets[0]), int64(s.Packets[1]), int64(s.Bytes[0]), int64(s.Bytes[1]),
		int64(s.PayloadBytes[0]), int64(s.PayloadBytes[1]), boxedSmall(int(s.TCPFlags[0])), boxedSmall(int(s.TCPFlags[1])),
		nullIfZero(s.ServerRTT), nullIfZero(s.ClientRTT), nullIfZero(s.TLSHandshake),
		s.ServerName, s.NameSource.String(), s.ALPN, tls.VersionName(s.TLSVersion), s.ECH,
		nullIfZero(int64(s.QUICVersion)), end, w.captureID, s.MirrorSource,
		int64(s.Retransmits[0]), int64(s.Retransmits[1]))
	return nil
}

// setRow fills a row's arguments in column order.
func setRow(row []driver.NamedValue, values ...any) {
	for i, v := range values {
		row[i].Value = v
	}
}

// previous returns what an earlier file already wrote of this stream, so
// that the daily totals take only the difference: the stream's own
// earlier part when it carried over from the series' previous file, or
// the same traffic stored from another file (see seenAgain).
func (w *FileWriter) previous(s *streamWrite) (*usage, error) {
	if !s.Carried && s.First > w.storedUntil {
		return nil, nil
	}
	// The lookup, and seenAgain's, must see the rows still pending.
	if err := w.flushRows(); err != nil {
		return nil, err
	}
	var u usage
	var serverRTT, clientRTT, handshake, retransmits int64
	var end string
	var series sql.NullString
	err := w.st.streamPrev.QueryRowContext(w.ctx, s.ID).Scan(&u.first, &u.packetsUp, &u.packetsDown, &u.bytesUp,
		&u.bytesDown, &u.last, &serverRTT, &clientRTT, &handshake, &end, &retransmits, &u.key.client, &u.key.clientMAC, &u.key.serverName, &u.key.proto, &u.key.serverPort, &u.server, &series)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u.key.hour = timecut.HourOf(u.first)
	// The stream carried on from the series' previous file only if the
	// stored row is the series' own: a copy elsewhere may have won it.
	u.ownSeries = s.Carried && series.String == w.file.Series
	u.setLatencies(serverRTT, clientRTT, handshake)
	u.setEnd(end, retransmits)
	return &u, nil
}

// seenAgain settles a stream already stored from another file: the same
// traffic in a second encoding (a pcap and its pcapng conversion), a copy
// cut short or truncated to a snap length, overlapping rotations. The same
// id means the same 5-tuple and first packet time, so it is one stream,
// counted once: the more complete observation stays (more packets; then
// more tls, dns and dhcp rows, which a truncated copy lacks; then a server
// name), with its own rows, and the other's rows go. keep tells whether
// this file's observation is the one that stays; on a tie the stored one
// does.
func (w *FileWriter) seenAgain(s *streamWrite, stored *usage) (keep bool, err error) {
	first, last := min(s.First, stored.first), max(s.Last, stored.last)
	var mine, theirs int64
	err = w.st.derivedRows.QueryRowContext(w.ctx, s.ID, w.captureID, first, last).Scan(&mine, &theirs)
	if err != nil {
		return false, fmt.Errorf("rows of stream seen again: %w", err)
	}
	newPackets, oldPackets := int64(s.Packets[0]+s.Packets[1]), stored.packetsUp+stored.packetsDown
	switch {
	case newPackets != oldPackets:
		keep = newPackets > oldPackets
	case mine != theirs:
		keep = mine > theirs
	default:
		keep = stored.key.serverName == "" && s.ServerName != ""
	}
	// Rows written by this file have capture_id (and packets rows a rowid
	// past packetsBase) of this file; the stored observation's, of others.
	mineOp, packetsOp := "=", ">"
	if keep {
		mineOp, packetsOp = "!=", "<="
	}
	for _, table := range []string{"tls", "dns", "dhcp"} {
		q := fmt.Sprintf(`DELETE FROM %s WHERE stream_id = ? AND capture_id %s ? AND time BETWEEN ? AND ?`, table, mineOp)
		if _, err := w.conn.ExecContext(w.ctx, q, s.ID, w.captureID, first, last); err != nil {
			return false, fmt.Errorf("dropping %s rows of stream seen again: %w", table, err)
		}
	}
	if w.file.PacketRows {
		q := fmt.Sprintf(`DELETE FROM stream_packets WHERE time BETWEEN ? AND ? AND stream_id = ? AND rowid %s ?`, packetsOp)
		if _, err := w.conn.ExecContext(w.ctx, q, first, last, s.ID, w.packetsBase); err != nil {
			return false, fmt.Errorf("dropping packet rows of stream seen again: %w", err)
		}
	}
	return keep, nil
}

func (w *FileWriter) writeHello(h *helloRow) error {
	transport := "tcp"
	var quicVersion any
	if h.QUIC {
		transport = "quic"
		quicVersion = int64(h.QUICVersion)
	}
	version := h.LegacyVersion
	for _, v := range h.Versions {
		if v > version && v&0x0f0f != 0x0a0a { // GREASE values are not versions
			version = v
		}
	}
	row, err := w.wc.tls.row(w.ctx, w.conn)
	if err != nil {
		return err
	}
	setRow(row, h.StreamID, h.Time, w.names.boxed(h.Client), w.names.boxed(h.Server),
		boxedSmall(int(h.ClientPort)), boxedSmall(int(h.ServerPort)), h.ServerName, h.alpn, tls.VersionName(version), transport,
		quicVersion, h.ECH, w.captureID)
	return nil
}

func (w *FileWriter) writeDNS(d *flow.DNSResponse) error {
	client, resolver := w.names.boxed(d.Client), w.names.boxed(d.Server)
	if len(d.Answers) == 0 {
		row, err := w.wc.dns.row(w.ctx, w.conn)
		if err != nil {
			return err
		}
		setRow(row, d.Time, d.StreamID, client, resolver, d.QName, boxedSmall(int(d.QType)),
			boxedSmall(int(d.RCode)), "", boxedSmall(0), boxedSmall(0), "", w.captureID)
		return nil
	}
	for _, a := range d.Answers {
		answer := a.Target
		if a.Addr.IsValid() {
			answer = w.names.of(a.Addr)
		}
		row, err := w.wc.dns.row(w.ctx, w.conn)
		if err != nil {
			return err
		}
		setRow(row, d.Time, d.StreamID, client, resolver, d.QName, boxedSmall(int(d.QType)),
			boxedSmall(int(d.RCode)), a.Name, boxedSmall(int(a.Type)), int64(a.TTL), answer, w.captureID)
	}
	return nil
}

func (w *FileWriter) writeDHCP(d *flow.DHCP) error {
	mac := macString(d.ClientMAC)
	_, err := w.st.dhcp.ExecContext(w.ctx, d.Time, d.StreamID, d.TypeName(), int64(d.XID), mac,
		nullAddr(d.ClientIP), nullAddr(d.YourIP), nullAddr(d.RequestedIP), d.HostName, d.VendorClass, w.captureID)
	if err != nil {
		return err
	}
	// Replies name the client too, but what a device calls itself is in
	// its own messages.
	if d.Op != 1 {
		return nil
	}
	_, err = w.st.deviceName.ExecContext(w.ctx, mac, d.HostName, d.VendorClass, d.Time)
	return err
}

// addressGap is how long an address may go unseen before its next use
// counts as a new stretch in device_addresses.
const addressGap = int64(time.Hour)

// writeSightings records which MAC sent from which address: each MAC's
// devices row once for the batch, then each address's latest stretch
// extended, or a new one when there is none within addressGap. A flood of
// spoofed sources is a sighting per packet of one MAC.
func (w *FileWriter) writeSightings(list []flow.Sighting) error {
	type seen struct {
		first, last, packets int64
	}
	macs := map[[6]byte]*seen{}
	var order [][6]byte
	for i := range list {
		s := &list[i]
		m := macs[s.MAC]
		if m == nil {
			m = &seen{first: s.First, last: s.Last}
			macs[s.MAC] = m
			order = append(order, s.MAC)
		}
		m.first, m.last, m.packets = min(m.first, s.First), max(m.last, s.Last), m.packets+int64(s.Packets)
		if err := w.writeAddress(s); err != nil {
			return err
		}
	}
	for _, mac := range order {
		m := macs[mac]
		if _, err := w.st.device.ExecContext(w.ctx, macString(mac), m.first, m.last, m.packets); err != nil {
			return err
		}
	}
	return nil
}

func (w *FileWriter) writeAddress(s *flow.Sighting) error {
	mac, ip := macString(s.MAC), w.names.of(s.IP)
	res, err := w.st.addrExtend.ExecContext(w.ctx, mac, ip, s.First, s.Last, int64(s.Packets))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	_, err = w.st.addrInsert.ExecContext(w.ctx, mac, ip, s.First, s.Last, int64(s.Packets))
	return err
}

// nullIfZero is NULL for 0, as the columns of measurements not made are.
func nullIfZero(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullAddr(a netip.Addr) sql.NullString {
	if !a.IsValid() || a.IsUnspecified() {
		return sql.NullString{}
	}
	return sql.NullString{String: a.String(), Valid: true}
}

// addrNames caches the text form of addresses: a capture repeats the same
// few thousand addresses millions of times.
type addrNames struct{ m map[netip.Addr]addrName }

type addrName struct {
	text  string
	boxed any
}

const maxAddrNames = 1 << 16

func (n addrNames) lookup(a netip.Addr) addrName {
	if s, ok := n.m[a]; ok {
		return s
	}
	if len(n.m) >= maxAddrNames {
		clear(n.m)
	}
	s := a.String()
	name := addrName{text: s, boxed: s}
	n.m[a] = name
	return name
}

func (n addrNames) of(a netip.Addr) string { return n.lookup(a).text }

func (n addrNames) boxed(a netip.Addr) any { return n.lookup(a).boxed }

func macString(m [6]byte) string { return net.HardwareAddr(m[:]).String() }
