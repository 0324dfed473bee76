package query

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/internal/sharedtest"
	"github.com/saaslens/saaslens/pkg/inventory"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// TestDevicesAgreesWithRawRows computes each device and service row from
// the streams, the example inventory and the DHCP names.
func TestDevicesAgreesWithRawRows(t *testing.T) {
	db := officeDB(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	inv := exampleInventory(t)
	hostnames := map[string]string{}
	for _, row := range sharedtest.Rows(t, db, `SELECT mac, hostname FROM devices`) {
		hostnames[row[0].(string)] = row[1].(string)
	}
	type key struct{ device, service string }
	type row struct {
		device, mac, user, department string
		first, last                   int64
		days                          map[string]bool
		streams, bytes                int64
	}
	want := map[key]*row{}
	hour := int64(time.Hour)
	broadcasts := 0
	for _, s := range sharedtest.Rows(t, db, `SELECT client, client_mac, server_name, first, bytes_up + bytes_down FROM streams`) {
		client, mac, name, first, bytes := s[0].(string), s[1].(string), s[2].(string), s[3].(int64), s[4].(int64)
		id := mac
		if id == "" {
			// An address names a device only if it is one host's: not the
			// broadcast a DHCP server answers to.
			if a := netip.MustParseAddr(client); a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
				broadcasts++
				continue
			}
			id = client
		}
		if name == "" {
			name = Unnamed
		}
		k := key{id, name}
		r := want[k]
		if r == nil {
			e, ok := inv[mac]
			if !ok || mac == "" {
				e = inv[client]
			}
			r = &row{device: e.Device, mac: mac, user: e.User, department: e.Department, first: timecut.Floor(first, hour), last: timecut.Floor(first, hour), days: map[string]bool{}}
			if r.device == "" {
				r.device = hostnames[mac]
			}
			if r.device == "" {
				r.device = id
			}
			want[k] = r
		}
		r.first, r.last = min(r.first, timecut.Floor(first, hour)), max(r.last, timecut.Floor(first, hour))
		r.days[time.Unix(0, first).In(tokyo).Format(time.DateOnly)] = true
		r.streams++
		r.bytes += bytes
	}
	whole := RangeOf(time.Date(2026, 1, 1, 0, 0, 0, 0, tokyo), time.Date(2026, 12, 31, 0, 0, 0, 0, tokyo))
	f, err := Devices(context.Background(), db, TableQuery{Range: whole, Limit: 1000}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	got := map[key]string{}
	for i := 0; i < f.Rows(); i++ {
		v := func(name string) any {
			field, _ := f.FieldByName(name)
			if field == nil {
				t.Fatalf("no field %s in %v", name, f.Fields)
			}
			val, _ := field.ConcreteAt(i)
			return val
		}
		got[key{v("device_id").(string), v("service").(string)}] = fmt.Sprintln(v("device"), v("mac"), v("user"), v("department"),
			v("first_seen").(time.Time).UnixNano(), v("last_seen").(time.Time).UnixNano(), v("days_active"), v("streams"), v("bytes"))
	}
	wantText := map[key]string{}
	for k, r := range want {
		wantText[k] = fmt.Sprintln(r.device, r.mac, r.user, r.department, r.first, r.last, int64(len(r.days)), r.streams, r.bytes)
	}
	if diff := cmp.Diff(wantText, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(want) < 50 {
		t.Errorf("only %d device and service pairs", len(want))
	}
	if broadcasts == 0 {
		t.Error("the office fixture has no stream to the broadcast address, which no device is")
	}
	// The inventory named devices and users (by MAC, and the meeting room's
	// by address), DHCP the one it lacks.
	named := map[string]bool{}
	for _, r := range want {
		named[r.device+"/"+r.user] = true
	}
	for _, n := range []string{"SALES-LT-01/Alice Tanaka", "grace-laptop/", "MTG-PC-3F/"} {
		if !named[n] {
			t.Errorf("no device %s in %v", n, named)
		}
	}
	if _, err := Devices(context.Background(), db, TableQuery{Range: whole, GroupBy: GroupUser}, tokyo); err == nil {
		t.Error("devices grouped by user")
	}
}

// TestUsageByDepartmentAndUser sums the fixture's bytes per department and
// per user from the streams and the inventory.
func TestUsageByDepartmentAndUser(t *testing.T) {
	db := officeDB(t)
	inv := exampleInventory(t)
	want := map[string]map[string]float64{GroupDepartment: {}, GroupUser: {}}
	first, last := int64(1<<62), int64(0)
	for _, s := range sharedtest.Rows(t, db, `SELECT client, client_mac, first, bytes_up + bytes_down FROM streams`) {
		e, ok := inv[s[1].(string)]
		if !ok {
			e = inv[s[0].(string)]
		}
		dept, user := e.Department, e.User
		if dept == "" {
			dept = NoDepartment
		}
		if user == "" {
			user = NoUser
		}
		want[GroupDepartment][dept] += float64(s[3].(int64))
		want[GroupUser][user] += float64(s[3].(int64))
		first, last = min(first, s[2].(int64)), max(last, s[2].(int64))
	}
	r := Range{From: first, To: last}
	for _, g := range []string{GroupDepartment, GroupUser} {
		f, err := Usage(context.Background(), db, UsageQuery{Metric: MetricBytes, Range: r, Step: 24 * time.Hour, GroupBy: g, TopN: 100})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, field := range f.Fields[1:] {
			for i := 0; i < field.Len(); i++ {
				got[field.Labels[g]] += field.At(i).(float64)
			}
		}
		if diff := cmp.Diff(want[g], got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", g, diff)
		}
		if len(got) < 3 {
			t.Errorf("%s: only %v", g, got)
		}
	}
	// A filter by department keeps its devices' streams only.
	f, err := Usage(context.Background(), db, UsageQuery{Metric: MetricBytes, Range: r, Step: 24 * time.Hour, TopN: 100,
		Filter: Filter{Departments: []string{"Finance"}}})
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, field := range f.Fields[1:] {
		for i := 0; i < field.Len(); i++ {
			total += field.At(i).(float64)
		}
	}
	if total != want[GroupDepartment]["Finance"] || total == 0 {
		t.Errorf("Finance's bytes %v, want %v", total, want[GroupDepartment]["Finance"])
	}
}

// TestLocalDay checks the SQL day number against Go's calendar, across
// daylight saving changes both ways and in a zone without them.
func TestLocalDay(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, zone := range []string{"America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "UTC"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		r := RangeOf(time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 12, 31, 0, 0, 0, 0, loc))
		expr := timecut.DaySQL("t", r.From, r.To, loc)
		for at := r.From; at <= r.To; at += int64(time.Hour) {
			var got int64
			if err := db.QueryRow(`SELECT `+expr+` FROM (SELECT ? AS t)`, at).Scan(&got); err != nil {
				t.Fatal(err)
			}
			local := time.Unix(0, at).In(loc)
			want := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
			if got != want {
				t.Fatalf("%s: %s is day %d, want %d (%s)", zone, local, got, want, expr)
			}
		}
	}
}

// The users and departments lists hold what the inventory names for the
// devices seen, and the stand-ins for the devices it lacks.
func TestUsersAndDepartmentsLists(t *testing.T) {
	db := officeDB(t)
	for _, c := range []struct {
		list string
		want []string
	}{
		{"users", []string{"(no user)", "Alice Tanaka", "Bob Sato", "Carol Suzuki", "Dave Takahashi", "Erin Watanabe", "Frank Ito"}},
		{"departments", []string{"(no department)", "Engineering", "Facilities", "Finance", "Sales"}},
	} {
		choices, err := mustList(t, c.list).Load(context.Background(), db, Range{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ch := range choices {
			got = append(got, ch.Value)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.list, diff)
		}
	}
}

// exampleInventory is examples/inventory.csv by key.
func exampleInventory(t *testing.T) map[string]inventory.Entry {
	t.Helper()
	entries, err := inventory.Load(filepath.Join("..", "..", "examples", "inventory.csv"))
	if err != nil {
		t.Fatal(err)
	}
	inv := map[string]inventory.Entry{}
	for _, e := range entries {
		inv[e.Key] = e
	}
	return inv
}
