package query

import (
	"context"
	"database/sql"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
	"github.com/saaslens/saaslens/pkg/store"
	"github.com/saaslens/saaslens/pkg/timecut"
)

var (
	sampleOnce sync.Once
	samplePath string
	sampleErr  error
)

// sampleDB ingests the project's fixtures, and the shared captures when
// present, once for the package's tests.
func sampleDB(t *testing.T) *sql.DB {
	t.Helper()
	sampleOnce.Do(func() {
		dir, err := os.MkdirTemp("", "saaslens-query")
		if err != nil {
			sampleErr = err
			return
		}
		samplePath = filepath.Join(dir, "sample.db")
		db, err := store.Open(samplePath)
		if err != nil {
			sampleErr = err
			return
		}
		defer db.Close()
		cfg := ingest.DefaultConfig()
		cfg.Paths = []string{filepath.Join("..", "..", "testdata")}
		if _, err := os.Stat(sharedtest.Dir()); err == nil {
			cfg.Paths = append(cfg.Paths, sharedtest.Dir())
		}
		svc, err := ingest.NewService(db, cfg, ingest.Options{})
		if err != nil {
			sampleErr = err
			return
		}
		_, sampleErr = svc.Run(context.Background())
	})
	if sampleErr != nil {
		t.Fatal(sampleErr)
	}
	r, err := store.OpenReader(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.SQL()
}

type rawStream struct {
	first, last   int64
	service       string
	vendor        string // the group values, as the services table gives them
	product       string
	category      string
	kind          string
	client        string
	device        string // client MAC, else client
	bytes         int64
	packets       int64
	up, down      int64
	hasHostname   bool
	hostname, mac string
}

// rawStreams reads the streams table as plain rows, for computing what
// the panels should show without their SQL.
func rawStreams(t *testing.T, db *sql.DB) []rawStream {
	t.Helper()
	type svc struct{ vendor, product, category, kind string }
	services := map[string]svc{}
	srows, err := db.Query(`SELECT server_name, vendor, product, category, kind FROM services`)
	if err != nil {
		t.Fatal(err)
	}
	for srows.Next() {
		var name string
		var v svc
		if err := srows.Scan(&name, &v.vendor, &v.product, &v.category, &v.kind); err != nil {
			t.Fatal(err)
		}
		services[name] = v
	}
	if err := srows.Err(); err != nil {
		t.Fatal(err)
	}
	srows.Close()
	rows, err := db.Query(`SELECT first, last, server_name, client, client_mac, bytes_up, bytes_down, packets_up + packets_down FROM streams`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rawStream
	for rows.Next() {
		var s rawStream
		var mac string
		if err := rows.Scan(&s.first, &s.last, &s.service, &s.client, &mac, &s.up, &s.down, &s.packets); err != nil {
			t.Fatal(err)
		}
		s.device = mac
		if mac == "" {
			// An address is a device only if it is one host's.
			if a := netip.MustParseAddr(s.client); !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
				s.device = s.client
			}
		}
		v := services[s.service]
		if s.service == "" {
			s.service = Unnamed
		}
		s.vendor, s.product, s.category, s.kind = s.service, s.service, Unknown, Unknown
		if v.vendor != "" {
			s.vendor, s.category, s.kind = v.vendor, v.category, v.kind
			s.product = v.vendor + " " + v.product
			if strings.HasPrefix(v.product, v.vendor) {
				s.product = v.product
			}
		}
		s.bytes = s.up + s.down
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 50 {
		t.Fatalf("only %d streams in the sample", len(out))
	}
	return out
}

func span(streams []rawStream) Range {
	r := Range{From: streams[0].first, To: streams[0].last}
	for _, s := range streams {
		r.From = min(r.From, s.first)
		r.To = max(r.To, s.last)
	}
	return r
}

// expectUsage computes a usage frame's series from raw rows.
func expectUsage(streams []rawStream, q UsageQuery) map[string][]float64 {
	step := int64(q.Step)
	first := timecut.Floor(q.Range.From, step)
	n := (q.Range.To-first)/step + 1
	in := func(s rawStream) bool {
		// Whole steps: every step overlapping the range counts.
		if s.first < first || s.first >= first+n*step {
			return false
		}
		in := func(list []string, v string) bool { return len(list) == 0 || contains(list, All) || contains(list, v) }
		return in(q.Filter.Services, s.service) && in(q.Filter.Clients, s.client) && in(q.Filter.Devices, s.device) && in(q.Filter.Vendors, s.vendor) &&
			in(q.Filter.Products, s.product) && in(q.Filter.Categories, s.category) && in(q.Filter.Kinds, s.kind)
	}
	value := func(set []rawStream) float64 {
		switch q.Metric {
		case MetricBytes:
			v := int64(0)
			for _, s := range set {
				v += s.bytes
			}
			return float64(v)
		case MetricClients:
			c := map[string]bool{}
			for _, s := range set {
				c[s.client] = true
			}
			return float64(len(c))
		case MetricDevices:
			c := map[string]bool{}
			for _, s := range set {
				if s.device != "" {
					c[s.device] = true
				}
			}
			return float64(len(c))
		}
		return float64(len(set))
	}
	byService := map[string][]rawStream{}
	for _, s := range streams {
		if in(s) {
			key := map[string]string{"": s.service, GroupService: s.service, GroupVendor: s.vendor, GroupProduct: s.product, GroupCategory: s.category}[q.GroupBy]
			byService[key] = append(byService[key], s)
		}
	}
	var names []string
	for name := range byService {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := value(byService[names[i]]), value(byService[names[j]])
		if a != b {
			return a > b
		}
		return names[i] < names[j]
	})
	top := q.TopN
	if top == 0 {
		top = DefaultTopN
	}
	series := map[string][]rawStream{}
	for i, name := range names {
		key := name
		if i >= top {
			key = Other
		}
		series[key] = append(series[key], byService[name]...)
	}
	out := map[string][]float64{}
	for key, set := range series {
		buckets := make([][]rawStream, n)
		for _, s := range set {
			b := (timecut.Floor(s.first, step) - first) / step
			buckets[b] = append(buckets[b], s)
		}
		vals := make([]float64, n)
		for i, b := range buckets {
			vals[i] = value(b)
		}
		out[key] = vals
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func seriesOf(t *testing.T, f *data.Frame) map[string][]float64 {
	t.Helper()
	if f.Fields[0].Type() != data.FieldTypeTime {
		t.Fatalf("first field is %s, not time", f.Fields[0].Type())
	}
	out := map[string][]float64{}
	for _, field := range f.Fields[1:] {
		vals := make([]float64, field.Len())
		for i := range vals {
			vals[i] = field.At(i).(float64)
		}
		for _, v := range field.Labels {
			out[v] = vals
		}
	}
	return out
}

func TestUsageAgreesWithRawRows(t *testing.T) {
	db := sampleDB(t)
	streams := rawStreams(t, db)
	all := span(streams)
	around := Range{From: streams[len(streams)/2].first - int64(time.Hour), To: streams[len(streams)/2].first + int64(time.Hour)}
	middle := Range{From: all.From + (all.To-all.From)/3, To: all.To - (all.To-all.From)/3}
	busiest := expectUsage(streams, UsageQuery{Metric: MetricStreams, Range: all, Step: 7 * 24 * time.Hour, TopN: 2})
	var topService string
	for name := range busiest {
		if name != Other && name != Unnamed {
			topService = name
		}
	}
	if topService == "" {
		t.Fatal("no named service in the sample")
	}
	// The device (by MAC) with most streams, and one known by address only.
	perDevice := map[string]int{}
	for _, s := range streams {
		perDevice[s.device]++
	}
	var byMAC, byAddress string
	for d, n := range perDevice {
		isMAC := strings.Count(d, ":") == 5 && len(d) == 17
		if isMAC && (byMAC == "" || n > perDevice[byMAC] || n == perDevice[byMAC] && d < byMAC) {
			byMAC = d
		}
		if !isMAC && d != "" && (byAddress == "" || n > perDevice[byAddress] || n == perDevice[byAddress] && d < byAddress) {
			byAddress = d
		}
	}
	if byMAC == "" || byAddress == "" {
		t.Fatalf("the sample needs devices known by MAC and by address only: %q %q", byMAC, byAddress)
	}
	for _, q := range []UsageQuery{
		{Metric: MetricStreams, Range: all, Step: timecut.Step(all.From, all.To, time.Second, 800)},
		{Metric: MetricBytes, Range: all, Step: timecut.Step(all.From, all.To, time.Second, 800), TopN: 3},
		{Metric: MetricClients, Range: all, Step: timecut.Step(all.From, all.To, time.Second, 800), TopN: 2},
		{Metric: MetricStreams, Range: all, Step: 24 * time.Hour},
		{Metric: MetricBytes, Range: all, Step: 7 * 24 * time.Hour, TopN: 4},
		{Metric: MetricClients, Range: all, Step: 24 * time.Hour, TopN: 1},
		{Metric: MetricBytes, Range: all, Step: 24 * time.Hour, Filter: Filter{Services: []string{topService, Unnamed}}},
		{Metric: MetricBytes, Range: all, Step: 24 * time.Hour, Filter: Filter{Services: []string{All}, Clients: []string{All}}},
		{Metric: MetricBytes, Range: around, Step: time.Minute},
		{Metric: MetricBytes, Range: all, Step: 24 * time.Hour, GroupBy: GroupVendor},
		{Metric: MetricStreams, Range: all, Step: timecut.Step(all.From, all.To, time.Second, 800), GroupBy: GroupCategory, TopN: 20},
		{Metric: MetricClients, Range: all, Step: 24 * time.Hour, GroupBy: GroupProduct, TopN: 4},
		{Metric: MetricStreams, Range: around, Step: 10 * time.Minute, GroupBy: GroupVendor, Filter: Filter{Kinds: []string{"saas"}}},
		{Metric: MetricBytes, Range: all, Step: 7 * 24 * time.Hour, Filter: Filter{Categories: []string{"web", Unknown}, Vendors: []string{"Google", Unnamed}}},
		{Metric: MetricClients, Range: around, Step: 10 * time.Minute, TopN: 2},
		{Metric: MetricDevices, Range: middle, Step: timecut.Step(middle.From, middle.To, time.Hour, 1000), TopN: 3},
		{Metric: MetricDevices, Range: around, Step: 10 * time.Minute, GroupBy: GroupVendor},
		{Metric: MetricClients, Range: middle, Step: 3 * timecut.Step(middle.From, middle.To, time.Hour, 1000), Filter: Filter{Vendors: []string{"Google"}}},
		{Metric: MetricBytes, Range: all, Step: 24 * time.Hour, GroupBy: GroupVendor, Filter: Filter{Products: []string{"Google Search and web", "YouTube", Unnamed}}},
		{Metric: MetricStreams, Range: around, Step: 10 * time.Minute, Filter: Filter{Products: []string{"Google Search and web"}}},
		{Metric: MetricBytes, Range: all, Step: 24 * time.Hour, Filter: Filter{Devices: []string{byMAC, byAddress}}},
		{Metric: MetricStreams, Range: all, Step: timecut.Step(all.From, all.To, time.Second, 800), Filter: Filter{Devices: []string{byMAC}}},
		{Metric: MetricStreams, Range: middle, Step: timecut.Step(middle.From, middle.To, time.Hour, 1000)},
		{Metric: MetricStreams, Range: all, Step: timecut.Step(all.From, all.To, time.Second, 500), Filter: Filter{Clients: []string{streams[0].client}}},
	} {
		got, err := Usage(context.Background(), db, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		want := expectUsage(streams, q)
		if diff := cmp.Diff(want, seriesOf(t, got)); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", q, diff)
		}
		if got.Meta.ExecutedQueryString == "" {
			t.Errorf("%+v: no executed query string", q)
		}
		for _, f := range got.Fields[1:] {
			wantUnit := map[string]string{MetricStreams: "short", MetricBytes: "decbytes", MetricClients: "short", MetricDevices: "short"}[q.Metric]
			if f.Config == nil || f.Config.Unit != wantUnit {
				t.Errorf("%+v: field %s has config %+v, want unit %s", q, f.Name, f.Config, wantUnit)
			}
		}
	}
}

func TestUsageRefusesWhatItCannotDraw(t *testing.T) {
	db := sampleDB(t)
	for _, c := range []struct {
		q    UsageQuery
		want string
	}{
		{UsageQuery{Metric: "packets", Range: hour, Step: time.Minute}, `usage: metric "packets": want streams, bytes, clients or devices`},
		{UsageQuery{Range: hour, Step: 0}, `usage: step 0s must be more than 0`},
		{UsageQuery{Range: Range{From: 10, To: 5}, Step: time.Second}, `usage: the range ends before it starts`},
		{UsageQuery{Range: hour, Step: time.Millisecond}, `usage: 3600001 steps of 1ms over the range, more than 20000: choose a longer interval`},
	} {
		_, err := Usage(context.Background(), db, c.q)
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

func TestServerNamesAgreesWithRawRows(t *testing.T) {
	db := sampleDB(t)
	streams := rawStreams(t, db)
	all := span(streams)
	type row struct {
		Accesses, Packets, Up, Down, Clients int64
		First, Last                          time.Time
	}
	want := map[string]row{}
	clients := map[string]map[string]bool{}
	for _, s := range streams {
		r, ok := want[s.service]
		if !ok {
			r.First, r.Last = time.Unix(0, s.first).UTC(), time.Unix(0, s.last).UTC()
			clients[s.service] = map[string]bool{}
		}
		r.Accesses++
		r.Packets += s.packets
		r.Up += s.up
		r.Down += s.down
		clients[s.service][s.client] = true
		r.Clients = int64(len(clients[s.service]))
		if t := time.Unix(0, s.first).UTC(); t.Before(r.First) {
			r.First = t
		}
		if t := time.Unix(0, s.last).UTC(); t.After(r.Last) {
			r.Last = t
		}
		want[s.service] = r
	}
	// From the streams, as a range under a day reads: over the sample's
	// years ServerNames reads the hourly totals, which
	// TestTotalsAnswerAsTheStreams holds to the streams.
	f, err := serverNames(context.Background(), db, TableQuery{Range: all, Limit: 100000}, store.StreamsPlan(all.From, all.To))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]row{}
	for i := 0; i < f.Rows(); i++ {
		v := func(name string) any {
			field, _ := f.FieldByName(name)
			if field == nil {
				t.Fatalf("no field %s", name)
			}
			return field.At(i)
		}
		n := func(name string) int64 { return *v(name).(*int64) }
		got[*v("server_name").(*string)] = row{n("accesses"), n("packets"), n("bytes_up"), n("bytes_down"), n("clients"),
			v("first_seen").(time.Time), v("last_seen").(time.Time)}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("server names (-want +got):\n%s", diff)
	}
	if field, _ := f.FieldByName("bytes_up"); field.Config == nil || field.Config.Unit != "decbytes" {
		t.Errorf("bytes_up has no unit")
	}
}

func TestStreamsTable(t *testing.T) {
	db := sampleDB(t)
	streams := rawStreams(t, db)
	all := span(streams)
	f, err := Streams(context.Background(), db, TableQuery{Range: all, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if f.Rows() != 5 || len(f.Meta.Notices) != 0 {
		t.Fatalf("%d rows, notices %v; want 5 and none", f.Rows(), f.Meta.Notices)
	}
	var names []string
	for _, field := range f.Fields {
		names = append(names, field.Name+":"+field.Type().ItemTypeString())
	}
	want := []string{"first:time.Time", "last:time.Time", "client:*string", "client_mac:*string", "client_name:*string",
		"server:*string", "server_port:*int64", "transport:*string", "server_name:*string", "name_source:*string",
		"vendor:*string", "category:*string", "packets:*int64", "bytes_up:*int64", "bytes_down:*int64", "duration_ms:*float64", "rtt_ms:*float64",
		"tls_handshake_ms:*float64", "end_reason:*string", "stream_id:*string", "user:*string", "department:*string"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	firsts, _ := f.FieldByName("first")
	for i := 1; i < f.Rows(); i++ {
		if firsts.At(i).(time.Time).After(firsts.At(i - 1).(time.Time)) {
			t.Errorf("row %d starts after row %d: not newest first", i, i-1)
		}
	}
	// A client filter keeps only that client's streams, all of them.
	client := streams[0].client
	wantCount := 0
	for _, s := range streams {
		if s.client == client {
			wantCount++
		}
	}
	f, err = Streams(context.Background(), db, TableQuery{Range: all, Filter: Filter{Clients: []string{client}}, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if f.Rows() != wantCount {
		t.Errorf("client %s: %d rows, want %d", client, f.Rows(), wantCount)
	}
}

func TestChoices(t *testing.T) {
	db := sampleDB(t)
	streams := rawStreams(t, db)
	services, err := mustList(t, "services").Load(context.Background(), db, Range{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, s := range streams {
		want[s.service] = true
	}
	got := map[string]bool{}
	for _, c := range services {
		got[c.Value] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
	clients, err := mustList(t, "clients").Load(context.Background(), db, span(streams))
	if err != nil {
		t.Fatal(err)
	}
	wantClients := map[string]bool{}
	for _, s := range streams {
		wantClients[s.client] = true
	}
	gotClients := map[string]bool{}
	named := 0
	for _, c := range clients {
		gotClients[c.Value] = true
		if c.Text != c.Value {
			named++
		}
	}
	if diff := cmp.Diff(wantClients, gotClients); diff != "" {
		t.Errorf("clients (-want +got):\n%s", diff)
	}
	if named == 0 {
		t.Errorf("no client carries its DHCP name (lan.pcap.gz has DHCP)")
	}
	devices, err := mustList(t, "devices").Load(context.Background(), db, Range{})
	if err != nil || len(devices) == 0 {
		t.Fatalf("devices: %v, %v", devices, err)
	}
}

func TestServerNamesByVendor(t *testing.T) {
	db := sampleDB(t)
	streams := rawStreams(t, db)
	want := map[string]int64{}
	for _, s := range streams {
		want[s.vendor]++
	}
	f, err := ServerNames(context.Background(), db, TableQuery{Range: span(streams), GroupBy: GroupVendor, Limit: 100000}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := f.FieldByName("vendor")
	accesses, _ := f.FieldByName("accesses")
	if names == nil || accesses == nil {
		t.Fatalf("fields: %v", f.Fields)
	}
	got := map[string]int64{}
	for i := 0; i < f.Rows(); i++ {
		got[*names.At(i).(*string)] = *accesses.At(i).(*int64)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accesses by vendor (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(sharedtest.Dir()); err == nil && want["Google"] == 0 {
		t.Error("the shared captures' Google traffic is not classified as Google")
	}
}

// mustList is the list named name.
func mustList(tb testing.TB, name string) List {
	tb.Helper()
	l, ok := ListNamed(name)
	if !ok {
		tb.Fatalf("no list %q", name)
	}
	return l
}
