package ingest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
)

// tutorialJoin is the query of the "pcap → SQLite → join by stream"
// tutorial our users come from, verbatim: ClientHellos joined to packets on
// the 5-tuple, counting each server's packets.
const tutorialJoin = `
SELECT tls.server_name, COUNT(*) AS packets
FROM packets
JOIN tls ON packets.src = tls.src AND packets.dst = tls.dst
        AND packets.sport = tls.sport AND packets.dport = tls.dport
GROUP BY tls.server_name`

// streamJoin is the same count through stream ids, with the accesses
// (connections) per server.
const streamJoin = `
SELECT tls.server_name, COUNT(DISTINCT tls.stream_id) AS accesses, COUNT(*) AS packets
FROM tls JOIN packets ON packets.stream_id = tls.stream_id
WHERE packets.direction = 0
GROUP BY tls.server_name`

type access struct{ accesses, packets int }

// Per server name: the connections that sent a ClientHello and the
// client-to-server packets on them, by SQL over our tables and by tshark.
func TestTutorialJoinAgreesWithTshark(t *testing.T) {
	captures := sharedtest.Captures(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (apt-get install tshark); .ci/run installs it")
	}
	compared := 0
	for _, c := range captures {
		want, err := tsharkAccesses(c.Path)
		if err != nil {
			t.Errorf("%s: tshark: %v", c.File, err)
			continue
		}
		db := openDB(t, filepath.Join(t.TempDir(), "db"))
		if _, err := New(db, withPackets).Run(t.Context(), []string{c.Path}); err != nil {
			t.Fatalf("%s: %v", c.File, err)
		}
		got := map[string]access{}
		rows, err := db.SQL().Query(tutorialJoin)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var n int
			must(t, rows.Scan(&name, &n))
			a := got[name]
			a.packets = n
			got[name] = a
		}
		rows.Close()
		rows, err = db.SQL().Query(streamJoin)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var accesses, packets int
			must(t, rows.Scan(&name, &accesses, &packets))
			a := got[name]
			if a.packets != packets {
				t.Errorf("%s %q: 5-tuple join counts %d packets, stream join %d", c.File, name, a.packets, packets)
			}
			a.accesses = accesses
			got[name] = a
		}
		rows.Close()
		if !mapsEqual(got, want) {
			t.Errorf("%s: per-server accesses and packets\n ours: %v\ntshark: %v", c.File, describe(got), describe(want))
		}
		if len(want) > 0 {
			compared++
		}
	}
	t.Logf("%d captures with ClientHellos agree with tshark", compared)
	if compared < 15 {
		t.Errorf("only %d captures had ClientHellos to compare", compared)
	}
}

func mapsEqual(a, b map[string]access) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func describe(m map[string]access) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%q:%d/%d", k, v.accesses, v.packets))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// tsharkAccesses counts, per server name, the distinct 5-tuples that
// carried a ClientHello (TLS or QUIC) and the packets sent on each.
func tsharkAccesses(path string) (map[string]access, error) {
	tuple := []string{"-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
		"-e", "tcp.srcport", "-e", "udp.srcport", "-e", "tcp.dstport", "-e", "udp.dstport"}
	fields := func(filter string, extra ...string) ([][]string, error) {
		args := []string{"-n", "-r", path, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"}
		if filter != "" {
			args = append(args, "-Y", filter)
		}
		args = append(append(args, tuple...), extra...)
		var out, errb bytes.Buffer
		cmd := exec.Command("tshark", args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		// tshark exits non-zero on a capture cut short, after printing
		// every packet before the damage, as we keep them too.
		if err := cmd.Run(); err != nil && out.Len() == 0 && !strings.Contains(errb.String(), "cut short") {
			return nil, fmt.Errorf("%v: %s", err, errb.String())
		}
		var rows [][]string
		for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
			if line != "" {
				rows = append(rows, strings.Split(line, "\t"))
			}
		}
		return rows, nil
	}
	key := func(r []string) string {
		get := func(i int) string {
			if i < len(r) {
				return r[i]
			}
			return ""
		}
		return strings.Join([]string{get(0) + get(1), get(2) + get(3), get(4) + get(5), get(6) + get(7)}, " ")
	}
	hellos, err := fields("tls.handshake.type == 1", "-e", "tls.handshake.extensions_server_name")
	if err != nil {
		return nil, err
	}
	names := map[string]string{} // 5-tuple -> server name
	for _, h := range hellos {
		name := ""
		if len(h) > 8 {
			name = h[8]
		}
		names[key(h)] = name
	}
	out := map[string]access{}
	if len(names) == 0 {
		return out, nil
	}
	for _, name := range names {
		a := out[name]
		a.accesses++
		out[name] = a
	}
	packets, err := fields("")
	if err != nil {
		return nil, err
	}
	for _, p := range packets {
		if name, ok := names[key(p)]; ok {
			a := out[name]
			a.packets++
			out[name] = a
		}
	}
	return out, nil
}

// docs/database.md shows users the very queries the tshark comparison runs.
func TestDocsShowTheTestedJoins(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "docs", "database.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{tutorialJoin, streamJoin} {
		if !strings.Contains(string(readme), strings.TrimSpace(q)+";") {
			t.Errorf("docs/database.md lacks the query, verbatim:\n%s", q)
		}
	}
}
