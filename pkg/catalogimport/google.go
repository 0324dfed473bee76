package catalogimport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// AddressList is a vendor's published address ranges as the project keeps
// them, and what the catalog must make of them.
type AddressList struct {
	// Title names the list, Doc is where the vendor publishes it, and
	// Version the date of the copy the ranges come from.
	Title, Doc, Version string
	// Name is what the catalog names an address of Ranges (a pattern of
	// the entry, as a name), and Vendor and Product the service that name
	// classifies as.
	Name, Vendor, Product string
	// Ranges are the vendor's own services' ranges; Excluded are published
	// ranges that are not (customers' machines on the vendor's cloud),
	// which the catalog must not name after the vendor.
	Ranges, Excluded []netip.Prefix
}

// googleRanges is the shape of Google's goog.json and cloud.json
// (https://www.gstatic.com/ipranges/).
type googleRanges struct {
	CreationTime string `json:"creationTime"`
	Prefixes     []struct {
		IPv4 string `json:"ipv4Prefix"`
		IPv6 string `json:"ipv6Prefix"`
	} `json:"prefixes"`
}

// Google's reverse DNS names every server of its own under 1e100.net, so
// that name is what a nameless stream to one of them is called.
const (
	googleDoc     = "https://support.google.com/a/answer/10026322"
	googleName    = "1e100.net"
	googleProduct = "Google services, by address"
)

// GoogleRanges reads Google's published address ranges: goog.json, every
// range Google announces, and cloud.json, the part of them Google Cloud's
// customers use. Google's own services are goog.json minus cloud.json, as
// Google says to compute them; a stream to a customer's virtual machine
// is not Google's service and is left for its name to classify. It returns
// the list and the catalog file made of it.
func GoogleRanges(googJSON, cloudJSON []byte) (AddressList, []byte, error) {
	goog, err := readGoogleRanges("goog.json", googJSON)
	if err != nil {
		return AddressList{}, nil, err
	}
	cloud, err := readGoogleRanges("cloud.json", cloudJSON)
	if err != nil {
		return AddressList{}, nil, err
	}
	if goog.version != cloud.version {
		return AddressList{}, nil, fmt.Errorf("goog.json is of %s and cloud.json of %s: take both from the same day", goog.version, cloud.version)
	}
	var own []netip.Prefix
	for _, p := range goog.prefixes {
		own = append(own, subtract(p, cloud.prefixes)...)
	}
	own = outermost(own)
	l := AddressList{
		Title: "Google IP address ranges (goog.json minus cloud.json)", Doc: googleDoc, Version: goog.version,
		Name: googleName, Vendor: "Google", Product: googleProduct,
		Ranges: own, Excluded: cloud.prefixes,
	}
	return l, googleCatalog(l), nil
}

type readRanges struct {
	version  string
	prefixes []netip.Prefix
}

func readGoogleRanges(file string, b []byte) (readRanges, error) {
	var r googleRanges
	if err := json.Unmarshal(b, &r); err != nil {
		return readRanges{}, fmt.Errorf("%s: %w", file, err)
	}
	day, _, _ := strings.Cut(r.CreationTime, "T")
	if day == "" {
		return readRanges{}, fmt.Errorf("%s: no creationTime", file)
	}
	out := readRanges{version: day}
	for i, p := range r.Prefixes {
		s := p.IPv4 + p.IPv6
		pr, err := netip.ParsePrefix(s)
		if err != nil || pr != pr.Masked() || (p.IPv4 != "" && p.IPv6 != "") {
			return readRanges{}, fmt.Errorf("%s: prefix %d: %q is not one CIDR prefix", file, i, s)
		}
		out.prefixes = append(out.prefixes, pr)
	}
	if len(out.prefixes) == 0 {
		return readRanges{}, fmt.Errorf("%s: no prefixes", file)
	}
	return out, nil
}

// subtract returns the parts of p no hole covers, as few prefixes as
// halving p until each part is clear of the holes or inside one gives.
func subtract(p netip.Prefix, holes []netip.Prefix) []netip.Prefix {
	split := false
	for _, h := range holes {
		if !h.Overlaps(p) {
			continue
		}
		if h.Bits() <= p.Bits() {
			return nil
		}
		split = true
	}
	if !split {
		return []netip.Prefix{p}
	}
	lo, hi := halves(p)
	return append(subtract(lo, holes), subtract(hi, holes)...)
}

// halves splits p into its two prefixes one bit longer.
func halves(p netip.Prefix) (netip.Prefix, netip.Prefix) {
	bits := p.Bits() + 1
	lo := netip.PrefixFrom(p.Addr(), bits)
	a := p.Addr().As16()
	offset := 0
	if p.Addr().Is4() {
		offset = 12
	}
	i := offset + p.Bits()/8
	a[i] |= 0x80 >> (p.Bits() % 8)
	hiAddr := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		hiAddr = hiAddr.Unmap()
	}
	return lo, netip.PrefixFrom(hiAddr, bits)
}

// outermost sorts the prefixes and drops those inside another.
func outermost(list []netip.Prefix) []netip.Prefix {
	sort.Slice(list, func(i, j int) bool {
		if c := list[i].Addr().Compare(list[j].Addr()); c != 0 {
			return c < 0
		}
		return list[i].Bits() < list[j].Bits()
	})
	var out []netip.Prefix
	for _, p := range list {
		if n := len(out); n > 0 && out[n-1].Bits() <= p.Bits() && out[n-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func googleCatalog(l AddressList) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `# Generated by go run ./tools/catalogimport from Google's IP address ranges
# of %s: pkg/classify/lists/google-goog.json (every range Google announces)
# minus pkg/classify/lists/google-cloud.json (Google Cloud's customers), as
# %s says to compute them. Do not edit: replace
# both files with the day's https://www.gstatic.com/ipranges/goog.json and
# cloud.json and run it again.
#
# A stream to these addresses that carried no name (no DNS answer, no TLS
# or QUIC server name seen) is named %s, the domain of Google's servers'
# reverse DNS names. Which Google service it was is unknown, so it counts
# as background, not as anyone's use.
entries:
- vendor: %s
  product: %s
  category: web
  kind: infra
  patterns: [%q]
  ranges:
`, l.Version, l.Doc, l.Name, l.Vendor, l.Product, "."+l.Name)
	for _, p := range l.Ranges {
		fmt.Fprintf(&b, "  - %q\n", p.String())
	}
	fmt.Fprintf(&b, "  source: %q\n  as_of: %q\n", "doc: "+l.Doc, l.Version)
	return b.Bytes()
}
