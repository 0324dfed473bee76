package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"
)

func TestIngestCommandThenAgain(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	args := []string{"ingest", "--db", db, "--settle", "0", testdata("rotated-0.pcap"), testdata("rotated-1.pcap"), testdata("lan.pcap.gz")}
	var out, errOut bytes.Buffer
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"ingested 3 files (0 damaged", "rotated.example.com", "lan.example.com", "3 capture files"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(args, &out, &errOut); code != 0 || !strings.Contains(out.String(), "ingested 0 files") || !strings.Contains(out.String(), "3 already known") {
		t.Errorf("second run (exit %d):\n%s", code, out.String())
	}
	// The file is an ordinary SQLite database with the tutorial's tables.
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var packets int
	if err := conn.QueryRow(`SELECT count(*) FROM packets JOIN tls ON packets.stream_id = tls.stream_id WHERE tls.server_name = 'rotated.example.com'`).Scan(&packets); err != nil || packets == 0 {
		t.Errorf("join by stream: %d packets, %v", packets, err)
	}
}

func TestIngestCommandDamagedFileIsReportedNotFatal(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"ingest", "--db", filepath.Join(t.TempDir(), "s.db"), "--settle", "0", testdata("truncated.pcap")}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "truncated.pcap: damaged:") || !strings.Contains(out.String(), "offset 252") {
		t.Errorf("exit %d:\n%s", code, out.String())
	}
}

func TestIngestCommandNeedsPaths(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"ingest", "--db", filepath.Join(t.TempDir(), "s.db")}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}

// watch picks up a file that appears after it started, once the file has
// settled, and stops cleanly when its context ends.
func TestWatchPicksUpNewFiles(t *testing.T) {
	dir, db := t.TempDir(), filepath.Join(t.TempDir(), "s.db")
	copyFixture := func(name string) {
		b, err := os.ReadFile(testdata(name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFixture("rotated-0.pcap")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var out, errOut bytes.Buffer
	go func() {
		done <- watch(ctx, []string{"--db", db, "--interval", "1s", "--settle", "100ms", dir}, &out, &errOut)
	}()
	captures := func() int {
		conn, err := sql.Open("sqlite", db)
		if err != nil {
			return 0
		}
		defer conn.Close()
		var n int
		if err := conn.QueryRow("SELECT count(*) FROM captures").Scan(&n); err != nil {
			return 0 // not created yet: the caller polls
		}
		return n
	}
	waitFor := func(n int) {
		deadline := time.Now().Add(20 * time.Second)
		for captures() < n {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("watch stored %d captures, want %d\n%s%s", captures(), n, out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor(1)
	copyFixture("rotated-1.pcap")
	waitFor(2)
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("watch exited %d: %s", code, errOut.String())
	}
}

// watch outlives a capture directory that is missing when it starts (a
// mount not up yet, a ring buffer's directory recreated) and stores its
// files once it appears.
func TestWatchOutlivesAMissingDirectory(t *testing.T) {
	dir, db := filepath.Join(t.TempDir(), "later"), filepath.Join(t.TempDir(), "s.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var errOut syncBuffer
	go func() {
		done <- watch(ctx, []string{"--db", db, "--interval", "1s", "--settle", "0", dir}, io.Discard, &errOut)
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case code := <-done:
		t.Fatalf("watch exited %d over a missing directory", code)
	default:
	}
	b, err := os.ReadFile(testdata("rotated-0.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.pcap"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := sql.Open("sqlite", db)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = conn.QueryRow("SELECT count(*) FROM captures").Scan(&n)
		conn.Close()
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch never stored the file: %d captures, %v", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("watch exited %d: %s", code, errOut.String())
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Flag values that make no sense are refused before anything runs:
// --interval 0 would spin a core.
func TestWatchAndIngestRefuseBadFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	for _, args := range [][]string{
		{"watch", "--db", db, "--interval", "0", "."},
		{"watch", "--db", db, "--interval", "-1s", "."},
		{"ingest", "--db", db, "--settle", "-1s", "."},
		{"ingest", "--db", db, "--retain-days", "-3", "."},
		{"ingest", "--db", db, "--time-zone", "Tokyo", "."},
	} {
		var errOut bytes.Buffer
		if code := run(args, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), "must be") && !strings.Contains(errOut.String(), "not a time zone") {
			t.Errorf("%v: exit %d, %q", args, code, errOut.String())
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a refused command created the database")
	}
}

// A path that is not there is reported and makes the exit status 1, after
// the files beside it are stored.
func TestIngestCommandMissingPath(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	missing := filepath.Join(t.TempDir(), "gone.pcap")
	var out, errOut bytes.Buffer
	code := run([]string{"ingest", "--db", db, "--settle", "0", testdata("lan.pcap.gz"), missing}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), missing+": vanished") || !strings.Contains(out.String(), "ingested 1 files") {
		t.Errorf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
}

// The findings after an ingest, read from the totals, are the streams'
// own: per server name, most bytes first, its streams, clients, bytes and
// mean TLS handshake, as summed here from the streams table.
func TestIngestFindingsAreTheStreams(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	var out, errOut bytes.Buffer
	if code := run([]string{"ingest", "--db", db, "--settle", "0", testdata("office.pcap.gz"), testdata("lan.pcap.gz")}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errOut.String())
	}
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(`SELECT CASE server_name WHEN '' THEN '(unnamed)' ELSE server_name END, count(*), count(DISTINCT client),
		sum(bytes_up + bytes_down), avg(nullif(tls_handshake_ns, 0)) / 1e6 FROM streams GROUP BY server_name ORDER BY 4 DESC, 1 LIMIT 15`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var want []string
	for rows.Next() {
		var name string
		var streams, clients, bytes int64
		var handshake *float64
		if err := rows.Scan(&name, &streams, &clients, &bytes, &handshake); err != nil {
			t.Fatal(err)
		}
		row := fmt.Sprintf("%s %d %d %d", name, streams, clients, bytes)
		if handshake != nil {
			row += fmt.Sprintf(" %.1f", *handshake)
		}
		want = append(want, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Each table line: the name, then vendor, product and kind (a
	// product may hold spaces), then the numbers.
	var got []string
	table := strings.SplitN(out.String(), "SERVER NAME", 2)
	if len(table) != 2 {
		t.Fatalf("no findings table:\n%s", out.String())
	}
	for _, line := range strings.Split(table[1], "\n")[1:] {
		if strings.TrimSpace(line) == "" {
			break
		}
		fields := strings.Fields(line)
		numbers := 3
		if strings.Contains(fields[len(fields)-1], ".") {
			numbers = 4
		}
		got = append(got, fields[0]+" "+strings.Join(fields[len(fields)-numbers:], " "))
	}
	if diff := cmp.Diff(want, got); diff != "" || len(want) < 10 {
		t.Errorf("findings (-streams +printed):\n%s\n%s", diff, out.String())
	}
}
