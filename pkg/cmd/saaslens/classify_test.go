package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassifyCommand(t *testing.T) {
	contracts := filepath.Join(t.TempDir(), "contracts.yaml")
	if err := os.WriteFile(contracts, []byte("contracts:\n  - vendor: Cybozu\n    product: kintone\n    seats: 50\n    patterns: [acme.cybozu.com]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := classifyCommand([]string{"--contracts", contracts}, strings.NewReader("acme.cybozu.com\nteams.microsoft.com\n\nwiki.acme.internal\n"), &out, &errOut)
	want := `NAME                 VENDOR     PRODUCT          CATEGORY      KIND  SOURCE    PATTERN
acme.cybozu.com      Cybozu     kintone          productivity  saas  contract  acme.cybozu.com
teams.microsoft.com  Microsoft  Microsoft Teams  chat          saas  catalog   teams.microsoft.com
wiki.acme.internal   -          -                -             -     none      -
`
	if code != 0 || errOut.Len() > 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	out.Reset()
	if code := classifyCommand([]string{"--json", "ocsp.digicert.com"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if want := `{"name":"ocsp.digicert.com","vendor":"DigiCert","product":"DigiCert","category":"certificates","kind":"infra","source":"catalog","pattern":"ocsp.digicert.com"}` + "\n"; out.String() != want {
		t.Errorf("json: %s", out.String())
	}
	errOut.Reset()
	if err := os.WriteFile(contracts, []byte("contracts:\n  - product: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := classifyCommand([]string{"--contracts", contracts, "a.example"}, nil, &out, &errOut); code != 1 ||
		errOut.String() != "saaslens classify: "+contracts+":2: vendor: required\n" {
		t.Errorf("bad contracts: exit %d, %q", code, errOut.String())
	}
}
