package orgwrite

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

func parentOrg() scim.Organization {
	return scim.Organization{ID: "p", Name: "agency", Mode: "jit", SeatTiers: []string{"standard"}, LoginDomains: []string{"x.gov"}, Meta: scim.Meta{Version: `W/"1"`}}
}

func childOrg() scim.Organization {
	return scim.Organization{
		ID: "c", Name: "hq", Parent: "p",
		Mappings:   []scim.Mapping{{Group: "g1", Role: "member", SeatTier: "standard"}},
		Seats:      map[string]int{"standard": 5},
		Exceptions: []scim.Exception{{Email: "a@x.gov", Until: "2027-01-01"}},
		Meta:       scim.Meta{Version: `W/"2"`},
	}
}

// fromJSON decodes ops the way a server receives them: values as maps and
// slices of any.
func fromJSON(t *testing.T, s string) []scim.PatchOp {
	t.Helper()
	var req scim.PatchRequest
	if err := json.Unmarshal([]byte(s), &req); err != nil {
		t.Fatal(err)
	}
	return req.Operations
}

func TestApplyOrgPatch(t *testing.T) {
	tests := []struct {
		name   string
		org    scim.Organization
		ops    []scim.PatchOp
		change func(o *scim.Organization)
	}{
		{
			name:   "replace mode",
			org:    parentOrg(),
			ops:    []scim.PatchOp{{Op: "replace", Path: "mode", Value: "staged"}},
			change: func(o *scim.Organization) { o.Mode = "staged" },
		},
		{
			name:   "add to a single-valued attribute replaces it; op and path in any case",
			org:    parentOrg(),
			ops:    []scim.PatchOp{{Op: "Add", Path: "MODE", Value: "full"}},
			change: func(o *scim.Organization) { o.Mode = "full" },
		},
		{
			name:   "path with the schema URN",
			org:    parentOrg(),
			ops:    []scim.PatchOp{{Op: "replace", Path: scim.SchemaOrganization + ":seatTiers", Value: []string{"standard", "premium"}}},
			change: func(o *scim.Organization) { o.SeatTiers = []string{"standard", "premium"} },
		},
		{
			name:   "add appends to a multi-valued attribute, once",
			org:    parentOrg(),
			ops:    []scim.PatchOp{{Op: "add", Path: "loginDomains", Value: []string{"x.gov", "y.gov"}}, {Op: "add", Path: "loginDomains", Value: "z.gov"}},
			change: func(o *scim.Organization) { o.LoginDomains = []string{"x.gov", "y.gov", "z.gov"} },
		},
		{
			name:   "remove clears",
			org:    parentOrg(),
			ops:    []scim.PatchOp{{Op: "remove", Path: "loginDomains"}},
			change: func(o *scim.Organization) { o.LoginDomains = nil },
		},
		{
			name: "replace mappings with Go values",
			org:  childOrg(),
			ops: []scim.PatchOp{{Op: "replace", Path: "mappings", Value: []resolve.Mapping{
				{GroupID: "g2", Role: resolve.RoleOwner, SeatTier: "premium"},
				{GroupID: "g1", Role: resolve.RoleMember, SeatTier: "standard"},
			}}},
			change: func(o *scim.Organization) {
				o.Mappings = []scim.Mapping{{Group: "g2", Role: "owner", SeatTier: "premium"}, {Group: "g1", Role: "member", SeatTier: "standard"}}
			},
		},
		{
			name: "decoded JSON: add a mapping, merge seats, replace exceptions",
			org:  childOrg(),
			ops: fromJSON(t, `{"schemas":["`+scim.SchemaPatchOp+`"],"Operations":[
				{"op":"add","path":"mappings","value":{"group":"g3","role":"admin","seatTier":"standard"}},
				{"op":"add","path":"seats","value":{"premium":2}},
				{"op":"replace","path":"exceptions","value":[{"email":"b@x.gov","until":"2027-06-30","reason":"badge"}]}]}`),
			change: func(o *scim.Organization) {
				o.Mappings = append(o.Mappings, scim.Mapping{Group: "g3", Role: "admin", SeatTier: "standard"})
				o.Seats = map[string]int{"standard": 5, "premium": 2}
				o.Exceptions = []scim.Exception{{Email: "b@x.gov", Until: "2027-06-30", Reason: "badge"}}
			},
		},
		{
			name: "no path: an object of attributes",
			org:  childOrg(),
			ops:  fromJSON(t, `{"Operations":[{"op":"replace","value":{"Seats":{"standard":1},"exceptions":[]}}]}`),
			change: func(o *scim.Organization) {
				o.Seats = map[string]int{"standard": 1}
				o.Exceptions = []scim.Exception{}
			},
		},
		{
			name:   "replace seats drops tiers not given",
			org:    childOrg(),
			ops:    []scim.PatchOp{{Op: "replace", Path: "seats", Value: map[string]int{"premium": 3}}},
			change: func(o *scim.Organization) { o.Seats = map[string]int{"premium": 3} },
		},
		{
			name:   "remove mappings, seats and exceptions",
			org:    childOrg(),
			ops:    []scim.PatchOp{{Op: "remove", Path: "mappings"}, {Op: "remove", Path: "seats"}, {Op: "remove", Path: "exceptions"}},
			change: func(o *scim.Organization) { o.Mappings, o.Seats, o.Exceptions = nil, nil, nil },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.org
			want := cloneOrg(tt.org)
			tt.change(&want)
			if err := ApplyOrgPatch(&got, tt.ops); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after patch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyOrgPatchErrors(t *testing.T) {
	tests := []struct {
		name     string
		org      scim.Organization
		ops      []scim.PatchOp
		index    int
		scimType string
	}{
		{"unknown op", parentOrg(), []scim.PatchOp{{Op: "move", Path: "mode", Value: "full"}}, 0, "invalidSyntax"},
		{"remove without path", parentOrg(), []scim.PatchOp{{Op: "remove"}}, 0, "noTarget"},
		{"remove with a value", parentOrg(), []scim.PatchOp{{Op: "remove", Path: "loginDomains", Value: []string{"x.gov"}}}, 0, "invalidSyntax"},
		{"remove mode", parentOrg(), []scim.PatchOp{{Op: "remove", Path: "mode"}}, 0, "mutability"},
		{"bad mode", parentOrg(), []scim.PatchOp{{Op: "replace", Path: "mode", Value: "fully"}}, 0, "invalidValue"},
		{"mode of wrong type", parentOrg(), []scim.PatchOp{{Op: "replace", Path: "mode", Value: 3}}, 0, "invalidValue"},
		{"null value", parentOrg(), []scim.PatchOp{{Op: "replace", Path: "seatTiers"}}, 0, "invalidValue"},
		{"duplicate tiers", parentOrg(), []scim.PatchOp{{Op: "replace", Path: "seatTiers", Value: []string{"premium", "premium"}}}, 0, "invalidValue"},
		{"empty domain", parentOrg(), []scim.PatchOp{{Op: "replace", Path: "loginDomains", Value: []string{" "}}}, 0, "invalidValue"},
		{"child attribute on the parent", parentOrg(), []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}, {Op: "replace", Path: "mappings", Value: []scim.Mapping{}}}, 1, "invalidPath"},
		{"parent attribute on a child", childOrg(), []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}}, 0, "invalidPath"},
		{"unknown attribute", childOrg(), []scim.PatchOp{{Op: "replace", Path: "colour", Value: "red"}}, 0, "invalidPath"},
		{"value filter", childOrg(), []scim.PatchOp{{Op: "remove", Path: `mappings[group eq "g1"]`}}, 0, "invalidPath"},
		{"sub-attribute", childOrg(), []scim.PatchOp{{Op: "replace", Path: "seats.standard", Value: 3}}, 0, "invalidPath"},
		{"read-only attribute", childOrg(), []scim.PatchOp{{Op: "replace", Path: "name", Value: "x"}}, 0, "mutability"},
		{"read-only attribute without path", childOrg(), []scim.PatchOp{{Op: "replace", Value: map[string]any{"parent": "q"}}}, 0, "mutability"},
		{"no path, not an object", childOrg(), []scim.PatchOp{{Op: "replace", Value: []int{1}}}, 0, "invalidValue"},
		{"mapping granting primary-owner", childOrg(), []scim.PatchOp{{Op: "add", Path: "mappings", Value: scim.Mapping{Group: "g", Role: "primary-owner", SeatTier: "standard"}}}, 0, "invalidValue"},
		{"mapping without group", childOrg(), []scim.PatchOp{{Op: "add", Path: "mappings", Value: scim.Mapping{Role: "member", SeatTier: "standard"}}}, 0, "invalidValue"},
		{"mapping without tier", childOrg(), []scim.PatchOp{{Op: "add", Path: "mappings", Value: scim.Mapping{Group: "g", Role: "member"}}}, 0, "invalidValue"},
		{"mapping with an unknown field", childOrg(), []scim.PatchOp{{Op: "add", Path: "mappings", Value: map[string]string{"group": "g", "role": "member", "seatTier": "s", "colour": "red"}}}, 0, "invalidValue"},
		{"replace takes an array", childOrg(), []scim.PatchOp{{Op: "replace", Path: "mappings", Value: scim.Mapping{Group: "g", Role: "member", SeatTier: "s"}}}, 0, "invalidValue"},
		{"negative seats", childOrg(), []scim.PatchOp{{Op: "replace", Path: "seats", Value: map[string]int{"standard": -1}}}, 0, "invalidValue"},
		{"exception without a date", childOrg(), []scim.PatchOp{{Op: "add", Path: "exceptions", Value: scim.Exception{Email: "a@x.gov", Until: "soon"}}}, 0, "invalidValue"},
		{"exception without an email", childOrg(), []scim.PatchOp{{Op: "add", Path: "exceptions", Value: scim.Exception{Until: "2027-01-01"}}}, 0, "invalidValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := tt.org
			before := cloneOrg(org)
			err := ApplyOrgPatch(&org, tt.ops)
			var pe *PatchError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *PatchError", err)
			}
			if pe.Index != tt.index || pe.SCIMType != tt.scimType {
				t.Errorf("error %q: index %d, scimType %s; want %d, %s", err, pe.Index, pe.SCIMType, tt.index, tt.scimType)
			}
			if diff := cmp.Diff(before, org); diff != "" {
				t.Errorf("a refused patch changed the org (-before +after):\n%s", diff)
			}
		})
	}
}
