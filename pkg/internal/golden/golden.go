// Package golden compares what a test makes with a file kept in the
// repository, and rewrites the file instead when the test runs with
// -update: a whole file, or the section of one between two marker lines
// (a table of the docs that a test keeps).
package golden

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// File compares got with the file at path, or writes it there when
// update; how names the command that rewrites it.
func File(t testing.TB, path string, got []byte, update bool, how string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is not what the test makes (%s):\n%s", path, how, diff)
	}
}

// Section compares got with what the file at path holds between the
// lines start and end, or writes it there when update.
func Section(t testing.TB, path, start, end, got string, update bool, how string) {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(text), start)
	kept, after, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("%s has no section between %q and %q", path, start, end)
	}
	if update {
		if err := os.WriteFile(path, []byte(before+start+got+end+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(got, kept); diff != "" {
		t.Errorf("the section of %s between %q and %q is out of date (%s):\n%s", path, strings.TrimSpace(start), strings.TrimSpace(end), how, diff)
	}
}
