package main

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// shown makes a file name, or an error naming one, safe to print: a
// newline or an escape sequence in a name must not fake output lines or
// drive the terminal. Printable text, Japanese names included, is left as
// it is; anything else is escaped as Go would quote it.
func shown(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case !unicode.IsPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
