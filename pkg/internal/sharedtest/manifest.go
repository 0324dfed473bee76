// Package sharedtest gives tests access to the public captures in
// ../shared/testdata/pcap and their MANIFEST.tsv ground truth (per tshark),
// and what the packages' tests share for reading a database back.
package sharedtest

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Capture is one MANIFEST.tsv row.
type Capture struct {
	File, Path, Format, LinkType string
	Packets                      int
	TLSNames, QUICNames          []string
	GQUICNames                   []string // Google QUIC (tunnels manifest only)
	DNSNames, HTTPHosts          []string
	Notes                        string
}

// Dir is where the shared captures live, relative to the repository.
func Dir() string { return sharedDir("pcap") }

// TunnelsDir holds the shared captures of encapsulated traffic and Google
// QUIC, with a manifest of the same form.
func TunnelsDir() string { return sharedDir("tunnels") }

func sharedDir(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "..", "..", "shared", "testdata", name)
}

// Captures reads the manifest, skipping the test when the shared folder
// is absent.
func Captures(t testing.TB) []Capture { return manifest(t, Dir()) }

// Tunnels reads the tunnels manifest, skipping the test when it is absent.
func Tunnels(t testing.TB) []Capture { return manifest(t, TunnelsDir()) }

func manifest(t testing.TB, dir string) []Capture {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if os.IsNotExist(err) {
		t.Skipf("shared captures not found at %s: clone the project with ../shared beside it", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = '\t', true, -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("MANIFEST.tsv: %v", err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	list := func(row []string, name string) []string {
		i, ok := col[name]
		if !ok || i >= len(row) {
			return nil
		}
		v := row[i]
		if v == "-" || v == "" {
			return nil
		}
		return strings.Split(v, "|")
	}
	var out []Capture
	for _, row := range rows[1:] {
		n, _ := strconv.Atoi(row[col["packets"]])
		out = append(out, Capture{
			File: row[col["file"]], Path: filepath.Join(dir, row[col["file"]]),
			Format: row[col["file_format"]], LinkType: row[col["link_type"]], Packets: n,
			TLSNames: list(row, "tls_sni"), QUICNames: list(row, "quic_sni"), GQUICNames: list(row, "gquic_sni"),
			DNSNames: list(row, "dns_names"), HTTPHosts: list(row, "http_hosts"),
			Notes: row[col["notes"]],
		})
	}
	return out
}
