package scimtest

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// collection describes a resource type to the generic handlers: get
// reads any type; resource, create, update and remove serve the types
// clients write (users and groups), which set the fields from setID on.
type collection[T any] struct {
	acc   accessor[T]
	noun  string // the type in messages: "user"
	items func(*state) []T
	idx   func(*state) map[string]int

	setID func(*T, string)
	// blank is what a POST body is decoded into: the defaults of a new
	// resource.
	blank func() T
	// validate checks and normalizes a new or changed resource; the
	// caller holds the write lock.
	validate func(*Server, *T) *scimError
	// put commits items as the type's new list.
	put func(s *Server, now time.Time, items []T) *scimError
	// drop commits the deletion of the i-th resource, whose id is id,
	// taking it out of the groups it is a member of.
	drop func(s *Server, now time.Time, i int, id string) *scimError
}

var (
	userType = &collection[scim.User]{
		acc:   userAcc,
		noun:  "user",
		items: func(st *state) []scim.User { return st.users },
		idx:   func(st *state) map[string]int { return st.userIdx },
		setID: func(u *scim.User, id string) { u.ID = id },
		blank: func() scim.User {
			return scim.User{Active: true} // RFC 7643 leaves the default to the provider
		},
		validate: (*Server).validateUser,
		put: func(s *Server, now time.Time, users []scim.User) *scimError {
			return s.commit(now, users, nil, nil)
		},
		drop: func(s *Server, now time.Time, i int, id string) *scimError {
			users := slices.Delete(slices.Clone(s.st.users), i, i+1)
			return s.commit(now, users, s.withoutMember(id, now), nil)
		},
	}
	groupType = &collection[scim.Group]{
		acc:      groupAcc,
		noun:     "group",
		items:    func(st *state) []scim.Group { return st.groups },
		idx:      func(st *state) map[string]int { return st.groupIdx },
		setID:    func(g *scim.Group, id string) { g.ID = id },
		blank:    func() scim.Group { return scim.Group{} },
		validate: (*Server).validateGroup,
		put: func(s *Server, now time.Time, groups []scim.Group) *scimError {
			return s.commit(now, nil, groups, nil)
		},
		drop: func(s *Server, now time.Time, i int, id string) *scimError {
			groups := s.withoutMember(id, now)
			groups = slices.Delete(groups, i, i+1)
			return s.commit(now, nil, groups, nil)
		},
	}
	orgType = &collection[scim.Organization]{
		acc:   orgAcc,
		noun:  "organization",
		items: func(st *state) []scim.Organization { return st.orgs },
		idx:   func(st *state) map[string]int { return st.orgIdx },
	}
	memberType = &collection[scim.Member]{
		acc:   memberAcc,
		noun:  "member",
		items: func(st *state) []scim.Member { return st.members },
		idx:   func(st *state) map[string]int { return st.memberIdx },
	}
)

// resource answers the requests to a writable type's endpoint: list and
// create without an id; get, replace, patch and delete with one.
func resource[T any](s *Server, r *http.Request, ri reqInfo, k *collection[T], id string) *response {
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return get(s, r, ri, k, id)
	case id == "" && r.Method == http.MethodPost:
		return create(s, r, k)
	case id == "":
		return allow(r, http.MethodGet, http.MethodPost)
	case r.Method == http.MethodPut || r.Method == http.MethodPatch:
		return update(s, r, k, id)
	case r.Method == http.MethodDelete:
		return remove(s, r, k, id)
	}
	return allow(r, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
}

// get answers GET and HEAD: the list without an id, else the resource
// with id.
func get[T any](s *Server, r *http.Request, ri reqInfo, k *collection[T], id string) *response {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id == "" {
		return list(s, r, ri, k.acc, k.items(s.st))
	}
	i, ok := k.idx(s.st)[id]
	if !ok {
		return errorResponse(notFound("%s %q not found", k.noun, id))
	}
	return single(s, r, k.acc, http.StatusOK, k.items(s.st)[i])
}

// decodeResource reads a POST or PUT body into out.
func (s *Server) decodeResource(r *http.Request, out any) *scimError {
	body, e := s.readBody(r)
	if e != nil {
		return e
	}
	if err := json.Unmarshal(body, out); err != nil {
		return badRequest(typeInvalidSyntax, "decoding request body: %v", cleanJSONError(err))
	}
	return nil
}

func (s *Server) validateUser(u *scim.User) *scimError {
	u.UserName = strings.TrimSpace(u.UserName)
	if u.UserName == "" {
		return badRequest(typeInvalidValue, "userName is required")
	}
	if s.st.userNameTaken(u.UserName, u.ID) {
		return errorf(http.StatusConflict, typeUniqueness, "userName %q is already taken (userName is unique, in any case)", u.UserName)
	}
	for i, e := range u.Emails {
		if strings.TrimSpace(e.Value) == "" {
			return badRequest(typeInvalidValue, "emails[%d].value is required", i)
		}
	}
	u.Schemas = []string{scim.SchemaUser}
	return nil
}

// create answers POST: a new resource with a new id.
func create[T any](s *Server, r *http.Request, k *collection[T]) *response {
	v := k.blank()
	if e := s.decodeResource(r, &v); e != nil {
		return errorResponse(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	k.setID(&v, s.nextID(k.acc.rt.ID))
	*k.acc.meta(&v) = scim.Meta{}
	if e := k.validate(s, &v); e != nil {
		return errorResponse(e)
	}
	touch(k.acc.meta(&v), k.acc.rt.ID, now)
	if e := k.put(s, now, append(slices.Clone(k.items(s.st)), v)); e != nil {
		return errorResponse(e)
	}
	return single(s, r, k.acc, http.StatusCreated, v)
}

func (s *Server) nextID(kind string) string {
	s.seq[kind]++
	return newID(kind, s.seq[kind], func(id string) bool {
		_, u := s.st.userIdx[id]
		_, g := s.st.groupIdx[id]
		return u || g
	})
}

// commit replaces the users, groups and organizations (nil: unchanged),
// and recomputes the members at now with orgwrite.Recompute. When the
// result is not a valid tenant (tenant.FromSCIM refuses it) nothing
// changes: the write fails with 400 invalidValue.
func (s *Server) commit(now time.Time, users []scim.User, groups []scim.Group, orgs []scim.Organization) *scimError {
	if users == nil {
		users = s.st.users
	}
	if groups == nil {
		groups = s.st.groups
	}
	if orgs == nil {
		orgs = s.st.orgs
	}
	members := s.st.members
	if len(orgs) > 0 {
		// Without organizations (a plain SCIM tenant) there are no members.
		t, err := tenant.FromSCIM(users, groups, orgs, members)
		if err != nil {
			return badRequest(typeInvalidValue, "the change would leave the tenant invalid: recomputing members: %v", err)
		}
		members, _ = orgwrite.Recompute(members, t.ResolveInput(now))
	}
	s.st.users, s.st.groups, s.st.orgs, s.st.members = users, groups, orgs, members
	s.st.reindex()
	return nil
}

// update answers PUT (replace) and PATCH on the resource with id.
func update[T any](s *Server, r *http.Request, k *collection[T], id string) *response {
	var put T
	var ops []scim.PatchOp
	if r.Method == http.MethodPut {
		if e := s.decodeResource(r, &put); e != nil {
			return errorResponse(e)
		}
	} else {
		var e *scimError
		if ops, e = s.readPatch(r); e != nil {
			return errorResponse(e)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := k.idx(s.st)[id]
	if !ok {
		return errorResponse(notFound("%s %q not found", k.noun, id))
	}
	cur := k.items(s.st)[i]
	if e := precondition(r, k.acc.meta(&cur).Version); e != nil {
		return errorResponse(e)
	}
	next := put
	if r.Method == http.MethodPatch {
		doc := toDoc(cur)
		if e := applyPatch(doc, k.acc.rt.schema, ops); e != nil {
			return errorResponse(e)
		}
		var zero T
		next = zero
		if e := fromDoc(doc, &next); e != nil {
			return errorResponse(e)
		}
	}
	k.setID(&next, k.acc.id(&cur))
	*k.acc.meta(&next) = *k.acc.meta(&cur)
	if e := k.validate(s, &next); e != nil {
		return errorResponse(e)
	}
	now := s.now()
	touch(k.acc.meta(&next), k.acc.rt.ID, now)
	items := slices.Clone(k.items(s.st))
	items[i] = next
	if e := k.put(s, now, items); e != nil {
		return errorResponse(e)
	}
	return single(s, r, k.acc, http.StatusOK, next)
}

func (s *Server) readPatch(r *http.Request) ([]scim.PatchOp, *scimError) {
	body, e := s.readBody(r)
	if e != nil {
		return nil, e
	}
	raw, e := decodePatch(body)
	if e != nil {
		return nil, e
	}
	return toPatchOps(raw)
}

// remove answers DELETE on the resource with id.
func remove[T any](s *Server, r *http.Request, k *collection[T], id string) *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := k.idx(s.st)[id]
	if !ok {
		return errorResponse(notFound("%s %q not found", k.noun, id))
	}
	if e := precondition(r, k.acc.meta(&k.items(s.st)[i]).Version); e != nil {
		return errorResponse(e)
	}
	if e := k.drop(s, s.now(), i, id); e != nil {
		return errorResponse(e)
	}
	return &response{status: http.StatusNoContent, header: http.Header{}}
}

// withoutMember returns the groups with the deleted user or group id taken
// out of each; the groups it was in get a new version.
func (s *Server) withoutMember(id string, now time.Time) []scim.Group {
	groups := slices.Clone(s.st.groups)
	for gi := range groups {
		g := &groups[gi]
		if !slices.ContainsFunc(g.Members, func(m scim.GroupMember) bool { return m.Value == id }) {
			continue
		}
		g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m scim.GroupMember) bool { return m.Value == id })
		touch(&g.Meta, "Group", now)
	}
	return groups
}

// validateGroup checks a group's displayName and members: each must be an
// existing user or another group. It fills in each member's type and drops
// repeated members.
func (s *Server) validateGroup(g *scim.Group) *scimError {
	g.DisplayName = strings.TrimSpace(g.DisplayName)
	if g.DisplayName == "" {
		return badRequest(typeInvalidValue, "displayName is required")
	}
	var out []scim.GroupMember
	seen := map[string]bool{}
	for i, m := range g.Members {
		switch {
		case m.Value == "":
			return badRequest(typeInvalidValue, "members[%d].value is required", i)
		case m.Value == g.ID:
			return badRequest(typeInvalidValue, "members[%d]: a group cannot contain itself", i)
		}
		if _, ok := s.st.userIdx[m.Value]; ok {
			m.Type = "User"
		} else if _, ok := s.st.groupIdx[m.Value]; ok {
			m.Type = "Group"
		} else {
			return badRequest(typeInvalidValue, "members[%d]: no user or group has id %q", i, m.Value)
		}
		if !seen[m.Value] {
			seen[m.Value] = true
			out = append(out, m)
		}
	}
	g.Members = out
	g.Schemas = []string{scim.SchemaGroup}
	return nil
}

func (s *Server) organizations(r *http.Request, ri reqInfo, id string) *response {
	const noWrite = "organizations are created and deleted by support, not through the API; change one with PATCH"
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return get(s, r, ri, orgType, id)
	case r.Method == http.MethodPatch && id != "":
		return s.patchOrg(r, id)
	}
	resp := errorResponse(errorf(http.StatusMethodNotAllowed, "", "%s: %s", r.Method, noWrite))
	if id == "" {
		resp.header.Set("Allow", "GET")
	} else {
		resp.header.Set("Allow", "GET, PATCH")
	}
	return resp
}

func (s *Server) patchOrg(r *http.Request, id string) *response {
	ops, e := s.readPatch(r)
	if e != nil {
		return errorResponse(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.st.orgIdx[id]
	if !ok {
		return errorResponse(notFound("organization %q not found", id))
	}
	cur := s.st.orgs[i]
	if e := precondition(r, cur.Meta.Version); e != nil {
		return errorResponse(e)
	}
	next := cur
	if err := orgwrite.ApplyOrgPatch(&next, ops); err != nil {
		var pe *orgwrite.PatchError
		if errors.As(err, &pe) {
			return errorResponse(badRequest(pe.SCIMType, "Operations[%d]: %s", pe.Index, pe.Detail))
		}
		return errorResponse(badRequest(typeInvalidValue, "%v", err))
	}
	now := s.now()
	next.Schemas = []string{scim.SchemaOrganization}
	touch(&next.Meta, "Organization", now)
	orgs := slices.Clone(s.st.orgs)
	orgs[i] = next
	if err := orgwrite.CheckOrgWrite(next, orgs, s.st.groups); err != nil {
		return errorResponse(badRequest(typeInvalidValue, "%v", err))
	}
	if e := s.commit(now, nil, nil, orgs); e != nil {
		return errorResponse(e)
	}
	return single(s, r, orgAcc, http.StatusOK, next)
}

func (s *Server) members(r *http.Request, ri reqInfo, id string) *response {
	return get(s, r, ri, memberType, id)
}
