package geo

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

func TestBuiltin(t *testing.T) {
	l := Builtin()
	for addr, want := range map[string]string{
		"8.8.8.8":         "US", // Google's resolver
		"133.1.1.1":       "JP", // Osaka University
		"193.0.6.139":     "NL", // RIPE NCC
		"10.1.0.16":       "",   // private
		"192.168.1.1":     "",   // private
		"127.0.0.1":       "",   // loopback
		"224.0.0.251":     "",   // multicast
		"fe80::1":         "",   // link-local
		"::ffff:8.8.4.4":  "US", // mapped
		"2001:4860::8888": "US", // Google, IPv6
	} {
		if got := l.Country(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
}

// writeMMDB writes a country database placing 203.0.113.0/24 in Japan and
// 198.51.100.0/24 only by its registered country, Germany.
func writeMMDB(t *testing.T, dbType string) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range map[string]mmdbtype.Map{
		"203.0.113.0/24":  {"country": mmdbtype.Map{"iso_code": mmdbtype.String("jp")}},
		"198.51.100.0/24": {"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")}},
	} {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(network, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMMDB(t *testing.T) {
	m, err := OpenMMDB(writeMMDB(t, "GeoLite2-Country"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for addr, want := range map[string]string{"203.0.113.9": "JP", "198.51.100.1": "DE", "8.8.8.8": ""} {
		if got := m.Country(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
	if _, err := OpenMMDB(writeMMDB(t, "GeoLite2-ASN")); err == nil || !strings.Contains(err.Error(), `is a "GeoLite2-ASN" database: want a country or city database`) {
		t.Errorf("an ASN database: %v", err)
	}
	if _, err := OpenMMDB(filepath.Join(t.TempDir(), "none.mmdb")); err == nil {
		t.Error("a missing file opened")
	}
}
