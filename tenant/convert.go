package tenant

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// FromSCIM builds a Tenant from wire resources. It checks what resolution
// relies on and reports every problem it finds, joined:
//   - ids are present and unique per resource type;
//   - exactly one organization has no parent (the parent organization) and
//     every other one names it as its parent;
//   - the parent's mode is jit, staged or full; mapping roles are member,
//     admin or owner; member roles are those or primary-owner; member
//     origins are scim, jit or manual; every member belongs to a child
//     organization.
//
// A user's emails come primary first, then the others in wire order. Every
// group is taken as read with its members (MembersRead is true for each);
// a caller that listed groups without members says otherwise. Kind is left
// empty for the caller to set.
func FromSCIM(users []scim.User, groups []scim.Group, orgs []scim.Organization, members []scim.Member) (*Tenant, error) {
	// The users, and the organizations with their members, are converted
	// side by side: neither needs the other.
	return fromSCIM(convertUsersAsync(users), groups, orgs, members)
}

// convertedUsers are users converted for a Tenant, with their ids, each
// mapped to itself, and the problems found.
type convertedUsers struct {
	users []resolve.User
	ids   map[string]string
	errs  []error
}

// convertUsersAsync converts users on a goroutine of its own; the result
// arrives on the channel.
func convertUsersAsync(users []scim.User) <-chan convertedUsers {
	c := make(chan convertedUsers, 1)
	go func() {
		var cu convertedUsers
		cu.users, cu.ids, cu.errs = usersFromSCIM(users)
		c <- cu
	}()
	return c
}

// fromSCIM is FromSCIM with the users' conversion under way: the groups
// come after the users, whose ids their members name.
func fromSCIM(users <-chan convertedUsers, groups []scim.Group, orgs []scim.Organization, members []scim.Member) (*Tenant, error) {
	t := &Tenant{
		Groups:      make([]resolve.Group, 0, len(groups)),
		MembersRead: make(map[string]bool, len(groups)),
	}
	orgErr := orgsFromSCIM(t, orgs)
	var memberErr []error
	t.Members, memberErr = membersFromSCIM(members, t.Orgs)
	cu := <-users
	t.Users = cu.users
	ids, userErr := cu.ids, cu.errs

	var groupErr []error
	seen := make(map[string]bool, len(groups))
	for i, g := range groups {
		if !unique(seen, &groupErr, "group", i, g.ID, g.DisplayName) {
			continue
		}
		ids[g.ID] = g.ID
	}
	// Strings that repeat (ids in group members and members) are decoded
	// each time; the model keeps one copy of each, so that a large tenant
	// holds its ids once.
	idOf := func(s string) string {
		if c, ok := ids[s]; ok {
			return c
		}
		return s
	}
	for _, g := range groups {
		if g.ID == "" || t.MembersRead[g.ID] {
			continue // no id, or a duplicate: reported above
		}
		rg := resolve.Group{ID: g.ID, DisplayName: g.DisplayName}
		if len(g.Members) > 0 {
			rg.Members = make([]string, 0, len(g.Members))
			for _, m := range g.Members {
				if m.Value == "" {
					// Dropped, the member would be a person in no
					// mapped group (readGroupLevels refuses it live).
					groupErr = append(groupErr, fmt.Errorf("group %s (%q): a member has no value (its id), only a $ref or a display", g.ID, g.DisplayName))
					break
				}
				rg.Members = append(rg.Members, idOf(m.Value))
			}
		}
		t.Groups = append(t.Groups, rg)
		t.MembersRead[g.ID] = true
	}
	for i := range t.Members {
		t.Members[i].UserID = idOf(t.Members[i].UserID)
	}

	if errs := slices.Concat(userErr, groupErr, orgErr, memberErr); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// unique reports whether id, that of the i-th resource of kind (described
// by label), is present and not in seen, and adds it there; otherwise it
// appends the problem to errs.
func unique(seen map[string]bool, errs *[]error, kind string, i int, id, label string) bool {
	switch {
	case id == "":
		*errs = append(*errs, fmt.Errorf("%s %d (%q): no id", kind, i, label))
		return false
	case seen[id]:
		*errs = append(*errs, fmt.Errorf("%s %s: duplicate id", kind, id))
		return false
	}
	seen[id] = true
	return true
}

// usersFromSCIM converts the users, and returns their ids, each mapped to
// itself.
func usersFromSCIM(users []scim.User) ([]resolve.User, map[string]string, []error) {
	var errs []error
	out := make([]resolve.User, 0, len(users))
	ids := make(map[string]string, len(users))
	for i, u := range users {
		switch {
		case u.ID == "":
			errs = append(errs, fmt.Errorf("user %d (%q): no id", i, u.UserName))
			continue
		case ids[u.ID] != "":
			errs = append(errs, fmt.Errorf("user %s: duplicate id", u.ID))
			continue
		}
		ids[u.ID] = u.ID
		out = append(out, userFromSCIM(u))
	}
	return out, ids, errs
}

// orgsFromSCIM sets t's parent and child organizations.
func orgsFromSCIM(t *Tenant, orgs []scim.Organization) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var parents []scim.Organization
	seen := make(map[string]bool, len(orgs))
	for i, o := range orgs {
		if !unique(seen, &errs, "organization", i, o.ID, o.Name) {
			continue
		}
		if o.Parent == "" {
			parents = append(parents, o)
		}
	}
	switch len(parents) {
	case 0:
		if len(orgs) > 0 {
			bad("no parent organization: every organization names a parent")
		} else {
			bad("no organizations")
		}
	case 1:
		p := parents[0]
		t.Parent = orgFromSCIM(p)
		if !resolve.Mode(p.Mode).Valid() {
			bad("parent organization %s (%s): mode %q is not one of jit, staged, full", p.ID, p.Name, p.Mode)
		}
	default:
		names := make([]string, len(parents))
		for i, p := range parents {
			names[i] = p.ID + " (" + p.Name + ")"
		}
		bad("%d parent organizations, want exactly one: %s", len(parents), strings.Join(names, ", "))
	}

	children := map[string]bool{}
	for _, o := range orgs {
		if o.ID == "" || o.Parent == "" || children[o.ID] {
			continue
		}
		if len(parents) == 1 && o.Parent != parents[0].ID {
			bad("organization %s (%s): parent %q is not the parent organization %q", o.ID, o.Name, o.Parent, parents[0].ID)
			continue
		}
		for j, m := range o.Mappings {
			if !resolve.Role(m.Role).Grantable() {
				bad("organization %s (%s): mappings[%d]: role %q is not one of member, admin, owner", o.ID, o.Name, j, m.Role)
			}
		}
		children[o.ID] = true
		t.Orgs = append(t.Orgs, orgFromSCIM(o))
	}
	return errs
}

// membersFromSCIM converts the members of the child organizations
// children. The strings that repeat (organization ids, roles, tiers,
// origins) are kept once. Converting is split in two halves, converted side
// by side; the members are then checked in order, so that the errors and
// the duplicates dropped are the same from run to run.
func membersFromSCIM(members []scim.Member, children []resolve.Org) ([]resolve.Member, []error) {
	out := make([]resolve.Member, len(members))
	half := len(members) / 2
	done := make(chan struct{})
	go func() {
		defer close(done)
		convertMembers(out[half:], members[half:])
	}()
	convertMembers(out[:half], members[:half])
	<-done

	return checkMembers(out, children)
}

// checkMembers checks converted members, in order, and returns those
// kept: the first of each id.
func checkMembers(members []resolve.Member, children []resolve.Org) ([]resolve.Member, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	isChild := make(map[string]bool, len(children))
	for _, o := range children {
		isChild[o.ID] = true
	}
	seen := make(map[string]bool, len(members))
	kept := members[:0]
	for i, m := range members {
		if !unique(seen, &errs, "member", i, m.ID, m.Email) {
			continue
		}
		if !isChild[m.Org] {
			bad("member %s (%s): organization %q is not a child organization", m.ID, m.Email, m.Org)
		}
		if r := m.Role; !r.Grantable() && r != resolve.RolePrimaryOwner {
			bad("member %s (%s): role %q is not one of member, admin, owner, primary-owner", m.ID, m.Email, m.Role)
		}
		if !m.Origin.Valid() {
			bad("member %s (%s): origin %q is not one of scim, jit, manual", m.ID, m.Email, m.Origin)
		}
		kept = append(kept, m)
	}
	return kept, errs
}

// convertMembers converts members into out, keeping one copy of each
// organization id, role, tier and origin.
func convertMembers(out []resolve.Member, members []scim.Member) {
	words := map[string]string{}
	word := func(s string) string {
		if w, ok := words[s]; ok {
			return w
		}
		words[s] = s
		return s
	}
	for i, m := range members {
		rm := memberFromSCIM(m)
		rm.Org = word(rm.Org)
		rm.Role, rm.SeatTier, rm.Origin = resolve.Role(word(string(rm.Role))), word(rm.SeatTier), resolve.Origin(word(string(rm.Origin)))
		out[i] = rm
	}
}

func userFromSCIM(u scim.User) resolve.User {
	ru := resolve.User{ID: u.ID, UserName: u.UserName, Active: bool(u.Active)}
	// An email is most often the userName: keep one copy of the string.
	value := func(e scim.Email) string {
		if e.Value == u.UserName {
			return u.UserName
		}
		return e.Value
	}
	if len(u.Emails) > 0 {
		ru.Emails = make([]string, 0, len(u.Emails))
		for _, e := range u.Emails {
			if e.Primary && e.Value != "" {
				ru.Emails = append(ru.Emails, value(e))
			}
		}
		for _, e := range u.Emails {
			if !e.Primary && e.Value != "" {
				ru.Emails = append(ru.Emails, value(e))
			}
		}
	}
	return ru
}

func orgFromSCIM(o scim.Organization) resolve.Org {
	ro := resolve.Org{
		ID:           o.ID,
		Name:         o.Name,
		Parent:       o.Parent,
		Version:      o.Meta.Version,
		Mode:         resolve.Mode(o.Mode),
		LoginDomains: slices.Clone(o.LoginDomains),
		SeatTiers:    slices.Clone(o.SeatTiers),
		Seats:        maps.Clone(o.Seats),
	}
	for _, m := range o.Mappings {
		ro.Mappings = append(ro.Mappings, resolve.Mapping{GroupID: m.Group, Role: resolve.Role(m.Role), SeatTier: m.SeatTier})
	}
	for _, x := range o.Exceptions {
		ro.Exceptions = append(ro.Exceptions, resolve.Exception{Email: x.Email, Until: x.Until, Reason: x.Reason})
	}
	return ro
}

func memberFromSCIM(m scim.Member) resolve.Member {
	rm := resolve.Member{
		ID:       m.ID,
		Org:      m.Organization,
		Email:    m.Email,
		UserID:   m.UserID,
		Role:     resolve.Role(m.Role),
		SeatTier: m.SeatTier,
		Origin:   resolve.Origin(m.Origin),
	}
	if m.Meta.LastModified != "" {
		// A timestamp in another format is not worth failing a read for:
		// resolution does not look at it.
		if ts, err := time.Parse(time.RFC3339Nano, m.Meta.LastModified); err == nil {
			rm.LastModified = ts
		}
	}
	return rm
}

// ToSCIM converts a Tenant back to wire resources, as a Snapshot. The model
// keeps only what resolution needs, so attributes such as displayName or
// externalId are not restored; a user's first email is marked primary, and
// a group member's type is "Group" when it names a group of t, else "User".
// Groups whose members were not read are written without members.
func ToSCIM(t *Tenant) *Snapshot {
	s := &Snapshot{
		Users:         make([]scim.User, 0, len(t.Users)),
		Groups:        make([]scim.Group, 0, len(t.Groups)),
		Organizations: make([]scim.Organization, 0, 1+len(t.Orgs)),
		Members:       make([]scim.Member, 0, len(t.Members)),
	}
	for _, u := range t.Users {
		su := scim.User{
			Schemas:  []string{scim.SchemaUser},
			ID:       u.ID,
			UserName: u.UserName,
			Active:   scim.Bool(u.Active),
			Meta:     scim.Meta{ResourceType: "User"},
		}
		for i, e := range u.Emails {
			su.Emails = append(su.Emails, scim.Email{Value: e, Type: "work", Primary: scim.Bool(i == 0)})
		}
		s.Users = append(s.Users, su)
	}
	isGroup := make(map[string]bool, len(t.Groups))
	for _, g := range t.Groups {
		isGroup[g.ID] = true
	}
	for _, g := range t.Groups {
		sg := scim.Group{
			Schemas:     []string{scim.SchemaGroup},
			ID:          g.ID,
			DisplayName: g.DisplayName,
			Meta:        scim.Meta{ResourceType: "Group"},
		}
		for _, id := range g.Members {
			typ := "User"
			if isGroup[id] {
				typ = "Group"
			}
			sg.Members = append(sg.Members, scim.GroupMember{Value: id, Type: typ})
		}
		s.Groups = append(s.Groups, sg)
	}
	if t.Parent.ID != "" {
		s.Organizations = append(s.Organizations, orgToSCIM(t.Parent))
	}
	for _, o := range t.Orgs {
		s.Organizations = append(s.Organizations, orgToSCIM(o))
	}
	for _, m := range t.Members {
		s.Members = append(s.Members, memberToSCIM(m))
	}
	return s
}

func orgToSCIM(o resolve.Org) scim.Organization {
	so := scim.Organization{
		Schemas:      []string{scim.SchemaOrganization},
		ID:           o.ID,
		Name:         o.Name,
		Parent:       o.Parent,
		Mode:         string(o.Mode),
		LoginDomains: slices.Clone(o.LoginDomains),
		SeatTiers:    slices.Clone(o.SeatTiers),
		Seats:        maps.Clone(o.Seats),
		Meta:         scim.Meta{ResourceType: "Organization", Version: o.Version},
	}
	for _, m := range o.Mappings {
		so.Mappings = append(so.Mappings, scim.Mapping{Group: m.GroupID, Role: string(m.Role), SeatTier: m.SeatTier})
	}
	for _, x := range o.Exceptions {
		so.Exceptions = append(so.Exceptions, scim.Exception{Email: x.Email, Until: x.Until, Reason: x.Reason})
	}
	return so
}

func memberToSCIM(m resolve.Member) scim.Member {
	sm := scim.Member{
		Schemas:      []string{scim.SchemaMember},
		ID:           m.ID,
		Organization: m.Org,
		Email:        m.Email,
		UserID:       m.UserID,
		Role:         string(m.Role),
		SeatTier:     m.SeatTier,
		Origin:       string(m.Origin),
		Meta:         scim.Meta{ResourceType: "Member"},
	}
	if !m.LastModified.IsZero() {
		sm.Meta.LastModified = m.LastModified.UTC().Format(time.RFC3339)
	}
	return sm
}
