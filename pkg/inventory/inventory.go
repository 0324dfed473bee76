// Package inventory reads the company's device inventory: which MAC or
// address is which device, used by whom, in which department. Captures
// know devices by MAC and address only; the inventory puts names on them,
// so that questions can be asked per user and per department.
package inventory

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
)

// Entry names one device, found by its MAC or one of its addresses.
type Entry struct {
	// Key is a MAC (lower-case colon hex) or an IP address, spelled as
	// the store spells streams' client_mac and client.
	Key        string
	Device     string
	User       string
	Department string
	// File and Line locate the entry, for messages.
	File string
	Line int
}

// Columns a file may have; the header names them, in any order and case.
// A row needs a mac or an address (both: the device is found by either).
var columns = []string{"mac", "address", "device", "user", "department"}

// Load reads an inventory CSV file; every problem is named by file, line
// and column.
func Load(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse reads inventory CSV from r, named name in messages.
func Parse(name string, r io.Reader) ([]Entry, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	line, _ := cr.FieldPos(0)
	index := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		known := false
		for _, c := range columns {
			known = known || h == c
		}
		if !known {
			return nil, fmt.Errorf("%s:%d: column %q: want %s", name, line, h, strings.Join(columns, ", "))
		}
		if _, dup := index[h]; dup {
			return nil, fmt.Errorf("%s:%d: column %q twice", name, line, h)
		}
		index[h] = i
	}
	_, hasMAC := index["mac"]
	_, hasAddress := index["address"]
	if !hasMAC && !hasAddress {
		return nil, fmt.Errorf("%s:%d: want a mac or an address column to find the devices by", name, line)
	}
	var out []Entry
	var problems []string
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		field := func(c string) string {
			if i, ok := index[c]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		e := Entry{Device: field("device"), User: field("user"), Department: field("department"), File: name, Line: line}
		var keys []string
		if v := field("mac"); v != "" {
			mac, err := net.ParseMAC(v)
			if err != nil || len(mac) != 6 {
				problems = append(problems, fmt.Sprintf("%s:%d: mac %q: want six hex bytes like 3c:22:fb:12:34:56", name, line, v))
			} else {
				keys = append(keys, mac.String())
			}
		}
		if v := field("address"); v != "" {
			addr, err := netip.ParseAddr(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: address %q: want an IPv4 or IPv6 address", name, line, v))
			} else {
				keys = append(keys, addr.Unmap().String())
			}
		}
		if field("mac") == "" && field("address") == "" {
			problems = append(problems, fmt.Sprintf("%s:%d: a row needs a mac or an address", name, line))
		}
		for _, k := range keys {
			if first, dup := seen[k]; dup {
				problems = append(problems, fmt.Sprintf("%s:%d: %s is already on line %d", name, line, k, first))
				continue
			}
			seen[k] = line
			e.Key = k
			out = append(out, e)
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return out, nil
}
