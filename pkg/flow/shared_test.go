package flow_test

import (
	"sort"
	"testing"

	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
)

// extraNames are names we find that tshark 4.0 does not, each checked by
// hand; docs/capture-reading.md's agreement table lists them.
var extraNames = map[string]map[string]string{
	"1kxun.pcap": {"http:[FF02::C]:1900": "SSDP M-SEARCH to the IPv6 multicast group; tshark dissects SSDP only to 239.255.255.250"},
}

// For every public capture, the TLS and QUIC server names, DNS names and
// HTTP hosts we extract include everything tshark finds, and whatever else
// we find is explained.
func TestSharedCapturesAgreeWithTshark(t *testing.T) {
	for _, c := range sharedtest.Captures(t) {
		t.Run(c.File, func(t *testing.T) { agreeWithTshark(t, c, extraNames[c.File]) })
	}
}

// Encapsulated traffic (ERSPAN, VXLAN, GENEVE, GRE, IP in IP, Teredo)
// gives up what it carries as tshark dissects it, and Google QUIC
// (Q024–Q050) its server names.
func TestSharedTunnelCapturesAgreeWithTshark(t *testing.T) {
	for _, c := range sharedtest.Tunnels(t) {
		t.Run(c.File, func(t *testing.T) { agreeWithTshark(t, c, nil) })
	}
}

func agreeWithTshark(t *testing.T, c sharedtest.Capture, explained map[string]string) {
	var col collector
	trackTolerant(&col, c.Path) // damaged files are covered in pkg/capture
	got := map[string]bool{}
	for _, h := range col.hellos {
		if h.ServerName == "" {
			continue
		}
		if h.QUIC && h.QUICVersion>>24 == 'Q' { // Google QUIC's CHLO
			got["gquic:"+h.ServerName] = true
		} else if h.QUIC {
			got["quic:"+h.ServerName] = true
		} else {
			got["tls:"+h.ServerName] = true
		}
	}
	for _, s := range col.streams {
		if s.NameSource.String() == "http" {
			got["http:"+s.ServerName] = true
		}
	}
	for _, d := range col.dns {
		if d.AnswerCount > 0 { // as tshark's dns.count.answers
			got["dns:"+d.QName] = true
		}
	}
	want := map[string]bool{}
	for kind, names := range map[string][]string{"tls": c.TLSNames, "quic": c.QUICNames, "gquic": c.GQUICNames, "dns": c.DNSNames, "http": c.HTTPHosts} {
		for _, n := range names {
			want[kind+":"+n] = true
		}
	}
	var missing, extra []string
	for n := range want {
		if !got[n] {
			missing = append(missing, n)
		}
	}
	for n := range got {
		if !want[n] && explained[n] == "" {
			extra = append(extra, n)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("tshark finds but we do not: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("found but not in tshark's list nor explained: %v", extra)
	}
}
