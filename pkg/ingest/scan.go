package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/saaslens/saaslens/pkg/capture"
)

// candidate is a file that may need ingesting.
type candidate struct {
	path     string
	size     int64
	mtime    int64
	explicit bool // named on the command line rather than found in a directory
	// first is the time of the first packet, which orders the files of a
	// rotation; zero when no packet could be read.
	first   int64
	openErr error
	// from is where reading starts when the file grew after an earlier
	// run read it: past the records that run stored.
	from int64
}

// walk lists the regular files under paths, in path order. Hidden files
// and directories are left out, and so are the database and its WAL files
// when they live among the captures. A path that cannot be read is
// reported in the run's results and passed over.
func (in *Ingester) walk(paths []string) ([]candidate, error) {
	var out []candidate
	seen := map[string]bool{}
	add := func(path string, info fs.FileInfo, explicit bool) {
		if seen[path] || strings.HasPrefix(path, in.db.Path()) {
			return
		}
		seen[path] = true
		out = append(out, candidate{path: path, size: info.Size(), mtime: info.ModTime().UnixNano(), explicit: explicit})
	}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		info, err := os.Stat(abs)
		if err != nil {
			in.report.Files = append(in.report.Files, in.passOver(abs, err))
			continue
		}
		if in.refusePseudo(abs) {
			continue
		}
		if !info.IsDir() {
			add(abs, info, true)
			continue
		}
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				in.report.Files = append(in.report.Files, in.passOver(path, err))
				return nil
			}
			if path != abs && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			var info fs.FileInfo
			switch {
			case d.IsDir():
				// A capture directory of / or /srv walks past /proc and
				// /sys as mounts below it.
				if path != abs && in.refusePseudo(path) {
					return filepath.SkipDir
				}
				return nil
			case d.Type().IsRegular():
				info, err = d.Info()
			case d.Type()&fs.ModeSymlink != 0:
				// A link to a capture is followed; a link to a
				// directory is not, as it could lead in a loop.
				if info, err = os.Stat(path); err == nil && info.IsDir() {
					in.log.Warn("not following a link to a directory", "path", path)
					return nil
				}
				if err == nil && in.refusePseudo(path) {
					return nil
				}
			default:
				return nil // FIFOs, sockets, devices
			}
			if err != nil {
				in.report.Files = append(in.report.Files, in.passOver(path, err))
				return nil
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			add(path, info, false)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("ingest: walking %s: %w", abs, err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// refusePseudo reports a path on a kernel pseudo-filesystem (the files of
// /proc and /sys say 0 bytes, and some of their reads wait forever), so
// that it is never read, and tells whether it was one.
func (in *Ingester) refusePseudo(path string) bool {
	fsName, ok := pseudoFilesystem(path)
	if ok {
		in.report.Files = append(in.report.Files, in.passOver(path,
			fmt.Errorf("%s: %w (%s): not read; captures are files on a disk", path, ErrPseudoFilesystem, fsName)))
	}
	return ok
}

// ErrPseudoFilesystem is the error for a path on a kernel
// pseudo-filesystem.
var ErrPseudoFilesystem = errors.New("in a kernel pseudo-filesystem")

// settled splits candidates into those unchanged for the settle time and
// those still being written. With wait, it waits out the settle time of
// recently changed files once and keeps those that did not change.
func (in *Ingester) settled(ctx context.Context, list []candidate, wait bool) (ready, growing []candidate, err error) {
	now := time.Now().UnixNano()
	settle := int64(in.opts.Settle)
	var fresh []candidate
	latest := int64(0)
	for _, c := range list {
		if now-c.mtime >= settle {
			ready = append(ready, c)
		} else {
			fresh = append(fresh, c)
			latest = max(latest, c.mtime)
		}
	}
	if len(fresh) == 0 || !wait {
		return ready, fresh, nil
	}
	pause := time.Duration(latest + settle - now)
	in.log.Info("waiting for recently changed files to settle", "files", len(fresh), "wait", pause.Round(time.Millisecond))
	select {
	case <-time.After(pause):
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	for _, c := range fresh {
		info, err := os.Stat(c.path)
		if err != nil {
			continue
		}
		if info.Size() == c.size && info.ModTime().UnixNano() == c.mtime {
			ready = append(ready, c)
		} else {
			growing = append(growing, c)
		}
	}
	return ready, growing, nil
}

// sniff reads a file's header and first record: whether it is a capture
// at all, and when it starts.
func (in *Ingester) sniff(ctx context.Context, c *candidate) {
	f, err := in.openWatched(ctx, c.path)
	if err != nil {
		c.openErr = fmt.Errorf("open capture: %w", err)
		return
	}
	defer f.Close()
	r, err := capture.NewReader(c.path, f)
	if err != nil {
		c.openErr = err
		return
	}
	defer r.Close()
	if err := r.SkipTo(c.from); err != nil {
		c.openErr = err
		return
	}
	_, ci, _, err := r.Next()
	if err == nil && !ci.Timestamp.IsZero() {
		c.first = ci.Timestamp.UnixNano()
	}
}

// notACapture tells files to pass over silently: found in a directory and
// not captures at all (a README, a checksum list) or empty.
func notACapture(c *candidate) bool {
	return !c.explicit && (c.size == 0 || errors.Is(c.openErr, capture.ErrNotCapture))
}

// captureOrder puts each directory's files in the order they were
// written, and the directories by their first file's time. Within a
// directory the names of rotation schemes (tcpdump -C's cap, cap1, cap2;
// -G's and dumpcap's numbered, dated names; editcap's splits) give the
// order when they agree with the first packets' times up to nameOrderSlack:
// real captures step back a few milliseconds at file boundaries, and
// sorting short files by time alone would then swap them. Names that
// disagree more (a wrapped ring buffer, names unrelated to time) leave the
// order to time alone.
func captureOrder(list []candidate) {
	byDir := map[string][]candidate{}
	for _, c := range list {
		dir := filepath.Dir(c.path)
		byDir[dir] = append(byDir[dir], c)
	}
	groups := make([][]candidate, 0, len(byDir))
	for _, files := range byDir {
		seriesOrder(files)
		groups = append(groups, files)
	}
	sort.Slice(groups, func(i, j int) bool {
		a, b := groups[i][0], groups[j][0]
		if a.first != b.first {
			return a.first < b.first
		}
		return a.path < b.path
	})
	list = list[:0]
	for _, g := range groups {
		list = append(list, g...)
	}
}

// nameOrderSlack is how far a file's first packet may precede the
// previous file's first packet and the names still be trusted.
const nameOrderSlack = int64(time.Second)

func seriesOrder(files []candidate) {
	sort.SliceStable(files, func(i, j int) bool { return naturalLess(files[i].path, files[j].path) })
	agree := true
	for i := 1; i < len(files) && agree; i++ {
		prev, cur := files[i-1].first, files[i].first
		agree = prev == 0 || cur == 0 || cur >= prev-nameOrderSlack
	}
	if agree {
		return
	}
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].first != files[j].first {
			return files[i].first < files[j].first
		}
		return naturalLess(files[i].path, files[j].path)
	})
}

// naturalLess compares names with runs of digits as numbers, so that
// tcpdump's cap9 comes before cap10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			if da != db { // same number, fewer leading zeros first
				return da < db
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitPrefix(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
