package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/saaslens/saaslens/pkg/capture"
)

// A read of a capture file can wait for good: a file of a kernel
// pseudo-filesystem that only ever waits for data (/proc/kmsg behind a
// link named like a capture), a hung network mount, a device. Every file
// ingest reads is opened through openWatched: when none of its reads has
// returned data for the stall bound, or the run's context ends, the file
// is closed under the read, which then returns (for the files Go can poll:
// pseudo files, pipes, sockets; a read stuck inside the kernel on a
// regular file returns only when the kernel gives up, and health says so
// meanwhile), and the file is reported and tried again next run.

// ErrStalled is the error of a read abandoned for making no progress.
var ErrStalled = errors.New("no data")

// watchedFile is a capture file whose reads are watched for progress.
type watchedFile struct {
	f    *os.File
	read atomic.Int64 // bytes read so far
	// lastData is when a read last returned data (or the file opened), in
	// Unix nanoseconds; also the Ingester's, for the run's health.
	lastData, runData *atomic.Int64
	open              *atomic.Int32
	why               atomic.Pointer[error]
	done              chan struct{}
	closeOnce         sync.Once
}

// openWatched opens path for reading under the stall bound.
func (in *Ingester) openWatched(ctx context.Context, path string) (*watchedFile, error) {
	f, err := capture.OpenFile(path)
	if err != nil {
		return nil, err
	}
	return in.watch(ctx, path, f), nil
}

// watch puts the reads of f under the stall bound until Close.
func (in *Ingester) watch(ctx context.Context, path string, f *os.File) *watchedFile {
	w := &watchedFile{f: f, lastData: new(atomic.Int64), runData: &in.lastData, open: &in.open, done: make(chan struct{})}
	w.open.Add(1)
	in.reading.Store(&path)
	now := time.Now().UnixNano()
	w.lastData.Store(now)
	w.runData.Store(now)
	stall := in.opts.ReadStall
	if stall <= 0 {
		stall = DefaultReadStall
	}
	go w.watchdog(ctx, path, stall)
	return w
}

func (w *watchedFile) watchdog(ctx context.Context, path string, stall time.Duration) {
	tick := time.NewTicker(max(stall/8, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-ctx.Done():
			w.abandon(ctx.Err())
			return
		case <-tick.C:
			if idle := time.Since(time.Unix(0, w.lastData.Load())); idle >= stall {
				w.abandon(fmt.Errorf("%s: %w for %s at byte %d; abandoned, to be tried again next run", path, ErrStalled, stall, w.read.Load()))
				return
			}
		}
	}
}

// abandon closes the file under a read that waits, which then fails with
// why.
func (w *watchedFile) abandon(why error) {
	w.why.Store(&why)
	w.f.Close()
}

func (w *watchedFile) Read(p []byte) (int, error) {
	n, err := w.f.Read(p)
	if n > 0 {
		w.read.Add(int64(n))
		now := time.Now().UnixNano()
		w.lastData.Store(now)
		w.runData.Store(now)
	}
	if err != nil {
		if why := w.why.Load(); why != nil {
			err = *why
		}
	}
	return n, err
}

// Close stops the watch and closes the file.
func (w *watchedFile) Close() error {
	var err error
	w.closeOnce.Do(func() {
		close(w.done)
		w.open.Add(-1)
		err = w.f.Close()
		if w.why.Load() != nil {
			err = nil // closed by abandon already
		}
	})
	return err
}

// DefaultReadStall is how long a read may return no data before the file
// is abandoned: far longer than any disk or network hiccup.
const DefaultReadStall = time.Minute
