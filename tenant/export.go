package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
)

// MembersExportSource reads a tenant from a server that has only the
// standard /Users and /Groups (DESIGN §3): users and groups come from the
// server, members from the admin console's CSV export (ParseMembersCSV),
// and the organizations' configuration from the spec's current: block.
//
// The tenant it returns is ReadOnly: its organizations have synthetic ids
// (their names) and no versions, members have ids derived from org and
// email (MemberID), and there is nothing to write back. The exceptions the
// organizations hold come from current.exceptions (none when it is unset).
// A CSV row's scim origin is linked to the user holding its email when
// exactly one does.
type MembersExportSource struct {
	Client DirectoryClient
	// CSVPath is the members export.
	CSVPath string
	// Current is the spec's current: block. Required.
	Current *spec.Current
	// Parent is the spec's parent. Fields that Current.Parent leaves empty
	// (all of them when it is nil) are taken from it.
	Parent spec.Parent
	// Concurrency bounds the groups read at once; DefaultGroupConcurrency
	// when zero.
	Concurrency int
}

// Read implements Source.
func (s *MembersExportSource) Read(ctx context.Context, req ReadRequest) (*Tenant, error) {
	if s.Current == nil {
		return nil, errors.New("reading members export: the spec has no current: block; a members export needs it to describe the organizations' configuration")
	}
	if s.Client == nil {
		return nil, errors.New("reading members export: no SCIM client")
	}
	f, err := os.Open(s.CSVPath)
	if err != nil {
		return nil, fmt.Errorf("reading members export: %w", err)
	}
	rows, err := ParseMembersCSV(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.CSVPath, err)
	}
	if req.Progress != nil {
		req.Progress("members", len(rows), len(rows))
	}
	users, groups, err := readDirectory(ctx, s.Client, req)
	if err != nil {
		return nil, err
	}
	orgs, err := s.organizations(groups)
	if err != nil {
		return nil, err
	}
	members, err := s.members(rows, orgs, users)
	if err != nil {
		return nil, err
	}
	read, err := readGroupMembers(ctx, s.Client, groups, wantedGroups(groups, orgs, req), s.Concurrency, planHooks.group, false, req.Progress)
	if err != nil {
		return nil, err
	}
	t, err := FromSCIM(users, groups, orgs, members)
	if err != nil {
		return nil, fmt.Errorf("reading members export: %w", err)
	}
	t.MembersRead = read
	t.Kind = KindMembersExport
	t.ReadOnly = true
	return t, nil
}

// organizations builds the parent and child organizations from the current:
// block, with names for ids and group names resolved to ids.
func (s *MembersExportSource) organizations(groups []scim.Group) ([]scim.Organization, error) {
	p := s.Parent
	if cp := s.Current.Parent; cp != nil {
		p.Name = cmp.Or(cp.Name, p.Name)
		p.Mode = cmp.Or(cp.Mode, p.Mode)
		if cp.SeatTiers != nil {
			p.SeatTiers = cp.SeatTiers
		}
		if cp.LoginDomains != nil {
			p.LoginDomains = cp.LoginDomains
		}
	}
	if p.Mode == "" {
		p.Mode = spec.DefaultMode
	}
	if p.Name == "" {
		return nil, errors.New("reading members export: the parent organization has no name")
	}
	idx := IndexGroups(groups)
	orgs := []scim.Organization{{
		ID: p.Name, Name: p.Name, Mode: string(p.Mode),
		SeatTiers: slices.Clone(p.SeatTiers), LoginDomains: slices.Clone(p.LoginDomains),
	}}
	var errs []error
	seen := map[string]bool{p.Name: true}
	for i, o := range s.Current.Organizations {
		if seen[o.Name] {
			errs = append(errs, fmt.Errorf("current.organizations[%d]: name %q is used twice (the parent counts)", i, o.Name))
			continue
		}
		seen[o.Name] = true
		so := scim.Organization{ID: o.Name, Name: o.Name, Parent: p.Name, Seats: maps.Clone(o.Seats)}
		for j, m := range o.Mappings {
			id := m.GroupID
			if id == "" {
				var err error
				var unknown *UnknownGroupError
				switch id, err = idx.Resolve(m.Group, ""); {
				case errors.As(err, &unknown):
					// A group that does not exist: resolution reports it as a
					// deleted mapped group.
					id = "missing:" + m.Group
				case err != nil:
					errs = append(errs, fmt.Errorf("current.organizations[%d].mappings[%d]: %w", i, j, err))
					continue
				}
			}
			so.Mappings = append(so.Mappings, scim.Mapping{Group: id, Role: string(m.Role), SeatTier: m.SeatTier})
		}
		orgs = append(orgs, so)
	}
	// Org names match case-insensitively, as they do against the server.
	child := map[string]int{}
	for i, o := range orgs[1:] {
		child[match.Name(o.Name)] = i + 1
	}
	for i, x := range s.Current.Exceptions {
		k, ok := child[match.Name(x.Org)]
		if !ok {
			errs = append(errs, fmt.Errorf("current.exceptions[%d]: org %q is not in current.organizations", i, x.Org))
			continue
		}
		orgs[k].Exceptions = append(orgs[k].Exceptions, scim.Exception{Email: x.Email, Until: x.Until, Reason: x.Reason})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("reading members export: %w", errors.Join(errs...))
	}
	return orgs, nil
}

// members turns CSV rows into members of the organizations.
func (s *MembersExportSource) members(rows []MemberRow, orgs []scim.Organization, users []scim.User) ([]scim.Member, error) {
	// Org names match case-insensitively, as they do against the server.
	children := map[string]string{}
	for _, o := range orgs[1:] {
		children[match.Name(o.Name)] = o.Name
	}
	byEmail := map[string][]string{}
	for _, u := range users {
		for _, e := range resolve.UserEmails(userFromSCIM(u)) {
			byEmail[e] = append(byEmail[e], u.ID)
		}
	}
	var errs []error
	out := make([]scim.Member, 0, len(rows))
	for _, r := range rows {
		org, ok := children[match.Name(r.Org)]
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: org %q is not in the spec's current.organizations; describe its configuration there", s.CSVPath, r.Line, r.Org))
			if len(errs) >= maxCSVErrors {
				break
			}
			continue
		}
		m := scim.Member{
			ID:           orgwrite.MemberID(org, r.Email),
			Organization: org,
			Email:        r.Email,
			Role:         string(r.Role),
			SeatTier:     r.SeatTier,
			Origin:       string(r.Origin),
		}
		if r.Origin == resolve.OriginSCIM {
			if ids := byEmail[match.Email(r.Email)]; len(ids) == 1 {
				m.UserID = ids[0]
			}
		}
		out = append(out, m)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("reading members export: %w", errors.Join(errs...))
	}
	return out, nil
}
