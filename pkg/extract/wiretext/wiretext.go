// Package wiretext is the one rule for strings taken from packets (server
// names, ALPN protocols, HTTP hosts, DNS names, DHCP host names): they are
// stored in TEXT columns that Python's sqlite3 decodes as UTF-8, printed on
// terminals and shown in Grafana, so they hold printable ASCII only. A byte
// outside it becomes '?', which keeps the string's length and shows that
// something was there.
package wiretext

// Replacement stands for each byte that is not printable ASCII.
const Replacement = '?'

// MaxLength bounds any string kept from the wire: a DNS name is at most
// 255 bytes, and so are the length-prefixed strings of TLS and DHCP.
const MaxLength = 255

// IsTokenByte reports whether c may appear in a name or protocol
// identifier: printable ASCII, no space.
func IsTokenByte(c byte) bool { return c > 0x20 && c < 0x7f }

// Token returns b as a name or identifier: at most MaxLength bytes, each
// byte that is not printable ASCII or is a space replaced.
func Token(b []byte) string { return clean(b, false) }

// Text returns b as free text (a DHCP vendor class such as "MSFT 5.0"):
// as Token, but spaces are kept.
func Text(b []byte) string { return clean(b, true) }

func clean(b []byte, spaces bool) string {
	if len(b) > MaxLength {
		b = b[:MaxLength]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if !IsTokenByte(c) && !(spaces && c == ' ') {
			c = Replacement
		}
		out[i] = c
	}
	return string(out)
}
