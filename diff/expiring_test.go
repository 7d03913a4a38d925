package diff

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/tenant"
)

// expiringSpec adds exceptions to narrowSpec around scenarioNow
// (2026-03-15): within the default 14-day window or not, lapsed, in two
// orgs, named with another case than the server's.
const expiringSpec = narrowSpec + `  exceptions:
    - {email: b@example.gov, org: hq, until: 2026-03-18, reason: audit}
    - {email: A@Example.gov, org: HQ, until: 2026-03-18, reason: "audit, too"}
    - {email: c@example.gov, org: hq, until: 2026-03-16, reason: badge}
    - {email: d@example.gov, org: west, until: 2026-03-15, reason: last day}
    - {email: e@example.gov, org: hq, until: 2026-03-30, reason: beyond the window}
    - {email: f@example.gov, org: hq, until: 2026-03-14, reason: lapsed}
    - {email: g@example.gov, org: east, until: 2026-03-29, reason: window's edge}
`

// expiringTenant is narrowTenant with the members the exceptions of
// expiringSpec keep: c in hq and d in west, not provisioned via SCIM (the
// orgs hold their exceptions already, as a server in full mode must to
// have kept them), and b in hq, whom an entitlement keeps anyway (its
// exception keeps nobody, as do those naming no member).
func expiringTenant() *tenant.Tenant {
	t := narrowTenant()
	for i := range t.Orgs {
		switch t.Orgs[i].ID {
		case "o-hq":
			t.Orgs[i].Exceptions = []resolve.Exception{{Email: "c@example.gov", Until: "2026-03-16", Reason: "badge"}}
		case "o-west":
			t.Orgs[i].Exceptions = []resolve.Exception{{Email: "d@example.gov", Until: "2026-03-15", Reason: "last day"}}
		}
	}
	t.Users = append(t.Users, resolve.User{ID: "b", UserName: "b@example.gov", Emails: []string{"b@example.gov"}, Active: true})
	for i := range t.Groups {
		if t.Groups[i].ID == "g-hq" {
			t.Groups[i].Members = append(t.Groups[i].Members, "b")
		}
	}
	t.Members = append(t.Members,
		resolve.Member{ID: "m-b", Org: "o-hq", Email: "b@example.gov", Role: member, SeatTier: "standard", Origin: scimO, UserID: "b"},
		resolve.Member{ID: "m-c", Org: "o-hq", Email: "C@example.gov", Role: member, SeatTier: "standard", Origin: resolve.OriginJIT},
		resolve.Member{ID: "m-d", Org: "o-west", Email: "d@example.gov", Role: member, SeatTier: "standard", Origin: resolve.OriginManual})
	return t
}

// TestExpiring: the planner lists the exceptions within
// policy.exceptionNoticeDays of lapsing, sorted by org, until, email, with
// days_left (0 on the last day) and whether it keeps nobody (its lapse then
// removes no one); a narrowed plan keeps its orgs' only; the text plan
// shows them per org, aligned, in --summary too.
func TestExpiring(t *testing.T) {
	p, err := Compute(loadSpec(t, "expiring", expiringSpec), expiringTenant(), scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []Expiring{
		{Org: "east", Email: "g@example.gov", Until: "2026-03-29", DaysLeft: 14, Reason: "window's edge", KeepsNobody: true},
		{Org: "hq", Email: "c@example.gov", Until: "2026-03-16", DaysLeft: 1, Reason: "badge"},
		{Org: "hq", Email: "a@example.gov", Until: "2026-03-18", DaysLeft: 3, Reason: "audit, too", KeepsNobody: true},
		{Org: "hq", Email: "b@example.gov", Until: "2026-03-18", DaysLeft: 3, Reason: "audit", KeepsNobody: true},
		{Org: "west", Email: "d@example.gov", Until: "2026-03-15", DaysLeft: 0, Reason: "last day"},
	}
	if d := cmp.Diff(want, p.Expiring); d != "" {
		t.Errorf("Expiring (-want +got):\n%s", d)
	}

	var text strings.Builder
	if err := RenderText(&text, p, TextOptions{Summary: true}); err != nil {
		t.Fatal(err)
	}
	section := `
Expiring exceptions (in full mode the member is removed once one lapses):
  east
    g@example.gov  until 2026-03-29  last day in 14 days  window's edge (keeps nobody now)
  hq
    c@example.gov  until 2026-03-16  last day tomorrow    badge
    a@example.gov  until 2026-03-18  last day in 3 days   audit, too (keeps nobody now)
    b@example.gov  until 2026-03-18  last day in 3 days   audit (keeps nobody now)
  west
    d@example.gov  until 2026-03-15  last day today       last day
`
	if !strings.Contains(text.String(), section) {
		t.Errorf("the summary lacks the Expiring section:\n%s\nwant it to hold:%s", text.String(), section)
	}

	var md strings.Builder
	if err := RenderMarkdownWith(&md, p, MarkdownOptions{Summary: true}); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"#### Expiring exceptions (5)", "| hq | c\\@example\\.gov | 2026\\-03\\-16 | tomorrow | badge |",
		"| hq | b\\@example\\.gov | 2026\\-03\\-18 | in 3 days | audit \\(keeps nobody now\\) |", "| west | d\\@example\\.gov | 2026\\-03\\-15 | today | last day |"} {
		if !strings.Contains(md.String(), row) {
			t.Errorf("the summary Markdown lacks %q:\n%s", row, md.String())
		}
	}

	narrowed, err := ComputeWith(loadSpec(t, "expiring", expiringSpec), expiringTenant(), scenarioNow, Options{Orgs: []string{"West"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want[4:], narrowed.Expiring); d != "" {
		t.Errorf("narrowed to west, Expiring (-want +got):\n%s", d)
	}

	// Once applied, nothing is written, and the members are resolved as
	// observed to tell which exceptions keep someone.
	applied, err := Compute(loadSpec(t, "expiring", expiringSpec), applySteps(t, expiringTenant(), p.Steps), scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied.Writes) != 0 {
		t.Fatalf("after applying, the plan still writes %v", applied.Writes)
	}
	if d := cmp.Diff(want, applied.Expiring); d != "" {
		t.Errorf("after applying, Expiring (-want +got):\n%s", d)
	}
}

// TestExpiringWindow: policy.exceptionNoticeDays sets the window; 0
// announces an exception on its last day only; a plan without any has an
// empty list, never nil.
func TestExpiringWindow(t *testing.T) {
	for _, tt := range []struct {
		days string
		want []string
	}{
		{"", []string{"g@example.gov", "c@example.gov", "a@example.gov", "b@example.gov", "d@example.gov"}},
		{"  exceptionNoticeDays: 15\n", []string{"g@example.gov", "c@example.gov", "a@example.gov", "b@example.gov", "e@example.gov", "d@example.gov"}},
		{"  exceptionNoticeDays: 2\n", []string{"c@example.gov", "d@example.gov"}},
		{"  exceptionNoticeDays: 0\n", []string{"d@example.gov"}},
	} {
		p, err := Compute(loadSpec(t, "window", expiringSpec+tt.days), narrowTenant(), scenarioNow)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range p.Expiring {
			got = append(got, x.Email)
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%q: expiring (-want +got):\n%s", tt.days, d)
		}
	}
	p, err := Compute(loadSpec(t, "none", narrowSpec), narrowTenant(), scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	if p.Expiring == nil || len(p.Expiring) != 0 {
		t.Errorf("Expiring = %#v, want an empty list", p.Expiring)
	}
}

// TestSummaryLineNamesExpiring: the last line says that exceptions are
// about to lapse, per org, so that a reader of that line alone learns it
// even when nothing is to be written (issue 15; docs/DECISIONS.md). With
// nothing to write the line takes the form DESIGN §6 gives a plan that has
// something to say but nothing to write: "No changes to write; …".
func TestSummaryLineNamesExpiring(t *testing.T) {
	soon := []Expiring{
		{Org: "hq", Email: "a@example.gov", Until: "2026-03-18", DaysLeft: 3},
		{Org: "hq", Email: "b@example.gov", Until: "2026-03-18", DaysLeft: 3},
		{Org: "west\x1b[2J", Email: "d@example.gov", Until: "2026-03-15"},
	}
	blocking := []Finding{{Kind: FindingKind("maxRemovals"), Severity: SeverityError}}
	for _, tt := range []struct {
		name string
		p    *Plan
		want string
	}{
		{"nothing else", &Plan{Expiring: soon[:1]},
			"No changes to write; 1 expiring exception (hq)."},
		{"two orgs, hostile name", &Plan{Expiring: soon},
			`No changes to write; 3 expiring exceptions (hq, west\x1b[2J).`},
		{"narrowed", &Plan{Expiring: soon[:2], OrgFilter: []string{"hq"}},
			"No changes to write (hq only); 2 expiring exceptions (hq)."},
		{"with changes", &Plan{Expiring: soon[:1], Summary: Summary{Remove: 1},
			Members:       []MemberChange{{Org: "hq", Action: ActionRemove}},
			ConfigChanges: []ConfigChange{{Org: "hq", Field: FieldException, Key: "c@example.gov"}}},
			"Plan: 0 to add, 0 to change, 1 to remove (hq 1); 1 configuration change (hq); 1 expiring exception (hq)."},
		{"after a blocking finding", &Plan{Expiring: soon[:1], Findings: blocking},
			"No changes to write; 1 blocking finding (maxRemovals); 1 expiring exception (hq)."},
		{"none", &Plan{Expiring: []Expiring{}}, "No changes. The tenant matches the spec."},
	} {
		if got := SummaryLine(tt.p); got != tt.want {
			t.Errorf("%s: SummaryLine = %q, want %q", tt.name, got, tt.want)
		}
	}
}
