package wiretext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTokenAndText(t *testing.T) {
	for _, c := range []struct{ in, token, text string }{
		{"h2", "h2", "h2"},
		{"h2\x1b[31m\x00", "h2?[31m?", "h2?[31m?"},
		{"MSFT 5.0", "MSFT?5.0", "MSFT 5.0"},
		{"caf\xc3\xa9\xff", "caf???", "caf???"},
		{"", "", ""},
	} {
		if got := Token([]byte(c.in)); got != c.token {
			t.Errorf("Token(%q) = %q, want %q", c.in, got, c.token)
		}
		if got := Text([]byte(c.in)); got != c.text {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.text)
		}
	}
	if got := Token([]byte(strings.Repeat("a", 300))); len(got) != MaxLength {
		t.Errorf("kept %d bytes, want %d", len(got), MaxLength)
	}
}

func FuzzText(f *testing.F) {
	f.Add([]byte("h2\x00\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range []string{Token(b), Text(b)} {
			if !utf8.ValidString(s) || len(s) > MaxLength {
				t.Fatalf("%q", s)
			}
			for i := 0; i < len(s); i++ {
				if s[i] < 0x20 || s[i] >= 0x7f {
					t.Fatalf("unprintable byte in %q", s)
				}
			}
		}
	})
}
