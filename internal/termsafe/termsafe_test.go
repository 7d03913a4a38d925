package termsafe

import "testing"

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.gov":         "alice@example.gov",
		"Zoë Müller":                "Zoë Müller",
		"a\x1b[31mb":                `a\x1b[31mb`,
		"line\nforged":              `line\x0aforged`,
		"rtl \u202eevil":            `rtl \u202eevil`,
		"c1 \u009b":                 `c1 \u009b`,
		"bad \xff utf-8":            "bad \uFFFD utf-8",
		`already \x1b escaped`:      `already \x1b escaped`,
		"zero\u200bwidth joiner ok": `zero\u200bwidth joiner ok`,
		"line\u2028separator":       `line\u2028separator`,
		"para\u2029separator":       `para\u2029separator`,
		"next\u0085line":            `next\u0085line`,
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
		if got := Clean(Clean(in)); got != Clean(in) {
			t.Errorf("Clean is not idempotent on %q: %q", in, got)
		}
	}
}
