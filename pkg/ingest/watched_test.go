package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
