package gen

import (
	"fmt"
	"maps"
	"slices"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// Spec returns the spec that describes snap's configuration as it is: its
// parent's mode, login domains and seat tiers, and every child
// organization with its seats and mappings (groups by displayName).
// Planning it against snap finds no changes. policy.ownerGroups lists the
// groups that grant admin or owner. Target is left for the caller to set.
func Spec(snap *tenant.Snapshot) (*spec.Spec, error) {
	names := make(map[string]string, len(snap.Groups))
	for _, g := range snap.Groups {
		names[g.ID] = g.DisplayName
	}
	s := &spec.Spec{Version: spec.Version}
	var parent *scim.Organization
	for i := range snap.Organizations {
		if snap.Organizations[i].Parent == "" {
			parent = &snap.Organizations[i]
		}
	}
	if parent == nil {
		return nil, fmt.Errorf("gen: the snapshot has no parent organization")
	}
	s.Parent = spec.Parent{
		Name:         parent.Name,
		LoginDomains: slices.Clone(parent.LoginDomains),
		SeatTiers:    slices.Clone(parent.SeatTiers),
		Mode:         spec.Mode(parent.Mode),
	}
	owners := map[string]bool{}
	for _, o := range snap.Organizations {
		if o.Parent == "" {
			continue
		}
		so := spec.Organization{Name: o.Name, Seats: maps.Clone(o.Seats)}
		for _, m := range o.Mappings {
			name, ok := names[m.Group]
			if !ok {
				return nil, fmt.Errorf("gen: organization %s maps group %s, which the snapshot lacks", o.Name, m.Group)
			}
			so.Mappings = append(so.Mappings, spec.Mapping{Group: name, Role: spec.Role(m.Role), SeatTier: m.SeatTier})
			if m.Role != "member" {
				owners[name] = true
			}
		}
		s.Organizations = append(s.Organizations, so)
	}
	s.Policy.OwnerGroups = slices.Sorted(maps.Keys(owners))
	return s, nil
}

// WithChanges edits s, a spec from Spec, into the large change a benchmark
// plans: the parent switches to full provisioning (every jit and manual
// member is removed) and hq's all-staff mapping moves to the highest seat
// tier (every hq member changes), with the seats to hold them.
func WithChanges(s *spec.Spec) {
	s.Parent.Mode = "full"
	top := SeatTiers[len(SeatTiers)-1]
	for i := range s.Organizations {
		o := &s.Organizations[i]
		for k := range o.Mappings {
			m := &o.Mappings[k]
			if m.Group == AllStaff && m.SeatTier != top {
				m.SeatTier = top
				if o.Seats == nil {
					o.Seats = map[string]int{}
				}
				o.Seats[top] += o.Seats[SeatTiers[0]]
			}
		}
	}
}
