package explain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/explain"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

var now = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// fixture: two orgs under exclusiveOrgs, groups a ⊂ b ⊂ a (a cycle) and c,
// ann in a (so in b through nesting) and mapped in both orgs; ann's old
// address on an inactive duplicate user.
func fixture(t *testing.T) explain.Input {
	t.Helper()
	tn := &tenant.Tenant{
		Users: []resolve.User{
			{ID: "u-ann", UserName: "ann@example.gov", Emails: []string{"ann@example.gov", "a.nn@example.gov"}, Active: true},
			{ID: "u-ann-old", UserName: "EMP-1", Emails: []string{"Ann@Example.gov"}, Active: false},
			{ID: "u-bob", UserName: "bob@example.gov", Active: true},
		},
		Groups: []resolve.Group{
			{ID: "g-a", DisplayName: "team-a", Members: []string{"u-ann", "g-b"}},
			{ID: "g-b", DisplayName: "team-b", Members: []string{"g-a", "u-bob"}},
			{ID: "g-c", DisplayName: "team-c", Members: []string{"u-bob"}},
		},
		Parent: resolve.Org{ID: "p", Name: "agency", Mode: resolve.ModeStaged, SeatTiers: []string{"standard", "premium"}},
		Orgs: []resolve.Org{
			{ID: "o-hq", Name: "hq", Parent: "p", Mappings: []resolve.Mapping{{GroupID: "g-b", Role: "admin", SeatTier: "premium"}, {GroupID: "g-a", Role: "member", SeatTier: "standard"}}, Seats: map[string]int{"standard": 10, "premium": 10}},
			{ID: "o-west", Name: "west", Parent: "p", Mappings: []resolve.Mapping{{GroupID: "g-a", Role: "member", SeatTier: "standard"}}, Seats: map[string]int{"standard": 10}},
		},
		Members: []resolve.Member{
			{ID: "m1", Org: "o-hq", Email: "ann@example.gov", UserID: "u-ann", Role: "admin", SeatTier: "premium", Origin: "scim"},
		},
		Kind: tenant.KindSnapshot,
	}
	s := &spec.Spec{Version: 1, Target: spec.Target{File: "t.json"},
		Parent: spec.Parent{Name: "agency", SeatTiers: []string{"standard", "premium"}, Mode: "staged"},
		Organizations: []spec.Organization{
			{Name: "hq", Seats: map[string]int{"standard": 10, "premium": 10}, Mappings: []spec.Mapping{{Group: "team-b", Role: "admin", SeatTier: "premium"}, {Group: "TEAM-A", Role: "member", SeatTier: "standard"}}},
			{Name: "west", Seats: map[string]int{"standard": 10}, Mappings: []spec.Mapping{{GroupID: "g-a", Role: "member", SeatTier: "standard"}}},
		},
		Policy: spec.Policy{ExclusiveOrgs: true, ProtectedUsers: []string{"ANN@example.gov"}},
	}
	p, err := diff.Compute(s, tn, now)
	if err != nil {
		t.Fatal(err)
	}
	return explain.Input{Spec: s, Tenant: tn, Plan: p, Now: now}
}

func TestExplain(t *testing.T) {
	in := fixture(t)
	reps, err := explain.Explain(in, []string{" Ann@example.GOV ", "an@example.gov"})
	if err != nil {
		t.Fatal(err)
	}
	ann := reps[0]
	if !ann.Found || !ann.Protected {
		t.Errorf("found %v, protected %v", ann.Found, ann.Protected)
	}
	var users []string
	for _, u := range ann.Users {
		users = append(users, u.ID+":"+slices.Concat(u.By)[0])
	}
	if diff := cmp.Diff([]string{"u-ann:userName", "u-ann-old:emails[]"}, users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	// The cycle a ⊂ b ⊂ a ends the path where it would close.
	if diff := cmp.Diff([][]string{{"team-a", "team-b"}}, ann.Users[0].Paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if len(ann.Orgs) != 2 {
		t.Fatalf("orgs %+v", ann.Orgs)
	}
	hq, west := ann.Orgs[0], ann.Orgs[1]
	if hq.Entitled == nil || hq.Entitled.Role != "admin" || hq.Entitled.SeatTier != "premium" || hq.Entitled.RoleGroup != "team-b" {
		t.Errorf("hq entitled %+v", hq.Entitled)
	}
	// The inactive duplicate matches the same mappings but entitles nobody.
	inactive := 0
	for _, m := range hq.Mappings {
		if !m.Active {
			inactive++
		}
	}
	if len(hq.Mappings) != 2 || inactive != 0 {
		t.Errorf("hq mappings %+v", hq.Mappings)
	}
	if diff := cmp.Diff([]string{"team-a", "team-b"}, hq.Mappings[0].Path); diff != "" {
		t.Errorf("the path to team-b (-want +got):\n%s", diff)
	}
	if hq.Member == nil || hq.Plan.Action != explain.ActionKeep || west.Plan.Action != explain.ActionNone {
		t.Errorf("hq member %+v plan %+v, west plan %+v", hq.Member, hq.Plan, west.Plan)
	}
	if hq.ExclusiveOrgs == nil || !hq.ExclusiveOrgs.InPlay || !slices.Equal(hq.ExclusiveOrgs.Others, []string{"west"}) {
		t.Errorf("exclusiveOrgs %+v", hq.ExclusiveOrgs)
	}
	if len(ann.Findings) == 0 || ann.Findings[0].Kind != diff.FindingExclusiveOrgs {
		t.Errorf("findings %+v", ann.Findings)
	}
	if west.Full.Action != diff.ActionAdd || west.Full.After.Role != "member" {
		t.Errorf("west full %+v", west.Full)
	}

	unknown := reps[1]
	if unknown.Found || !slices.Contains(unknown.Suggestions, "ann@example.gov") {
		t.Errorf("unknown: %+v", unknown)
	}
}

// BenchmarkExplainM traces two people in a tier M tenant (100k users):
// the trace alone, after the read and the plan.
func BenchmarkExplainM(b *testing.B) {
	snap, err := gen.Generate(gen.M.Params(), 1)
	if err != nil {
		b.Fatal(err)
	}
	s, err := gen.Spec(snap)
	if err != nil {
		b.Fatal(err)
	}
	tn, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
	if err != nil {
		b.Fatal(err)
	}
	p, err := diff.Compute(s, tn, gen.Epoch)
	if err != nil {
		b.Fatal(err)
	}
	emails := []string{snap.Users[5].UserName, snap.Users[777].UserName}
	in := explain.Input{Spec: s, Tenant: tn, Plan: p, Now: gen.Epoch}
	b.Run("known", func(b *testing.B) {
		for b.Loop() {
			if _, err := explain.Explain(in, emails); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unknown", func(b *testing.B) {
		for b.Loop() {
			if _, err := explain.Explain(in, []string{"x" + emails[0]}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// What explain prints of a server's or a spec's string cannot drive the
// terminal: an escape sequence in a member's seat tier, which no line
// cleaned, and a bidirectional override in an exception's reason, which
// the old rule let through, come out escaped, as in the plan (helper
// review, 2026-12-07).
func TestRenderTextCleansEveryField(t *testing.T) {
	r := explain.Report{Email: "vendor@example.gov", Found: true, Orgs: []explain.OrgTrace{{
		Org:       "hq",
		Member:    &explain.Member{Email: "vendor@example.gov", Role: "member", SeatTier: "standard\x1b[2J\x1b[31mX"},
		Exception: &explain.Exception{Until: "2027-01-01", Reason: "badge \u202epending"},
	}}}
	var b strings.Builder
	if err := explain.RenderText(&b, []explain.Report{r}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\u202e") {
		t.Errorf("raw control or format characters in:\n%q", out)
	}
	for _, want := range []string{`standard\x1b[2J\x1b[31mX`, `badge \u202epending`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}
