package tenant_test

import (
	"testing"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// TestLapsedExceptionHeldOnlyOnTheServer (issue 15): an org in full mode
// keeps carl, who is not SCIM-backed, by an exception the server holds
// and the spec no longer lists. Once it has lapsed, the plan removes carl
// with the reason "exception expired", not "not provisioned via SCIM".
func TestLapsedExceptionHeldOnlyOnTheServer(t *testing.T) {
	now := time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	snap := &tenant.Snapshot{
		Users:  []scim.User{{ID: "u-ann", UserName: "ann@x.gov", Active: true}},
		Groups: []scim.Group{{ID: "g-users", DisplayName: "users", Members: []scim.GroupMember{{Value: "u-ann", Type: "User"}}}},
		Organizations: []scim.Organization{
			{ID: "o-p", Name: "agency", Mode: "full", SeatTiers: []string{"standard"}, LoginDomains: []string{"x.gov"}, Meta: scim.Meta{Version: `W/"1"`}},
			{ID: "o-hq", Name: "hq", Parent: "o-p", Meta: scim.Meta{Version: `W/"1"`},
				Mappings:   []scim.Mapping{{Group: "g-users", Role: "member", SeatTier: "standard"}},
				Seats:      map[string]int{"standard": 10},
				Exceptions: []scim.Exception{{Email: "carl@x.gov", Until: "2027-03-31", Reason: "auditor"}}},
		},
		Members: []scim.Member{
			{ID: "m-ann", Organization: "o-hq", Email: "ann@x.gov", UserID: "u-ann", Role: "member", SeatTier: "standard", Origin: "scim"},
			{ID: "m-carl", Organization: "o-hq", Email: "carl@x.gov", Role: "member", SeatTier: "standard", Origin: "manual"},
		},
	}
	tn, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
	if err != nil {
		t.Fatal(err)
	}
	s, diags, err := spec.LoadBytes("scimsync.yaml", []byte(`version: 1
target: {file: tenant.json}
parent: {name: agency, loginDomains: [x.gov], seatTiers: [standard], mode: full}
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: users, role: member, seatTier: standard}
`))
	if err != nil || diags.HasErrors() {
		t.Fatalf("loading the spec: %v %v", err, diags)
	}
	p, err := diff.Compute(s, tn, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mc := range p.Members {
		if mc.Action == diff.ActionRemove {
			got = append(got, mc.Email+": "+mc.Reason)
		}
	}
	if want := "carl@x.gov: " + string(resolve.ReasonExceptionExpired); len(got) != 1 || got[0] != want {
		t.Errorf("removals %q, want [%q]", got, want)
	}
}
