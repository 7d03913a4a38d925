package orgwrite

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scimsync/scimsync/scim"
)

// CheckOrgWrite checks an organization, as a PATCH would leave it, against
// the rest of the tenant: what ApplyOrgPatch cannot see on one resource
// alone. orgs is every organization, with the patched one already in place,
// and groups every group. For a child it checks that each mapping names an
// existing group, at most once, and a tier of the parent's seatTiers, and
// that seats name such tiers only. For the parent it checks that every
// child's mappings and seats still name its tiers.
//
// A server (400 invalidValue) and a snapshot-file target both refuse such a
// write, so a configuration scimsync could never plan from cannot
// be stored. Reads stay lenient: a live tenant whose mapped group was
// deleted is planned, and the plan says so.
func CheckOrgWrite(org scim.Organization, orgs []scim.Organization, groups []scim.Group) error {
	var parent *scim.Organization
	for i := range orgs {
		if orgs[i].Parent == "" {
			parent = &orgs[i]
			break
		}
	}
	if parent == nil {
		return nil // FromSCIM reports a tenant without a parent
	}
	var problems []string
	if org.Parent == "" {
		for _, child := range orgs {
			if child.Parent != "" {
				problems = append(problems, checkTiers(child, parent.SeatTiers)...)
			}
		}
	} else {
		ids := make(map[string]bool, len(groups))
		for _, g := range groups {
			ids[g.ID] = true
		}
		seen := map[string]bool{}
		for i, m := range org.Mappings {
			switch {
			case !ids[m.Group]:
				problems = append(problems, fmt.Sprintf("mappings[%d]: no group has id %q", i, m.Group))
			case seen[m.Group]:
				problems = append(problems, fmt.Sprintf("mappings[%d]: group %q is mapped twice", i, m.Group))
			}
			seen[m.Group] = true
		}
		problems = append(problems, checkTiers(org, parent.SeatTiers)...)
	}
	if len(problems) > 0 {
		return fmt.Errorf("organization %s (%s): %s: %w", org.ID, org.Name, strings.Join(problems, "; "), ErrInvalidOrg)
	}
	return nil
}

// ErrInvalidOrg is what CheckOrgWrite's errors match: a write that would
// store a configuration inconsistent with the rest of the tenant.
var ErrInvalidOrg = errors.New("inconsistent with the tenant")

// checkTiers lists the mappings and seats of child that name a tier outside
// tiers.
func checkTiers(child scim.Organization, tiers []string) []string {
	var out []string
	for i, m := range child.Mappings {
		if !slices.Contains(tiers, m.SeatTier) {
			out = append(out, fmt.Sprintf("%s: mappings[%d]: seat tier %q is not one of the parent's seatTiers %v", child.Name, i, m.SeatTier, tiers))
		}
	}
	for _, t := range slices.Sorted(maps.Keys(child.Seats)) {
		if !slices.Contains(tiers, t) {
			out = append(out, fmt.Sprintf("%s: seats: tier %q is not one of the parent's seatTiers %v", child.Name, t, tiers))
		}
	}
	return out
}
