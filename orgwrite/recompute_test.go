package orgwrite

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

var testNow = time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC)

// TestRecompute: a kept member stays byte for byte, a linked one gets the
// user, a new lastModified and version, an entitled user without a member
// is added with a deterministic id, and a scim member no longer entitled
// is dropped.
func TestRecompute(t *testing.T) {
	wire := []scim.Member{
		{ID: "m-ann", Organization: "o-hq", Email: "ann@x.gov", UserID: "u-ann", Role: "member", SeatTier: "standard", Origin: "scim", Meta: scim.Meta{Version: `W/"1"`, LastModified: "2026-01-01T00:00:00Z"}},
		{ID: "m-bob", Organization: "o-hq", Email: "BOB@x.gov", Role: "member", SeatTier: "standard", Origin: "jit", Meta: scim.Meta{Version: `W/"1"`}},
		{ID: "m-old", Organization: "o-hq", Email: "old@x.gov", UserID: "u-old", Role: "member", SeatTier: "standard", Origin: "scim"},
	}
	in := resolve.Input{
		Users: []resolve.User{
			{ID: "u-ann", UserName: "ann@x.gov", Active: true},
			{ID: "u-bob", UserName: "bob@x.gov", Active: true},
			{ID: "u-cy", UserName: "cy@x.gov", Active: true},
		},
		Groups:  []resolve.Group{{ID: "g", DisplayName: "users", Members: []string{"u-ann", "u-bob", "u-cy"}}},
		Parent:  resolve.Org{ID: "o-p", Mode: resolve.ModeStaged, SeatTiers: []string{"standard"}},
		Orgs:    []resolve.Org{{ID: "o-hq", Parent: "o-p", Mappings: []resolve.Mapping{{GroupID: "g", Role: resolve.RoleMember, SeatTier: "standard"}}}},
		Members: toModel(wire),
		Now:     testNow,
	}
	got, res := Recompute(wire, in)
	byID := map[string]scim.Member{}
	for _, m := range got {
		byID[m.ID] = m
	}
	if diff := cmp.Diff(wire[0], byID["m-ann"]); diff != "" {
		t.Errorf("kept member changed (-want +got):\n%s", diff)
	}
	bob := byID["m-bob"]
	if bob.Origin != "scim" || bob.UserID != "u-bob" || bob.Email != "BOB@x.gov" || bob.Meta.LastModified != "2027-03-31T12:00:00Z" || bob.Meta.Version == `W/"1"` {
		t.Errorf("linked member: %+v", bob)
	}
	cy, ok := byID[MemberID("o-hq", "cy@x.gov")]
	if !ok || cy.Email != "cy@x.gov" || cy.Origin != "scim" || cy.Meta.Created != "2027-03-31T12:00:00Z" || cy.Meta.Version == "" || len(cy.Schemas) != 1 {
		t.Errorf("added member: %+v (found %v)", cy, ok)
	}
	if _, ok := byID["m-old"]; ok || len(got) != 3 {
		t.Errorf("members after recompute: %v", got)
	}
	if len(res.Outcomes) != 4 {
		t.Errorf("%d outcomes, want 4", len(res.Outcomes))
	}
	// Recomputing what came out changes nothing.
	again, _ := Recompute(got, resolve.Input{Users: in.Users, Groups: in.Groups, Parent: in.Parent, Orgs: in.Orgs, Members: toModel(got), Now: testNow.Add(time.Hour)})
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("second recompute (-first +second):\n%s", diff)
	}
}

func TestMemberID(t *testing.T) {
	if MemberID("o-hq", " BOB@x.gov") != MemberID("o-hq", "bob@x.gov") || MemberID("o-hq", "bob@x.gov") == MemberID("o-west", "bob@x.gov") {
		t.Error("MemberID does not compare the email by match.Email or ignores the org")
	}
	if MemberID("o-hq", "contractor.\u212aim@x.gov") == MemberID("o-hq", "contractor.kim@x.gov") {
		t.Error("a look-alike address with a Kelvin sign gets the id of the ASCII one")
	}
}

func toModel(wire []scim.Member) []resolve.Member {
	model := make([]resolve.Member, len(wire))
	for i, m := range wire {
		model[i] = resolve.Member{ID: m.ID, Org: m.Organization, Email: m.Email, UserID: m.UserID, Role: resolve.Role(m.Role), SeatTier: m.SeatTier, Origin: resolve.Origin(m.Origin)}
	}
	return model
}
