package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/saaslens/saaslens/pkg/capture"
	"github.com/saaslens/saaslens/pkg/classify"
	"github.com/saaslens/saaslens/pkg/extract/dns"
	"github.com/saaslens/saaslens/pkg/extract/tls"
	"github.com/saaslens/saaslens/pkg/flow"
)

func inspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	separate := fs.Bool("separate", false, "treat each file as its own capture instead of parts of one rotated capture")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "saaslens inspect: no capture files given")
		return 2
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	// The built-in catalog names each stream's vendor; ingest adds the
	// contracts and plugins.
	classifier, err := classify.Builtin(classify.Config{})
	if err != nil {
		fmt.Fprintln(stderr, "saaslens inspect:", err)
		return 1
	}
	var p printer = &textPrinter{w: out, classifier: classifier}
	if *asJSON {
		p = &jsonPrinter{enc: json.NewEncoder(out), classifier: classifier}
	}
	dec := capture.NewDecoder()
	names, err := classify.CatalogAddressNames()
	if err != nil {
		fmt.Fprintln(stderr, "saaslens inspect:", err)
		return 1
	}
	cfg := flow.DefaultConfig()
	cfg.NameByAddress = names.Name
	tracker := flow.NewTracker(cfg, p)
	var summaries []*capture.Summary
	failed := false
	for i, path := range files {
		sum, err := capture.ReadFile(path, dec, tracker.Handle)
		if err != nil {
			failed = true
		}
		summaries = append(summaries, sum)
		if *separate || i == len(files)-1 {
			tracker.Flush()
		} else {
			tracker.Checkpoint()
		}
	}
	for _, s := range summaries {
		p.File(s)
	}
	if n := tracker.Evicted(); n > 0 {
		fmt.Fprintf(stderr, "saaslens inspect: %d streams ended early (end=evicted): more than %d were open at once, as in a flood or a scan\n",
			n, flow.DefaultConfig().MaxStreams)
	}
	if failed {
		return 1
	}
	return 0
}

// parseInterleaved accepts flags before, between and after file names, as
// users type them.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return files, nil
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

type printer interface {
	flow.Sink
	File(*capture.Summary)
}

func formatTime(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000Z")
}

func millis(ns int64) float64 { return float64(ns) / 1e6 }

func transport(s *flow.Stream) string {
	if s.QUICVersion != 0 {
		return "quic"
	}
	if s.Proto == 6 {
		return "tcp"
	}
	return "udp"
}

func hostPort(a fmt.Stringer, port uint16) string {
	return net.JoinHostPort(a.String(), fmt.Sprint(port))
}

func mac(m [6]byte, ok bool) string {
	if !ok {
		return ""
	}
	return net.HardwareAddr(m[:]).String()
}

func flagString(f uint8) string {
	const names = "FSRPAUEC"
	var b strings.Builder
	for i := 0; i < 8; i++ {
		if f&(1<<i) != 0 {
			b.WriteByte(names[i])
		}
	}
	return b.String()
}

type textPrinter struct {
	w          io.Writer
	classifier *classify.Classifier
}

func (p *textPrinter) Stream(s *flow.Stream) {
	name := "-"
	if s.ServerName != "" {
		name = s.ServerName + " (" + s.NameSource.String() + ")"
		if r := p.classifier.Classify(s.ServerName); r.Source != classify.SourceNone {
			name += " [" + r.Vendor + " " + r.Product + "]"
		}
	}
	alpn := s.ALPN
	if alpn == "" {
		alpn = "-"
	}
	rtt := "-"
	if r := s.RTT(); r != 0 {
		rtt = fmt.Sprintf("%.3fms", millis(r))
	}
	fmt.Fprintf(p.w, "%s %-4s %s -> %s %s alpn=%s pkts=%d/%d bytes=%d/%d rtt=%s end=%s\n",
		formatTime(s.First), transport(s), hostPort(s.Client, s.ClientPort), hostPort(s.Server, s.ServerPort),
		name, alpn, s.Packets[0], s.Packets[1], s.Bytes[0], s.Bytes[1], rtt, s.End)
}

func (p *textPrinter) Hello(*flow.Hello)       {}
func (p *textPrinter) DNS(*flow.DNSResponse)   {}
func (p *textPrinter) Sighting(*flow.Sighting) {}

func (p *textPrinter) DHCP(d *flow.DHCP) {
	ip := firstValid(d.YourIP, d.RequestedIP, d.ClientIP)
	if ip == "" {
		ip = "-"
	}
	fmt.Fprintf(p.w, "%s dhcp %s %s host=%q vendor=%q ip=%s\n", formatTime(d.Time), d.TypeName(),
		mac(d.ClientMAC, true), d.HostName, d.VendorClass, ip)
}

func (p *textPrinter) File(s *capture.Summary) {
	links := make([]string, len(s.LinkTypes))
	for i, l := range s.LinkTypes {
		links[i] = capture.LinkTypeName(l)
	}
	fmt.Fprintf(p.w, "# %s: %s%s [%s] %d packets, %d bytes, %d TCP/UDP", shown(s.Path), s.Format,
		map[bool]string{true: "+gzip"}[s.Compressed], strings.Join(links, ","), s.Packets, s.Bytes, s.Streamed)
	if names := s.OtherNames(); len(names) > 0 {
		counts := s.OtherByName()
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = fmt.Sprintf("%s %d", n, counts[n])
		}
		fmt.Fprintf(p.w, "; other: %s", strings.Join(parts, ", "))
	}
	if len(s.Tunneled) > 0 {
		counts := s.TunneledByName()
		names := make([]string, 0, len(counts))
		for n := range counts {
			names = append(names, n)
		}
		sort.Strings(names)
		for i, n := range names {
			names[i] = fmt.Sprintf("%s %d", n, counts[n])
		}
		fmt.Fprintf(p.w, "; tunneled: %s", strings.Join(names, ", "))
	}
	if s.Err != nil {
		fmt.Fprintf(p.w, "; error: %s", shown(s.Err.Error()))
	}
	fmt.Fprintln(p.w)
}

// firstValid renders the first valid address, or "" when none is.
func firstValid(addrs ...netip.Addr) string {
	for _, a := range addrs {
		if a.IsValid() {
			return a.String()
		}
	}
	return ""
}

// jsonPrinter writes the records documented in docs/cli.md, one per line.
type jsonPrinter struct {
	enc        *json.Encoder
	classifier *classify.Classifier
}

type jsonStream struct {
	Record          string  `json:"record"`
	ID              int64   `json:"id"`
	Transport       string  `json:"transport"`
	First           string  `json:"first"`
	Last            string  `json:"last"`
	Client          string  `json:"client"`
	ClientPort      uint16  `json:"client_port"`
	Server          string  `json:"server"`
	ServerPort      uint16  `json:"server_port"`
	ClientMAC       string  `json:"client_mac,omitempty"`
	MirrorSource    string  `json:"mirror_source,omitempty"`
	ServerName      string  `json:"server_name,omitempty"`
	NameSource      string  `json:"name_source,omitempty"`
	ALPN            string  `json:"alpn,omitempty"`
	TLSVersion      string  `json:"tls_version,omitempty"`
	ECH             bool    `json:"ech,omitempty"`
	QUICVersion     string  `json:"quic_version,omitempty"`
	PacketsToServer uint64  `json:"packets_up"`
	PacketsToClient uint64  `json:"packets_down"`
	BytesToServer   uint64  `json:"bytes_up"`
	BytesToClient   uint64  `json:"bytes_down"`
	PayloadToServer uint64  `json:"payload_up"`
	PayloadToClient uint64  `json:"payload_down"`
	FlagsToServer   string  `json:"tcp_flags_up,omitempty"`
	FlagsToClient   string  `json:"tcp_flags_down,omitempty"`
	ServerRTTms     float64 `json:"server_rtt_ms,omitempty"`
	ClientRTTms     float64 `json:"client_rtt_ms,omitempty"`
	RTTms           float64 `json:"rtt_ms,omitempty"`
	TLSHandshakeMs  float64 `json:"tls_handshake_ms,omitempty"`
	End             string  `json:"end_reason"`
	Vendor          string  `json:"vendor,omitempty"`
	Product         string  `json:"product,omitempty"`
	Category        string  `json:"category,omitempty"`
	Kind            string  `json:"kind,omitempty"`
}

func (p *jsonPrinter) Stream(s *flow.Stream) {
	rec := jsonStream{
		Record: "stream", ID: s.ID, Transport: transport(s),
		First: formatTime(s.First), Last: formatTime(s.Last),
		Client: s.Client.String(), ClientPort: s.ClientPort, Server: s.Server.String(), ServerPort: s.ServerPort,
		ClientMAC: mac(s.ClientMAC, s.HasClientMAC), MirrorSource: s.MirrorSource, ServerName: s.ServerName, NameSource: s.NameSource.String(),
		ALPN: s.ALPN, TLSVersion: tls.VersionName(s.TLSVersion), ECH: s.ECH,
		PacketsToServer: s.Packets[0], PacketsToClient: s.Packets[1],
		BytesToServer: s.Bytes[0], BytesToClient: s.Bytes[1],
		PayloadToServer: s.PayloadBytes[0], PayloadToClient: s.PayloadBytes[1],
		FlagsToServer: flagString(s.TCPFlags[0]), FlagsToClient: flagString(s.TCPFlags[1]),
		ServerRTTms: millis(s.ServerRTT), ClientRTTms: millis(s.ClientRTT), RTTms: millis(s.RTT()),
		TLSHandshakeMs: millis(s.TLSHandshake), End: s.End.String(),
	}
	if s.QUICVersion != 0 {
		rec.QUICVersion = fmt.Sprintf("0x%08x", s.QUICVersion)
	}
	if s.ServerName != "" {
		if r := p.classifier.Classify(s.ServerName); r.Source != classify.SourceNone {
			rec.Vendor, rec.Product, rec.Category, rec.Kind = r.Vendor, r.Product, r.Category, r.Kind
		}
	}
	p.enc.Encode(rec)
}

func (p *jsonPrinter) Hello(*flow.Hello) {}

type jsonAnswer struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	TTL    uint32 `json:"ttl"`
	Answer string `json:"answer"`
}

func (p *jsonPrinter) DNS(d *flow.DNSResponse) {
	answers := make([]jsonAnswer, 0, len(d.Answers))
	for _, a := range d.Answers {
		ja := jsonAnswer{Name: a.Name, TTL: a.TTL, Type: "CNAME", Answer: a.Target}
		if a.Type == dns.TypePTR {
			ja.Type = "PTR"
		}
		if a.Addr.IsValid() {
			ja.Type, ja.Answer = "A", a.Addr.String()
			if a.Addr.Is6() {
				ja.Type = "AAAA"
			}
		}
		answers = append(answers, ja)
	}
	p.enc.Encode(struct {
		Record      string       `json:"record"`
		StreamID    int64        `json:"stream_id"`
		AnswerCount int          `json:"answer_count"`
		Time        string       `json:"time"`
		Client      string       `json:"client"`
		Resolver    string       `json:"resolver"`
		Query       string       `json:"query"`
		QType       uint16       `json:"query_type"`
		RCode       uint8        `json:"rcode"`
		CNAMEs      []string     `json:"cnames,omitempty"`
		Answers     []jsonAnswer `json:"answers"`
	}{"dns", d.StreamID, d.AnswerCount, formatTime(d.Time), d.Client.String(), d.Server.String(), d.QName, d.QType, d.RCode, d.CNAMEChain(), answers})
}

func (p *jsonPrinter) DHCP(d *flow.DHCP) {
	p.enc.Encode(struct {
		Record      string `json:"record"`
		Time        string `json:"time"`
		Type        string `json:"type"`
		ClientMAC   string `json:"client_mac"`
		ClientIP    string `json:"client_ip,omitempty"`
		YourIP      string `json:"your_ip,omitempty"`
		RequestedIP string `json:"requested_ip,omitempty"`
		HostName    string `json:"hostname,omitempty"`
		VendorClass string `json:"vendor_class,omitempty"`
	}{"dhcp", formatTime(d.Time), d.TypeName(), mac(d.ClientMAC, true), firstValid(d.ClientIP), firstValid(d.YourIP),
		firstValid(d.RequestedIP), d.HostName, d.VendorClass})
}

func (p *jsonPrinter) Sighting(sg *flow.Sighting) {
	p.enc.Encode(struct {
		Record  string `json:"record"`
		MAC     string `json:"mac"`
		IP      string `json:"ip"`
		First   string `json:"first"`
		Last    string `json:"last"`
		Packets uint64 `json:"packets"`
	}{"device", mac(sg.MAC, true), sg.IP.String(), formatTime(sg.First), formatTime(sg.Last), sg.Packets})
}

func (p *jsonPrinter) File(s *capture.Summary) {
	links := make([]string, len(s.LinkTypes))
	for i, l := range s.LinkTypes {
		links[i] = capture.LinkTypeName(l)
	}
	errText := ""
	if s.Err != nil {
		errText = s.Err.Error()
	}
	p.enc.Encode(struct {
		Record     string            `json:"record"`
		Path       string            `json:"path"`
		Format     string            `json:"format"`
		Compressed bool              `json:"compressed"`
		LinkTypes  []string          `json:"link_types"`
		Packets    uint64            `json:"packets"`
		Bytes      uint64            `json:"bytes"`
		Streamed   uint64            `json:"tcp_udp_packets"`
		First      string            `json:"first,omitempty"`
		Last       string            `json:"last,omitempty"`
		Other      map[string]uint64 `json:"other"`
		Tunneled   map[string]uint64 `json:"tunneled,omitempty"`
		Error      string            `json:"error,omitempty"`
	}{"file", s.Path, string(s.Format), s.Compressed, links, s.Packets, s.Bytes, s.Streamed,
		formatTime(s.First), formatTime(s.Last), s.OtherByName(), s.TunneledByName(), errText})
}
