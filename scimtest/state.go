package scimtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/scim"
)

// state is the server's data in wire form, with indexes by id.
type state struct {
	users   []scim.User
	groups  []scim.Group
	orgs    []scim.Organization
	members []scim.Member

	userIdx, groupIdx, orgIdx, memberIdx map[string]int
	// gen counts reindexes: every change of state makes a new generation.
	gen uint64
}

func (s *state) reindex() {
	s.gen++
	s.userIdx = indexBy(s.users, func(u *scim.User) string { return u.ID })
	s.groupIdx = indexBy(s.groups, func(g *scim.Group) string { return g.ID })
	s.orgIdx = indexBy(s.orgs, func(o *scim.Organization) string { return o.ID })
	s.memberIdx = indexBy(s.members, func(m *scim.Member) string { return m.ID })
}

func indexBy[T any](list []T, id func(*T) string) map[string]int {
	m := make(map[string]int, len(list))
	for i := range list {
		m[id(&list[i])] = i
	}
	return m
}

// check reports what the server cannot serve and tenant.FromSCIM does not
// see when there are no organizations: missing or duplicate user and group
// ids, and members without organizations.
func (s *state) check() error {
	seen := map[string]bool{}
	for _, u := range s.users {
		if u.ID == "" || seen["u"+u.ID] {
			return fmt.Errorf("user %q: missing or duplicate id %q", u.UserName, u.ID)
		}
		seen["u"+u.ID] = true
	}
	for _, g := range s.groups {
		if g.ID == "" || seen["g"+g.ID] {
			return fmt.Errorf("group %q: missing or duplicate id %q", g.DisplayName, g.ID)
		}
		seen["g"+g.ID] = true
	}
	if len(s.orgs) == 0 && len(s.members) > 0 {
		return fmt.Errorf("%d members but no organizations", len(s.members))
	}
	return nil
}

// fillMeta gives every resource a meta.resourceType and, where it has
// none, the version W/"1", so that every resource has an ETag.
func (s *state) fillMeta() {
	fill := func(m *scim.Meta, kind string) {
		m.ResourceType = kind
		if m.Version == "" {
			m.Version = `W/"1"`
		}
	}
	for i := range s.users {
		fill(&s.users[i].Meta, "User")
	}
	for i := range s.groups {
		fill(&s.groups[i].Meta, "Group")
	}
	for i := range s.orgs {
		fill(&s.orgs[i].Meta, "Organization")
	}
	for i := range s.members {
		fill(&s.members[i].Meta, "Member")
	}
}

// userNameTaken reports whether a user other than self has userName, as
// match.SameEmail compares them (in any case, but a look-alike address is
// another one).
func (s *state) userNameTaken(userName, self string) bool {
	for _, u := range s.users {
		if u.ID != self && match.SameEmail(u.UserName, userName) {
			return true
		}
	}
	return false
}

// newID returns a deterministic, unused id for the n-th resource of kind
// created by this server: the same requests against the same state yield
// the same ids.
func newID(kind string, n int, taken func(string) bool) string {
	for i := 0; ; i++ {
		sum := sha256.Sum256([]byte(kind + "/" + strconv.Itoa(n) + "/" + strconv.Itoa(i)))
		h := hex.EncodeToString(sum[:16])
		id := h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
		if !taken(id) {
			return id
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// touch marks a resource as changed at now.
func touch(m *scim.Meta, resourceType string, now time.Time) {
	m.ResourceType = resourceType
	m.LastModified = stamp(now)
	if m.Created == "" {
		m.Created = m.LastModified
	}
	m.Version = orgwrite.NextVersion(m.Version)
}
