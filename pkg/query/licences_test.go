package query

import (
	stdcmp "cmp"
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// officeDB ingests the office fixture with the example contracts and
// inventory.
func officeDB(t *testing.T) *sql.DB {
	return changedOfficeDB(t, "")
}

// marchInTokyo is the office fixture's month, in its time zone.
func marchInTokyo(t *testing.T) (Range, *time.Location) {
	t.Helper()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return RangeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, tokyo), time.Date(2026, 3, 31, 23, 0, 0, 0, tokyo)), tokyo
}

func TestLicences(t *testing.T) {
	db := officeDB(t)
	r, tokyo := marchInTokyo(t)
	f, err := Licences(context.Background(), db, LicencesQuery{Range: r}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	// Active devices per contract, counted here from the fixture's design:
	// kintone is acme.cybozu.com (7 devices); Microsoft's one contract
	// covers all its SaaS, and all 8 devices use Teams; Sales Cloud is
	// acme.my.salesforce.com, 3; ACME's wiki, 4.
	want := map[string][2]int64{
		"Cybozu kintone":             {120, 7},
		"Microsoft Microsoft 365 E3": {150, 8},
		"Salesforce Sales Cloud":     {25, 3},
		"ACME Internal wiki":         {0, 4},
	}
	got := map[string][2]int64{}
	field := func(name string) interface{ At(int) any } {
		fl, _ := f.FieldByName(name)
		if fl == nil {
			t.Fatalf("no field %s", name)
		}
		return fl
	}
	for i := 0; i < f.Rows(); i++ {
		got[field("vendor").At(i).(string)+" "+field("product").At(i).(string)] = [2]int64{field("seats").At(i).(int64), field("active_devices").At(i).(int64)}
		if m := field("month").At(i).(time.Time); !m.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, tokyo)) {
			t.Errorf("month %s, want March in Tokyo", m)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("seats, active devices (-want +got):\n%s", diff)
	}
	// Over two years, only the month the captures reach: no rows of
	// months without a capture at either end.
	wide, err := Licences(context.Background(), db, LicencesQuery{Range: RangeOf(time.Date(2025, 1, 1, 0, 0, 0, 0, tokyo), time.Date(2026, 12, 31, 0, 0, 0, 0, tokyo))}, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	if wide.Rows() != len(want) {
		t.Errorf("over two years: %d rows, want the %d contracts of March 2026 alone", wide.Rows(), len(want))
	}
	// The kintone row in full.
	for i := 0; i < f.Rows(); i++ {
		if field("product").At(i).(string) != "kintone" {
			continue
		}
		util := *field("utilisation").At(i).(*float64)
		perDevice := *field("cost_per_active_device").At(i).(*float64)
		toRenewal := *field("days_to_renewal").At(i).(*int64)
		cover := *field("capture_coverage").At(i).(*float64)
		if util != 100*7.0/120 || perDevice != 216000.0/7 || field("unused_seats").At(i).(int64) != 113 || toRenewal != 0 {
			t.Errorf("kintone: utilisation %v, per device %v, unused %v, days to renewal %v", util, perDevice, field("unused_seats").At(i), toRenewal)
		}
		// The fixture covers about 8.5 hours of the month's 744.
		if cover < 1.0 || cover > 1.3 {
			t.Errorf("coverage %.2f%%, want about 1.1%%", cover)
		}
	}
}

func TestShadowIT(t *testing.T) {
	db := officeDB(t)
	r := RangeOf(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC))
	f, err := ShadowIT(context.Background(), db, TableQuery{Range: r}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	vendors, _ := f.FieldByName("vendor")
	devices, _ := f.FieldByName("devices")
	isNew, _ := f.FieldByName("new_this_month")
	for i := 0; i < f.Rows(); i++ {
		got[*vendors.At(i).(*string)] = *devices.At(i).(*int64)
		if !isNew.At(i).(bool) {
			t.Errorf("%s: not new, though the capture is this month's", *vendors.At(i).(*string))
		}
	}
	// SaaS no contract covers: everything but Cybozu, Microsoft,
	// Salesforce and ACME; infrastructure (DigiCert, Windows telemetry is
	// Microsoft anyway) is not shadow IT.
	want := map[string]int64{"Slack": 5, "Zoom": 4, "Box": 3, "OpenAI": 4, "freee": 2, "Google": 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shadow IT vendors and devices (-want +got):\n%s", diff)
	}
}

// Teams media carries no name; the catalog's published range names it, so
// the calls count as Microsoft Teams use.
func TestMediaIsNamedByTheCatalogsRanges(t *testing.T) {
	db := officeDB(t)
	var n int
	var name, vendor, product string
	err := db.QueryRow(`SELECT count(*), s.server_name, sv.vendor, sv.product FROM streams s JOIN services sv ON sv.server_name = s.server_name
		WHERE s.name_source = 'range' GROUP BY 2, 3, 4`).Scan(&n, &name, &vendor, &product)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || name != "teams.microsoft.com" || vendor != "Microsoft" || product != "Microsoft Teams" {
		t.Errorf("%d streams named by range: %s, %s / %s; want the 3 Teams calls", n, name, vendor, product)
	}
}

// With an inventory that names users, each contract counts the distinct
// users of the devices that used it, as the streams and the inventory
// say; cancellation candidates and due renewals follow the query's days.
func TestLicencesUsersAndFlags(t *testing.T) {
	db := officeDB(t)
	r, tokyo := marchInTokyo(t)
	// Users from the streams of March (Tokyo) and the stored inventory:
	// by MAC, else by address; a device without a user counts none.
	users := func(cover string) int64 {
		var n int64
		if err := db.QueryRow(`SELECT count(DISTINCT coalesce(nullif(im.user, ''), nullif(ia.user, '')))
			FROM streams s JOIN services sv ON sv.server_name = s.server_name
			LEFT JOIN inventory im ON im.key = s.client_mac AND s.client_mac != '' LEFT JOIN inventory ia ON ia.key = s.client
			WHERE s.first >= ? AND s.first < ? AND sv.kind = 'saas' AND `+cover, r.From, time.Date(2026, 4, 1, 0, 0, 0, 0, tokyo).UnixNano()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	want := map[string]int64{
		"Cybozu kintone":             users(`sv.vendor = 'Cybozu' AND sv.product = 'kintone'`),
		"Microsoft Microsoft 365 E3": users(`sv.vendor = 'Microsoft'`), // its only contract covers all its SaaS
		"Salesforce Sales Cloud":     users(`sv.vendor = 'Salesforce' AND sv.product = 'Sales Cloud'`),
		"ACME Internal wiki":         users(`sv.vendor = 'ACME' AND sv.product = 'Internal wiki'`),
	}
	if want["Microsoft Microsoft 365 E3"] < 5 {
		t.Fatalf("the fixture's Microsoft users %d: the comparison needs several", want["Microsoft Microsoft 365 E3"])
	}
	for _, opts := range []LicencesQuery{{Range: r}, {Range: r, IdleDays: 1, RenewalDays: 1}} {
		f, err := Licences(context.Background(), db, opts, tokyo)
		if err != nil {
			t.Fatal(err)
		}
		field := func(name string) *data.Field {
			fl, _ := f.FieldByName(name)
			if fl == nil {
				t.Fatalf("no field %s", name)
			}
			return fl
		}
		idleDays, renewalDays := int64(stdcmp.Or(opts.IdleDays, DefaultIdleDays)), int64(stdcmp.Or(opts.RenewalDays, DefaultRenewalDays))
		got := map[string]int64{}
		var candidates, due int
		for i := 0; i < f.Rows(); i++ {
			key := field("vendor").At(i).(string) + " " + field("product").At(i).(string)
			u := field("active_users").At(i).(*int64)
			if u == nil {
				t.Fatalf("%s: no active users with an inventory naming users", key)
			}
			got[key] = *u
			cost := field("monthly_cost").At(i).(float64)
			perUser := field("cost_per_active_user").At(i).(*float64)
			if (*u > 0 && cost > 0) != (perUser != nil) || (perUser != nil && *perUser != cost/float64(*u)) {
				t.Errorf("%s: cost per active user %v for %v a month and %d users", key, perUser, cost, *u)
			}
			since := field("days_since_use").At(i).(*int64)
			if want := since == nil || *since >= idleDays; field("cancellation_candidate").At(i).(bool) != want {
				t.Errorf("%s: cancellation candidate %v with %v days since use and %d idle days", key, !want, since, idleDays)
			}
			toRenewal := field("days_to_renewal").At(i).(*int64)
			if want := toRenewal != nil && *toRenewal >= 0 && *toRenewal <= renewalDays; field("renewal_due").At(i).(bool) != want {
				t.Errorf("%s: renewal due %v with %v days to renewal and %d days ahead", key, !want, toRenewal, renewalDays)
			}
			if field("cancellation_candidate").At(i).(bool) {
				candidates++
			}
			if field("renewal_due").At(i).(bool) {
				due++
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("active users (-want +got):\n%s", diff)
		}
		t.Logf("idle %d days: %d candidates; renewal within %d days: %d due", idleDays, candidates, renewalDays, due)
	}
}
