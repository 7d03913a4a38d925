// Package explain traces one person through a tenant and a plan (DESIGN
// §8a, `scimsync explain`): which SCIM users match the person's email and
// how, every group membership path through nesting, and per child
// organization the mappings that match, the role and tier they resolve to
// and the deciding mapping, the current member record, any exception, the
// policy that concerns them, and what the plan and full enablement do to
// them, with the reason.
//
// It is pure: it reads a spec, an observed tenant and the plan already
// computed from them (it never plans again) and returns a Report. The
// configuration it traces is the plan's desired one: the spec's mappings,
// seats and exceptions for the child organizations the spec names, the
// server's for the others; where the spec names the org and the plan
// removes or replaces the server's exception for the person, that one is
// shown too, as the plan's config changes say. Nothing here performs I/O, prints or exits.
//
// The tenant need not be whole (issue 17): tenant.Restrict of it for the
// emails traced, planned, tells each of these people exactly what the
// whole tenant's plan tells them, at the cost of planning a few people.
// What such a plan cannot tell is what it counts over everyone: the
// findings NotComputed lists are never part of a trace, whole tenant or
// not.
package explain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// FormatVersion is the version of the JSON form of a report.
const FormatVersion = "1"

// How a SCIM user matched an email.
const (
	ByUserName   = "userName"
	ByEmails     = "emails[]"
	ByMemberLink = "member userId"
)

// MaxPaths bounds the group paths listed per user.
const MaxPaths = 50

// Report is the trace of one email.
type Report struct {
	// Email is the email asked about, as given.
	Email string `json:"email"`
	// Found is false when no user, member, exception or policy entry
	// holds the email; Suggestions then lists the closest addresses.
	Found       bool        `json:"found"`
	Suggestions []string    `json:"suggestions,omitempty"`
	Users       []UserMatch `json:"users"`
	// Protected says that policy.protectedUsers lists the email.
	Protected bool       `json:"protected"`
	Orgs      []OrgTrace `json:"orgs"`
	// Findings are the plan's findings about this person.
	Findings []diff.Finding `json:"findings"`
}

// UserMatch is one SCIM user the email matches.
type UserMatch struct {
	ID       string   `json:"id"`
	UserName string   `json:"userName"`
	Active   bool     `json:"active"`
	By       []string `json:"matched_by"`
	// Paths are the user's group membership paths: each starts at a group
	// holding the user directly and climbs through the groups that nest it,
	// to a group no other group holds (or one that would close a cycle).
	Paths [][]string `json:"group_paths"`
	// PathsCut says that more paths exist than MaxPaths.
	PathsCut bool `json:"group_paths_cut,omitempty"`
}

// OrgTrace is the person in one child organization.
type OrgTrace struct {
	Org string `json:"org"`
	// Managed says that the spec names the org: its desired mappings and
	// exceptions are the spec's; otherwise the server's, left alone.
	Managed  bool           `json:"managed"`
	Mappings []MappingMatch `json:"mappings"`
	// DeletedGroups are the ids of groups the org maps that the server no
	// longer has: a member they no longer entitle goes with the reason
	// "mapped group deleted".
	DeletedGroups []string `json:"deleted_groups,omitempty"`
	// Entitled is set when an active matched user is in a mapped group:
	// the role and tier it resolves to and the deciding mappings' groups.
	Entitled *Entitlement `json:"entitled,omitempty"`
	// Member is the current member record, if any.
	Member *Member `json:"member,omitempty"`
	// Exception is the desired exception for the email, if any.
	Exception *Exception `json:"exception,omitempty"`
	// ServerException, in an org the spec names, is the exception the
	// server holds for the email when the plan removes it or replaces it
	// with the spec's (its Plan says which); absent when the server holds
	// none or the same as the spec.
	ServerException *Exception `json:"server_exception,omitempty"`
	// PrimaryOwner: the member is the org's primary owner, never removed,
	// re-roled or linked.
	PrimaryOwner bool `json:"primary_owner,omitempty"`
	// ExclusiveOrgs is set when policy.exclusiveOrgs is on: the other orgs
	// the person is entitled in (none: not in play).
	ExclusiveOrgs *Exclusive `json:"exclusive_orgs,omitempty"`
	// Plan is what this plan does to the person here.
	Plan Effect `json:"plan"`
	// Full is what full enablement would do, with the desired
	// configuration, now.
	Full Effect `json:"full"`
}

// MappingMatch is one mapping of the org whose group holds a matched user.
type MappingMatch struct {
	Group    string `json:"group"`
	GroupID  string `json:"group_id"`
	Role     string `json:"role"`
	SeatTier string `json:"seatTier"`
	// Path leads from a group holding the user directly to the mapped
	// group.
	Path []string `json:"path"`
	// UserID is the matched user the group holds.
	UserID string `json:"user_id"`
	// Active is false when that user is inactive: the mapping entitles
	// nobody then.
	Active bool `json:"active"`
}

// Entitlement is the resolved role and tier and the deciding mappings.
type Entitlement struct {
	UserID    string `json:"user_id"`
	Role      string `json:"role"`
	SeatTier  string `json:"seatTier"`
	RoleGroup string `json:"role_group"`
	TierGroup string `json:"tier_group"`
}

// Member is a current member record.
type Member struct {
	Email    string `json:"email"`
	Role     string `json:"role"`
	SeatTier string `json:"seatTier"`
	Origin   string `json:"origin"`
	UserID   string `json:"user_id,omitempty"`
}

// Exception is an exception that covers the person.
type Exception struct {
	Until  string `json:"until"`
	Reason string `json:"reason,omitempty"`
	// Lapsed is spec.Lapsed(Until) at the plan's instant.
	Lapsed bool `json:"lapsed"`
	// Source is "spec" (policy.exceptions) or "server" (an org the spec
	// does not name, or OrgTrace.ServerException).
	Source string `json:"source"`
	// Plan is what the plan does to a server's exception in an org the
	// spec names, read from its config changes: diff.ActionRemove (the
	// plan writes the org's exceptions without it) or diff.ActionChange
	// (it writes the spec's in its place). Empty otherwise.
	Plan diff.Action `json:"plan,omitempty"`
}

// Exclusive is policy.exclusiveOrgs as it concerns the person.
type Exclusive struct {
	InPlay bool     `json:"in_play"`
	Others []string `json:"others"`
}

// ActionNone and ActionKeep complete diff's actions for a trace: the
// person is not in the organization and stays out, or is and stays as is.
const (
	ActionNone diff.Action = "none"
	ActionKeep diff.Action = "keep"
)

// Effect is what happens to the person: the action (one of diff's
// Action* values, ActionNone or ActionKeep), the assignments and why.
type Effect struct {
	Action diff.Action      `json:"action"`
	Before *diff.Assignment `json:"before,omitempty"`
	After  *diff.Assignment `json:"after,omitempty"`
	Reason string           `json:"reason,omitempty"`
	Via    string           `json:"via,omitempty"`
	// ExceptionUntil and ExceptionLapsed are, for a removal full
	// enablement makes, the plan's readiness marks (diff.Removal): the
	// until date of an exception the spec or the server holds for the
	// member that does not keep them, and whether it lapsed.
	ExceptionUntil  string `json:"exception_until,omitempty"`
	ExceptionLapsed bool   `json:"exception_lapsed,omitempty"`
}

// NotComputed names what a trace leaves to `scimsync plan`: the gates
// that count over the whole tenant, or compare one person's address with
// everyone else's. A trace plans only the people it traces.
var NotComputed = []string{
	string(diff.FindingOvercommit),
	string(diff.FindingMaxRemovals),
	string(diff.FindingMaxRemovalPercent),
	string(diff.FindingEmptyGroup),
	string(diff.FindingOwnerGroups),
	string(diff.FindingLookalikeEmails),
}

// personal reports whether a finding of kind k is about one person and
// follows from that person's own resolution (exclusiveOrgs, a protected
// user's removal): the findings a trace reports.
func personal(k diff.FindingKind) bool {
	return k == diff.FindingExclusiveOrgs || k == diff.FindingProtectedUser
}

// Input is what Explain reads: the spec, the tenant read for it, and the
// plan computed from both at Now.
//
// Tenant may be tenant.Restrict of the whole tenant for the emails traced
// (or more), and Plan the plan of that: Addresses then holds every
// address of the whole tenant, for the suggestions of an email that
// matches no one (tenant.Focused). When Addresses is nil, the suggestions
// come from Tenant.
type Input struct {
	Spec      *spec.Spec
	Tenant    *tenant.Tenant
	Plan      *diff.Plan
	Now       time.Time
	Addresses []string
}

// Explain traces each email. It reads each list of the tenant once for all
// of them.
func Explain(in Input, emails []string) ([]Report, error) {
	if in.Spec == nil || in.Tenant == nil || in.Plan == nil {
		return nil, fmt.Errorf("explaining: nil spec, tenant or plan")
	}
	x := newTracer(in)
	found := x.find(emails)
	wanted := map[string]bool{}
	for _, f := range found {
		for _, u := range f.users {
			wanted[u.ID] = true
		}
	}
	x.index(wanted)
	out := make([]Report, 0, len(emails))
	for i, e := range emails {
		out = append(out, x.trace(e, found[i]))
	}
	return out, nil
}

// person is what holds one email: the users matching it and the members
// holding it or linked to those users.
type person struct {
	key     string
	users   []UserMatch
	members []*resolve.Member
}

// find matches every email in one pass over the members and one over the
// users, and a second over the members for those linked to the users.
func (x *tracer) find(emails []string) []person {
	t := x.in.Tenant
	out := make([]person, len(emails))
	byKey := map[string][]int{}
	for i, e := range emails {
		out[i].key = match.Email(e)
		byKey[out[i].key] = append(byKey[out[i].key], i)
	}
	linked := map[string][]int{} // user id → persons whose member links it
	for k := range t.Members {
		m := &t.Members[k]
		for _, i := range byKey[match.Email(m.Email)] {
			out[i].members = append(out[i].members, m)
			if m.UserID != "" {
				linked[m.UserID] = append(linked[m.UserID], i)
			}
		}
	}
	matchedBy := map[string][]int{} // user id → persons it matches
	for k := range t.Users {
		u := &t.Users[k]
		if !x.touches(u, byKey, linked) {
			continue
		}
		hits := map[int][]string{}
		for _, i := range byKey[match.Email(u.UserName)] {
			hits[i] = append(hits[i], ByUserName)
		}
		for _, e := range u.Emails {
			for _, i := range byKey[match.Email(e)] {
				if !slices.Contains(hits[i], ByEmails) {
					hits[i] = append(hits[i], ByEmails)
				}
			}
		}
		for _, i := range linked[u.ID] {
			hits[i] = append(hits[i], ByMemberLink)
		}
		for i, by := range hits {
			out[i].users = append(out[i].users, UserMatch{ID: u.ID, UserName: u.UserName, Active: u.Active, By: by})
			matchedBy[u.ID] = append(matchedBy[u.ID], i)
		}
	}
	// A member linked to a matched user holds the person's seat too, under
	// another address.
	for k := range t.Members {
		m := &t.Members[k]
		if m.UserID == "" {
			continue
		}
		for _, i := range matchedBy[m.UserID] {
			if !slices.Contains(out[i].members, m) {
				out[i].members = append(out[i].members, m)
			}
		}
	}
	for i := range out {
		slices.SortFunc(out[i].users, func(a, b UserMatch) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out
}

// touches reports whether u matches one of the emails or is linked to one
// of their members, without allocating for the many users that do not.
func (x *tracer) touches(u *resolve.User, byKey map[string][]int, linked map[string][]int) bool {
	if _, ok := byKey[match.Email(u.UserName)]; ok {
		return true
	}
	for _, e := range u.Emails {
		if _, ok := byKey[match.Email(e)]; ok {
			return true
		}
	}
	_, ok := linked[u.ID]
	return ok
}

// index records, in one pass over the groups' members, the groups holding
// each wanted user and each group directly.
func (x *tracer) index(wanted map[string]bool) {
	x.parents = map[string][]string{}
	for _, g := range x.in.Tenant.Groups {
		for _, m := range g.Members {
			if wanted[m] {
				x.parents[m] = append(x.parents[m], g.ID)
			} else if _, isGroup := x.groups[m]; isGroup {
				x.parents[m] = append(x.parents[m], g.ID)
			}
		}
	}
	for k, ps := range x.parents {
		slices.SortFunc(ps, func(a, b string) int { return cmp.Or(cmp.Compare(x.groupName(a), x.groupName(b)), cmp.Compare(a, b)) })
		x.parents[k] = slices.Compact(ps)
	}
}

// desiredOrg is one child org's desired configuration.
type desiredOrg struct {
	org        *resolve.Org
	name       string // as the plan names it: match.Name of the server's name
	managed    bool
	mappings   []resolve.Mapping
	exceptions []resolve.Exception
	// server holds the server's exceptions of an org the spec names
	// (exceptions holds the spec's then).
	server []resolve.Exception
}

type tracer struct {
	in     Input
	groups map[string]*resolve.Group
	// parents maps an id (a wanted user or a group) to the groups holding
	// it directly: see index.
	parents map[string][]string
	orgs    []desiredOrg // sorted by name
	userIdx map[string]int
}

func newTracer(in Input) *tracer {
	t := in.Tenant
	x := &tracer{in: in,
		groups: make(map[string]*resolve.Group, len(t.Groups)), userIdx: make(map[string]int, len(t.Users))}
	byName := map[string][]string{}
	for i := range t.Groups {
		g := &t.Groups[i]
		x.groups[g.ID] = g
		byName[match.Name(g.DisplayName)] = append(byName[match.Name(g.DisplayName)], g.ID)
	}
	for i := range t.Users {
		x.userIdx[t.Users[i].ID] = i
	}
	specOrg := map[string]*spec.Organization{}
	for i := range in.Spec.Organizations {
		so := &in.Spec.Organizations[i]
		specOrg[match.Name(so.Name)] = so
	}
	for i := range t.Orgs {
		o := &t.Orgs[i]
		d := desiredOrg{org: o, name: match.Name(o.Name), mappings: o.Mappings, exceptions: o.Exceptions}
		if so, ok := specOrg[match.Name(o.Name)]; ok {
			d.managed = true
			d.mappings = nil
			for _, m := range so.Mappings {
				gid := m.GroupID
				if gid == "" {
					if ids := byName[match.Name(m.Group)]; len(ids) == 1 {
						gid = ids[0]
					}
				}
				if gid != "" {
					d.mappings = append(d.mappings, resolve.Mapping{GroupID: gid, Role: resolve.Role(m.Role), SeatTier: m.SeatTier})
				}
			}
			d.server, d.exceptions = o.Exceptions, nil
			for _, e := range in.Spec.Policy.Exceptions {
				if match.SameName(e.Org, o.Name) {
					d.exceptions = append(d.exceptions, resolve.Exception{Email: e.Email, Until: e.Until, Reason: e.Reason})
				}
			}
		}
		x.orgs = append(x.orgs, d)
	}
	slices.SortFunc(x.orgs, func(a, b desiredOrg) int { return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.org.ID, b.org.ID)) })
	return x
}

// upward returns the groups holding id directly (id is a group, or a user
// index was given).
func (x *tracer) upward(id string) []string { return x.parents[id] }

func (x *tracer) groupName(id string) string {
	if g, ok := x.groups[id]; ok {
		return g.DisplayName
	}
	return id + " (deleted group)"
}

func (x *tracer) trace(email string, f person) Report {
	t := x.in.Tenant
	key := f.key
	rep := Report{Email: email, Users: []UserMatch{}, Orgs: []OrgTrace{}, Findings: []diff.Finding{}}
	users, members := f.users, f.members
	for i := range users {
		users[i].Paths, users[i].PathsCut = x.paths(users[i].ID)
	}
	if users != nil {
		rep.Users = users
	}
	for _, p := range x.in.Spec.Policy.ProtectedUsers {
		if match.Email(p) == key {
			rep.Protected = true
		}
	}

	// Per org: which users are entitled.
	entitledIn := map[string]bool{}
	traces := make([]OrgTrace, 0, len(x.orgs))
	for _, d := range x.orgs {
		ot := OrgTrace{Org: d.name, Managed: d.managed, Mappings: []MappingMatch{}}
		for _, u := range users {
			for _, m := range d.mappings {
				if _, ok := x.groups[m.GroupID]; !ok {
					continue
				}
				if path := x.pathTo(u.ID, m.GroupID); path != nil {
					ot.Mappings = append(ot.Mappings, MappingMatch{Group: x.groupName(m.GroupID), GroupID: m.GroupID, Role: string(m.Role), SeatTier: m.SeatTier, Path: path, UserID: u.ID, Active: u.Active})
				}
			}
		}
		for _, m := range d.mappings {
			if _, ok := x.groups[m.GroupID]; !ok && !slices.Contains(ot.DeletedGroups, m.GroupID) {
				ot.DeletedGroups = append(ot.DeletedGroups, m.GroupID)
			}
		}
		ot.Entitled = x.entitlement(d, ot.Mappings)
		if ot.Entitled != nil {
			entitledIn[d.org.ID] = true
		}
		for _, m := range members {
			if m.Org == d.org.ID {
				ot.Member = &Member{Email: m.Email, Role: string(m.Role), SeatTier: m.SeatTier, Origin: string(m.Origin), UserID: m.UserID}
				ot.PrimaryOwner = m.Role == resolve.RolePrimaryOwner
				break
			}
		}
		covers := func(e resolve.Exception) bool {
			return match.Email(e.Email) == key || (ot.Member != nil && match.Email(e.Email) == match.Email(ot.Member.Email))
		}
		for _, e := range d.exceptions {
			if covers(e) {
				src := "server"
				if d.managed {
					src = "spec"
				}
				ot.Exception = &Exception{Until: e.Until, Reason: e.Reason, Lapsed: spec.Lapsed(e.Until, x.in.Now), Source: src}
			}
		}
		for _, e := range d.server {
			if !covers(e) {
				continue
			}
			if action := x.exceptionWrite(d, e.Email); action != "" {
				ot.ServerException = &Exception{Until: e.Until, Reason: e.Reason, Lapsed: spec.Lapsed(e.Until, x.in.Now), Source: "server", Plan: action}
			}
		}
		ot.Plan, ot.Full = x.effects(d, key, ot)
		if len(ot.Mappings) > 0 || ot.Member != nil || ot.Exception != nil || ot.ServerException != nil || ot.Plan.Action != ActionNone {
			traces = append(traces, ot)
		}
	}
	if x.in.Spec.Policy.ExclusiveOrgs {
		var names []string
		for _, ot := range traces {
			if ot.Entitled != nil {
				names = append(names, ot.Org)
			}
		}
		for i := range traces {
			others := []string{}
			for _, n := range names {
				if n != traces[i].Org {
					others = append(others, n)
				}
			}
			traces[i].ExclusiveOrgs = &Exclusive{InPlay: traces[i].Entitled != nil && len(others) > 0, Others: others}
		}
	}
	rep.Orgs = traces

	emails := map[string]bool{key: true}
	for _, m := range members {
		emails[match.Email(m.Email)] = true
	}
	for _, f := range x.in.Plan.Findings {
		if personal(f.Kind) && f.Email != "" && emails[match.Email(f.Email)] {
			rep.Findings = append(rep.Findings, f)
		}
	}
	rep.Found = len(users) > 0 || len(members) > 0 || rep.Protected || len(traces) > 0
	if !rep.Found {
		// Candidates under Email's folding, each once.
		seen := map[string]bool{}
		var cands []string
		n := len(key)
		add := func(e string) {
			// Closest keeps what is within three edits (of at most four
			// bytes each), or holds the address: skip what cannot be,
			// cheaply.
			if l := len(e); l < n-12 || (l > n+12 && !strings.Contains(match.Email(e), key)) {
				return
			}
			if far(key, e) {
				return
			}
			if k := match.Email(e); k != "" && !seen[k] {
				seen[k] = true
				cands = append(cands, k)
			}
		}
		if x.in.Addresses != nil {
			for _, a := range x.in.Addresses {
				add(a)
			}
		} else {
			tenant.EachAddress(t.Users, t.Members, add)
		}
		rep.Suggestions = match.Closest(email, cands, 3)
	}
	return rep
}

// exceptionWrite says what the plan does to the server's exception for
// email in d, as its config changes say: diff.ActionRemove when it writes
// the org's exceptions without it, diff.ActionChange when it writes another
// in its place, "" when it leaves it.
func (x *tracer) exceptionWrite(d desiredOrg, email string) diff.Action {
	for _, c := range x.in.Plan.ConfigChanges {
		if c.Field != diff.FieldException || c.Org != d.name || c.Before == "" || !match.SameEmail(c.Key, email) {
			continue
		}
		if c.After == "" {
			return diff.ActionRemove
		}
		return diff.ActionChange
	}
	return ""
}

// entitlement resolves the role and tier as resolution does: among the
// mappings whose group holds an active matched user, the first in the
// org's order granting the highest role (and tier). With two matched
// users, the first by id that is entitled decides.
func (x *tracer) entitlement(d desiredOrg, ms []MappingMatch) *Entitlement {
	// The desired tier order is the spec's, as the plan's.
	rank := map[string]int{}
	for i, t := range x.in.Spec.Parent.SeatTiers {
		rank[t] = i + 1
	}
	var e *Entitlement
	var roleRank, tierRank int
	for _, m := range ms {
		if !m.Active || !resolve.Role(m.Role).Grantable() {
			continue
		}
		if e != nil && m.UserID != e.UserID {
			continue
		}
		if e == nil {
			e = &Entitlement{UserID: m.UserID, Role: m.Role, SeatTier: m.SeatTier, RoleGroup: m.Group, TierGroup: m.Group}
			roleRank, tierRank = resolve.Role(m.Role).Rank(), rank[m.SeatTier]
			continue
		}
		if r := resolve.Role(m.Role).Rank(); r > roleRank {
			e.Role, e.RoleGroup, roleRank = m.Role, m.Group, r
		}
		if r := rank[m.SeatTier]; r > tierRank {
			e.SeatTier, e.TierGroup, tierRank = m.SeatTier, m.Group, r
		}
	}
	return e
}

// effects reads what the plan does to the person in d, and what full
// enablement would do (the plan's readiness), with the reason.
func (x *tracer) effects(d desiredOrg, key string, ot OrgTrace) (planned, full Effect) {
	p := x.in.Plan
	emails := map[string]bool{key: true}
	if ot.Member != nil {
		emails[match.Email(ot.Member.Email)] = true
	}
	planned = Effect{Action: ActionNone}
	for _, mc := range p.Members {
		if mc.Org == d.name && emails[match.Email(mc.Email)] && mc.Action != diff.ActionFlag {
			planned = Effect{Action: mc.Action, Before: mc.Before, After: mc.After, Reason: mc.Reason, Via: mc.Via}
			break
		}
	}
	if planned.Action == ActionNone && ot.Member != nil {
		planned = Effect{Action: ActionKeep, Before: assignment(ot.Member), After: assignment(ot.Member), Reason: keepReason(p.Mode.After, ot)}
	}

	for _, r := range p.Readiness {
		if r.Org != d.name {
			continue
		}
		for _, w := range r.WouldRemove {
			if emails[match.Email(w.Email)] {
				return planned, Effect{Action: diff.ActionRemove, Before: assignment(ot.Member), Reason: w.Reason,
					ExceptionUntil: w.ExceptionUntil, ExceptionLapsed: w.ExceptionLapsed}
			}
		}
	}
	switch {
	case ot.Member != nil && ot.PrimaryOwner:
		full = Effect{Action: ActionKeep, Before: assignment(ot.Member), After: assignment(ot.Member), Reason: "the primary owner is never removed or re-roled"}
	case ot.Entitled != nil:
		after := &diff.Assignment{Role: ot.Entitled.Role, SeatTier: ot.Entitled.SeatTier, Origin: string(resolve.OriginSCIM)}
		via := ot.Entitled.RoleGroup
		switch {
		case ot.Member == nil:
			full = Effect{Action: diff.ActionAdd, After: after, Reason: "entitled", Via: via}
		case ot.Member.Role != after.Role || ot.Member.SeatTier != after.SeatTier:
			full = Effect{Action: diff.ActionChange, Before: assignment(ot.Member), After: after, Reason: "entitled", Via: via}
		case ot.Member.Origin != string(resolve.OriginSCIM):
			full = Effect{Action: diff.ActionLink, Before: assignment(ot.Member), After: after, Reason: "entitled: linked to its SCIM user", Via: via}
		default:
			full = Effect{Action: ActionKeep, Before: assignment(ot.Member), After: after, Reason: "entitled", Via: via}
		}
	case ot.Member != nil && ot.Exception != nil && !ot.Exception.Lapsed:
		full = Effect{Action: ActionKeep, Before: assignment(ot.Member), After: assignment(ot.Member), Reason: "kept by an exception until " + ot.Exception.Until}
	case ot.Member != nil:
		// Readiness lists every removal; a member it does not list stays.
		full = Effect{Action: ActionKeep, Before: assignment(ot.Member), After: assignment(ot.Member)}
	default:
		full = Effect{Action: ActionNone, Reason: "not a member and not entitled"}
	}
	return planned, full
}

// keepReason says why a member the plan does not change stays, as far as
// the trace tells.
func keepReason(mode string, ot OrgTrace) string {
	switch {
	case ot.PrimaryOwner:
		return "the primary owner is never removed or re-roled"
	case ot.Entitled != nil:
		return "entitled as " + ot.Entitled.Role + "/" + ot.Entitled.SeatTier
	case mode == string(spec.ModeJIT):
		return "mode jit: SCIM changes nobody"
	case ot.Exception != nil && !ot.Exception.Lapsed:
		return "kept by an exception until " + ot.Exception.Until
	case mode == string(spec.ModeStaged) && ot.Member.Origin != string(resolve.OriginSCIM):
		return "mode staged keeps " + ot.Member.Origin + " members"
	}
	return ""
}

func assignment(m *Member) *diff.Assignment {
	if m == nil {
		return nil
	}
	return &diff.Assignment{Role: m.Role, SeatTier: m.SeatTier, Origin: m.Origin}
}

// paths lists the group paths of id: from each group holding it directly,
// up through the groups holding that one, cycle-safe, at most MaxPaths.
func (x *tracer) paths(id string) ([][]string, bool) {
	out := [][]string{}
	cut := false
	var climb func(path []string, onPath map[string]bool)
	climb = func(path []string, onPath map[string]bool) {
		if len(out) >= MaxPaths {
			cut = true
			return
		}
		last := path[len(path)-1]
		var next []string
		for _, g := range x.upward(last) {
			if !onPath[g] {
				next = append(next, g)
			}
		}
		if len(next) == 0 {
			names := make([]string, len(path))
			for i, g := range path {
				names[i] = x.groupName(g)
			}
			out = append(out, names)
			return
		}
		for _, g := range next {
			onPath[g] = true
			climb(append(slices.Clone(path), g), onPath)
			delete(onPath, g)
		}
	}
	for _, g := range x.upward(id) {
		climb([]string{g}, map[string]bool{g: true})
	}
	return out, cut
}

// pathTo returns the shortest path of group names from a group holding
// user id directly to the group target, nil when target does not hold the
// user.
func (x *tracer) pathTo(id, target string) []string {
	prev := map[string]string{}
	var queue []string
	for _, g := range x.upward(id) {
		if _, seen := prev[g]; !seen {
			prev[g] = ""
			queue = append(queue, g)
		}
	}
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if g == target {
			var path []string
			for at := g; at != ""; at = prev[at] {
				path = append(path, x.groupName(at))
			}
			slices.Reverse(path)
			return path
		}
		for _, p := range x.upward(g) {
			if _, seen := prev[p]; !seen {
				prev[p] = g
				queue = append(queue, p)
			}
		}
	}
	return nil
}

// far reports whether the ASCII address cand is certainly more than three
// edits from the ASCII key and does not hold it: an insertion or a deletion
// changes the byte histogram by one, a substitution by two, so histograms
// more than six apart are more than three edits apart. It is false when
// either is not ASCII (Closest decides then).
func far(key, cand string) bool {
	var h [128]int16
	for i := 0; i < len(key); i++ {
		if key[i] >= 128 {
			return false
		}
		h[key[i]]++
	}
	for i := 0; i < len(cand); i++ {
		c := cand[i]
		if c >= 128 {
			return false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h[c]--
	}
	d := 0
	for _, v := range h {
		if v < 0 {
			v = -v
		}
		d += int(v)
	}
	return d > 6 && len(cand) <= len(key)+3
}
