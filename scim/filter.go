package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Filter builds one attribute expression of an RFC 7644 §3.4.2.2 filter,
// such as Filter("displayName", "eq", `a "b"`) → displayName eq "a \"b\"".
// The value is encoded as JSON, never concatenated: strings are quoted and
// escaped, and bool, nil and numbers are JSON literals; a value JSON cannot
// encode is formatted with fmt.Sprint and quoted. Unicode escapes use
// upper-case hex digits, the only form some filter parsers accept. The
// operator "pr" takes no value. attr and op are trusted: pass constants.
func Filter(attr, op string, value any) string {
	op = strings.ToLower(op)
	if op == "pr" {
		return attr + " pr"
	}
	return attr + " " + op + " " + filterValue(value)
}

func filterValue(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		enc.Encode(fmt.Sprint(v)) // a string always encodes
	}
	return upperHexEscapes(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// upperHexEscapes rewrites \u00e9 as \u00E9 in JSON text.
func upperHexEscapes(b []byte) string {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if i < len(b) && b[i] == 'u' {
			for j := i + 1; j <= i+4 && j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'f' {
					b[j] -= 'a' - 'A'
				}
			}
			i += 4
		}
	}
	return string(b)
}
