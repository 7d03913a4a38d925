package scim_test

import (
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

func TestFilter(t *testing.T) {
	tests := []struct {
		attr, op string
		value    any
		want     string
	}{
		{"displayName", "eq", "claude-hq-users", `displayName eq "claude-hq-users"`},
		{"displayName", "EQ", `a "quoted" \ name`, `displayName eq "a \"quoted\" \\ name"`},
		{"userName", "sw", "<b>&amp;", `userName sw "<b>&amp;"`},
		{"displayName", "eq", "tab\tnl\nesc\x1bdel\x7f", `displayName eq "tab\tnl\nesc\u001Bdel` + "\x7f" + `"`},
		{"displayName", "eq", "Zoë 日本 \u2028", `displayName eq "Zoë 日本 \u2028"`},
		{"displayName", "eq", "bad utf8 \xff", `displayName eq "bad utf8 \uFFFD"`},
		{"displayName", "eq", `\u0041`, `displayName eq "\\u0041"`},
		{"active", "eq", true, `active eq true`},
		{"manager", "eq", nil, `manager eq null`},
		{"meta.version", "gt", 3, `meta.version gt 3`},
		{"meta.lastModified", "gt", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `meta.lastModified gt "2026-01-02T03:04:05Z"`},
		{"title", "PR", "ignored", `title pr`},
		{"x", "eq", make(chan int), ""}, // checked below: a quoted fmt.Sprint form
	}
	for _, tc := range tests {
		got := scim.Filter(tc.attr, tc.op, tc.value)
		if tc.want == "" {
			if len(got) < 8 || got[:6] != `x eq "` || got[len(got)-1] != '"' {
				t.Errorf("Filter(chan) = %s, want a quoted string", got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("Filter(%q, %q, %#v) = %s, want %s", tc.attr, tc.op, tc.value, got, tc.want)
		}
	}
}
