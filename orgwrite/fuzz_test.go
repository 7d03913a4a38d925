package orgwrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

// FuzzApplyOrgPatch applies one arbitrary PATCH operation to a child and to
// a parent organization, as the reference server and a snapshot-file target
// do with what a client sends. It either applies, leaving an organization
// that keeps the documented invariants, or fails with a *PatchError and
// changes nothing.
func FuzzApplyOrgPatch(f *testing.F) {
	for _, s := range [][3]string{
		{"replace", "mappings", `[{"group":"g1","role":"admin","seatTier":"premium"}]`},
		{"add", "mappings", `{"group":"g2","role":"member","seatTier":"standard"}`},
		{"add", "seats", `{"premium":3}`},
		{"replace", "", `{"seats":{"standard":-1}}`},
		{"remove", "exceptions", ``},
		{"add", "urn:scimsync:params:scim:schemas:core:2.0:Organization:exceptions", `[{"email":"a@x.gov","until":"2027-01-31","reason":"r"}]`},
		{"replace", "mode", `"full"`},
		{"Replace", "seatTiers", `["standard","premium","gold"]`},
		{"add", "loginDomains", `"x.gov"`},
		{"remove", "mode", ``},
		{"replace", `mappings[group eq "g1"].role`, `"owner"`},
		{"replace", "seats.premium", `4`},
	} {
		f.Add(s[0], s[1], s[2])
	}
	child := scim.Organization{
		ID: "o1", Name: "hq", Parent: "p",
		Mappings:   []scim.Mapping{{Group: "g1", Role: "member", SeatTier: "standard"}},
		Seats:      map[string]int{"standard": 10, "premium": 1},
		Exceptions: []scim.Exception{{Email: "c@x.gov", Until: "2027-03-31", Reason: "badge"}},
	}
	parent := scim.Organization{ID: "p", Name: "agency", Mode: "staged", LoginDomains: []string{"x.gov"}, SeatTiers: []string{"standard", "premium"}}
	f.Fuzz(func(t *testing.T, op, path, value string) {
		var v any
		if value != "" {
			if err := json.Unmarshal([]byte(value), &v); err != nil {
				return
			}
		}
		for _, org := range []scim.Organization{child, parent} {
			o := cloneOrg(org)
			before, _ := json.Marshal(o)
			err := ApplyOrgPatch(&o, []scim.PatchOp{{Op: op, Path: path, Value: v}})
			after, merr := json.Marshal(o)
			if merr != nil {
				t.Fatalf("patched organization does not encode: %v", merr)
			}
			if err != nil {
				var pe *PatchError
				if !errors.As(err, &pe) || pe.SCIMType == "" {
					t.Fatalf("error %v is not a *PatchError with a scimType", err)
				}
				if !bytes.Equal(before, after) {
					t.Fatalf("a refused patch changed the organization:\n%s\n%s", before, after)
				}
				continue
			}
			switch o.Mode {
			case "", "jit", "staged", "full":
			default:
				t.Fatalf("mode %q accepted", o.Mode)
			}
			if org.Parent == "" && o.Mode == "" {
				t.Fatalf("the parent's mode was removed")
			}
			for tier, n := range o.Seats {
				if n < 0 || tier == "" {
					t.Fatalf("seats %v accepted", o.Seats)
				}
			}
			for _, m := range o.Mappings {
				if m.Group == "" || m.SeatTier == "" {
					t.Fatalf("mapping %+v accepted", m)
				}
			}
			for _, x := range o.Exceptions {
				if x.Email == "" || len(x.Until) != len("2006-01-02") {
					t.Fatalf("exception %+v accepted", x)
				}
			}
		}
	})
}
