// Package ingest keeps a SaaSLens database current with capture files:
// it finds new files under directories, waits for files still being
// written, reads rotations in capture-time order with streams continuing
// from one file to the next, and commits each file in one transaction.
package ingest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/store"
	"github.com/zeebo/xxh3"
)

// Logger is what ingest logs through: the Grafana SDK's logger in the
// plugin, slog on the command line.
type Logger interface {
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
}

// Options tune an Ingester.
type Options struct {
	// PacketRows stores one packets row per TCP/UDP packet. Without it,
	// streams still carry every count dashboards use.
	PacketRows bool
	// Settle is how long a file must go unmodified before it is read, so
	// that the file a rotating tcpdump is writing is left alone.
	Settle time.Duration
	// WaitToSettle makes a run wait out the settle time of recently
	// modified files instead of leaving them for the next run.
	WaitToSettle bool
	// Progress, when set, is called every progressEvery packets and after
	// each file.
	Progress func(Progress)
	Log      Logger
	// Flow configures the stream trackers; without timeouts it means
	// flow.DefaultConfig().
	Flow flow.Config
	// ReadStall is how long a file's reads may return no data before it
	// is abandoned (see openWatched); 0 means DefaultReadStall.
	ReadStall time.Duration
}

// Progress reports a run's advance.
type Progress struct {
	File      string
	FileIndex int    // 1-based
	Files     int    // files to read in this run
	Packets   uint64 // packets read in this run so far
	Bytes     int64  // uncompressed capture bytes read in this run so far
	Elapsed   time.Duration
}

const progressEvery = 1 << 16

// continueSlack is how far a file may start before the end of its
// series' previous file and still continue its streams: rotations overlap
// a little when packets are written out of order.
const continueSlack = int64(2 * time.Minute)

// FileResult is what happened to one file.
type FileResult struct {
	Path string
	// ok, damaged, unreadable, duplicate, or vanished (deleted between the
	// scan and its turn). An unreadable file whose bytes could not be read
	// at all (permissions, not a regular file) is not recorded, so that a
	// later run tries it again.
	Status  string
	Packets uint64
	Error   string
	// Duplicate names the earlier path of the same content.
	Duplicate string
	// Retried files were not recorded: they could not be read at all,
	// and the next run tries them again.
	Retried bool
}

// Report sums up a run.
type Report struct {
	Files []FileResult
	// Known files were ingested before under the same path, size and time.
	Known int
	// Growing files were modified within the settle time and left for
	// later, and so were files a growing file of their directory starts
	// before (see holdBack).
	Growing []string
	// Standalone files started before what their directory had already
	// ingested, and were read on their own, their streams not continued.
	Standalone []string
	// Skipped files are not captures (found in a directory and not pcap/pcapng).
	Skipped int
	// Evicted streams ended early because more were open at once than
	// the tracker holds (flow.Config.MaxStreams): a flood or a scan.
	Evicted uint64
	Packets uint64
	Bytes   int64
	Elapsed time.Duration
}

// Count returns how many files ended with status.
func (r *Report) Count(status string) int {
	n := 0
	for _, f := range r.Files {
		if f.Status == status {
			n++
		}
	}
	return n
}

// Ingester reads capture files into a database. It keeps each series'
// stream tracker between runs, so a watch loop does not reload it.
type Ingester struct {
	db      *store.DB
	opts    Options
	log     Logger
	dec     *capture.Decoder
	series  map[string]*series
	started time.Time
	report  *Report
	// lastData is when a read of this run last returned data, in Unix
	// nanoseconds, and open counts the files open for reading
	// (watchedFile).
	lastData atomic.Int64
	open     atomic.Int32
	// reading is the path of the file opened last.
	reading atomic.Pointer[string]
}

// WaitingFor is how long the file being read has returned no data, and
// which file that is; 0 when no file is open.
func (in *Ingester) WaitingFor() (time.Duration, string) {
	if in.open.Load() == 0 {
		return 0, ""
	}
	path := ""
	if p := in.reading.Load(); p != nil {
		path = *p
	}
	return time.Since(time.Unix(0, in.lastData.Load())), path
}

// series is one directory's rotation: its files continue each other's
// streams.
type series struct {
	tracker *flow.Tracker
	sink    *fileSink
}

// New returns an Ingester writing into db.
func New(db *store.DB, opts Options) *Ingester {
	log := opts.Log
	if log == nil {
		log = discardLogger{}
	}
	if opts.Flow.TCPIdle == 0 {
		named := opts.Flow.NameByAddress
		opts.Flow = flow.DefaultConfig()
		opts.Flow.NameByAddress = named
	}
	return &Ingester{db: db, opts: opts, log: log, dec: capture.NewDecoder(), series: map[string]*series{}}
}

// CloseDays builds the daily and monthly totals of the days ingest is
// done with (store.DB.CloseDays): those the latest packet stored has
// passed by the settle time, a file of them being unlikely to come; with
// all, every day stored, the last one as far as it goes (a run asked for
// now, the command line).
func (in *Ingester) CloseDays(ctx context.Context, all bool) error {
	if all {
		return in.db.CloseAllDays(ctx)
	}
	end, err := in.db.TrafficEnd(ctx)
	if err != nil || end == 0 {
		return err
	}
	return in.db.CloseDays(ctx, end-int64(in.opts.Settle))
}

type discardLogger struct{}

func (discardLogger) Info(string, ...any) {}
func (discardLogger) Warn(string, ...any) {}

// Run ingests the capture files at paths (files, or directories searched
// recursively) that are not in the database yet. A damaged file is read up
// to the damage and recorded as such; the run stops early only when the
// database itself fails or ctx ends.
func (in *Ingester) Run(ctx context.Context, paths []string) (*Report, error) {
	in.started = time.Now()
	in.report = &Report{}
	defer func() { in.report.Elapsed = time.Since(in.started) }()
	all, err := in.walk(paths)
	if err != nil {
		return in.report, err
	}
	var fresh []candidate
	for _, c := range all {
		known, err := in.db.KnownPath(ctx, c.path, c.size, c.mtime)
		if err != nil {
			return in.report, err
		}
		if known {
			in.report.Known++
			continue
		}
		fresh = append(fresh, c)
	}
	ready, growing, err := in.settled(ctx, fresh, in.opts.WaitToSettle)
	if err != nil {
		return in.report, err
	}
	for i := range growing {
		if growing[i].size > 0 {
			in.sniff(ctx, &growing[i])
		}
		in.report.Growing = append(in.report.Growing, growing[i].path)
	}
	todo := ready[:0]
	for _, c := range ready {
		if c.from, err = in.grownFrom(ctx, &c); err != nil {
			return in.report, err
		}
		if c.size == 0 {
			// Never opened: an empty file has nothing to read, and the
			// files of /proc and /sys say 0 bytes and may wait forever.
			if c.explicit {
				in.report.Files = append(in.report.Files, in.passOver(c.path, fmt.Errorf("%s: empty (0 bytes), not read", c.path)))
			} else {
				in.report.Skipped++
			}
			continue
		}
		in.sniff(ctx, &c)
		if notACapture(&c) {
			in.report.Skipped++
			continue
		}
		todo = append(todo, c)
	}
	todo, waiting := holdBack(todo, growing)
	for _, c := range waiting {
		in.report.Growing = append(in.report.Growing, c.path)
	}
	if len(waiting) > 0 {
		in.log.Info("files wait for an earlier file of their directory still being written", "files", len(waiting), "first", waiting[0].path)
	}
	captureOrder(todo)
	defer in.reportStandalone()
	for i := range todo {
		if err := ctx.Err(); err != nil {
			return in.report, err
		}
		res, err := in.file(ctx, &todo[i], i+1, len(todo))
		if err != nil {
			return in.report, err
		}
		in.report.Files = append(in.report.Files, res)
	}
	return in.report, nil
}

// grownFrom tells, for a file stored before under the same path and
// grown since, where the new records start: a capture file that a writer
// was still filling (quiet links can leave tcpdump's buffer unflushed for
// longer than the settle time). Its old part is recognised by its hash;
// gzip'd files are not appended to in place, and are not checked.
func (in *Ingester) grownFrom(ctx context.Context, c *candidate) (int64, error) {
	prev, err := in.db.LastFromPath(ctx, c.path)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if prev.Compressed || prev.ReadTo == 0 || c.size <= prev.Size {
		return 0, nil
	}
	f, err := in.openWatched(ctx, c.path)
	if err != nil {
		return 0, nil // gone since the walk: reading it will say so
	}
	defer f.Close()
	h := xxh3.New128()
	if _, err := io.CopyN(h, f, prev.Size); err != nil {
		return 0, nil
	}
	if contentHash(h) != prev.ContentHash {
		return 0, nil // new content under an old name
	}
	in.log.Info("file grew since it was stored; reading its new records", "path", c.path, "from", prev.ReadTo)
	return prev.ReadTo, nil
}

// testHookPacket, when set by tests, runs after every packet.
var testHookPacket func(path string, n uint64)

// file ingests one file in one transaction.
func (in *Ingester) file(ctx context.Context, c *candidate, index, total int) (FileResult, error) {
	res := FileResult{Path: c.path}
	if c.openErr != nil {
		return in.unreadable(ctx, c)
	}
	if dup, err := in.renamedCopy(ctx, c); err != nil || dup != nil {
		if dup != nil {
			res.Status, res.Duplicate = "duplicate", dup.Path
		}
		return res, err
	}
	seriesName := filepath.Dir(c.path)
	sr, continued, err := in.seriesFor(ctx, seriesName, c.first)
	if err != nil {
		return res, err
	}
	standalone := sr == nil
	if standalone {
		in.report.Standalone = append(in.report.Standalone, c.path)
		sr = in.newSeries()
	}
	w, err := in.db.BeginFile(ctx, store.CaptureFile{Path: c.path, Size: c.size, MTime: c.mtime, Series: seriesName,
		Continued: continued, PacketRows: in.opts.PacketRows, ReadFrom: c.from})
	if err != nil {
		return res, err
	}
	// From here on the in-memory tracker runs ahead of the database; it
	// is trusted again only if the file commits.
	if !standalone {
		delete(in.series, seriesName)
	}
	sr.sink.w = w
	defer func() { sr.sink.w = nil }()

	var h hash.Hash = xxh3.New128()
	f, err := in.openWatched(ctx, c.path)
	if err != nil {
		w.Rollback()
		return in.passOver(c.path, err), nil
	}
	defer f.Close()
	r, err := capture.NewHashedReader(c.path, f, h)
	if errors.Is(err, ErrStalled) {
		w.Rollback()
		return in.passOver(c.path, err), nil
	}
	if err != nil {
		w.Rollback()
		c.openErr = err
		return in.unreadable(ctx, c)
	}
	defer r.Close()
	if err := r.SkipTo(c.from); err != nil {
		w.Rollback()
		return in.passOver(c.path, err), nil
	}
	var n uint64
	evictedBefore := sr.tracker.Evicted()
	fileStart := time.Now()
	sum, readErr := capture.Read(r, in.dec, func(f *capture.Frame) {
		sr.tracker.Handle(f)
		n++
		if testHookPacket != nil {
			testHookPacket(c.path, n)
		}
		if n%progressEvery == 0 {
			if ctx.Err() != nil {
				r.Abort(ctx.Err())
			}
			in.progress(c.path, index, total, n, r.Offset())
		}
	})
	if err := ctx.Err(); err != nil {
		w.Rollback()
		return res, err
	}
	if errors.Is(readErr, ErrStalled) {
		w.Rollback()
		return in.passOver(c.path, readErr), nil
	}
	if readErr != nil {
		in.log.Warn("capture damaged; keeping the packets before the damage", "path", c.path, "error", readErr)
	}
	if err := r.Drain(); errors.Is(err, ErrStalled) {
		w.Rollback()
		return in.passOver(c.path, err), nil
	} else if err != nil {
		// The content cannot be read to its end (damaged compression):
		// the raw bytes identify it instead.
		if h, err = in.rawHash(ctx, c.path); err != nil {
			w.Rollback()
			return in.passOver(c.path, err), nil
		}
	}
	sr.tracker.Checkpoint()
	result := store.CaptureResult{ContentHash: contentHash(h), Summary: sum, ReadErr: readErr, ReadTo: r.Consumed()}
	if standalone {
		sr.tracker.Flush()
	} else {
		sr.tracker.OpenChanged(w.StreamProgress)
		if result.SeriesState, err = sr.tracker.Delta(); err != nil {
			w.Rollback()
			return res, err
		}
		result.SeriesNow = sr.tracker.Now()
	}
	result.Elapsed = time.Since(fileStart)
	var dup *store.DuplicateError
	if err := w.Commit(result); errors.As(err, &dup) {
		if err := in.db.AddPath(ctx, c.path, c.size, c.mtime, dup.Of.ID); err != nil {
			return res, err
		}
		in.log.Info("same content already ingested; skipped", "path", c.path, "earlier", dup.Of.Path)
		res.Status, res.Duplicate = "duplicate", dup.Of.Path
		return res, nil
	} else if err != nil {
		return res, err
	}
	if !standalone {
		in.series[seriesName] = sr
	}
	in.report.Packets += sum.Packets
	if ev := sr.tracker.Evicted() - evictedBefore; ev > 0 {
		in.report.Evicted += ev
		in.log.Warn("more streams open at once than tracked; ended the least useful early", "path", c.path, "evicted", ev)
	}
	in.report.Bytes += r.Offset()
	res.Status, res.Packets = "ok", sum.Packets
	if readErr != nil {
		res.Status, res.Error = "damaged", readErr.Error()
	}
	in.progress(c.path, index, total, 0, 0)
	return res, nil
}

// reportStandalone logs once per run the files read on their own: a
// directory of unrelated captures has one per file, and a line for each
// said nothing the first did not.
func (in *Ingester) reportStandalone() {
	if n := len(in.report.Standalone); n > 0 {
		in.log.Warn("files start before what their directory already ingested; each was read on its own, its streams not continued",
			"files", n, "examples", strings.Join(in.report.Standalone[:min(n, 3)], ", "))
	}
}

// holdBack keeps back the captures that a capture still being written in
// their directory starts before, or may (its first packet not known yet):
// files copied into a directory out of time order are read in time order
// once all have settled, continuing each other's streams, rather than the
// later ones first and the earlier ones on their own.
func holdBack(ready, growing []candidate) (read, waiting []candidate) {
	earliest := map[string]int64{} // by directory; 0: not known
	for _, g := range growing {
		// An empty file may stay so for long (tcpdump's first buffer on a
		// quiet link); a copy writes at once.
		if g.size == 0 || errors.Is(g.openErr, capture.ErrNotCapture) {
			continue
		}
		dir := filepath.Dir(g.path)
		if e, seen := earliest[dir]; !seen || g.first == 0 || e != 0 && g.first < e {
			earliest[dir] = g.first
		}
	}
	for _, c := range ready {
		e, seen := earliest[filepath.Dir(c.path)]
		if seen && c.openErr == nil && c.first != 0 && (e == 0 || e < c.first) {
			waiting = append(waiting, c)
			continue
		}
		read = append(read, c)
	}
	return read, waiting
}

// renamedCopy recognises, before reading it in full, a file that was
// renamed or moved (same size and modification time as a known capture)
// and has the same content. Copies with a new modification time are caught
// by their hash after reading instead.
func (in *Ingester) renamedCopy(ctx context.Context, c *candidate) (*store.Capture, error) {
	same, err := in.db.CapturesLike(ctx, c.size, c.mtime)
	if err != nil || len(same) == 0 {
		return nil, err
	}
	h := xxh3.New128()
	f, err := in.openWatched(ctx, c.path)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	r, err := capture.NewHashedReader(c.path, f, h)
	if err != nil {
		return nil, nil
	}
	defer r.Close()
	if err := r.Drain(); err != nil {
		return nil, nil
	}
	sum := contentHash(h)
	for _, dup := range same {
		if dup.ContentHash == sum {
			in.log.Info("same content already ingested; skipped", "path", c.path, "earlier", dup.Path)
			return &dup, in.db.AddPath(ctx, c.path, c.size, c.mtime, dup.ID)
		}
	}
	return nil, nil
}

// unreadable records a capture whose header cannot be read, so that the
// error is visible in the ledger and the file is not retried.
func (in *Ingester) unreadable(ctx context.Context, c *candidate) (FileResult, error) {
	res := FileResult{Path: c.path, Status: "unreadable", Error: c.openErr.Error()}
	h, err := in.rawHash(ctx, c.path)
	if err != nil {
		return in.passOver(c.path, err), nil
	}
	sha := "raw-" + contentHash(h)
	w, err := in.db.BeginFile(ctx, store.CaptureFile{Path: c.path, Size: c.size, MTime: c.mtime, Series: filepath.Dir(c.path)})
	if err != nil {
		return res, err
	}
	var dup *store.DuplicateError
	err = w.Commit(store.CaptureResult{ContentHash: sha, Summary: &capture.Summary{Path: c.path}, ReadErr: c.openErr})
	if errors.As(err, &dup) {
		res.Status, res.Duplicate = "duplicate", dup.Of.Path
		return res, in.db.AddPath(ctx, c.path, c.size, c.mtime, dup.Of.ID)
	}
	if err == nil {
		in.log.Warn("not a readable capture", "path", c.path, "error", c.openErr)
	}
	return res, err
}

// passOver reports a file that cannot be read at all (no permission,
// deleted since the scan, not a regular file) and leaves it out of the
// ledger, so that a later run tries it again; the run goes on.
func (in *Ingester) passOver(path string, err error) FileResult {
	res := FileResult{Path: path, Status: "unreadable", Error: err.Error(), Retried: true}
	if errors.Is(err, fs.ErrNotExist) {
		res.Status = "vanished"
		in.log.Info("file removed before it could be read", "path", path)
		return res
	}
	in.log.Warn("cannot read file; will try again next run", "path", path, "error", err)
	return res
}

// contentHash names a capture's content. xxh3-128 rather than SHA-256:
// it is what tells copies apart, not a defence against forged files, and
// SHA-256 alone took half the time of an ingest without packet rows.
func contentHash(h hash.Hash) string { return "xxh3-128:" + hex.EncodeToString(h.Sum(nil)) }

func (in *Ingester) rawHash(ctx context.Context, path string) (hash.Hash, error) {
	f, err := in.openWatched(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	h := xxh3.New128()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("ingest: hashing %s: %w", path, err)
	}
	return h, nil
}

// seriesFor returns the tracker that continues the series with a file
// starting at first, and whether it carries streams over. It returns nil
// for a file that starts well before what the series has already seen:
// mixing it in would cut the streams of both.
func (in *Ingester) seriesFor(ctx context.Context, name string, first int64) (*series, bool, error) {
	sr := in.series[name]
	if sr == nil {
		header, items, err := in.db.SeriesState(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return in.newSeries(), false, nil
		}
		if err != nil {
			return nil, false, err
		}
		sr = in.newSeries()
		if err := sr.tracker.Restore(header, items); err != nil {
			return nil, false, fmt.Errorf("ingest: series %s: %w", name, err)
		}
		in.series[name] = sr
	}
	now := sr.tracker.Now()
	if first != 0 && now != 0 && first < now-continueSlack {
		return nil, false, nil
	}
	// After a longer pause the tracker still ends the old streams, at the
	// right times, but none can carry on into this file.
	return sr, now != 0 && first <= now+int64(in.opts.Flow.TCPIdle), nil
}

func (in *Ingester) newSeries() *series {
	sink := &fileSink{}
	var s flow.Sink = sink
	if in.opts.PacketRows {
		s = packetSink{sink}
	}
	return &series{tracker: flow.NewTracker(in.opts.Flow, s), sink: sink}
}

func (in *Ingester) progress(path string, index, total int, filePackets uint64, fileBytes int64) {
	if in.opts.Progress == nil {
		return
	}
	in.opts.Progress(Progress{File: path, FileIndex: index, Files: total, Packets: in.report.Packets + filePackets,
		Bytes: in.report.Bytes + fileBytes, Elapsed: time.Since(in.started)})
}

// fileSink forwards a series tracker's records to the current file's
// writer: the tracker outlives each file's transaction.
type fileSink struct{ w *store.FileWriter }

func (s *fileSink) Stream(x *flow.Stream)     { s.w.Stream(x) }
func (s *fileSink) Hello(x *flow.Hello)       { s.w.Hello(x) }
func (s *fileSink) DNS(x *flow.DNSResponse)   { s.w.DNS(x) }
func (s *fileSink) DHCP(x *flow.DHCP)         { s.w.DHCP(x) }
func (s *fileSink) Sighting(x *flow.Sighting) { s.w.Sighting(x) }

// packetSink adds per-packet rows; a separate type because the tracker
// skips building packet records for sinks that do not take them.
type packetSink struct{ *fileSink }

func (s packetSink) Packet(p *flow.Packet) { s.w.Packet(p) }
