package ingest

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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
