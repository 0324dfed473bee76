package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testdata(name string) string { return filepath.Join("..", "..", "..", "testdata", name) }

func TestInspectJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"inspect", testdata("rotated-0.pcap"), "--json", testdata("rotated-1.pcap"), testdata("lan.pcap.gz")}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	records := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		records[m["record"].(string)] = append(records[m["record"].(string)], m)
	}
	var rotated map[string]any
	for _, s := range records["stream"] {
		if s["server_name"] == "rotated.example.com" {
			rotated = s
		}
	}
	if rotated == nil || rotated["packets_up"] != 8.0 || rotated["name_source"] != "sni" ||
		rotated["transport"] != "tcp" || rotated["end_reason"] != "fin" || rotated["rtt_ms"] != 33.0 || rotated["client_mac"] != "02:00:00:00:00:02" {
		t.Errorf("rotated stream: %v", rotated)
	}
	// Sightings are per file: 10.0.0.2 in each rotated file, then 10.0.0.23.
	if len(records["file"]) != 3 || len(records["dhcp"]) != 2 || len(records["device"]) != 3 {
		t.Errorf("files %d, dhcp %d, devices %d", len(records["file"]), len(records["dhcp"]), len(records["device"]))
	}
	lan := records["file"][2]
	if lan["compressed"] != true || lan["other"].(map[string]any)["STP"] != 1.0 {
		t.Errorf("lan summary %v", lan)
	}
}

func TestInspectReportsDamageAndExitsNonZero(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"inspect", testdata("truncated.pcap")}, &out, &errOut); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), "truncated.pcap: offset 252") {
		t.Errorf("summary should name file and offset:\n%s", out.String())
	}
}

// A file name holding a newline and an escape sequence is printed
// escaped: it must not fake a line of output or drive the terminal.
func TestInspectEscapesHostileFileNames(t *testing.T) {
	b, err := os.ReadFile(testdata("truncated.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x\n# fake.pcap: ok\x1b[2J.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	run([]string{"inspect", path}, &out, &errOut)
	text := out.String()
	if strings.ContainsAny(text, "\x1b") || strings.Contains(text, "\n# fake.pcap") {
		t.Errorf("raw file name reached the output:\n%q", text)
	}
	if !strings.Contains(text, `x\n# fake.pcap: ok\x1b[2J.pcap`) {
		t.Errorf("escaped name missing:\n%q", text)
	}
}

func TestShown(t *testing.T) {
	for in, want := range map[string]string{
		"/caps/東京-1.pcap":     "/caps/東京-1.pcap",
		"a\nb\x1b[0m\x00c":    `a\nb\x1b[0m\x00c`,
		"bad\xffutf8\u202e.x": `bad\xffutf8\u202e.x`,
	} {
		if got := shown(in); got != want {
			t.Errorf("shown(%q) = %q, want %q", in, got, want)
		}
	}
}

// Streams carry the catalog's vendor, product, category and kind.
func TestInspectNamesVendors(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"inspect", "--json", testdata("office.pcap.gz")}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	seen := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if name, _ := m["server_name"].(string); name != "" && m["record"] == "stream" {
			seen[name] = fmt.Sprintf("%v/%v/%v/%v", m["vendor"], m["product"], m["category"], m["kind"])
		}
	}
	for name, want := range map[string]string{
		"teams.microsoft.com": "Microsoft/Microsoft Teams/chat/saas",
		"acme.cybozu.com":     "Cybozu/kintone/productivity/saas",
		"ocsp.digicert.com":   "DigiCert/DigiCert/certificates/infra",
		"wiki.acme.internal":  "<nil>/<nil>/<nil>/<nil>",
	} {
		if seen[name] != want {
			t.Errorf("%s: %s, want %s", name, seen[name], want)
		}
	}
}
