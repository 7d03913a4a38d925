// Seed corpora live in testdata/fuzz/<target>/.

package scim

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"
)

// FuzzDecodeListResponse feeds list response bodies to the page decoder:
// it must not panic, and what it accepts must be consistent.
func FuzzDecodeListResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = checkJSON(body)
		p, err := decodePage[User](body)
		if err != nil {
			return
		}
		if p.total < 0 {
			t.Fatalf("negative total %d accepted", p.total)
		}
		if len(p.items) != len(p.ids) {
			t.Fatalf("%d items but %d ids", len(p.items), len(p.ids))
		}
		for i, id := range p.ids {
			if id == "" || p.items[i].ID != id {
				t.Fatalf("resource %d: id %q, decoded id %q", i, id, p.items[i].ID)
			}
		}
		if _, err := json.Marshal(p.items); err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
	})
}

// FuzzDecodeError feeds error bodies (SCIM, other JSON, HTML, text) to the
// error decoder: the result must be one tidy printable line of bounded
// length.
func FuzzDecodeError(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		scimType, detail := decodeErrorBody(body)
		for _, s := range []string{scimType, detail} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %q", s)
			}
			if strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
				t.Fatalf("untidy spacing in %q", s)
			}
			for _, r := range s {
				if !unicode.IsPrint(r) && r != ' ' {
					t.Fatalf("unprintable %U in %q", r, s)
				}
			}
		}
		if n := utf8.RuneCountInString(detail); n > maxDetail+1 {
			t.Fatalf("detail of %d runes", n)
		}
		e := &Error{Method: "GET", URL: "/Users", Status: 500, SCIMType: scimType, Detail: detail}
		if strings.ContainsAny(e.Error(), "\r\n") {
			t.Fatalf("multi-line error %q", e.Error())
		}
	})
}

// FuzzFilter checks that a filter built by Filter parses, with
// github.com/scim2/filter-parser, into the same attribute, operator and
// value. The parser keeps string values as their JSON text (without the
// quotes), so the value is decoded as JSON before comparing.
func FuzzFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string) {
		if !utf8.ValidString(value) {
			// JSON carries only Unicode text; invalid bytes become U+FFFD.
			return
		}
		built := Filter("displayName", "eq", value)
		expr, err := filter.ParseAttrExp([]byte(built))
		if err != nil {
			t.Fatalf("Filter(%q) = %s does not parse: %v", value, built, err)
		}
		if expr.AttributePath.AttributeName != "displayName" || expr.Operator != filter.EQ {
			t.Fatalf("Filter(%q) = %s parsed as %s %s", value, built, expr.AttributePath, expr.Operator)
		}
		raw, ok := expr.CompareValue.(string)
		if !ok {
			t.Fatalf("Filter(%q) = %s: value parsed as %T", value, built, expr.CompareValue)
		}
		var got string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &got); err != nil {
			t.Fatalf("Filter(%q) = %s: parsed value %q is not JSON string content: %v", value, built, raw, err)
		}
		if got != value {
			t.Fatalf("Filter(%q) = %s round-trips to %q", value, built, got)
		}
	})
}
