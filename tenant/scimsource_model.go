package tenant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// readModel is Read over a *scim.Client (issue 18): the same requests, in
// the same order, with the same checks and errors as reading the wire
// resources and converting them (FromSCIM), but each page of users and
// members, and each group read, is decoded straight into the model as it
// arrives (live_codec.go), so that no wire resource of a large tenant is
// ever held.
func (s *SCIMSource) readModel(ctx context.Context, c *scim.Client, req ReadRequest) (*Tenant, error) {
	req.Progress = serialProgress(req.Progress)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		users    []resolve.User
		usersErr error
		wg       sync.WaitGroup
	)
	// As in read: the users beside everything else; a failure of the
	// users cancels the rest and is the one reported.
	wg.Add(1)
	go func() {
		defer wg.Done()
		users, usersErr = scim.ListUsersInto(ctx, c, liveUserInto, progressOpt(req, "users"))
		if usersErr != nil {
			cancel()
		}
	}()
	var (
		members []resolve.Member
		reads   []*readGroup
		read    map[string]bool
		count   memberCount
	)
	groups, orgs, err := s.listConfig(ctx, req)
	if err == nil {
		members, reads, read, count, err = s.readMemberModels(ctx, c, req, groups, orgs)
	}
	wg.Wait()
	if usersErr != nil {
		return nil, fmt.Errorf("reading users: %w", usersErr)
	}
	if err != nil {
		return nil, err
	}
	t, err := tenantFromModel(users, groups, reads, orgs, members)
	if err != nil {
		return nil, fmt.Errorf("reading tenant: %w", err)
	}
	if err := count.check(); err != nil {
		return nil, err
	}
	t.MembersRead = read
	t.Kind = KindSCIM
	return t, nil
}

// readMemberModels is readMembers into the model: the members of every
// child organization, and the groups read, by their index in groups.
func (s *SCIMSource) readMemberModels(ctx context.Context, c *scim.Client, req ReadRequest, groups []scim.Group, orgs []scim.Organization) ([]resolve.Member, []*readGroup, map[string]bool, memberCount, error) {
	var (
		read  map[string]bool
		reads = make([]*readGroup, len(groups))
	)
	members, count, err := childMembersBeside(ctx, req, orgs,
		func(ctx context.Context, orgID string) ([]resolve.Member, error) {
			return scim.ListMembersInto(ctx, c, orgID, liveMemberInto, memberOrg)
		},
		func() (err error) {
			index := groupIndex(groups)
			get := func(ctx context.Context, id string) (*readGroup, error) {
				return scim.GetGroupInto(ctx, c, id, liveGroupInto)
			}
			nested := func(g *readGroup, fn func(value string, typedGroup bool) error) error {
				typed := g.typed
				for i, v := range g.members {
					isTyped := len(typed) > 0 && typed[0] == int32(i)
					if isTyped {
						typed = typed[1:]
					}
					if err := fn(v, isTyped); err != nil {
						return err
					}
				}
				return nil
			}
			read, err = readGroupLevels(ctx, groups, index, wantedGroups(groups, orgs, req), s.Concurrency, req.Progress, get,
				func(g *readGroup) string { return g.id }, nested, func(i int, g *readGroup) { reads[i] = g })
			return err
		}, c.CountMembers)
	if err != nil {
		return nil, nil, nil, memberCount{}, err
	}
	return members, reads, read, count, nil
}

// tenantFromModel is fromSCIM of what readModel read: the same checks and
// the same Tenant. The users, and each page's members, come from listings
// that hold each id once (the client checks), so only the checks across
// listings remain.
func tenantFromModel(users []resolve.User, groups []scim.Group, reads []*readGroup, orgs []scim.Organization, members []resolve.Member) (*Tenant, error) {
	t := &Tenant{Users: users, Groups: make([]resolve.Group, 0, len(groups))}
	orgErr := orgsFromSCIM(t, orgs)
	var memberErr, groupErr []error
	t.Members, memberErr = checkMembers(members, t.Orgs)
	seen := make(map[string]bool, len(groups))
	for i, g := range groups {
		if !unique(seen, &groupErr, "group", i, g.ID, g.DisplayName) {
			continue
		}
		rg := resolve.Group{ID: g.ID, DisplayName: g.DisplayName}
		if r := reads[i]; r != nil && len(r.members) > 0 {
			rg.Members = make([]string, 0, len(r.members))
			for _, v := range r.members {
				if v != "" {
					rg.Members = append(rg.Members, v)
				}
			}
		}
		t.Groups = append(t.Groups, rg)
	}
	if errs := slices.Concat(groupErr, orgErr, memberErr); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}
