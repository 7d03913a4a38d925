package diff

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// hostilePlan holds server strings that try to inject terminal escapes,
// extra lines, Markdown links, HTML, table cells and mentions.
func hostilePlan() *Plan {
	evilEmail := "mallory\x1b[2J\x1b[31m@example.gov"
	evilGroup := "team|x](https://evil.example)<img src=x>\n@security-team"
	return &Plan{
		FormatVersion: FormatVersion,
		GeneratedAt:   time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC),
		Parent:        OrgRef{Name: "agency\u202e"},
		Mode:          ModeChange{Before: "staged", After: "full"},
		Summary:       Summary{Add: 1, Remove: 1, Config: 1},
		ConfigChanges: []ConfigChange{{Org: "hq", Field: FieldMapping, Key: evilGroup, After: "member/standard"}},
		Members: []MemberChange{
			{Org: "hq", Email: evilEmail, Action: ActionAdd, After: &Assignment{Role: "member", SeatTier: "standard", Origin: "scim"}, Via: evilGroup},
			{Org: "hq", Email: "**bold**@example.gov", Action: ActionRemove, Before: &Assignment{Role: "member", SeatTier: "standard", Origin: "jit"}, Reason: "not provisioned via SCIM"},
		},
		Readiness: []Readiness{{Org: "hq", Members: 1, WouldRemove: []Removal{{Email: "**bold**@example.gov", Reason: "not provisioned via SCIM"}}}},
		Expiring:  []Expiring{{Org: "hq", Email: evilEmail, Until: "2026-03-20", DaysLeft: 5, Reason: evilGroup}},
	}
}

func TestRenderNeutralisesServerStrings(t *testing.T) {
	p := hostilePlan()
	var text bytes.Buffer
	if err := RenderText(&text, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, bad := range []string{"\x1b", "\u202e", "\n@security-team"} {
		if strings.Contains(out, bad) {
			t.Errorf("text output holds %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{`mallory\x1b[2J\x1b[31m@example.gov`, `agency\u202e`, `team|x](https://evil.example)<img src=x>\x0a@security-team`} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks the escaped %q:\n%s", want, out)
		}
	}

	var md bytes.Buffer
	if err := RenderMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	out = md.String()
	for _, bad := range []string{"\x1b", "\u202e", "](https", "<img", "@security", "**bold**", "@example", "|x"} {
		if unescaped(out, bad) {
			t.Errorf("Markdown output holds %q unescaped:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, `\*\*bold\*\*\@example\.gov`) {
		t.Errorf("Markdown output lacks the escaped email:\n%s", out)
	}
	// Every table row has as many cells as its header.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| ") && (strings.Contains(line, "bold") || strings.Contains(line, "mallory")) {
			if n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); n != 6 && n != 3 {
				t.Errorf("row with %d cell separators: %s", n, line)
			}
		}
	}
}

func TestRenderMarkdownFitsAComment(t *testing.T) {
	p := &Plan{FormatVersion: FormatVersion, Parent: OrgRef{Name: "agency"}, Mode: ModeChange{Before: "staged", After: "full"}}
	for i := range 20000 {
		org := fmt.Sprintf("org-%d", i%3)
		p.Members = append(p.Members, MemberChange{Org: org, Email: fmt.Sprintf("user%05d@example.gov", i), Action: ActionRemove,
			Before: &Assignment{Role: "member", SeatTier: "standard", Origin: "jit"}, Reason: "not provisioned via SCIM"})
		p.Summary.Remove++
	}
	sortMembers(p.Members)
	for o := range 3 {
		r := Readiness{Org: fmt.Sprintf("org-%d", o), Members: 7000}
		for _, m := range p.Members {
			if m.Org == r.Org {
				r.WouldRemove = append(r.WouldRemove, Removal{Email: m.Email, Reason: m.Reason})
			}
		}
		p.Readiness = append(p.Readiness, r)
	}
	var md bytes.Buffer
	if err := RenderMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	if len(out) > MaxMarkdownSize {
		t.Errorf("Markdown is %d characters, more than %d", len(out), MaxMarkdownSize)
	}
	if !strings.Contains(out, "more not shown._") {
		t.Errorf("no truncation note in a plan of 20,000 removals")
	}
	if !strings.Contains(out, `**Plan\: 0 to add, 0 to change, 20000 to remove \(org\-0 6667, org\-1 6667, org\-2 6666\)\.**`) {
		t.Errorf("summary line missing:\n%.500s", out)
	}
	removals := strings.Index(out, "#### Removals (20000)")
	details := strings.Index(out, "#### Member changes")
	if removals < 0 || details < 0 || removals > details {
		t.Errorf("removals (at %d) do not come before member changes (at %d)", removals, details)
	}
	if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
		t.Errorf("unbalanced <details>")
	}

	// A small plan is never cut.
	var small bytes.Buffer
	if err := RenderMarkdown(&small, hostilePlan()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(small.String(), "not shown") {
		t.Errorf("a small plan was cut:\n%s", small.String())
	}
}

func TestSummaryLine(t *testing.T) {
	p := &Plan{Summary: Summary{Add: 3, Change: 12, Remove: 5}, Members: []MemberChange{
		{Org: "hq", Action: ActionRemove}, {Org: "hq", Action: ActionRemove}, {Org: "hq", Action: ActionRemove},
		{Org: "hq", Action: ActionRemove}, {Org: "west", Action: ActionRemove}, {Org: "west", Action: ActionFlag},
	}}
	if got, want := SummaryLine(p), "Plan: 3 to add, 12 to change, 5 to remove (hq 4, west 1)."; got != want {
		t.Errorf("SummaryLine = %q, want %q", got, want)
	}
	if got, want := SummaryLine(&Plan{}), "No changes. The tenant matches the spec."; got != want {
		t.Errorf("SummaryLine = %q, want %q", got, want)
	}
	cfg := &Plan{ConfigChanges: []ConfigChange{
		{Org: "hq", Field: FieldSeats, Key: "standard", Before: "1", After: "2"},
		{Org: "example-agency", Field: FieldMode, Before: "staged", After: "full"},
	}}
	if got, want := SummaryLine(cfg), "Plan: 0 to add, 0 to change, 0 to remove; 2 configuration changes (example-agency, hq)."; got != want {
		t.Errorf("SummaryLine = %q, want %q", got, want)
	}
}

func TestVerdict(t *testing.T) {
	tests := []struct {
		name string
		p    Plan
		want Verdict
	}{
		{"nothing", Plan{}, VerdictNoChanges},
		{"an error finding alone is a pending problem", Plan{Findings: []Finding{{Severity: SeverityError}}}, VerdictDangerous},
		{"a warning alone changes nothing", Plan{Findings: []Finding{{Severity: SeverityWarning}}}, VerdictNoChanges},
		{"links alone change nothing", Plan{Summary: Summary{Link: 3}}, VerdictNoChanges},
		{"config", Plan{ConfigChanges: []ConfigChange{{}}}, VerdictChanges},
		{"adds", Plan{Summary: Summary{Add: 1}}, VerdictChanges},
		{"adds with a warning", Plan{Summary: Summary{Add: 1}, Findings: []Finding{{Severity: SeverityWarning}}}, VerdictChanges},
		{"adds with an error finding", Plan{Summary: Summary{Add: 1}, Findings: []Finding{{Severity: SeverityError}}}, VerdictDangerous},
		{"removals", Plan{Summary: Summary{Remove: 1}}, VerdictDangerous},
	}
	for _, tt := range tests {
		if got := tt.p.Verdict(); got != tt.want {
			t.Errorf("%s: Verdict() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// unescaped reports whether s occurs in out other than right after a
// backslash.
func unescaped(out, s string) bool {
	for i := 0; ; {
		j := strings.Index(out[i:], s)
		if j < 0 {
			return false
		}
		if i+j == 0 || out[i+j-1] != '\\' {
			return true
		}
		i += j + 1
	}
}

// Columns are aligned in terminal cells: a wide East Asian character
// takes two, a combining mark none, a colour sequence none.
func TestTextWidthCountsCells(t *testing.T) {
	for s, want := range map[string]int{
		"hq":                  2,
		"東京":                  4,
		"ＡＢ":                  4,
		"e\u0301":             1,
		"\x1b[31mred\x1b[0m":  3,
		"régional-東":          11,
		"\\x1b[31m (escaped)": 18,
	} {
		if got := textWidth(s); got != want {
			t.Errorf("textWidth(%q) = %d, want %d", s, got, want)
		}
	}
	if got := pad("東京", 6); got != "東京  " {
		t.Errorf("pad(東京, 6) = %q", got)
	}
}
