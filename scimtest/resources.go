package scimtest

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

func (s *Server) users(r *http.Request, ri reqInfo, id string) *response {
	if id == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.mu.RLock()
			defer s.mu.RUnlock()
			return list(s, r, ri, userAcc, s.st.users)
		case http.MethodPost:
			return s.createUser(r)
		}
		return allow(r, http.MethodGet, http.MethodPost)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.mu.RLock()
		defer s.mu.RUnlock()
		i, ok := s.st.userIdx[id]
		if !ok {
			return errorResponse(notFound("user %q not found", id))
		}
		return single(s, r, userAcc, http.StatusOK, s.st.users[i])
	case http.MethodPut, http.MethodPatch:
		return s.updateUser(r, id)
	case http.MethodDelete:
		return s.deleteUser(r, id)
	}
	return allow(r, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
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

func (s *Server) createUser(r *http.Request) *response {
	var u scim.User
	u.Active = true // RFC 7643 leaves the default to the provider
	if e := s.decodeResource(r, &u); e != nil {
		return errorResponse(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	u.ID = s.nextID("User")
	u.Meta = scim.Meta{}
	if e := s.validateUser(&u); e != nil {
		return errorResponse(e)
	}
	touch(&u.Meta, "User", now)
	if e := s.commit(now, append(slices.Clone(s.st.users), u), nil, nil); e != nil {
		return errorResponse(e)
	}
	return single(s, r, userAcc, http.StatusCreated, u)
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
// and recomputes the members at now with tenant.Recompute. When the result
// is not a valid tenant nothing changes: the write fails with 400
// invalidValue.
func (s *Server) commit(now time.Time, users []scim.User, groups []scim.Group, orgs []scim.Organization) *scimError {
	next := &tenant.Snapshot{Users: users, Groups: groups, Organizations: orgs, Members: s.st.members}
	if next.Users == nil {
		next.Users = s.st.users
	}
	if next.Groups == nil {
		next.Groups = s.st.groups
	}
	if next.Organizations == nil {
		next.Organizations = s.st.orgs
	}
	if len(next.Organizations) > 0 {
		// Without organizations (a plain SCIM tenant) there are no members.
		if _, err := tenant.Recompute(next, now); err != nil {
			return badRequest(typeInvalidValue, "the change would leave the tenant invalid: %v", err)
		}
	}
	s.st.users, s.st.groups, s.st.orgs, s.st.members = next.Users, next.Groups, next.Organizations, next.Members
	s.st.reindex()
	return nil
}

func (s *Server) updateUser(r *http.Request, id string) *response {
	var put scim.User
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
	i, ok := s.st.userIdx[id]
	if !ok {
		return errorResponse(notFound("user %q not found", id))
	}
	cur := s.st.users[i]
	if e := precondition(r, cur.Meta.Version); e != nil {
		return errorResponse(e)
	}
	next := put
	if r.Method == http.MethodPatch {
		doc := toDoc(cur)
		if e := applyPatch(doc, userSchema, ops); e != nil {
			return errorResponse(e)
		}
		next = scim.User{}
		if e := fromDoc(doc, &next); e != nil {
			return errorResponse(e)
		}
	}
	next.ID, next.Meta = cur.ID, cur.Meta
	if e := s.validateUser(&next); e != nil {
		return errorResponse(e)
	}
	now := s.now()
	touch(&next.Meta, "User", now)
	users := slices.Clone(s.st.users)
	users[i] = next
	if e := s.commit(now, users, nil, nil); e != nil {
		return errorResponse(e)
	}
	return single(s, r, userAcc, http.StatusOK, next)
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

func (s *Server) deleteUser(r *http.Request, id string) *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.st.userIdx[id]
	if !ok {
		return errorResponse(notFound("user %q not found", id))
	}
	if e := precondition(r, s.st.users[i].Meta.Version); e != nil {
		return errorResponse(e)
	}
	now := s.now()
	users := slices.Delete(slices.Clone(s.st.users), i, i+1)
	if e := s.commit(now, users, s.withoutMember(id, now), nil); e != nil {
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

func (s *Server) groups(r *http.Request, ri reqInfo, id string) *response {
	if id == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.mu.RLock()
			defer s.mu.RUnlock()
			return list(s, r, ri, groupAcc, s.st.groups)
		case http.MethodPost:
			return s.createGroup(r)
		}
		return allow(r, http.MethodGet, http.MethodPost)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.mu.RLock()
		defer s.mu.RUnlock()
		i, ok := s.st.groupIdx[id]
		if !ok {
			return errorResponse(notFound("group %q not found", id))
		}
		return single(s, r, groupAcc, http.StatusOK, s.st.groups[i])
	case http.MethodPut, http.MethodPatch:
		return s.updateGroup(r, id)
	case http.MethodDelete:
		return s.deleteGroup(r, id)
	}
	return allow(r, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
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

func (s *Server) createGroup(r *http.Request) *response {
	var g scim.Group
	if e := s.decodeResource(r, &g); e != nil {
		return errorResponse(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	g.ID = s.nextID("Group")
	g.Meta = scim.Meta{}
	if e := s.validateGroup(&g); e != nil {
		return errorResponse(e)
	}
	touch(&g.Meta, "Group", now)
	if e := s.commit(now, nil, append(slices.Clone(s.st.groups), g), nil); e != nil {
		return errorResponse(e)
	}
	return single(s, r, groupAcc, http.StatusCreated, g)
}

func (s *Server) updateGroup(r *http.Request, id string) *response {
	var put scim.Group
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
	i, ok := s.st.groupIdx[id]
	if !ok {
		return errorResponse(notFound("group %q not found", id))
	}
	cur := s.st.groups[i]
	if e := precondition(r, cur.Meta.Version); e != nil {
		return errorResponse(e)
	}
	next := put
	if r.Method == http.MethodPatch {
		doc := toDoc(cur)
		if e := applyPatch(doc, groupSchema, ops); e != nil {
			return errorResponse(e)
		}
		next = scim.Group{}
		if e := fromDoc(doc, &next); e != nil {
			return errorResponse(e)
		}
	}
	next.ID, next.Meta = cur.ID, cur.Meta
	if e := s.validateGroup(&next); e != nil {
		return errorResponse(e)
	}
	now := s.now()
	touch(&next.Meta, "Group", now)
	groups := slices.Clone(s.st.groups)
	groups[i] = next
	if e := s.commit(now, nil, groups, nil); e != nil {
		return errorResponse(e)
	}
	return single(s, r, groupAcc, http.StatusOK, next)
}

func (s *Server) deleteGroup(r *http.Request, id string) *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.st.groupIdx[id]
	if !ok {
		return errorResponse(notFound("group %q not found", id))
	}
	if e := precondition(r, s.st.groups[i].Meta.Version); e != nil {
		return errorResponse(e)
	}
	now := s.now()
	groups := s.withoutMember(id, now)
	groups = slices.Delete(groups, i, i+1)
	if e := s.commit(now, nil, groups, nil); e != nil {
		return errorResponse(e)
	}
	return &response{status: http.StatusNoContent, header: http.Header{}}
}

func (s *Server) organizations(r *http.Request, ri reqInfo, id string) *response {
	const noWrite = "organizations are created and deleted by support, not through the API; change one with PATCH"
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.mu.RLock()
		defer s.mu.RUnlock()
		if id == "" {
			return list(s, r, ri, orgAcc, s.st.orgs)
		}
		i, ok := s.st.orgIdx[id]
		if !ok {
			return errorResponse(notFound("organization %q not found", id))
		}
		return single(s, r, orgAcc, http.StatusOK, s.st.orgs[i])
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
	if err := tenant.ApplyOrgPatch(&next, ops); err != nil {
		var pe *tenant.PatchError
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
	if err := tenant.CheckOrgWrite(next, orgs, s.st.groups); err != nil {
		return errorResponse(badRequest(typeInvalidValue, "%v", err))
	}
	if e := s.commit(now, nil, nil, orgs); e != nil {
		return errorResponse(e)
	}
	return single(s, r, orgAcc, http.StatusOK, next)
}

func (s *Server) members(r *http.Request, ri reqInfo, id string) *response {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id == "" {
		return list(s, r, ri, memberAcc, s.st.members)
	}
	i, ok := s.st.memberIdx[id]
	if !ok {
		return errorResponse(notFound("member %q not found", id))
	}
	return single(s, r, memberAcc, http.StatusOK, s.st.members[i])
}
