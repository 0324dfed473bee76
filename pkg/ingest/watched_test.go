package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/store"
)

// A read that waits (a pipe here; /proc/kmsg and the like the same way:
// both are files Go polls) is abandoned after the stall bound, or when
// the run's context ends, and fails saying why; data keeps it going.
func TestStalledReadsAreAbandoned(t *testing.T) {
	in := &Ingester{opts: Options{ReadStall: 200 * time.Millisecond}}
	read := func(ctx context.Context, feed func(w *os.File)) (time.Duration, error) {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		f := in.watch(ctx, "pipe", r)
		defer f.Close()
		go feed(w)
		start := time.Now()
		buf := make([]byte, 16)
		for {
			if _, err := f.Read(buf); err != nil {
				return time.Since(start), err
			}
		}
	}
	waited, err := read(context.Background(), func(*os.File) {})
	if !errors.Is(err, ErrStalled) || err.Error() != "pipe: no data for 200ms at byte 0; abandoned, to be tried again next run" || waited > 5*time.Second {
		t.Errorf("a silent pipe: %v after %s", err, waited)
	}
	if in.open.Load() != 0 {
		t.Errorf("%d files counted open after Close", in.open.Load())
	}
	// Data every 100 ms keeps the read going past the bound, until it
	// stops.
	waited, err = read(context.Background(), func(w *os.File) {
		for range 5 {
			w.Write([]byte("0123456789abcdef"))
			time.Sleep(100 * time.Millisecond)
		}
	})
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "at byte 80;") || waited < 500*time.Millisecond {
		t.Errorf("a pipe fed for 500 ms: %v after %s", err, waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	waited, err = read(ctx, func(*os.File) {})
	if !errors.Is(err, context.Canceled) || waited > 150*time.Millisecond {
		t.Errorf("a cancelled run: %v after %s", err, waited)
	}
}

// Files of kernel pseudo-filesystems are never opened: a capture
// directory of /proc is refused with the reason, an empty file is passed
// over, and a link named like a capture to /proc/kmsg (whose reads wait
// for kernel messages) does not hold up the captures beside it.
func TestPseudoFilesAreNeverRead(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc here:", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.pcap"), fixtureFile(t, "tunnels.pcap"))
	writeFile(t, filepath.Join(dir, "empty.pcap"), nil)
	for name, target := range map[string]string{"zz.pcap": "/proc/kmsg", "status.pcap": "/proc/self/status"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	in := New(openDB(t, filepath.Join(t.TempDir(), "db")), Options{ReadStall: time.Minute})
	done := make(chan *Report, 1)
	go func() {
		rep, err := in.Run(context.Background(), []string{dir, "/proc"})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	var rep *Report
	select {
	case rep = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end within 30 s")
	}
	var got []string
	for _, f := range rep.Files {
		got = append(got, filepath.Base(f.Path)+" "+f.Status+" "+f.Error)
	}
	want := []string{
		"status.pcap unreadable " + filepath.Join(dir, "status.pcap") + ": in a kernel pseudo-filesystem (proc): not read; captures are files on a disk",
		"zz.pcap unreadable " + filepath.Join(dir, "zz.pcap") + ": in a kernel pseudo-filesystem (proc): not read; captures are files on a disk",
		"proc unreadable /proc: in a kernel pseudo-filesystem (proc): not read; captures are files on a disk",
		"a.pcap ok ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || rep.Skipped != 1 {
		t.Errorf("files:\n%s\nwant\n%s\n(%d skipped, want the empty one)", strings.Join(got, "\n"), strings.Join(want, "\n"), rep.Skipped)
	}
}

// A run whose file has given no data for longer than the bound (a read
// the kernel holds, which closing the file does not end) shows in the
// status, naming the file, for health to say.
func TestStatusNamesAStalledFile(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ReadStall = 50 * time.Millisecond
	svc := newService(t, openDB(t, filepath.Join(t.TempDir(), "db")), cfg)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := svc.in.watch(ctx, "/mnt/hung/a.pcap", r)
	svc.mu.Lock()
	svc.status.Running = true
	svc.mu.Unlock()
	if st := svc.Status(); st.Stalled != 0 {
		t.Errorf("stalled at once: %s", st.Stalled)
	}
	time.Sleep(100 * time.Millisecond)
	if st := svc.Status(); st.Stalled < 50*time.Millisecond || st.StalledFile != "/mnt/hung/a.pcap" {
		t.Errorf("after 100 ms without data: %s, %q", st.Stalled, st.StalledFile)
	}
	f.Close()
	if st := svc.Status(); st.Stalled != 0 {
		t.Errorf("stalled with no file open: %s", st.Stalled)
	}
}

// warnings records a run's warnings.
type warnings struct{ lines []string }

func (w *warnings) Info(string, ...any) {}
func (w *warnings) Warn(msg string, args ...any) {
	w.lines = append(w.lines, fmt.Sprint(append([]any{msg}, args...)...))
}

// Files copied into a directory out of time order are read in time order
// once the earlier ones have settled: a later file waits for an earlier
// one still being written, and the database ends as if they had come in
// order. One that comes when its successors are long stored is read on
// its own, and said once per run, however many there are.
func TestOutOfOrderArrivalsAreReadInOrder(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	ctx := context.Background()
	streams := func(db *store.DB) string {
		t.Helper()
		rows, err := db.SQL().Query(`SELECT id, first, last, packets_up, packets_down, end_reason FROM streams ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, first, last, up, down int64
			var end string
			if err := rows.Scan(&id, &first, &last, &up, &down, &end); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(id, first, last, up, down, end))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, "\n")
	}
	inOrder := t.TempDir()
	for _, name := range []string{"rotated-0.pcap", "rotated-1.pcap"} {
		writeFile(t, filepath.Join(inOrder, name), fixtureFile(t, name))
		os.Chtimes(filepath.Join(inOrder, name), old, old)
	}
	want := openDB(t, filepath.Join(t.TempDir(), "want.db"))
	if _, err := New(want, Options{Settle: time.Minute}).Run(ctx, []string{inOrder}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rotated-1.pcap"), fixtureFile(t, "rotated-1.pcap"))
	os.Chtimes(filepath.Join(dir, "rotated-1.pcap"), old, old)
	// Still being copied: modified just now.
	if err := os.WriteFile(filepath.Join(dir, "rotated-0.pcap"), fixtureFile(t, "rotated-0.pcap"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, filepath.Join(t.TempDir(), "got.db"))
	var warned warnings
	in := New(db, Options{Settle: time.Minute, Log: &warned})
	rep, err := in.Run(ctx, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 0 || len(rep.Growing) != 2 {
		t.Errorf("while the earlier file is copied: read %+v, left %v; want nothing read, both left", rep.Files, rep.Growing)
	}
	os.Chtimes(filepath.Join(dir, "rotated-0.pcap"), old, old)
	if rep, err = in.Run(ctx, []string{dir}); err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != 2 || len(rep.Standalone) != 0 {
		t.Errorf("once settled: read %+v, on their own %v", rep.Files, rep.Standalone)
	}
	if diff := cmp.Diff(streams(want), streams(db)); diff != "" {
		t.Errorf("streams against an in-order arrival (-want +got):\n%s", diff)
	}

	// Long after: three captures of an hour before, each on its own, one
	// warning.
	for _, name := range []string{"tunnels.pcap", "vlan-qinq.pcap", "ipv6-ext.pcap"} {
		writeFile(t, filepath.Join(dir, "early-"+name), hourEarlier(t, fixtureFile(t, name)))
	}
	if rep, err = in.Run(ctx, []string{dir}); err != nil {
		t.Fatal(err)
	}
	if len(rep.Standalone) != 3 || len(warned.lines) != 1 || !strings.Contains(warned.lines[0], "files3") {
		t.Errorf("on their own: %v; warnings %q", rep.Standalone, warned.lines)
	}
}

// hourEarlier moves a little-endian microsecond pcap's records an hour
// back.
func hourEarlier(t *testing.T, b []byte) []byte {
	t.Helper()
	if binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatal("not a little-endian microsecond pcap")
	}
	out := bytes.Clone(b)
	for at := 24; at+16 <= len(out); {
		sec := binary.LittleEndian.Uint32(out[at:])
		binary.LittleEndian.PutUint32(out[at:], sec-3600)
		at += 16 + int(binary.LittleEndian.Uint32(out[at+8:]))
	}
	return out
}
