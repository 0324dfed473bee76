package query

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/classify"
	"github.com/saaslens/saaslens/pkg/flow"
	"github.com/saaslens/saaslens/pkg/geo"
	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/internal/fixture"
	"github.com/saaslens/saaslens/pkg/internal/monthdb"
	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
	"github.com/saaslens/saaslens/pkg/store"
)

// generatedMonth writes three weeks of a 16-device office in Tokyo, from
// the middle of March (its month end included) into April, as daily
// capture files, and ingests them with contracts and an inventory naming
// each device's department.
func generatedMonth(t *testing.T) (fixture.Month, *sql.DB) {
	t.Helper()
	return generatedMonthCutIn(t, "Asia/Tokyo")
}

// generatedMonthCutIn is generatedMonth with its monthly totals cut in
// zone, as by a datasource whose timeZone it is.
func generatedMonthCutIn(t *testing.T, zone string) (fixture.Month, *sql.DB) {
	t.Helper()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	rollup, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	m := fixture.Month{Devices: 16, First: time.Date(2026, 3, 16, 0, 0, 0, 0, tokyo), Days: 21, Location: tokyo, Sessions: 10}
	return m, monthdb.Open(t, m, rollup)
}

// TestGeneratedMonth asks the questions of a month whose answers the
// generator knows: who used what on which days, licences against the
// staff that uses each service, shadow IT, servers abroad, and the
// month-end slowdown.
func TestGeneratedMonth(t *testing.T) {
	m, db := generatedMonth(t)
	ctx := context.Background()
	tokyo := m.Location
	catalog, err := classify.Builtin(classify.Config{})
	if err != nil {
		t.Fatal(err)
	}
	vendorOf := func(name string) string { return catalog.Classify(name).Vendor }
	devices := m.DeviceList()
	macOf := func(d int) string {
		x := devices[d].MAC
		return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", x[0], x[1], x[2], x[3], x[4], x[5])
	}

	// Devices: the days each device used each vendor, in Tokyo.
	days := map[string]map[string]bool{}
	march := map[string]map[string]bool{} // vendor → devices in March
	for _, s := range m.SessionList() {
		v := vendorOf(s.Name)
		k := macOf(s.Device) + " " + v
		if days[k] == nil {
			days[k] = map[string]bool{}
		}
		local := s.Start.In(tokyo)
		days[k][local.Format(time.DateOnly)] = true
		// Licences count use: a device that only fetched a vendor's
		// static assets (Salesforce's, for Support) is not one of its users.
		if local.Month() == time.March && catalog.Classify(s.Name).Kind == classify.KindSaaS {
			if march[v] == nil {
				march[v] = map[string]bool{}
			}
			march[v][macOf(s.Device)] = true
		}
	}
	whole := RangeOf(m.First, m.First.AddDate(0, 0, m.Days))
	f, err := Devices(ctx, db, TableQuery{Range: whole, GroupBy: GroupVendor, Limit: 10000}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	got, want := map[string]int64{}, map[string]int64{}
	for i := 0; i < f.Rows(); i++ {
		row := concreteRow(f, i)
		if row[6] == Unnamed {
			continue // the DHCP exchanges, which the generator does not count as sessions
		}
		got[row[1].(string)+" "+row[6].(string)] = row[9].(int64)
	}
	for k, ds := range days {
		want[k] = int64(len(ds))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("days active per device and vendor (-want +got):\n%s", diff)
	}

	// Licences for March: the devices of the staff that use each vendor.
	lf, err := Licences(ctx, db, LicencesQuery{Range: RangeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, tokyo), time.Date(2026, 3, 31, 23, 0, 0, 0, tokyo))}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	gotActive, wantActive := map[string]int64{}, map[string]int64{}
	vendor, _ := lf.FieldByName("vendor")
	active, _ := lf.FieldByName("active_devices")
	for i := 0; i < lf.Rows(); i++ {
		v, _ := vendor.ConcreteAt(i)
		n, _ := active.ConcreteAt(i)
		gotActive[v.(string)] = n.(int64)
	}
	for _, v := range []string{"Microsoft", "Cybozu", "Salesforce", "Slack", "Zoom", "Box", "freee"} {
		wantActive[v] = int64(len(march[v]))
	}
	if diff := cmp.Diff(wantActive, gotActive); diff != "" {
		t.Errorf("active devices per contract in March (-want +got):\n%s", diff)
	}
	if wantActive["Salesforce"] != 4 || wantActive["freee"] != 4 {
		t.Errorf("the generator's departments changed: Salesforce %d, freee %d devices", wantActive["Salesforce"], wantActive["freee"])
	}

	// Month over month counts use too: April's Salesforce devices are
	// Sales's, not Support's that fetched its static assets; asked for
	// every kind, it counts those as well.
	april := map[string]map[string]bool{} // "saas"/"all" → devices of Salesforce in April
	for _, s := range m.SessionList() {
		if s.Start.In(tokyo).Month() != time.April || vendorOf(s.Name) != "Salesforce" {
			continue
		}
		for _, k := range []string{"all", catalog.Classify(s.Name).Kind} {
			if april[k] == nil {
				april[k] = map[string]bool{}
			}
			april[k][macOf(s.Device)] = true
		}
	}
	for kinds, want := range map[string]int{"": len(april[classify.KindSaaS]), "*": len(april["all"])} {
		q := TableQuery{Range: whole, GroupBy: GroupVendor, Limit: 100}
		if kinds != "" {
			q.Filter.Kinds = []string{kinds}
		}
		mf, err := MonthOverMonth(ctx, db, q, tokyo)
		if err != nil {
			t.Fatal(err)
		}
		got := -1
		for i := 0; i < mf.Rows(); i++ {
			if row := concreteRow(mf, i); row[0] == "Salesforce" {
				got = int(row[fieldIndex(t, mf, "devices_this_month")].(int64))
			}
		}
		if got != want || want == 0 {
			t.Errorf("month over month, kinds %q: %d Salesforce devices in April, want %d", kinds, got, want)
		}
	}
	if len(april["all"]) <= len(april[classify.KindSaaS]) {
		t.Errorf("April: %d Salesforce devices, %d of them using it: the generator's Support no longer fetches its assets alone", len(april["all"]), len(april[classify.KindSaaS]))
	}

	// Shadow IT: what no contract covers (GitHub is its own vendor: the
	// office's Microsoft contract does not cover it).
	sf, err := ShadowIT(ctx, db, TableQuery{Range: whole, Limit: 100}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	var shadow []string
	shadowVendor, _ := sf.FieldByName("vendor")
	for i := 0; i < sf.Rows(); i++ {
		v, _ := shadowVendor.ConcreteAt(i)
		shadow = append(shadow, v.(string))
	}
	if diff := cmp.Diff([]string{"OpenAI", "GitHub", "Notion"}, shadow); diff != "" {
		t.Errorf("shadow IT (-want +got):\n%s", diff)
	}

	// Servers abroad: Cybozu and freee serve from Japan.
	gf, err := Geo(ctx, db, GeoQuery{TableQuery: TableQuery{Range: whole, GroupBy: GroupVendor, Limit: 1000}, Locator: geo.Builtin(), Home: "JP"})
	if err != nil {
		t.Fatal(err)
	}
	abroad := map[string]bool{}
	for i := 0; i < gf.Rows(); i++ {
		row := gf.RowCopy(i)
		if row[1].(string) != "" {
			abroad[row[0].(string)] = abroad[row[0].(string)] || row[2].(bool)
		}
	}
	for vendor, want := range map[string]bool{"Cybozu": false, "freee": false, "Salesforce": true, "Zoom": true} {
		if got, ok := abroad[vendor]; !ok || got != want {
			t.Errorf("%s abroad: %v (placed: %v), want %v", vendor, got, ok, want)
		}
	}

	// The month end is slower: TLS handshakes on the 30th and 31st of
	// March against the days before.
	lat, err := Latency(ctx, db, LatencyQuery{Measure: "tls", Range: whole, DayOfMonth: tokyo, Percentiles: []float64{50}, GroupBy: GroupVendor, TopN: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range lat.Fields[1:] {
		day := func(d int) float64 {
			v := field.At(d - 1).(*float64)
			if v == nil {
				t.Fatalf("%s: no handshakes on day %d", field.Labels[GroupVendor], d)
			}
			return *v
		}
		if end, before := day(31), day(24); end < 1.5*before {
			t.Errorf("%s: median handshake %.1f ms on the 31st, %.1f ms on the 24th: no month-end slowdown", field.Labels[GroupVendor], end, before)
		}
	}

	// Bytes per department add up to all bytes.
	uf, err := Usage(ctx, db, UsageQuery{Metric: MetricBytes, Range: whole, Step: 24 * time.Hour, GroupBy: GroupDepartment, TopN: 10})
	if err != nil {
		t.Fatal(err)
	}
	perDept := map[string]float64{}
	var sum float64
	for _, field := range uf.Fields[1:] {
		for i := 0; i < field.Len(); i++ {
			perDept[field.Labels[GroupDepartment]] += field.At(i).(float64)
			sum += field.At(i).(float64)
		}
	}
	var total int64
	if err := db.QueryRow(`SELECT sum(bytes_up + bytes_down) FROM streams WHERE client_mac != ''`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"Sales", "Engineering", "Finance", "Support"} {
		if perDept[d] == 0 {
			t.Errorf("no bytes for %s in %v", d, perDept)
		}
	}
	if perDept[NoDepartment] != sum-float64(total) {
		t.Errorf("bytes outside the inventory %v, want %v (all %v, from inventoried devices %d)", perDept[NoDepartment], sum-float64(total), sum, total)
	}
}

// concreteRow is row i of f with nullable values as plain ones.
func concreteRow(f *data.Frame, i int) []any {
	row := make([]any, len(f.Fields))
	for j, field := range f.Fields {
		row[j], _ = field.ConcreteAt(i)
	}
	return row
}

// The month written straight into the store is the month its captures
// give when ingested: the same streams, column by column, the same
// hourly totals, devices and DHCP names.
func TestGeneratedMonthStoredEqualsIngested(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	// A Friday to a Tuesday: a weekend without traffic, and March's end.
	m := fixture.Month{Devices: 6, First: time.Date(2026, 3, 27, 0, 0, 0, 0, tokyo), Days: 5, Location: tokyo, Sessions: 8}
	dir := t.TempDir()
	if _, err := m.WriteMonth(dir); err != nil {
		t.Fatal(err)
	}
	ingested, err := store.Open(filepath.Join(t.TempDir(), "ingested.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ingested.Close()
	cfg := ingest.DefaultConfig()
	cfg.Paths, cfg.Settle = []string{dir}, 0
	svc, err := ingest.NewService(ingested, cfg, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored, err := store.Open(filepath.Join(t.TempDir(), "stored.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer stored.Close()
	flowCfg := flow.DefaultConfig()
	names, err := classify.CatalogAddressNames()
	if err != nil {
		t.Fatal(err)
	}
	flowCfg.NameByAddress = names.Name
	if err := m.Store(context.Background(), stored, flowCfg); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT id, proto, client, client_port, server, server_port, client_mac, first, last, packets_up, packets_down,
			bytes_up, bytes_down, payload_up, payload_down, tcp_flags_up, tcp_flags_down, server_rtt_ns, client_rtt_ns,
			tls_handshake_ns, server_name, name_source, alpn, tls_version, ech, quic_version, retransmits_up, retransmits_down
			FROM streams ORDER BY id`,
		`SELECT * FROM client_usage_hourly ORDER BY 1, 2, 3, 4, 5, 6`,
		`SELECT * FROM usage_hourly ORDER BY 1, 2, 3, 4`,
		`SELECT mac, hostname, vendor_class, first, last FROM devices ORDER BY mac`,
		`SELECT time, stream_id, server_name, alpn, version FROM tls ORDER BY time, stream_id`,
		`SELECT time, message_type, mac, your_ip, hostname FROM dhcp ORDER BY time, mac`,
	} {
		text := func(db *store.DB) []string {
			var out []string
			for _, row := range sharedtest.Rows(t, db.SQL(), q) {
				out = append(out, fmt.Sprint(row...))
			}
			return out
		}
		if diff := cmp.Diff(text(ingested), text(stored)); diff != "" {
			t.Errorf("%s (-ingested +stored):\n%s", q, diff)
		}
	}
	// End reasons agree but for what is still open when the last file
	// ends: ingest waits for the next file, Store ends its day.
	ends := map[int64]string{}
	for _, row := range sharedtest.Rows(t, stored.SQL(), `SELECT id, end_reason FROM streams`) {
		ends[row[0].(int64)] = row[1].(string)
	}
	for _, row := range sharedtest.Rows(t, ingested.SQL(), `SELECT id, end_reason FROM streams WHERE end_reason != 'open'`) {
		if got := ends[row[0].(int64)]; got != row[1] {
			t.Errorf("stream %d ended %s, stored as %s", row[0], row[1], got)
		}
	}
	var streams int
	if err := stored.SQL().QueryRow(`SELECT count(*) FROM streams`).Scan(&streams); err != nil || streams < 6*3*8 {
		t.Errorf("%d streams (%v)", streams, err)
	}
}
