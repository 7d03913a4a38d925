package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/scimsync/scimsync/scim"
)

// DirectoryClient is what the members-export source needs of a SCIM
// client: the standard /Users and /Groups. *scim.Client implements it.
type DirectoryClient interface {
	ListUsers(ctx context.Context, opts ...scim.ListOption) ([]scim.User, error)
	ListGroups(ctx context.Context, excludeMembers bool, opts ...scim.ListOption) ([]scim.Group, error)
	GetGroup(ctx context.Context, id string) (*scim.Group, error)
}

// Client is what the SCIM source needs of a SCIM client: the directory and
// the organization extension. *scim.Client implements it.
type Client interface {
	DirectoryClient
	ListOrganizations(ctx context.Context, opts ...scim.ListOption) ([]scim.Organization, error)
	ListMembers(ctx context.Context, orgID string, opts ...scim.ListOption) ([]scim.Member, error)
	// CountMembers is the number of members of the unfiltered listing.
	CountMembers(ctx context.Context) (int, error)
}

var _ Client = (*scim.Client)(nil)

// ErrNoOrganizations means the server does not expose the organization
// extension (/Organizations answered 404).
var ErrNoOrganizations = errors.New("the server has no /Organizations endpoint")

// DefaultGroupConcurrency is how many groups a source reads at once when
// fetching their members.
const DefaultGroupConcurrency = 4

// SCIMSource reads a tenant from a SCIM server with the organization
// extension (DESIGN §3, §4):
//
//  1. every user, every group without members (excludedAttributes=members),
//     every organization, and the members of each child organization;
//  2. then the members of the groups that matter, each with its own GET:
//     those the server's organizations map, those ReadRequest names (by
//     displayName, case-insensitively, or by id) — or every group with
//     ReadRequest.AllGroupMembers — and, recursively, the groups nested in
//     them (each group is read once, so cycles end).
//
// Each listing is complete or an error (the client checks pages, totals and
// duplicates), and any failure fails the whole read: a Tenant is returned
// whole or not at all. A nested group that the group listing did not hold
// (one created during the read) is an error too; a member id that is
// neither a listed user nor a listed group, and not typed "Group", is kept
// as it is and entitles nobody.
type SCIMSource struct {
	Client Client
	// Concurrency bounds the groups read at once; DefaultGroupConcurrency
	// when zero.
	Concurrency int
}

// Read implements Source.
func (s *SCIMSource) Read(ctx context.Context, req ReadRequest) (*Tenant, error) {
	if c, ok := s.Client.(*scim.Client); ok {
		return s.readModel(ctx, c, req)
	}
	return s.readWire(ctx, req)
}

// readWire is Read through the Client interface: the wire resources, kept
// slim as they arrive, then converted.
func (s *SCIMSource) readWire(ctx context.Context, req ReadRequest) (*Tenant, error) {
	// The users are converted while the members are read.
	var users <-chan convertedUsers
	snap, read, count, err := s.read(ctx, req, planHooks, func(us []scim.User) { users = convertUsersAsync(us) })
	if err != nil {
		return nil, err
	}
	t, err := fromSCIM(users, snap.Groups, snap.Organizations, snap.Members)
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

// ReadSnapshot reads the tenant as wire resources, for `scimsync
// snapshot`. Groups whose members were not read (see ReadRequest) have
// none; use AllGroupMembers for a snapshot that can stand in for the server.
// meta.location is dropped: it names where the server was, not what the
// resource is, and would make two snapshots of one tenant differ.
func (s *SCIMSource) ReadSnapshot(ctx context.Context, req ReadRequest) (*Snapshot, error) {
	snap, _, count, err := s.read(ctx, req, readHooks{}, nil)
	if err != nil {
		return nil, err
	}
	for i := range snap.Users {
		snap.Users[i].Meta.Location = ""
	}
	for i := range snap.Groups {
		snap.Groups[i].Meta.Location = ""
	}
	for i := range snap.Organizations {
		snap.Organizations[i].Meta.Location = ""
	}
	for i := range snap.Members {
		snap.Members[i].Meta.Location = ""
	}
	// Refuse what a snapshot reader would refuse.
	if _, err := FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members); err != nil {
		return nil, fmt.Errorf("reading tenant: %w", err)
	}
	if err := count.check(); err != nil {
		return nil, err
	}
	return snap, nil
}

// readHooks see the resources of a read as they arrive, and may change
// them in place: each page of users and of organization members (see
// scim.WithPageFunc), and each group read with its members, beside its
// entry of the group listing (which group must not change: it is read by
// the other groups' reads). An error from group fails the read.
type readHooks struct {
	users   func([]scim.User)
	members func([]scim.Member)
	group   func(listed *scim.Group, read *scim.Group) error
	// nestedOnly keeps, once group has seen a group, only its members
	// that are groups (by id or by type): the read follows them, and a
	// snapshot needs no more.
	nestedOnly bool
}

// planHooks keep of users, members and group members only what FromSCIM
// reads, as soon as each page or group is in: a large tenant's names,
// timestamps and schemas are never held.
var planHooks = readHooks{
	users:   slimUsers,
	members: slimOrgMembers,
	group:   func(_, g *scim.Group) error { slimMembers(g.Members); return nil },
}

// read reads the tenant as wire resources, giving them to hooks as they
// arrive. usersRead, when set, is given the users as soon as they are all
// read, while the members may still be read.
func (s *SCIMSource) read(ctx context.Context, req ReadRequest, hooks readHooks, usersRead func([]scim.User)) (*Snapshot, map[string]bool, memberCount, error) {
	if s.Client == nil {
		return nil, nil, memberCount{}, errors.New("reading tenant: no SCIM client")
	}
	// Every listing runs side by side, the client bounding the requests
	// in flight (issue 18): the users; and the groups and organizations,
	// then, as soon as they are in, the members of the organizations and
	// of the groups (readMembers), which need nothing of the users. So
	// the request slots stay busy from the first request to the last,
	// where reading the members only after the users left them half
	// empty at the users' end and at the members' start.
	//
	// When several listings fail, the error reported is the first in
	// this order: users, groups, organizations, members. A failure of
	// the users cancels the rest, whose errors would not be reported;
	// the others let the users' listing run to its end.
	req.Progress = serialProgress(req.Progress)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		users    []scim.User
		usersErr error
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		userOpts := []scim.ListOption{progressOpt(req, "users")}
		if hooks.users != nil {
			userOpts = append(userOpts, scim.WithPageFunc(hooks.users))
		}
		users, usersErr = s.Client.ListUsers(ctx, userOpts...)
		if usersErr != nil {
			cancel()
			return
		}
		if usersRead != nil {
			usersRead(users)
		}
	}()
	var (
		members []scim.Member
		read    map[string]bool
		count   memberCount
	)
	groups, orgs, err := s.listConfig(ctx, req)
	if err == nil {
		members, read, count, err = s.readMembers(ctx, req, groups, orgs, hooks)
	}
	wg.Wait()
	if usersErr != nil {
		return nil, nil, memberCount{}, fmt.Errorf("reading users: %w", usersErr)
	}
	if err != nil {
		return nil, nil, memberCount{}, err
	}
	return &Snapshot{Users: users, Groups: groups, Organizations: orgs, Members: members}, read, count, nil
}

// listConfig lists the groups, without their members, and the
// organizations.
func (s *SCIMSource) listConfig(ctx context.Context, req ReadRequest) ([]scim.Group, []scim.Organization, error) {
	groups, err := s.Client.ListGroups(ctx, true, progressOpt(req, "groups"))
	if err != nil {
		return nil, nil, fmt.Errorf("reading groups: %w", err)
	}
	orgs, err := s.Client.ListOrganizations(ctx, progressOpt(req, "organizations"))
	if err != nil {
		var se *scim.Error
		if errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusNotImplemented) {
			return nil, nil, fmt.Errorf("reading organizations: %w; %w. For a server with only /Users and /Groups, "+
				"export the members from the admin console as CSV, set target.membersCsv to it and describe the "+
				"current configuration in the spec's current: block: plan then works, apply does not", ErrNoOrganizations, err)
		}
		return nil, nil, fmt.Errorf("reading organizations: %w", err)
	}
	return groups, orgs, nil
}

// readMembers reads, side by side, the members of every child
// organization and of the groups a read needs. Each listing runs to its
// end, so that when several fail the error reported is always the same
// one: the first in reading order.
func (s *SCIMSource) readMembers(ctx context.Context, req ReadRequest, groups []scim.Group, orgs []scim.Organization, hooks readHooks) ([]scim.Member, map[string]bool, memberCount, error) {
	var opts []scim.ListOption
	if hooks.members != nil {
		opts = append(opts, scim.WithPageFunc(hooks.members))
	}
	var read map[string]bool
	members, count, err := childMembersBeside(ctx, req, orgs,
		func(ctx context.Context, orgID string) ([]scim.Member, error) {
			return s.Client.ListMembers(ctx, orgID, opts...)
		},
		func() (err error) {
			read, err = readGroupMembers(ctx, s.Client, groups, wantedGroups(groups, orgs, req), s.Concurrency, hooks.group, hooks.nestedOnly, req.Progress)
			return err
		}, s.Client.CountMembers)
	if err != nil {
		return nil, nil, memberCount{}, err
	}
	return members, read, count, nil
}

// childMembersBeside lists the members of every child organization of
// orgs with list, each in its own goroutine, while beside (the groups'
// reads) runs in another. Every listing runs to its end, so that when
// several fail the error reported is always the same one: the first in
// reading order, the organizations' before beside's. The members come back
// in the organizations' order, in one allocation, each list let go as soon
// as it is copied.
//
// count, beside them, says how many members the unfiltered listing holds:
// the organizations' listings must hold as many between them. A server
// that answers the organization filter with fewer members than it has (an
// unsupported filter read as matching nothing) would otherwise make every
// member it left out look absent, and the switch to full enforcement look
// harmless (DESIGN §3: no plan from a partial read).
func childMembersBeside[M any](ctx context.Context, req ReadRequest, orgs []scim.Organization, list func(ctx context.Context, orgID string) ([]M, error), beside func() error, count func(ctx context.Context) (int, error)) ([]M, memberCount, error) {
	var children []scim.Organization
	for _, o := range orgs {
		if o.Parent != "" {
			children = append(children, o)
		}
	}
	perOrg := make([][]M, len(children))
	errs := make([]error, len(children)+2)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		done  int
		total int
	)
	for i, o := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms, err := list(ctx, o.ID)
			if err != nil {
				errs[i] = fmt.Errorf("reading members of organization %s (%s): %w", o.ID, o.Name, err)
				return
			}
			perOrg[i] = ms
			mu.Lock()
			done += len(ms)
			if req.Progress != nil {
				req.Progress("members", done, -1)
			}
			mu.Unlock()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[len(children)] = beside()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		if total, err = count(ctx); err != nil {
			errs[len(children)+1] = fmt.Errorf("counting members: %w", err)
		}
	}()
	wg.Wait()
	if err := cmp.Or(errs...); err != nil {
		return nil, memberCount{}, err
	}
	n := 0
	for _, ms := range perOrg {
		n += len(ms)
	}
	members := make([]M, 0, n)
	for i, ms := range perOrg {
		members = append(members, ms...)
		perOrg[i] = nil
	}
	return members, memberCount{total: total, read: n}, nil
}

// memberCount is how many members the unfiltered listing holds (total)
// and how many the child organizations' listings returned between them.
type memberCount struct{ total, read int }

// check fails when the two differ. It is checked once the tenant passed
// its own checks, so that a tenant those refuse (two parents, say) is
// refused for what is wrong with it.
func (c memberCount) check() error {
	if c.total == c.read {
		return nil
	}
	return fmt.Errorf("reading members: %w: the server holds %d members in all, but its child organizations' listings "+
		"(filter organization eq \"…\") returned %d: either it does not apply that filter as DESIGN §4 says, or members "+
		"changed during the read, or some belong to no child organization; read again, and if it persists check the "+
		"server's /Members filter", scim.ErrIncompleteRead, c.total, c.read)
}

// serialProgress makes a progress callback safe to call from the listings
// read side by side.
func serialProgress(fn func(kind string, done, total int)) func(string, int, int) {
	if fn == nil {
		return nil
	}
	var mu sync.Mutex
	return func(kind string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		fn(kind, done, total)
	}
}

// readDirectory lists every user and every group, without members.
func readDirectory(ctx context.Context, c DirectoryClient, req ReadRequest) ([]scim.User, []scim.Group, error) {
	users, err := c.ListUsers(ctx, progressOpt(req, "users"))
	if err != nil {
		return nil, nil, fmt.Errorf("reading users: %w", err)
	}
	groups, err := c.ListGroups(ctx, true, progressOpt(req, "groups"))
	if err != nil {
		return nil, nil, fmt.Errorf("reading groups: %w", err)
	}
	return users, groups, nil
}

func progressOpt(req ReadRequest, kind string) scim.ListOption {
	return scim.WithProgress(func(done, total int) {
		if req.Progress != nil {
			req.Progress(kind, done, total)
		}
	})
}

// wantedGroups returns the ids of the listed groups whose members a read
// needs: every group with AllGroupMembers, else those orgs map (by id),
// req.GroupIDs and, by displayName (GroupIndex.Named), req.GroupNames. Ids that
// no listed group has are left out: they name deleted groups, which
// resolution reports as such.
func wantedGroups(groups []scim.Group, orgs []scim.Organization, req ReadRequest) []string {
	var out []string
	if req.AllGroupMembers {
		for _, g := range groups {
			out = append(out, g.ID)
		}
		return out
	}
	idx := IndexGroups(groups)
	seen := map[string]bool{}
	add := func(id string) {
		if idx.Has(id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, o := range orgs {
		for _, m := range o.Mappings {
			add(m.Group)
		}
	}
	for _, id := range req.GroupIDs {
		add(id)
	}
	for _, n := range req.GroupNames {
		for _, id := range idx.Named(n) {
			add(id)
		}
	}
	return out
}

// readGroupMembers reads, with one GET each and at most concurrency at
// once, the members of the groups in want and of every group nested in
// them, into groups (the listing, without members). It returns the ids of
// the groups read. Any failure is returned and leaves the caller nothing to
// use: the read is whole or an error. each, when set, is given each group
// read beside its entry of groups, as soon as it is in and before its
// nested groups are looked at (planHooks keep of each member only its value
// and type: a group of a million members is not held with their $ref and
// display strings); an error from it fails the read. With nestedOnly, a
// group read keeps only its members that are groups, by id or by type.
func readGroupMembers(ctx context.Context, c DirectoryClient, groups []scim.Group, want []string, concurrency int, each func(listed, read *scim.Group) error, nestedOnly bool, progress func(string, int, int)) (map[string]bool, error) {
	index := groupIndex(groups)
	get := func(ctx context.Context, id string) (*scim.Group, error) {
		g, err := c.GetGroup(ctx, id)
		if err != nil {
			return nil, err
		}
		if each != nil && g.ID == id {
			if err := each(&groups[index[id]], g); err != nil {
				return nil, err
			}
		}
		if nestedOnly {
			var nested []scim.GroupMember
			for _, m := range g.Members {
				// A member without value stays, to be refused as
				// every read refuses it (readGroupLevels).
				if _, isGroup := index[m.Value]; isGroup || m.Value == "" || strings.EqualFold(m.Type, "Group") {
					nested = append(nested, m)
				}
			}
			g.Members = nested
		}
		return g, nil
	}
	nested := func(g *scim.Group, fn func(value string, typedGroup bool) error) error {
		for _, m := range g.Members {
			if err := fn(m.Value, strings.EqualFold(m.Type, "Group")); err != nil {
				return err
			}
		}
		return nil
	}
	return readGroupLevels(ctx, groups, index, want, concurrency, progress, get, func(g *scim.Group) string { return g.ID }, nested,
		func(i int, g *scim.Group) { groups[i].Members = g.Members })
}

// errMemberWithoutValue refuses a group read with a member that has no
// value: only a $ref, say, which RFC 7643 allows. Dropped, the member
// would be a person in no mapped group, removed for it.
func errMemberWithoutValue(id, name string) error {
	return fmt.Errorf("reading members of group %s (%s): %w: a member has no value (its id), only a $ref or a display; "+
		"scimsync needs every member's id in value", id, name, scim.ErrInvalidResponse)
}

func groupIndex(groups []scim.Group) map[string]int {
	index := make(map[string]int, len(groups))
	for i, g := range groups {
		index[g.ID] = i
	}
	return index
}

// readGroupLevels is readGroupMembers for a group read as a G: get reads
// one, idOf gives its id, nested gives each of its members' value and
// whether its type says Group, and keep is given each group read with its
// index in groups.
func readGroupLevels[G any](ctx context.Context, groups []scim.Group, index map[string]int, want []string, concurrency int, progress func(string, int, int),
	get func(ctx context.Context, id string) (*G, error), idOf func(*G) string, nested func(*G, func(value string, typedGroup bool) error) error, keep func(int, *G)) (map[string]bool, error) {
	if concurrency <= 0 {
		concurrency = DefaultGroupConcurrency
	}
	read := map[string]bool{}
	queued := map[string]bool{}
	level := slices.Clone(want)
	for _, id := range level {
		queued[id] = true
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for len(level) > 0 {
		results := make([]*G, len(level))
		errs := make([]error, len(level))
		var wg sync.WaitGroup
		sem := make(chan struct{}, concurrency)
		for i, id := range level {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if ctx.Err() != nil {
					errs[i] = ctx.Err()
					return
				}
				g, err := get(ctx, id)
				if err != nil {
					errs[i] = fmt.Errorf("reading group members (%s): %w", groups[index[id]].DisplayName, err)
					cancel()
					return
				}
				results[i] = g
			}()
		}
		wg.Wait()
		// Report the first failure in the level's order, not a
		// cancellation it caused.
		var firstErr error
		for _, err := range errs {
			if err != nil && !errors.Is(err, context.Canceled) {
				firstErr = err
				break
			}
		}
		if firstErr == nil {
			for _, err := range errs {
				if err != nil {
					firstErr = err
					break
				}
			}
		}
		if firstErr != nil {
			return nil, firstErr
		}
		var next []string
		for i, id := range level {
			g := results[i]
			if got := idOf(g); got != id {
				return nil, fmt.Errorf("reading members of group %s: the server answered with group %q", id, got)
			}
			keep(index[id], g)
			read[id] = true
			err := nested(g, func(value string, typedGroup bool) error {
				if value == "" {
					return errMemberWithoutValue(id, groups[index[id]].DisplayName)
				}
				_, isGroup := index[value]
				if !isGroup && typedGroup {
					return fmt.Errorf("reading members of group %s (%s): nested group %s is not in the group listing; the directory changed during the read, so read again", id, groups[index[id]].DisplayName, value)
				}
				if isGroup && !queued[value] {
					queued[value] = true
					next = append(next, value)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		if progress != nil {
			progress("group members", len(read), -1)
		}
		level = next
	}
	return read, nil
}

// slimUsers keeps of each user what FromSCIM reads.
func slimUsers(users []scim.User) {
	for i, u := range users {
		for j := range u.Emails {
			u.Emails[j].Type = ""
		}
		users[i] = scim.User{ID: u.ID, UserName: u.UserName, Emails: u.Emails, Active: u.Active}
	}
}

// slimOrgMembers keeps of each organization member what FromSCIM reads.
func slimOrgMembers(ms []scim.Member) {
	for i, m := range ms {
		ms[i] = scim.Member{ID: m.ID, Organization: m.Organization, Email: m.Email, UserID: m.UserID,
			Role: m.Role, SeatTier: m.SeatTier, Origin: m.Origin, Meta: scim.Meta{LastModified: m.Meta.LastModified}}
	}
}

// slimMembers keeps of each group member only its value and its type, with
// the usual types sharing one string.
func slimMembers(ms []scim.GroupMember) {
	for i, m := range ms {
		typ := m.Type
		switch {
		case strings.EqualFold(typ, "User"):
			typ = "User"
		case strings.EqualFold(typ, "Group"):
			typ = "Group"
		}
		ms[i] = scim.GroupMember{Value: m.Value, Type: typ}
	}
}
