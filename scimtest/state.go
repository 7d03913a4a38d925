package scimtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// state is the server's data in wire form, with indexes by id.
type state struct {
	users   []scim.User
	groups  []scim.Group
	orgs    []scim.Organization
	members []scim.Member

	userIdx, groupIdx, orgIdx, memberIdx map[string]int
}

func (s *state) reindex() {
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

// check reports state the server cannot serve: missing or duplicate ids,
// and more than one parent organization.
func (s *state) check() error {
	seen := map[string]string{}
	dup := func(kind, id string) error {
		if id == "" {
			return fmt.Errorf("a %s has no id", kind)
		}
		key := kind + "\x00" + id
		if _, ok := seen[key]; ok {
			return fmt.Errorf("two %ss have id %q", kind, id)
		}
		seen[key] = id
		return nil
	}
	for _, u := range s.users {
		if err := dup("user", u.ID); err != nil {
			return err
		}
	}
	for _, g := range s.groups {
		if err := dup("group", g.ID); err != nil {
			return err
		}
	}
	parents := 0
	for _, o := range s.orgs {
		if err := dup("organization", o.ID); err != nil {
			return err
		}
		if o.Parent == "" {
			parents++
		}
	}
	if parents > 1 {
		return fmt.Errorf("%d parent organizations: a tenant has one", parents)
	}
	for _, m := range s.members {
		if err := dup("member", m.ID); err != nil {
			return err
		}
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

// parent returns the parent organization, or nil.
func (s *state) parent() *scim.Organization {
	for i := range s.orgs {
		if s.orgs[i].Parent == "" {
			return &s.orgs[i]
		}
	}
	return nil
}

// userNameTaken reports whether a user other than self has userName, in
// any case.
func (s *state) userNameTaken(userName, self string) bool {
	for _, u := range s.users {
		if u.ID != self && strings.EqualFold(strings.TrimSpace(u.UserName), strings.TrimSpace(userName)) {
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
	m.Version = tenant.NextVersion(m.Version)
}
