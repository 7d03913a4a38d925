package resolve

import (
	"cmp"
	"slices"
	"time"
)

// Input is everything resolution reads. Orgs are the child organizations;
// the mode that applies to them is Parent.Mode. Groups need Members only for
// the groups that mappings reference and those nested in them.
type Input struct {
	Users   []User
	Groups  []Group
	Parent  Org
	Orgs    []Org
	Members []Member
	// Now decides which exceptions are live: an exception holds through its
	// Until date, inclusive, in UTC.
	Now time.Time
}

// Action is what resolution does to one member.
type Action string

// Actions. A link changes only a member's origin (a jit or manual member
// becoming backed by its SCIM user) and is not counted as a change.
const (
	ActionKeep   Action = "keep"
	ActionAdd    Action = "add"
	ActionChange Action = "change"
	ActionLink   Action = "link"
	ActionRemove Action = "remove"
)

// Entitlement says that an active SCIM user is entitled in a child
// organization, with the role and tier its mappings give. RoleGroup and
// TierGroup are the ids of the groups whose mappings decide them: the first
// mapping, in the organization's order, that grants the highest role
// (respectively tier).
type Entitlement struct {
	Org       string
	UserID    string
	Email     string
	Role      Role
	SeatTier  string
	RoleGroup string
	TierGroup string
}

// Outcome is the fate of one member, existing or new. Before is nil for an
// addition and After is nil for a removal, which then carries Reason.
type Outcome struct {
	Org       string
	Email     string
	Action    Action
	Before    *Member
	After     *Member
	Reason    string
	RoleGroup string
	TierGroup string
}

// Result is what resolution yields. Members, Outcomes and Entitled are sorted
// by organization id, then email.
type Result struct {
	Members  []Member
	Outcomes []Outcome
	Entitled []Entitlement
	// GroupUsers counts, for every group a mapping references, the distinct
	// active users it holds directly or through nested groups. A mapped group
	// that no longer exists is absent.
	GroupUsers map[string]int
}

// Resolve applies the rules of DESIGN §5 to in and returns the members that
// result. It is pure and deterministic: resolving its own result again (with
// the resulting members as input) changes nothing.
func Resolve(in Input) Result {
	r := newResolver(in)
	res := Result{GroupUsers: map[string]int{}}
	for gid := range r.mappedGroups() {
		if _, ok := r.groups[gid]; !ok {
			continue
		}
		n := 0
		for _, uid := range r.expand(gid) {
			if r.users[uid].Active {
				n++
			}
		}
		res.GroupUsers[gid] = n
	}
	orgs := slices.Clone(in.Orgs)
	slices.SortFunc(orgs, func(a, b Org) int { return cmp.Compare(a.ID, b.ID) })
	byOrg := map[string][]Member{}
	for _, m := range in.Members {
		byOrg[m.Org] = append(byOrg[m.Org], m)
	}
	for _, o := range orgs {
		ent := r.entitlements(o)
		res.Entitled = append(res.Entitled, ent...)
		res.Outcomes = append(res.Outcomes, r.resolveOrg(o, ent, byOrg[o.ID])...)
	}
	// Members of organizations the input does not know are left alone.
	known := map[string]bool{}
	for _, o := range orgs {
		known[o.ID] = true
	}
	for _, m := range in.Members {
		if !known[m.Org] {
			m := m
			res.Outcomes = append(res.Outcomes, Outcome{Org: m.Org, Email: NormEmail(m.Email), Action: ActionKeep, Before: &m, After: &m})
		}
	}
	slices.SortStableFunc(res.Outcomes, func(a, b Outcome) int {
		return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Email, b.Email))
	})
	for _, oc := range res.Outcomes {
		if oc.After != nil {
			res.Members = append(res.Members, *oc.After)
		}
	}
	return res
}

type resolver struct {
	in       Input
	today    string
	users    map[string]*User
	byEmail  map[string][]*User // normalized email → users holding it, by id
	groups   map[string]*Group
	tierRank map[string]int
	expanded map[string][]string
}

func newResolver(in Input) *resolver {
	r := &resolver{
		in:       in,
		today:    in.Now.UTC().Format(time.DateOnly),
		users:    make(map[string]*User, len(in.Users)),
		byEmail:  make(map[string][]*User, len(in.Users)),
		groups:   make(map[string]*Group, len(in.Groups)),
		tierRank: map[string]int{},
		expanded: map[string][]string{},
	}
	users := make([]*User, len(in.Users))
	for i := range in.Users {
		users[i] = &in.Users[i]
	}
	slices.SortFunc(users, func(a, b *User) int { return cmp.Compare(a.ID, b.ID) })
	for _, u := range users {
		r.users[u.ID] = u
		for _, e := range UserEmails(*u) {
			r.byEmail[e] = append(r.byEmail[e], u)
		}
	}
	for i := range in.Groups {
		r.groups[in.Groups[i].ID] = &in.Groups[i]
	}
	for i, t := range in.Parent.SeatTiers {
		r.tierRank[t] = i + 1
	}
	return r
}

// UserEmails returns a user's normalized emails, de-duplicated, in order:
// userName first when it looks like an email, then emails[].
func UserEmails(u User) []string {
	var out []string
	add := func(s string) {
		s = NormEmail(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if containsAt(u.UserName) {
		add(u.UserName)
	}
	for _, e := range u.Emails {
		add(e)
	}
	if len(out) == 0 {
		add(u.UserName)
	}
	return out
}

// CanonicalEmail is the email a new member gets for u: its userName when that
// is an email address, else its first email (the primary one, if any).
func CanonicalEmail(u User) string {
	if es := UserEmails(u); len(es) > 0 {
		return es[0]
	}
	return ""
}

func containsAt(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			return true
		}
	}
	return false
}

func (r *resolver) mappedGroups() map[string]bool {
	out := map[string]bool{}
	for _, o := range r.in.Orgs {
		for _, m := range o.Mappings {
			out[m.GroupID] = true
		}
	}
	return out
}

// expand returns the ids of the users in group gid, directly or through
// nested groups, sorted. Cycles are cut: a group is visited once per
// expansion.
func (r *resolver) expand(gid string) []string {
	if us, ok := r.expanded[gid]; ok {
		return us
	}
	seenGroups := map[string]bool{gid: true}
	seenUsers := map[string]bool{}
	var out []string
	stack := []string{gid}
	for len(stack) > 0 {
		g := r.groups[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if g == nil {
			continue
		}
		for _, id := range g.Members {
			if _, isGroup := r.groups[id]; isGroup {
				if !seenGroups[id] {
					seenGroups[id] = true
					stack = append(stack, id)
				}
				continue
			}
			if _, isUser := r.users[id]; isUser && !seenUsers[id] {
				seenUsers[id] = true
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	r.expanded[gid] = out
	return out
}

// entitlements lists the active users entitled in o, sorted by email.
func (r *resolver) entitlements(o Org) []Entitlement {
	byUser := map[string]*Entitlement{}
	var order []string
	for _, m := range o.Mappings {
		if _, ok := r.groups[m.GroupID]; !ok || !m.Role.Grantable() {
			continue
		}
		for _, uid := range r.expand(m.GroupID) {
			u := r.users[uid]
			if !u.Active {
				continue
			}
			e, ok := byUser[uid]
			if !ok {
				e = &Entitlement{Org: o.ID, UserID: uid, Email: CanonicalEmail(*u), Role: m.Role, SeatTier: m.SeatTier, RoleGroup: m.GroupID, TierGroup: m.GroupID}
				byUser[uid] = e
				order = append(order, uid)
				continue
			}
			if m.Role.Rank() > e.Role.Rank() {
				e.Role, e.RoleGroup = m.Role, m.GroupID
			}
			if r.tierRank[m.SeatTier] > r.tierRank[e.SeatTier] {
				e.SeatTier, e.TierGroup = m.SeatTier, m.GroupID
			}
		}
	}
	out := make([]Entitlement, 0, len(order))
	for _, uid := range order {
		out = append(out, *byUser[uid])
	}
	slices.SortFunc(out, func(a, b Entitlement) int {
		return cmp.Or(cmp.Compare(a.Email, b.Email), cmp.Compare(a.UserID, b.UserID))
	})
	return out
}

func (r *resolver) resolveOrg(o Org, ent []Entitlement, members []Member) []Outcome {
	var out []Outcome
	mode := r.in.Parent.Mode
	if mode != ModeStaged && mode != ModeFull {
		// jit: SCIM changes nobody.
		for i := range members {
			m := &members[i]
			out = append(out, Outcome{Org: o.ID, Email: NormEmail(m.Email), Action: ActionKeep, Before: m, After: m})
		}
		return out
	}
	byEmail := map[string][]int{}
	byUserID := map[string]int{}
	for i, m := range members {
		byEmail[NormEmail(m.Email)] = append(byEmail[NormEmail(m.Email)], i)
		if m.Origin == OriginSCIM && m.UserID != "" {
			if _, dup := byUserID[m.UserID]; !dup {
				byUserID[m.UserID] = i
			}
		}
	}
	// Match entitled users to existing members in three passes, so that no
	// user's alias takes a member that another user holds more directly:
	// first a scim member linked to the user's id, then a member holding the
	// user's canonical email, then one holding any other of its emails.
	matched := make([]bool, len(members))
	match := make([]int, len(ent))
	for k := range match {
		match[k] = -1
	}
	claim := func(k, i int) {
		match[k] = i
		matched[i] = true
	}
	for k, e := range ent {
		if i, ok := byUserID[e.UserID]; ok && !matched[i] {
			claim(k, i)
		}
	}
	for k, e := range ent {
		if match[k] >= 0 {
			continue
		}
		for _, i := range byEmail[e.Email] {
			if !matched[i] {
				claim(k, i)
				break
			}
		}
	}
	for k, e := range ent {
		if match[k] >= 0 {
			continue
		}
	aliases:
		for _, em := range UserEmails(*r.users[e.UserID]) {
			for _, i := range byEmail[em] {
				if !matched[i] {
					claim(k, i)
					break aliases
				}
			}
		}
	}
	taken := map[string]bool{} // emails held by a resulting member
	for k, e := range ent {
		idx := match[k]
		if idx < 0 {
			if taken[e.Email] || len(byEmail[e.Email]) > 0 {
				// Another user already holds this email here.
				continue
			}
			taken[e.Email] = true
			after := &Member{Org: o.ID, Email: e.Email, UserID: e.UserID, Role: e.Role, SeatTier: e.SeatTier, Origin: OriginSCIM, LastModified: r.in.Now}
			out = append(out, Outcome{Org: o.ID, Email: e.Email, Action: ActionAdd, After: after, RoleGroup: e.RoleGroup, TierGroup: e.TierGroup})
			continue
		}
		before := &members[idx]
		email := NormEmail(before.Email)
		taken[email] = true
		if before.Role == RolePrimaryOwner {
			out = append(out, Outcome{Org: o.ID, Email: email, Action: ActionKeep, Before: before, After: before})
			continue
		}
		after := *before
		after.Origin, after.UserID, after.Role, after.SeatTier = OriginSCIM, e.UserID, e.Role, e.SeatTier
		act := ActionKeep
		switch {
		case after.Role != before.Role || after.SeatTier != before.SeatTier:
			act = ActionChange
		case after.Origin != before.Origin || after.UserID != before.UserID:
			act = ActionLink
		}
		if act == ActionKeep {
			out = append(out, Outcome{Org: o.ID, Email: email, Action: act, Before: before, After: before, RoleGroup: e.RoleGroup, TierGroup: e.TierGroup})
			continue
		}
		after.LastModified = r.in.Now
		out = append(out, Outcome{Org: o.ID, Email: email, Action: act, Before: before, After: &after, RoleGroup: e.RoleGroup, TierGroup: e.TierGroup})
	}
	for i := range members {
		if matched[i] {
			continue
		}
		m := &members[i]
		email := NormEmail(m.Email)
		keep := m.Role == RolePrimaryOwner ||
			(mode == ModeStaged && m.Origin != OriginSCIM) ||
			(mode == ModeFull && r.liveException(o, email))
		if keep {
			out = append(out, Outcome{Org: o.ID, Email: email, Action: ActionKeep, Before: m, After: m})
			continue
		}
		out = append(out, Outcome{Org: o.ID, Email: email, Action: ActionRemove, Before: m, Reason: r.reason(o, m, mode)})
	}
	return out
}

// liveException reports whether an unexpired exception of o covers email.
func (r *resolver) liveException(o Org, email string) bool {
	for _, x := range o.Exceptions {
		if NormEmail(x.Email) == email && validDate(x.Until) && x.Until >= r.today {
			return true
		}
	}
	return false
}

func (r *resolver) hasException(o Org, email string) bool {
	for _, x := range o.Exceptions {
		if NormEmail(x.Email) == email {
			return true
		}
	}
	return false
}

// reason says why m, not entitled in o, is removed.
func (r *resolver) reason(o Org, m *Member, mode Mode) string {
	email := NormEmail(m.Email)
	if mode == ModeFull && r.hasException(o, email) {
		return ReasonExceptionExpired
	}
	var u *User
	if m.UserID != "" {
		u = r.users[m.UserID]
	}
	if u == nil {
		if us := r.byEmail[email]; len(us) > 0 {
			u = us[0]
			for _, c := range us {
				if c.Active {
					u = c
					break
				}
			}
		}
	}
	switch {
	case u == nil:
		return ReasonNotProvisioned
	case !u.Active:
		return ReasonInactive
	}
	for _, mp := range o.Mappings {
		if _, ok := r.groups[mp.GroupID]; !ok {
			return ReasonGroupDeleted
		}
	}
	return ReasonNoMappedGroup
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
