package orgwrite

import (
	"errors"
	"strings"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

func TestCheckOrgWrite(t *testing.T) {
	parent := scim.Organization{ID: "p", Name: "agency", SeatTiers: []string{"standard", "premium"}}
	child := scim.Organization{ID: "c", Name: "hq", Parent: "p",
		Mappings: []scim.Mapping{{Group: "g1", Role: "member", SeatTier: "standard"}},
		Seats:    map[string]int{"standard": 5}}
	groups := []scim.Group{{ID: "g1"}, {ID: "g2"}}
	tests := []struct {
		name   string
		edit   func(p, c *scim.Organization)
		parent bool   // check the parent's write instead of the child's
		want   string // "" when the write is consistent
	}{
		{name: "consistent", edit: func(p, c *scim.Organization) {}},
		{name: "unknown group", edit: func(p, c *scim.Organization) { c.Mappings[0].Group = "g9" }, want: `mappings[0]: no group has id "g9"`},
		{name: "group mapped twice", edit: func(p, c *scim.Organization) {
			c.Mappings = append(c.Mappings, scim.Mapping{Group: "g1", Role: "admin", SeatTier: "premium"})
		}, want: `mappings[1]: group "g1" is mapped twice`},
		{name: "unknown tier in a mapping", edit: func(p, c *scim.Organization) { c.Mappings[0].SeatTier = "gold" }, want: `mappings[0]: seat tier "gold" is not one of the parent's seatTiers [standard premium]`},
		{name: "unknown tier in seats", edit: func(p, c *scim.Organization) { c.Seats["gold"] = 1 }, want: `seats: tier "gold" is not one of the parent's seatTiers`},
		{name: "parent drops a tier in use", parent: true, edit: func(p, c *scim.Organization) { p.SeatTiers = []string{"premium"} }, want: `hq: mappings[0]: seat tier "standard"`},
		{name: "parent adds a tier", parent: true, edit: func(p, c *scim.Organization) { p.SeatTiers = append(p.SeatTiers, "gold") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c := parent, child
			p.SeatTiers = append([]string(nil), parent.SeatTiers...)
			c.Mappings = append([]scim.Mapping(nil), child.Mappings...)
			c.Seats = map[string]int{"standard": 5}
			tt.edit(&p, &c)
			written := c
			if tt.parent {
				written = p
			}
			err := CheckOrgWrite(written, []scim.Organization{p, c}, groups)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckOrgWrite = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidOrg)):
				t.Fatalf("CheckOrgWrite = %v, want an ErrInvalidOrg containing %q", err, tt.want)
			}
		})
	}
}
