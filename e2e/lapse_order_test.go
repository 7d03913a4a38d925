package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

// lapsedTenant: mode full; bravo holds a manual member whose exception,
// held by the server, lapsed yesterday, and the server has not
// recomputed bravo since. Any write recomputes every org.
func lapsedTenant() *tenant.Snapshot {
	day := func(d int) string { return testNow.AddDate(0, 0, d).Format(time.DateOnly) }
	return &tenant.Snapshot{
		Users:  []scim.User{{ID: "u1", UserName: "ann@example.gov", Active: true}},
		Groups: []scim.Group{{ID: "g1", DisplayName: "users", Members: []scim.GroupMember{{Value: "u1"}}}},
		Organizations: []scim.Organization{
			{ID: "p", Name: "agency", Mode: "full", LoginDomains: []string{"example.gov"}, SeatTiers: []string{"standard"}},
			{ID: "o1", Name: "alpha", Parent: "p", Seats: map[string]int{"standard": 5},
				Mappings: []scim.Mapping{{Group: "g1", Role: "member", SeatTier: "standard"}}},
			{ID: "o2", Name: "bravo", Parent: "p", Seats: map[string]int{"standard": 5},
				Exceptions: []scim.Exception{{Email: "contractor@example.gov", Until: day(-1), Reason: "badge"}}},
		},
		Members: []scim.Member{
			{ID: "m1", Organization: "o1", Email: "ann@example.gov", UserID: "u1", Role: "member", SeatTier: "standard", Origin: "scim"},
			{ID: "m2", Organization: "o2", Email: "contractor@example.gov", Role: "member", SeatTier: "standard", Origin: "manual"},
		},
	}
}

const lapsedSpec = `version: 1
target: {url: $SCIM_URL}
parent: {name: agency, loginDomains: [example.gov], seatTiers: [standard], mode: full}
organizations:
  - name: alpha
    seats: {standard: 6}
    mappings: [{group: users, role: member, seatTier: standard}]
  - name: bravo
    seats: {standard: 5}
`

// The spec renews bravo's exception, but alpha is written first: the
// server, recomputing bravo under the lapsed exception, removes the
// member before the renewal arrives. The plan says so (and gates it), and
// apply, allowed that one removal, leaves the server as planned.
func TestPlanLapsedExceptionRenewedAfterAnotherWrite(t *testing.T) {
	ts := startServer(t, lapsedTenant(), scimtest.Options{})
	dir := t.TempDir()
	s := loadSpec(t, writeSpec(t, dir, lapsedSpec+`policy:
  exceptions:
    - {email: contractor@example.gov, org: bravo, until: `+testNow.AddDate(0, 0, 30).Format(time.DateOnly)+`, reason: renewed}
`, ts.URL))
	p, err := plan(context.Background(), t, s, fastRetries())
	if err != nil {
		t.Fatal(err)
	}
	if p.Summary.Remove != 1 || len(p.Members) != 1 || p.Members[0].Email != "contractor@example.gov" || p.Members[0].Reason != "exception expired" {
		t.Fatalf("the plan does not remove the contractor as exception expired: %+v", p.Members)
	}
	removals := 1
	src, w := openSpec(t, s, fastRetries())
	rep, err := apply.Run(context.Background(), p, apply.Options{Source: src, Writer: w, Spec: s, SpecHash: s.Hash(), Confirmed: true,
		AllowRemovals: &removals, Journal: filepath.Join(dir, "j"), AuditLog: filepath.Join(dir, "audit"),
		LockPath: apply.LockPath(dir, ts.URL), Target: ts.URL, Operator: "e2e", Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatalf("apply (result %s): %v", rep.Result, err)
	}
	for _, m := range ts.Snapshot().Members {
		if m.Email == "contractor@example.gov" {
			t.Fatalf("the contractor is still a member of %s, which the plan did not predict", m.Organization)
		}
	}
}

// A plan narrowed to alpha writes alpha only, and the server then
// recomputes bravo too, under its lapsed exception: narrowing cannot hide
// that, so it is refused, naming bravo.
func TestPlanNarrowedRefusedWhenAnotherOrgWouldChange(t *testing.T) {
	ts := startServer(t, lapsedTenant(), scimtest.Options{})
	dir := t.TempDir()
	s := loadSpec(t, writeSpec(t, dir, lapsedSpec, ts.URL))
	src, _ := openSpec(t, s, fastRetries())
	tn, err := src.Read(context.Background(), tenant.RequestFor(s))
	if err != nil {
		t.Fatal(err)
	}
	_, err = diff.ComputeWith(s, tn, testNow, diff.Options{Orgs: []string{"alpha"}})
	var ne *diff.NarrowOutsideError
	if !errors.As(err, &ne) || len(ne.Affected) != 1 || ne.Affected[0] != "bravo" {
		t.Fatalf("narrowing to alpha: err = %v, want a *diff.NarrowOutsideError naming bravo", err)
	}
	if _, err := diff.ComputeWith(s, tn, testNow, diff.Options{Orgs: []string{"alpha", "bravo"}}); err != nil {
		t.Fatalf("narrowing to alpha and bravo, the whole tenant: %v", err)
	}
}
