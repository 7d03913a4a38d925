// Package termsafe is the one rule for showing, on a terminal, a string
// that came from a server or a spec: the plan's text and Markdown, and
// explain, use it.
package termsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean neutralises a string that came from the server for a terminal: every
// control or formatting character (ANSI escapes, newlines, NEL, bidirectional
// overrides) and every line or paragraph separator (U+2028, U+2029, which
// break lines on some terminals) is replaced by its \x or \u escape, and
// invalid UTF-8 by U+FFFD.
func Clean(s string) string {
	printable := true // ASCII, no control character: the usual case
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			printable = false
			break
		}
	}
	if printable {
		return s
	}
	ok := true
	for _, c := range s {
		if c == utf8.RuneError || escaped(c) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == utf8.RuneError:
			b.WriteRune('\uFFFD')
		case c < 0x80 && unicode.IsControl(c):
			fmt.Fprintf(&b, `\x%02x`, c)
		case escaped(c):
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// escaped reports whether c is shown as its escape: a control character
// (C0, DEL, C1 with NEL), a format character (Cf) or a line or paragraph
// separator (Zl, Zp).
func escaped(c rune) bool {
	return unicode.IsControl(c) || unicode.In(c, unicode.Cf, unicode.Zl, unicode.Zp)
}
