package inventory

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	got, err := Parse("inv.csv", strings.NewReader("\ufeffMAC, Address,device,USER,department\n"+
		"3C-22-FB-12-34-56,10.0.0.7,laptop-1,Aiko,Sales\n"+
		"# a comment\n"+
		",::ffff:10.0.0.9,printer,,\n"+
		"aa:bb:cc:dd:ee:ff\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Key: "3c:22:fb:12:34:56", Device: "laptop-1", User: "Aiko", Department: "Sales", File: "inv.csv", Line: 2},
		{Key: "10.0.0.7", Device: "laptop-1", User: "Aiko", Department: "Sales", File: "inv.csv", Line: 2},
		{Key: "10.0.0.9", Device: "printer", File: "inv.csv", Line: 4},
		{Key: "aa:bb:cc:dd:ee:ff", File: "inv.csv", Line: 5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestErrorsNameFileLineAndColumn(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"device,user\nx,y\n", "i.csv:1: want a mac or an address column to find the devices by"},
		{"mac,owner\n", `i.csv:1: column "owner": want mac, address, device, user, department`},
		{"mac,mac\n", `i.csv:1: column "mac" twice`},
		{"mac,address,user\n" +
			"3c:22:fb:12:34,,a\n" +
			",10.0.0.300,b\n" +
			",,c\n" +
			"3c:22:fb:12:34:56,10.0.0.1,d\n" +
			"3C:22:FB:12:34:56,,e\n",
			strings.Join([]string{
				`i.csv:2: mac "3c:22:fb:12:34": want six hex bytes like 3c:22:fb:12:34:56`,
				`i.csv:3: address "10.0.0.300": want an IPv4 or IPv6 address`,
				`i.csv:4: a row needs a mac or an address`,
				`i.csv:6: 3c:22:fb:12:34:56 is already on line 5`,
			}, "\n")},
	} {
		_, err := Parse("i.csv", strings.NewReader(c.in))
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\ngot  %v\nwant %s", c.in, err, c.want)
		}
	}
}

// The example the docs point to stays valid.
func TestExampleInventory(t *testing.T) {
	entries, err := Load("../../examples/inventory.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 7 {
		t.Errorf("%d entries, want 7", len(entries))
	}
	if _, err := os.Stat("../../testdata/office.pcap.gz"); err != nil {
		t.Error(err)
	}
}
