package explain_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/explain"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// In an org the spec names, the server's exceptions are the plan's to
// write (review F9): explain shows the server's exception the plan removes
// (the spec lists none for the person) or replaces (the spec lists
// another), beside the spec's, and full mode says, as the plan's readiness
// does, which exception does not keep the member. One the spec lists as
// the server holds it is shown once, from the spec.
func TestExplainServerExceptionInManagedOrg(t *testing.T) {
	manual := func(id, email string) resolve.Member {
		return resolve.Member{ID: id, Org: "o-east", Email: email, Role: resolve.RoleMember, SeatTier: "standard", Origin: resolve.OriginManual}
	}
	tn := &tenant.Tenant{
		Parent: resolve.Org{ID: "p", Name: "agency", Mode: resolve.ModeStaged, SeatTiers: []string{"standard"}},
		Orgs: []resolve.Org{{ID: "o-east", Name: "east", Parent: "p", Seats: map[string]int{"standard": 10},
			Exceptions: []resolve.Exception{
				{Email: "liaison@partner.gov", Until: "2027-02-28", Reason: "inter-agency liaison"},
				{Email: "temp@example.gov", Until: "2027-01-15", Reason: "old badge"},
				{Email: "same@example.gov", Until: "2027-05-01", Reason: "kept"},
			}}},
		Members: []resolve.Member{manual("m1", "liaison@partner.gov"), manual("m2", "temp@example.gov"), manual("m3", "same@example.gov")},
		Kind:    tenant.KindSnapshot,
	}
	s := &spec.Spec{Version: 1, Target: spec.Target{File: "t.json"},
		Parent:        spec.Parent{Name: "agency", SeatTiers: []string{"standard"}, Mode: "staged"},
		Organizations: []spec.Organization{{Name: "east", Seats: map[string]int{"standard": 10}}},
		Policy: spec.Policy{Exceptions: []spec.Exception{
			{Email: "temp@example.gov", Org: "east", Until: "2027-03-31", Reason: "badge pending"},
			{Email: "same@example.gov", Org: "east", Until: "2027-05-01", Reason: "kept"},
		}},
	}
	p, err := diff.Compute(s, tn, now)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := explain.Explain(explain.Input{Spec: s, Tenant: tn, Plan: p, Now: now},
		[]string{"liaison@partner.gov", "temp@example.gov", "same@example.gov"})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Spec, Server *explain.Exception
		Full         explain.Effect
	}
	var gots []got
	for _, r := range reps {
		if len(r.Orgs) != 1 {
			t.Fatalf("%s: orgs %+v", r.Email, r.Orgs)
		}
		o := r.Orgs[0]
		gots = append(gots, got{o.Exception, o.ServerException, o.Full})
	}
	want := []got{
		{Server: &explain.Exception{Until: "2027-02-28", Reason: "inter-agency liaison", Source: "server", Plan: diff.ActionRemove},
			Full: explain.Effect{Action: diff.ActionRemove, Before: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "manual"},
				Reason: string(resolve.ReasonNotProvisioned), ExceptionUntil: "2027-02-28"}},
		{Spec: &explain.Exception{Until: "2027-03-31", Reason: "badge pending", Source: "spec"},
			Server: &explain.Exception{Until: "2027-01-15", Reason: "old badge", Source: "server", Plan: diff.ActionChange},
			Full: explain.Effect{Action: explain.ActionKeep, Before: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "manual"},
				After: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "manual"}, Reason: "kept by an exception until 2027-03-31"}},
		{Spec: &explain.Exception{Until: "2027-05-01", Reason: "kept", Source: "spec"},
			Full: explain.Effect{Action: explain.ActionKeep, Before: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "manual"},
				After: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "manual"}, Reason: "kept by an exception until 2027-05-01"}},
	}
	if d := cmp.Diff(want, gots); d != "" {
		t.Errorf("exceptions and full mode (-want +got):\n%s", d)
	}

	var b strings.Builder
	if err := explain.RenderText(&b, reps); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, w := range []string{
		"    exception:      holds through 2027-02-28 (inter-agency liaison), from the server; this plan removes it\n",
		"    full mode:      removes (not provisioned via SCIM) (exception until 2027-02-28 does not keep them)\n",
		"    exception:      holds through 2027-01-15 (old badge), from the server; this plan replaces it with the spec's\n" +
			"                    holds through 2027-03-31 (badge pending), from the spec\n",
		"    exception:      holds through 2027-05-01 (kept), from the spec\n    this plan:",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("text lacks %q:\n%s", w, out)
		}
	}
}
