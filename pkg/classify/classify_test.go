package classify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saaslens/saaslens/pkg/classifiersdk"
)

// smallCatalog stands for the built-in catalog where a test needs fixed
// places to name.
func smallCatalog(t testing.TB) []Entry {
	t.Helper()
	entries, err := parseCatalog("small.yaml", true, []byte(`entries:
- {vendor: Cybozu, product: kintone, category: productivity, kind: saas, patterns: [.cybozu.com], source: "doc: https://cybozu.example", as_of: "2026-11"}
- {vendor: Microsoft, product: Microsoft web, category: web, kind: infra, patterns: [.microsoft.com], source: "domains: https://microsoft.example"}
`))
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func builtin(t testing.TB, contracts []Contract, plugins ...Plugin) *Classifier {
	t.Helper()
	c, err := Builtin(Config{Contracts: contracts, Plugins: plugins})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The catalog parses, every entry is complete and sourced, no pattern is
// claimed twice, and it covers at least 300 vendors.
func TestCatalog(t *testing.T) {
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	builtin(t, nil) // fails on a pattern claimed twice
	if n := len(Vendors(entries)); n < 300 {
		t.Errorf("%d vendors, want at least 300", n)
	}
}

func TestCatalogRefusesBadEntries(t *testing.T) {
	_, err := parseCatalog("c.yaml", true, []byte(`entries:
- {vendor: A, product: A, category: chat, kind: saas, patterns: [a.example], source: "domains: https://a.example"}
- {vendor: B, product: B, category: chatting, kind: saas, patterns: [b.example], source: "domains: https://b.example"}
- {vendor: C, product: C, category: chat, kind: cloud, patterns: [c.example], source: "domains: https://c.example"}
- {vendor: D, product: D, category: chat, kind: saas, patterns: ["d..example"], source: "domains: https://d.example"}
- {vendor: E, product: E, category: chat, kind: saas, patterns: [e.example], source: "I know it"}
`))
	want := strings.Join([]string{
		`c.yaml:3: category: "chatting" is not one of the known categories`,
		`c.yaml:4: kind: "cloud": want saas (a person's use of the service) or infra (what devices do on their own, static assets)`,
		`c.yaml:5: patterns: pattern "d..example": want a name, .domain, *.domain or a glob in the first label`,
		`c.yaml:6: source: "I know it": say where the patterns came from (doc: URL or domains: URL)`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	entries, err := parseCatalog("c.yaml", true, []byte(`entries:
- {vendor: A, product: A, category: chat, kind: saas, patterns: [.a.example], source: "domains: https://a.example"}
- {vendor: B, product: B, category: chat, kind: saas, patterns: ["*.a.example"], source: "domains: https://b.example"}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(entries, Config{})
	if want := `c.yaml:3: pattern "*.a.example" of B / B is already claimed by ".a.example" of A / A (c.yaml:2)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestMostSpecificPatternWins(t *testing.T) {
	var m Matcher
	svc := func(p string) Service { return Service{Vendor: p, Product: p, Category: "chat", Kind: KindSaaS} }
	for _, p := range []string{".microsoft.com", "teams.microsoft.com", ".teams.microsoft.com", "api-*.example.com", ".example.com", "example.com", "login.example.com",
		"*cdn.onenote.net", "db?-*-x.example.org", "ab*ba.example.net"} {
		if err := m.Add(p, svc(p), Origin{Source: SourceCatalog}); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{
		"teams.microsoft.com":          "teams.microsoft.com", // exact beats the suffix at the same depth
		"x.teams.microsoft.com":        ".teams.microsoft.com",
		"TEAMS.Microsoft.com.":         "teams.microsoft.com",
		"microsoft.com":                ".microsoft.com",
		"outlook.office.microsoft.com": ".microsoft.com",
		"api-eu.example.com":           "api-*.example.com",
		"api.example.com":              ".example.com",
		"x.api-eu.example.com":         ".example.com",
		"example.com":                  "example.com",
		"login.example.com":            "login.example.com",
		"cdn.onenote.net":              "*cdn.onenote.net", // the * may stand for nothing
		"appcdn.onenote.net":           "*cdn.onenote.net",
		"cdnx.onenote.net":             "",
		"db1-eu-x.example.org":         "db?-*-x.example.org", // more than one wildcard: path.Match's
		"db12-eu-x.example.org":        "",
		"aba.example.net":              "", // prefix and suffix may not overlap
		"abba.example.net":             "ab*ba.example.net",
		"notmicrosoft.com":             "",
		"com":                          "",
		"":                             "",
	} {
		got := ""
		if mt := m.Match(name); mt != nil {
			got = mt.pattern
		}
		if got != want {
			t.Errorf("%q matched %q, want %q", name, got, want)
		}
	}
}

func TestBuiltinClassifications(t *testing.T) {
	c := builtin(t, nil)
	for name, want := range map[string]string{
		"teams.microsoft.com":             "Microsoft / Microsoft Teams / chat / saas",
		"outlook.office365.com":           "Microsoft / Exchange Online / mail / saas",
		"contoso.sharepoint.com":          "Microsoft / SharePoint and OneDrive / storage / saas",
		"www.microsoft.com":               "Microsoft / Microsoft web / web / infra",
		"settings-win.data.microsoft.com": "Microsoft / Windows telemetry / telemetry / infra",
		"app.slack.com":                   "Slack / Slack / chat / saas",
		"us02web.zoom.us":                 "Zoom / Zoom / meetings / saas",
		"example.cybozu.com":              "Cybozu / kintone / productivity / saas",
		"mail.google.com":                 "Google / Gmail / mail / saas",
		"www.google.com":                  "Google / Google Search and web / web / infra",
		"ocsp.digicert.com":               "DigiCert / DigiCert / certificates / infra",
		"secure.freee.co.jp":              "freee / freee / accounting / saas",
		"a248.e.akamai.net":               "Akamai / Akamai / cdn / infra",
		"chatgpt.com":                     "OpenAI / ChatGPT / ai / saas",
		"pingma.qq.com:80":                "Tencent / WeChat and WeCom / chat / saas",
		// The examples: use and background of the same vendor.
		"storage.live.com":            "Microsoft / SharePoint and OneDrive / storage / saas",
		"ssw.live.com":                "Microsoft / SharePoint and OneDrive / storage / saas",
		"aadcdn.msauth.net":           "Microsoft / Entra ID static content / cdn / infra",
		"aadcdn.msftauth.net":         "Microsoft / Entra ID static content / cdn / infra",
		"login.microsoftonline.com":   "Microsoft / Entra ID / identity / saas",
		"oneclient.sfx.ms":            "Microsoft / OneDrive client updates / os-update / infra",
		"statics.teams.mstea.ms":      "Microsoft / Teams static content / cdn / infra",
		"webdir.skypeforbusiness.com": "Microsoft / Microsoft Teams / chat / saas",
		"x.sfbassets.com":             "Microsoft / Teams static content / cdn / infra",
		"spoprod-a.akamaihd.net":      "Microsoft / SharePoint static content / cdn / infra",
		"dl.dropboxusercontent.com":   "Dropbox / Dropbox / storage / saas",
		"cfl.dropboxstatic.com":       "Dropbox / Dropbox static content / cdn / infra",
		"js.cybozu.com":               "Cybozu / Cybozu static content / cdn / infra",
		"kintai.jinjer.biz":           "jinjer / jinjer / hr / saas",
		"[2001:db8::1]:443":           "",
		"2001:db8::1":                 "",
		"intranet.example.co.jp":      "",
	} {
		r := c.Classify(name)
		got := ""
		if r.Source != SourceNone {
			got = strings.Join([]string{r.Vendor, r.Product, r.Category, r.Kind}, " / ")
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

const contractsYAML = `contracts:
  - vendor: Cybozu
    product: kintone
    plan: Standard
    seats: 120
    monthly_cost: 180000
    currency: JPY
    start: 2025-04-01
    renewal: 2026-04-01
    owner: it@example.co.jp
    patterns: [example.cybozu.com]
  - vendor: Example Payroll
    product: Payroll
    seats: 10
    monthly_cost: 50
    currency: USD
    patterns: [.payroll.example.net]
`

// Contract patterns beat the catalog; a vendor the catalog lacks is
// known by its contract; categories come from the catalog when the
// contract does not say.
func TestContractsTakePrecedence(t *testing.T) {
	contracts, err := ParseContracts("contracts.yaml", []byte(contractsYAML))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(smallCatalog(t), Config{Contracts: contracts})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, n := range []string{"example.cybozu.com", "other.cybozu.com", "hr.payroll.example.net"} {
		got[n] = c.Classify(n)
	}
	want := map[string]Result{
		"example.cybozu.com":     {Service: Service{"Cybozu", "kintone", "productivity", KindSaaS}, Source: SourceContract, Pattern: "example.cybozu.com", Where: "contracts.yaml:2"},
		"other.cybozu.com":       {Service: Service{"Cybozu", "kintone", "productivity", KindSaaS}, Source: SourceCatalog, Pattern: ".cybozu.com", Where: "small.yaml:2", Reference: "doc: https://cybozu.example (as of 2026-11)"},
		"hr.payroll.example.net": {Service: Service{"Example Payroll", "Payroll", "other", KindSaaS}, Source: SourceContract, Pattern: ".payroll.example.net", Where: "contracts.yaml:12"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if builtin(t, nil).Fingerprint() == builtin(t, contracts).Fingerprint() {
		t.Error("contracts do not change the fingerprint")
	}
}

func TestContractErrorsNameFileLineAndField(t *testing.T) {
	_, err := ParseContracts("c.yaml", []byte(`contracts:
  - vendor: Slack
    seats: many
  - product: Nameless
    monthly_cost: 10
  - vendor: Box
    currency: yen
    monthly_cost: 5
    start: 2026-04-01
    renewal: 2026-01-01
    patterns: ["bad..name"]
    colour: blue
`))
	want := strings.Join([]string{
		"c.yaml:3: cannot unmarshal !!str `many` into int",
		"c.yaml:4: vendor: required",
		"c.yaml:4: currency: \"\": want an ISO 4217 code like JPY, USD, EUR",
		"c.yaml:12: colour: unknown field (known: vendor, product, category, plan, seats, monthly_cost, currency, start, renewal, owner, patterns)",
		"c.yaml:7: currency: \"yen\": want an ISO 4217 code like JPY, USD, EUR",
		"c.yaml:10: renewal: must come after start",
		"c.yaml:11: patterns: pattern \"bad..name\": want a name, .domain, *.domain or a glob in the first label",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

// BenchmarkClassify classifies a million names (a mix of catalogued
// services, their tenants and unknown names).
func BenchmarkClassify(b *testing.B) {
	c := builtin(b, nil)
	names := make([]string, 1_000_000)
	bases := []string{"teams.microsoft.com", "tenant%d.sharepoint.com", "app.slack.com", "us%dweb.zoom.us", "host%d.intranet.example.co.jp",
		"e%d.akamaiedge.net", "www.google.com", "cdn%d.example.org", "api-%d.cybozu.com", "ocsp.digicert.com"}
	for i := range names {
		base := bases[i%len(bases)]
		if strings.Contains(base, "%d") {
			base = fmt.Sprintf(base, i)
		}
		names[i] = base
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, n := range names {
			c.Classify(n)
		}
	}
}

// BenchmarkAddressNames names a million server addresses by the built-in
// catalog's ranges: a mix of addresses in Google's, Microsoft's and
// Zoom's ranges and of addresses in none, v4 and v6, as an ingest of
// nameless streams asks.
func BenchmarkAddressNames(b *testing.B) {
	a, err := CatalogAddressNames()
	if err != nil {
		b.Fatal(err)
	}
	addrs := make([]netip.Addr, 1_000_000)
	for i := range addrs {
		var x [16]byte
		binary.BigEndian.PutUint64(x[8:], uint64(i)*2654435761)
		switch i % 5 {
		case 0:
			addrs[i] = netip.AddrFrom4([4]byte{142, 250, x[14], x[15]})
		case 1:
			addrs[i] = netip.AddrFrom4([4]byte{52, 113, x[14], x[15]})
		case 2:
			addrs[i] = netip.AddrFrom4([4]byte{170, 114, x[14], x[15]})
		case 3:
			addrs[i] = netip.AddrFrom4([4]byte{93, x[13], x[14], x[15]})
		default:
			x[0], x[1], x[2], x[3] = 0x2a, 0x00, 0x14, 0x50
			addrs[i] = netip.AddrFrom16(x)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, addr := range addrs {
			a.Name(addr)
		}
	}
}

// The example the docs point to stays valid.
func TestExampleContracts(t *testing.T) {
	contracts, err := LoadContracts("../../examples/contracts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := builtin(t, contracts)
	if r := c.Classify("acme.sharepoint.com"); r.Source != SourceContract || r.Product != "Microsoft 365 E3" {
		t.Errorf("acme.sharepoint.com: %+v", r)
	}
}

type fakePlugin struct {
	answers map[string]classifiersdk.Result
	err     error
}

func (f fakePlugin) Identity() string { return "fake" }

func (f fakePlugin) Classify(_ context.Context, names []string) ([]classifiersdk.Result, error) {
	if f.err != nil {
		return nil, f.err
	}
	out := make([]classifiersdk.Result, len(names))
	for i, n := range names {
		out[i] = f.answers[n]
	}
	return out, nil
}

// Precedence: plugin > contract > catalog > nothing; a failing plugin
// leaves every name to the rest, and says so.
func TestPrecedence(t *testing.T) {
	contracts, err := ParseContracts("contracts.yaml", []byte(contractsYAML))
	if err != nil {
		t.Fatal(err)
	}
	plugin := fakePlugin{answers: map[string]classifiersdk.Result{
		"example.cybozu.com": {Known: true, Vendor: "Cybozu", Product: "kintone (plugin)", Category: "productivity", Kind: "saas"},
		"odd.example":        {Known: true, Vendor: "Odd", Category: "nonsense", Kind: "weird"},
		"blank.example":      {Known: true},
	}}
	c, err := New(smallCatalog(t), Config{Contracts: contracts, Plugins: []Plugin{plugin}})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"example.cybozu.com:443", "other.cybozu.com", "hr.payroll.example.net", "odd.example", "blank.example", "unknown.example"}
	got, err := c.ClassifyAll(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Service: Service{"Cybozu", "kintone (plugin)", "productivity", KindSaaS}, Source: SourcePlugin, Where: "fake"},
		{Service: Service{"Cybozu", "kintone", "productivity", KindSaaS}, Source: SourceCatalog, Pattern: ".cybozu.com", Where: "small.yaml:2", Reference: "doc: https://cybozu.example (as of 2026-11)"},
		{Service: Service{"Example Payroll", "Payroll", "other", KindSaaS}, Source: SourceContract, Pattern: ".payroll.example.net", Where: "contracts.yaml:12"},
		{Service: Service{"Odd", "Odd", "other", KindSaaS}, Source: SourcePlugin, Where: "fake"},
		{},
		{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	broken, err := New(smallCatalog(t), Config{Contracts: contracts, Plugins: []Plugin{fakePlugin{err: errors.New("plugin crashed")}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err = broken.ClassifyAll(context.Background(), names[:2])
	if err == nil || err.Error() != "plugin crashed" || got[0].Source != SourceContract || got[1].Source != SourceCatalog {
		t.Errorf("failing plugin: %v, %+v", err, got)
	}
}

// Addresses in a catalog range are named by the entry's first pattern, and
// that name classifies back to the entry.
func TestAddressNames(t *testing.T) {
	a, err := CatalogAddressNames()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	c := builtin(t, nil)
	for _, e := range entries {
		if len(e.Ranges) == 0 {
			continue
		}
		if r := c.Classify(e.RangeName()); r.Vendor != e.Vendor || r.Product != e.Product {
			t.Errorf("line %d: %s names the range but classifies as %s / %s", e.Line, e.RangeName(), r.Vendor, r.Product)
		}
	}
	for addr, want := range map[string]string{
		"52.113.194.132":  "teams.microsoft.com",
		"170.114.52.2":    "zoom.us",
		"66.114.169.10":   "webex.com",
		"104.18.32.80":    "cloudflare.com",
		"8.8.8.8":         "dns.google",
		"::ffff:8.8.4.4":  "dns.google",
		"2606:4700::1111": "cloudflare.com",
		"10.1.0.16":       "",
		"52.116.0.1":      "",
	} {
		got, _ := a.Name(netip.MustParseAddr(addr))
		if got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
	entry := func(vendor, name string, line int, ranges ...string) Entry {
		return Entry{Service: Service{Vendor: vendor, Product: vendor}, Patterns: []string{name}, Ranges: ranges, File: "c.yaml", Line: line}
	}
	builtinRanges := []Entry{
		entry("A", "a.example", 1, "10.0.0.0/8", "2001:db8::/32"),
		entry("B", "b.example", 2, "10.1.0.0/16", "2001:db8:1::/48"),
		entry("C", "c.example", 3, "10.1.2.3/32", "10.1.0.0/24", "255.255.255.0/24"),
		entry("D", "d.example", 4, "10.1.3.0/24", "10.1.4.0/24", "0.0.0.0/32"),
	}
	userRanges := []Entry{entry("U", "u.example", 1, "10.0.0.0/12")}
	nested, err := NewAddressNames(userRanges, builtinRanges)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		"10.200.0.1":      "a.example",
		"10.1.2.4":        "u.example",
		"10.1.2.3":        "u.example",
		"10.16.0.1":       "a.example",
		"2001:db8:2::1":   "a.example",
		"2001:db8:1::1":   "b.example",
		"::ffff:10.9.9.9": "u.example",
		"11.0.0.1":        "",
	} {
		if got, _ := nested.Name(netip.MustParseAddr(addr)); got != want {
			t.Errorf("nested %s: %q, want %q", addr, got, want)
		}
	}
	alone, err := NewAddressNames(builtinRanges)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		"0.0.0.0": "d.example", "0.0.0.1": "", "9.255.255.255": "", "10.0.0.0": "a.example", "10.0.255.255": "a.example",
		"10.1.0.0": "c.example", "10.1.0.255": "c.example", "10.1.1.0": "b.example",
		"10.1.2.2": "b.example", "10.1.2.3": "c.example", "10.1.2.4": "b.example", "10.1.2.255": "b.example",
		"10.1.3.0": "d.example", "10.1.4.255": "d.example", "10.1.5.0": "b.example", "10.1.255.255": "b.example",
		"10.2.0.1": "a.example", "10.255.255.255": "a.example", "11.0.0.0": "", "255.255.255.255": "c.example",
		"2001:db8::": "a.example", "2001:db8:1::": "b.example", "2001:db8:1:ffff:ffff:ffff:ffff:ffff": "b.example",
		"2001:db8:2::": "a.example", "2001:db9::": "", "fe80::1%eth0": "",
	} {
		if got, _ := alone.Name(netip.MustParseAddr(addr)); got != want {
			t.Errorf("most specific %s: %q, want %q", addr, got, want)
		}
	}
	_, err = NewAddressNames(append(builtinRanges, entry("E", "e.example", 5, "10.1.0.0/16")))
	if err == nil || err.Error() != "c.yaml:5: range 10.1.0.0/16 of E / E is claimed by B / B too (c.yaml:2)" {
		t.Errorf("one prefix, two entries: %v", err)
	}
}

// The user's catalog comes after the contracts and before the built-in
// catalog: it may claim a pattern the built-in catalog claims, and wins;
// its entries need no source; it changes the fingerprint.
func TestUserCatalogComesBeforeTheBuiltinOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, []byte(`# our own names
entries:
  - vendor: ACME
    product: Wiki
    category: productivity
    kind: saas
    patterns: [wiki.acme.example, .intra.acme.example]
  - {vendor: Microsoft, product: Our Microsoft, category: web, kind: saas, patterns: [.microsoft.com]}
  - {vendor: Cybozu, product: Ours, category: productivity, kind: saas, patterns: [example.cybozu.com]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	mine, err := LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	contracts, err := ParseContracts("contracts.yaml", []byte(contractsYAML))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(smallCatalog(t), Config{Contracts: contracts, Catalog: mine})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, n := range []string{"wiki.acme.example", "x.intra.acme.example", "www.microsoft.com", "example.cybozu.com", "other.cybozu.com"} {
		got[n] = c.Classify(n)
	}
	want := map[string]Result{
		"wiki.acme.example":    {Service: Service{"ACME", "Wiki", "productivity", KindSaaS}, Source: SourceUserCatalog, Pattern: "wiki.acme.example", Where: path + ":3"},
		"x.intra.acme.example": {Service: Service{"ACME", "Wiki", "productivity", KindSaaS}, Source: SourceUserCatalog, Pattern: ".intra.acme.example", Where: path + ":3"},
		"www.microsoft.com":    {Service: Service{"Microsoft", "Our Microsoft", "web", KindSaaS}, Source: SourceUserCatalog, Pattern: ".microsoft.com", Where: path + ":8"},
		"example.cybozu.com":   {Service: Service{"Cybozu", "kintone", "productivity", KindSaaS}, Source: SourceContract, Pattern: "example.cybozu.com", Where: "contracts.yaml:2"},
		"other.cybozu.com":     {Service: Service{"Cybozu", "kintone", "productivity", KindSaaS}, Source: SourceCatalog, Pattern: ".cybozu.com", Where: "small.yaml:2", Reference: "doc: https://cybozu.example (as of 2026-11)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	plain, err := New(smallCatalog(t), Config{Contracts: contracts})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Fingerprint() == c.Fingerprint() {
		t.Error("the user's catalog does not change the fingerprint")
	}
}

// Mistakes in the user's catalog are named by file, line and field, like
// the contracts'.
func TestUserCatalogErrorsNameFileLineAndField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, []byte(`entries:
  - vendor: ACME
    product: Wiki
    category: wikis
    kind: saas
    patterns: [wiki.acme.example]
  - vendor: ACME
    colour: blue
    kind: saas
    category: productivity
    patterns: ["bad..name"]
  - {vendor: ACME, product: X, category: web, kind: saas, patterns: [a.example], ranges: [10.0.0.1/8]}
  - {vendor: ACME, product: Y, category: web, kind: saas, patterns: [b.example], ranges: 10.0.0.0/8}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCatalog(path)
	want := strings.Join([]string{
		path + `:4: category: "wikis" is not one of the known categories`,
		path + `:8: colour: unknown field (known: vendor, product, category, kind, patterns, ranges, source, as_of)`,
		path + `:7: product: required`,
		path + `:11: patterns: pattern "bad..name": want a name, .domain, *.domain or a glob in the first label`,
		path + `:12: ranges: "10.0.0.1/8": want a CIDR prefix like 52.112.0.0/14`,
		path + ":13: cannot unmarshal !!str `10.0.0.0/8` into []string",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
	if _, err := LoadCatalog(filepath.Join(t.TempDir(), "none.yaml")); err == nil || !strings.HasPrefix(err.Error(), "catalog: open ") {
		t.Errorf("missing file: %v", err)
	}
}

// Names group by the domain their owner registered: the public suffix
// list decides where that is (co.jp, github.io); addresses, single labels
// and names under suffixes no registry hands out have none.
func TestDomain(t *testing.T) {
	for name, want := range map[string]string{
		"unknown.example.co.jp":   "example.co.jp",
		"a.b.unknown.example.com": "example.com",
		"Example.COM.":            "example.com",
		"acme.github.io":          "acme.github.io",
		"wiki.acme.internal":      "",
		"printer.local":           "",
		"x.y.corp":                "",
		"tenant.example.com:8443": "example.com",
		"example.com":             "example.com",
		"co.jp":                   "",
		"localhost":               "",
		"104.236.167.107":         "",
		"[ff02::c]:1900":          "",
		"239.255.255.250:1900":    "",
		"":                        "",
	} {
		if got := Domain(name); got != want {
			t.Errorf("Domain(%q) = %q, want %q", name, got, want)
		}
	}
}
