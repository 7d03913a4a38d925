package explain_test

import (
	"testing"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/explain"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// Child orgs named with a Kelvin sign K (U+212A), a k and an İ (U+0130)
// are three orgs to explain as to the plan (review F3): each trace is
// named as the plan names the org and reads that org's plan, not another's
// whose name strings.ToLower folds alike.
func TestExplainLookAlikeOrgNames(t *testing.T) {
	const kelvin, plain, izmir = "\u212a-office", "k-office", "\u0130zmir"
	org := func(id, name, group string) resolve.Org {
		return resolve.Org{ID: id, Name: name, Parent: "p",
			Mappings: []resolve.Mapping{{GroupID: group, Role: resolve.RoleMember, SeatTier: "standard"}},
			Seats:    map[string]int{"standard": 5}}
	}
	member := func(id, org, email, user string) resolve.Member {
		return resolve.Member{ID: id, Org: org, Email: email, UserID: user, Role: resolve.RoleMember, SeatTier: "standard", Origin: resolve.OriginSCIM}
	}
	tn := &tenant.Tenant{
		Users: []resolve.User{
			{ID: "u1", UserName: "alice@example.gov", Active: true},
			{ID: "u2", UserName: "bob@example.gov", Active: true},
			{ID: "u3", UserName: "carol@example.gov", Active: true},
		},
		Groups: []resolve.Group{
			{ID: "g1", DisplayName: "g-izmir", Members: []string{"u1"}},
			{ID: "g2", DisplayName: "g-kelvin", Members: []string{"u2"}},
			{ID: "g3", DisplayName: "g-k", Members: []string{"u3"}},
		},
		MembersRead: map[string]bool{"g1": true, "g2": true, "g3": true},
		Parent:      resolve.Org{ID: "p", Name: "agency", Mode: resolve.ModeStaged, SeatTiers: []string{"standard"}},
		Orgs:        []resolve.Org{org("o1", izmir, "g1"), org("o2", kelvin, "g2"), org("o3", plain, "g3")},
		Members: []resolve.Member{
			member("m1", "o1", "alice@example.gov", "u1"),
			member("m2", "o2", "bob@example.gov", "u2"),
			member("m3", "o3", "carol@example.gov", "u3"),
		},
		Kind: tenant.KindSnapshot,
	}
	// The spec drops the İzmir and k-office mappings: staged removes alice
	// and carol (in no mapped group); bob stays in the Kelvin sign's org.
	s := &spec.Spec{Version: 1, Target: spec.Target{File: "t.json"},
		Parent: spec.Parent{Name: "agency", SeatTiers: []string{"standard"}, Mode: "staged"},
		Organizations: []spec.Organization{
			{Name: izmir, Seats: map[string]int{"standard": 5}},
			{Name: kelvin, Seats: map[string]int{"standard": 5}, Mappings: []spec.Mapping{{Group: "g-kelvin", Role: "member", SeatTier: "standard"}}},
			{Name: plain, Seats: map[string]int{"standard": 5}},
		},
	}
	p, err := diff.Compute(s, tn, now)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := explain.Explain(explain.Input{Spec: s, Tenant: tn, Plan: p, Now: now},
		[]string{"alice@example.gov", "bob@example.gov", "carol@example.gov"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		org    string
		action diff.Action
	}{
		{izmir, diff.ActionRemove},
		{kelvin, explain.ActionKeep},
		{plain, diff.ActionRemove},
	}
	for i, w := range want {
		r := reps[i]
		if len(r.Orgs) != 1 {
			t.Errorf("%s: traced in %d orgs, want 1 (%s): %+v", r.Email, len(r.Orgs), w.org, r.Orgs)
			continue
		}
		if ot := r.Orgs[0]; ot.Org != w.org || ot.Plan.Action != w.action {
			t.Errorf("%s: org %q plan %s, want org %q plan %s", r.Email, ot.Org, ot.Plan.Action, w.org, w.action)
		}
	}
}
