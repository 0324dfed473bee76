// Package geo tells the country of a server address: from the IP-to-country
// table embedded in github.com/phuslu/iploc (updated with its releases), or
// from a MaxMind-format database the user names (GeoLite2-Country,
// DB-IP, IPinfo), which then answers alone.
package geo

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/phuslu/iploc"
)

// Unknown is the country of an address no table places: private, local,
// multicast and unallocated addresses among them.
const Unknown = ""

// Locator tells the ISO 3166-1 alpha-2 country (upper case) of an address,
// or Unknown.
type Locator interface {
	Country(addr netip.Addr) string
	// Source says which table answers, for messages and the query
	// inspector.
	Source() string
}

// Builtin is the embedded table.
func Builtin() Locator { return builtin{} }

type builtin struct{}

func (builtin) Country(addr netip.Addr) string {
	addr = addr.Unmap()
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return Unknown
	}
	c := iploc.IPCountry(addr)
	// iploc marks what it cannot place with ZZ or nothing.
	if c == "ZZ" || len(c) != 2 {
		return Unknown
	}
	return c
}

func (builtin) Source() string { return "embedded table (github.com/phuslu/iploc)" }

// MMDB is a MaxMind-format database: its country.iso_code, else its
// registered_country.iso_code (anycast and satellite ranges).
type MMDB struct {
	path string
	r    *maxminddb.Reader
}

// OpenMMDB opens the database at path, checking that it answers countries.
func OpenMMDB(path string) (*MMDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geo: %s: %w", path, err)
	}
	if t := r.Metadata.DatabaseType; !strings.Contains(strings.ToLower(t), "country") && !strings.Contains(strings.ToLower(t), "city") {
		r.Close()
		return nil, fmt.Errorf("geo: %s is a %q database: want a country or city database (GeoLite2-Country, DB-IP Country)", path, t)
	}
	return &MMDB{path: path, r: r}, nil
}

type mmdbRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Registered struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
}

// Country implements Locator; an address the file lacks, or a record it
// cannot decode, is Unknown.
func (m *MMDB) Country(addr netip.Addr) string {
	var rec mmdbRecord
	if err := m.r.Lookup(addr.Unmap()).Decode(&rec); err != nil {
		return Unknown
	}
	c := rec.Country.ISOCode
	if c == "" {
		c = rec.Registered.ISOCode
	}
	return strings.ToUpper(c)
}

// Source implements Locator.
func (m *MMDB) Source() string { return m.path }

// Close releases the file.
func (m *MMDB) Close() error { return m.r.Close() }
