package resolve

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/scimsync/scimsync/internal/match"
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
	// Directory, when set and made of these Users and Groups (the same
	// slices), holds what resolution derives from them alone, shared with
	// the other resolutions that use it; see NewDirectory.
	Directory *Directory
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
// Before points into the members resolved, and so does After when the
// member stays exactly as it is.
type Outcome struct {
	Org       string
	Email     string
	Action    Action
	Before    *Member
	After     *Member
	Reason    Reason
	RoleGroup string
	TierGroup string
}

// Result is what resolution yields. Members, Outcomes and Entitled are sorted
// by organization id, then email. Members holds the After of every outcome
// that has one, in order.
type Result struct {
	Members  []Member
	Outcomes []Outcome
	Entitled []Entitlement
	// GroupUsers counts, for every group a mapping references, the distinct
	// active users it holds directly or through nested groups. A mapped group
	// that no longer exists is absent.
	GroupUsers map[string]int
	// Unresolved counts, for every group whose members resolution read (a
	// mapped group or one nested in it), its member ids that are neither a
	// user nor a group of the input: they entitle nobody. A group with
	// none is absent.
	Unresolved map[string]int
	// Excepted lists, under full mode, the members kept only because an
	// unexpired exception names them: no entitlement matched them, so once
	// the exception lapses they are removed. Sorted by organization id, then
	// email; empty under the other modes.
	Excepted []OrgEmail
}

// OrgEmail names a member by organization id and normalized email.
type OrgEmail struct{ Org, Email string }

// Resolve applies the rules of DESIGN §5 to in and returns the members that
// result. It is pure and deterministic: resolving its own result again (with
// the resulting members as input) changes nothing.
func Resolve(in Input) Result {
	return NewResolver(in).Resolve(in.Parent.Mode, in.Members)
}

// A Resolver resolves one configuration against members under a mode:
// Resolve(mode, members) is Resolve of its input with Parent.Mode set to mode
// and Members set to members. The users' side of resolution (the user index,
// group expansions and entitlements) depends on neither, so the first call
// computes it and later calls reuse it: a plan's simulation resolves the same
// configuration under two modes, or against the members of its previous step.
//
// A Resolver is not safe for concurrent use.
type Resolver struct {
	r    *resolver
	orgs []Org // the child orgs, sorted by id
	// Filled by the first Resolve: every org's entitlements in one list,
	// org k's at entitled[bounds[k]:bounds[k+1]], and the mapped groups'
	// sizes.
	prepared   bool
	entitled   []Entitlement
	bounds     []int
	groupUsers map[string]int
	unresolved map[string]int
}

// NewResolver returns a Resolver for in's users, groups, child orgs, parent
// (whose mode is ignored) and instant; in.Members is ignored too.
func NewResolver(in Input) *Resolver {
	in.Members, in.Parent.Mode = nil, ""
	orgs := slices.Clone(in.Orgs)
	slices.SortFunc(orgs, func(a, b Org) int { return cmp.Compare(a.ID, b.ID) })
	return &Resolver{r: newResolver(in), orgs: orgs}
}

// Resolve resolves members under mode. Results share Entitled, which the
// caller must not modify.
func (rv *Resolver) Resolve(mode Mode, members []Member) Result {
	r, orgs := rv.r, rv.orgs
	// The members' side (grouping them by organization and indexing each
	// organization's members by email and user id) does not depend on the
	// users' side: the first call runs them side by side, each on a core.
	var byOrg map[string][]*Member
	idx := make([]*memberIndex, len(orgs))
	index := func() {
		byOrg = groupMembers(members)
		if !scimDecides(mode) {
			return // jit: resolveOrg matches nobody
		}
		for k, o := range orgs {
			idx[k] = indexMembers(byOrg[o.ID])
		}
	}
	if rv.prepared {
		index()
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			index()
		}()
		rv.prepare()
		<-done
	}

	res := Result{Entitled: rv.entitled, GroupUsers: maps.Clone(rv.groupUsers), Unresolved: maps.Clone(rv.unresolved)}
	// Match every org's members first, so that the outcomes, one per
	// member and one per addition, are allocated once and exactly: at 100k
	// members, room for every entitlement besides cost 10 MB.
	matches := make([]orgMatch, len(orgs))
	n := len(members)
	for k, o := range orgs {
		matches[k] = r.matchOrg(o, mode, res.Entitled[rv.bounds[k]:rv.bounds[k+1]], byOrg[o.ID], idx[k])
		n += matches[k].additions
	}
	if n > 0 {
		res.Outcomes = make([]Outcome, 0, n)
	}
	for k, o := range orgs {
		res.Outcomes = r.resolveOrg(res.Outcomes, o, mode, res.Entitled[rv.bounds[k]:rv.bounds[k+1]], byOrg[o.ID], idx[k], matches[k])
		matches[k] = orgMatch{}
	}
	res.Excepted, r.excepted = r.excepted, nil
	slices.SortFunc(res.Excepted, func(a, b OrgEmail) int { return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Email, b.Email)) })
	// Members of organizations the input does not know are left alone.
	known := map[string]bool{}
	for _, o := range orgs {
		known[o.ID] = true
	}
	for i := range members {
		if m := &members[i]; !known[m.Org] {
			res.Outcomes = append(res.Outcomes, Outcome{Org: m.Org, Email: match.Email(m.Email), Action: ActionKeep, Before: m, After: m})
		}
	}
	slices.SortStableFunc(res.Outcomes, func(a, b Outcome) int {
		return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Email, b.Email))
	})
	kept := 0
	for _, oc := range res.Outcomes {
		if oc.After != nil {
			kept++
		}
	}
	if kept > 0 {
		res.Members = make([]Member, 0, kept)
	}
	for _, oc := range res.Outcomes {
		if oc.After != nil {
			res.Members = append(res.Members, *oc.After)
		}
	}
	return res
}

// Entitlements returns the part of Resolve's result that depends on
// neither the mode nor the members, Entitled and GroupUsers, without
// resolving any member.
func (rv *Resolver) Entitlements() Result {
	if !rv.prepared {
		rv.prepare()
	}
	return Result{Entitled: rv.entitled, GroupUsers: maps.Clone(rv.groupUsers), Unresolved: maps.Clone(rv.unresolved)}
}

// prepare computes the users' side: the mapped groups' sizes and every
// org's entitlements.
func (rv *Resolver) prepare() {
	r, orgs := rv.r, rv.orgs
	rv.prepared = true
	rv.groupUsers = map[string]int{}
	for gid := range r.mappedGroups() {
		if _, ok := r.groupOf[gid]; !ok {
			continue
		}
		n := 0
		for _, ui := range r.expand(gid) {
			if r.list[ui].Active {
				n++
			}
		}
		rv.groupUsers[gid] = n
	}
	// Every mapped group is expanded now: the unresolved members of the
	// groups their expansions read (each mapped group and those nested in
	// it) are this configuration's.
	for gid := range r.mappedGroups() {
		for _, g := range r.visited[gid] {
			if n := r.unresolved[g]; n > 0 {
				if rv.unresolved == nil {
					rv.unresolved = map[string]int{}
				}
				rv.unresolved[g] = n
			}
		}
	}
	// Room for every org's entitlements: at most the users an org's mapped
	// groups hold (their expansions are cached for what follows).
	room, most := 0, 0 // in all, and in the largest org
	for _, o := range orgs {
		n := 0
		for _, m := range o.Mappings {
			if _, ok := r.groupOf[m.GroupID]; ok && m.Role.Grantable() {
				n += len(r.expand(m.GroupID))
			}
		}
		room += min(n, len(r.list))
		most = max(most, min(n, len(r.list)))
	}
	if room > 0 {
		rv.entitled = make([]Entitlement, 0, room)
		r.grants = make([]grant, 0, most)
	}
	rv.bounds = make([]int, len(orgs)+1)
	for k, o := range orgs {
		rv.entitled = r.orgEntitlements(rv.entitled, o)
		rv.bounds[k+1] = len(rv.entitled)
	}
	if len(rv.entitled) == 0 {
		rv.entitled = nil
	}
	r.grants = nil
}

// groupMembers returns each organization's members, in order: pointers
// into members, which outcomes point to and nothing changes.
func groupMembers(members []Member) map[string][]*Member {
	count := map[string]int{}
	for _, m := range members {
		count[m.Org]++
	}
	all := make([]*Member, len(members))
	byOrg := make(map[string][]*Member, len(count))
	at := 0
	for i := range members {
		m := &members[i]
		if _, ok := byOrg[m.Org]; !ok {
			byOrg[m.Org] = all[at : at : at+count[m.Org]]
			at += count[m.Org]
		}
		byOrg[m.Org] = append(byOrg[m.Org], m)
	}
	return byOrg
}

// memberIndex finds an organization's members by normalized email and by
// SCIM user id. It depends on the members alone, so it is built beside the
// entitlements.
type memberIndex struct {
	// norm holds each member's normalized email. The members holding an
	// email, in order: the first at byEmail[email], each next one at
	// next[i] (-1 ends).
	norm    []string
	byEmail map[string]int
	next    []int
	// byUserID maps a user id to the first scim member linked to it.
	byUserID map[string]int
}

func indexMembers(members []*Member) *memberIndex {
	x := &memberIndex{
		norm:    make([]string, len(members)),
		byEmail: make(map[string]int, len(members)),
		next:    make([]int, len(members)),
	}
	// The two maps are independent: a large organization's are built
	// side by side.
	byUserID := func() {
		x.byUserID = make(map[string]int, len(members))
		for i, m := range members {
			if m.Origin == OriginSCIM && m.UserID != "" {
				if _, dup := x.byUserID[m.UserID]; !dup {
					x.byUserID[m.UserID] = i
				}
			}
		}
	}
	var done chan struct{}
	if len(members) >= 1<<12 {
		done = make(chan struct{})
		go func() {
			defer close(done)
			byUserID()
		}()
	} else {
		byUserID()
	}
	for i := len(members) - 1; i >= 0; i-- {
		x.norm[i] = match.Email(members[i].Email)
		x.next[i] = -1
		if h, ok := x.byEmail[x.norm[i]]; ok {
			x.next[i] = h
		}
		x.byEmail[x.norm[i]] = i
	}
	if done != nil {
		<-done
	}
	return x
}

// holders returns the first member holding email, -1 if none.
func (x *memberIndex) holders(email string) int {
	if h, ok := x.byEmail[email]; ok {
		return h
	}
	return -1
}

type resolver struct {
	in    Input
	today string
	*directory
	tierRank map[string]int
	// grants is entitlements' scratch list, kept for the next org.
	grants []grant
	// chunk holds the members newMember made, with room for more.
	chunk []Member
	// excepted collects Result.Excepted while Resolve runs.
	excepted []OrgEmail
}

// A Directory holds what resolution derives from users and groups alone
// (issue 18): the users by id, their normalized emails, the groups'
// expansions into users, and each organization's entitlements under a
// given configuration. Resolutions of one tenant under several
// configurations (the steps of a plan, its readiness report) share it
// through Input.Directory, so that each of these is computed once: an
// organization whose mappings and the parent's seat tiers are those of an
// earlier resolution gets that resolution's entitlements.
//
// A Directory is not safe for concurrent use: the resolutions that share
// it run one at a time.
type Directory struct{ d *directory }

// NewDirectory returns an empty Directory for users and groups; it fills
// as resolutions use it.
func NewDirectory(users []User, groups []Group) *Directory {
	return &Directory{d: newDirectory(users, groups)}
}

type directory struct {
	users  []User
	groups []Group
	// list holds the users sorted by id, and userIdx maps an id to its
	// index there (the last, should two users share an id). Resolution
	// works on indices: sorted, they are in id order.
	list    []*User
	userIdx map[string]int32
	// emails caches UserEmails by index; byEmail maps a normalized email
	// to the users holding it, in id order. Both are filled when first
	// needed.
	emails   [][]string
	byEmail  map[string][]int32
	groupOf  map[string]*Group
	expanded map[string][]int32
	// scanned marks the groups an expansion has read the members of, and
	// unresolved counts, for each, the member ids that are neither a user
	// nor a group.
	scanned    map[string]bool
	unresolved map[string]int
	// visited lists, for each group expanded, the groups its expansion
	// read: itself and those nested in it.
	visited map[string][]string
	// seen, mark and slot are scratch space by user index: seen[i] ==
	// seenEpoch says that expand met user i in the current expansion;
	// mark[i] == markEpoch that entitlements met it in the current
	// organization, at slot[i].
	seen      []uint32
	seenEpoch uint32
	mark      []uint32
	markEpoch uint32
	slot      []int32
	// ents are the entitlements computed, by organization id, with the
	// configuration they were computed under.
	ents map[string]orgEntitlements
}

type orgEntitlements struct {
	mappings  []Mapping
	seatTiers []string
	entitled  []Entitlement
}

func newDirectory(in []User, groups []Group) *directory {
	d := &directory{
		users:    in,
		groups:   groups,
		userIdx:  make(map[string]int32, len(in)),
		groupOf:  make(map[string]*Group, len(groups)),
		expanded: map[string][]int32{},
		scanned:  map[string]bool{},
		visited:  map[string][]string{},
		ents:     map[string]orgEntitlements{},
	}
	users := make([]*User, len(in))
	for i := range in {
		users[i] = &in[i]
	}
	slices.SortFunc(users, func(a, b *User) int { return cmp.Compare(a.ID, b.ID) })
	d.list = users
	for i, u := range users {
		d.userIdx[u.ID] = int32(i)
	}
	d.emails = make([][]string, len(users))
	d.seen = make([]uint32, len(users))
	d.mark = make([]uint32, len(users))
	d.slot = make([]int32, len(users))
	for i := range groups {
		d.groupOf[groups[i].ID] = &groups[i]
	}
	return d
}

func newResolver(in Input) *resolver {
	r := &resolver{
		in:       in,
		today:    in.Now.UTC().Format(time.DateOnly),
		tierRank: map[string]int{},
	}
	if x := in.Directory; x != nil && sameSlice(x.d.users, in.Users) && sameSlice(x.d.groups, in.Groups) {
		r.directory = x.d
	} else {
		r.directory = newDirectory(in.Users, in.Groups)
	}
	for i, t := range in.Parent.SeatTiers {
		r.tierRank[t] = i + 1
	}
	return r
}

// sameSlice reports whether a and b are the same slice: same elements,
// same length.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// orgEntitlements appends o's entitlements to out, computed once per
// configuration of o (its mappings, the parent's seat tiers) in the
// directory.
func (r *resolver) orgEntitlements(out []Entitlement, o Org) []Entitlement {
	if c, ok := r.ents[o.ID]; ok && slices.Equal(c.mappings, o.Mappings) && slices.Equal(c.seatTiers, r.in.Parent.SeatTiers) {
		return append(out, c.entitled...)
	}
	start := len(out)
	out = r.entitlements(out, o)
	r.ents[o.ID] = orgEntitlements{mappings: slices.Clone(o.Mappings), seatTiers: slices.Clone(r.in.Parent.SeatTiers),
		entitled: slices.Clip(out[start:])}
	return out
}

// userEmails is UserEmails of the user at index i.
func (r *resolver) userEmails(i int32) []string {
	if r.emails[i] == nil {
		r.emails[i] = UserEmails(*r.list[i])
	}
	return r.emails[i]
}

// canonical is CanonicalEmail of the user at index i.
func (r *resolver) canonical(i int32) string {
	if es := r.userEmails(i); len(es) > 0 {
		return es[0]
	}
	return ""
}

// usersByEmail returns the indices of the users holding the normalized
// email, in id order.
func (r *resolver) usersByEmail(email string) []int32 {
	if r.byEmail == nil {
		r.byEmail = make(map[string][]int32, len(r.list))
		for i := range r.list {
			for _, e := range r.userEmails(int32(i)) {
				r.byEmail[e] = append(r.byEmail[e], int32(i))
			}
		}
	}
	return r.byEmail[email]
}

// nextEpoch starts a pass over marks (seen or mark, with its epoch): no
// user is marked.
func nextEpoch(marks []uint32, epoch *uint32) uint32 {
	*epoch++
	if *epoch == 0 {
		clear(marks)
		*epoch = 1
	}
	return *epoch
}

// UserEmails returns a user's normalized emails, de-duplicated, in order:
// userName first when it looks like an email, then emails[].
func UserEmails(u User) []string {
	var out []string
	add := func(s string) {
		s = match.Email(s)
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

// expand returns the indices of the users in group gid, directly or
// through nested groups, sorted (so in id order). Cycles are cut: a group
// is visited once per expansion.
func (r *resolver) expand(gid string) []int32 {
	if us, ok := r.expanded[gid]; ok {
		return us
	}
	seenGroups := map[string]bool{gid: true}
	epoch := nextEpoch(r.seen, &r.seenEpoch)
	var out []int32
	stack := []string{gid}
	for len(stack) > 0 {
		g := r.groupOf[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if g == nil {
			continue
		}
		first := !r.scanned[g.ID]
		r.scanned[g.ID] = true
		for _, id := range g.Members {
			if _, isGroup := r.groupOf[id]; isGroup {
				if !seenGroups[id] {
					seenGroups[id] = true
					stack = append(stack, id)
				}
				continue
			}
			i, isUser := r.userIdx[id]
			switch {
			case isUser && r.seen[i] != epoch:
				r.seen[i] = epoch
				out = append(out, i)
			case !isUser && first:
				if r.unresolved == nil {
					r.unresolved = map[string]int{}
				}
				r.unresolved[g.ID]++
			}
		}
	}
	slices.Sort(out)
	r.expanded[gid] = out
	for g := range seenGroups {
		if _, ok := r.groupOf[g]; ok {
			r.visited[gid] = append(r.visited[gid], g)
		}
	}
	return out
}

// grant is an entitled user while entitlements collects them: role and
// tier are the indices of the mappings that decide them. It is small and
// sorts by key first, so that sorting rarely reads the emails.
type grant struct {
	key        [2]uint64 // emailKey of the user's canonical email
	ui         int32
	role, tier int32
}

// emailKey is the first 16 bytes of s, big-endian, zero-padded: a < b
// whenever emailKey(a) < emailKey(b), and only equal keys need a string
// comparison. Sixteen bytes, as "given.family" locals often share eight.
func emailKey(s string) [2]uint64 {
	var k [2]uint64
	for i := range 16 {
		k[i/8] <<= 8
		if i < len(s) {
			k[i/8] |= uint64(s[i])
		}
	}
	return k
}

// entitlements appends to out the active users entitled in o, sorted by
// email (then user id: a user index appears once per org, and user ids are
// unique among the indices expansions hold, so no two are equal).
func (r *resolver) entitlements(out []Entitlement, o Org) []Entitlement {
	epoch := nextEpoch(r.mark, &r.markEpoch)
	gs := r.grants[:0]
	// Ranks by mapping index, so that comparing them reads no map.
	roleRank := make([]int, len(o.Mappings))
	tierRank := make([]int, len(o.Mappings))
	for mi, m := range o.Mappings {
		roleRank[mi], tierRank[mi] = m.Role.Rank(), r.tierRank[m.SeatTier]
	}
	for mi, m := range o.Mappings {
		if _, ok := r.groupOf[m.GroupID]; !ok || !m.Role.Grantable() {
			continue
		}
		for _, ui := range r.expand(m.GroupID) {
			if !r.list[ui].Active {
				continue
			}
			if r.mark[ui] != epoch {
				r.mark[ui] = epoch
				r.slot[ui] = int32(len(gs))
				gs = append(gs, grant{key: emailKey(r.canonical(ui)), ui: ui, role: int32(mi), tier: int32(mi)})
				continue
			}
			g := &gs[r.slot[ui]]
			if roleRank[mi] > roleRank[g.role] {
				g.role = int32(mi)
			}
			if tierRank[mi] > tierRank[g.tier] {
				g.tier = int32(mi)
			}
		}
	}
	slices.SortFunc(gs, func(a, b grant) int {
		if a.key != b.key {
			return cmp.Or(cmp.Compare(a.key[0], b.key[0]), cmp.Compare(a.key[1], b.key[1]))
		}
		return cmp.Or(cmp.Compare(r.canonical(a.ui), r.canonical(b.ui)), cmp.Compare(r.list[a.ui].ID, r.list[b.ui].ID))
	})
	for _, g := range gs {
		rm, tm := o.Mappings[g.role], o.Mappings[g.tier]
		out = append(out, Entitlement{Org: o.ID, UserID: r.list[g.ui].ID, Email: r.canonical(g.ui), Role: rm.Role, SeatTier: tm.SeatTier, RoleGroup: rm.GroupID, TierGroup: tm.GroupID})
	}
	r.grants = gs
	return out
}

// scimDecides reports whether SCIM decides the members under mode: staged
// and full do; under jit (or no mode) SCIM changes nobody.
func scimDecides(mode Mode) bool { return mode == ModeStaged || mode == ModeFull }

// orgMatch is how matchOrg matched an org's entitled users to its members:
// match[k] is the member entitlement k takes, or noMember (an addition) or
// heldMember (its email is already held, so nobody is added); matched[i]
// marks member i taken; additions counts the additions.
type orgMatch struct {
	match     []int
	matched   []bool
	additions int
}

const (
	noMember   = -1
	heldMember = -2
)

// matchOrg matches the users entitled in o (ent) to its members. x indexes
// members; it is nil under jit, where nothing is matched.
func (r *resolver) matchOrg(o Org, mode Mode, ent []Entitlement, members []*Member, x *memberIndex) orgMatch {
	if !scimDecides(mode) {
		return orgMatch{}
	}
	next, byUserID, holders := x.next, x.byUserID, x.holders
	// Match entitled users to existing members in three passes, so that no
	// user's alias takes a member that another user holds more directly:
	// first a scim member linked to the user's id, then a member holding the
	// user's canonical email, then one holding any other of its emails.
	matched := make([]bool, len(members))
	match := make([]int, len(ent))
	for k := range match {
		match[k] = noMember
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
		for i := holders(e.Email); i >= 0; i = next[i] {
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
		for _, em := range r.userEmails(r.userIdx[e.UserID]) {
			for i := holders(em); i >= 0; i = next[i] {
				if !matched[i] {
					claim(k, i)
					break aliases
				}
			}
		}
	}
	// An unmatched user is added unless another member or an earlier
	// addition already holds its email here. A matched member's email is a
	// member's email, which holders already finds: only additions need
	// recording.
	added := map[string]bool{}
	additions := 0
	for k, e := range ent {
		if match[k] != noMember {
			continue
		}
		if added[e.Email] || holders(e.Email) >= 0 {
			match[k] = heldMember
			continue
		}
		added[e.Email] = true
		additions++
	}
	return orgMatch{match: match, matched: matched, additions: additions}
}

// resolveOrg appends to out the outcome of every member of o and of every
// entitled user without one, as matchOrg matched them (om). x indexes
// members; it is nil under jit.
func (r *resolver) resolveOrg(out []Outcome, o Org, mode Mode, ent []Entitlement, members []*Member, x *memberIndex, om orgMatch) []Outcome {
	if !scimDecides(mode) {
		// jit: SCIM changes nobody.
		for _, m := range members {
			out = append(out, Outcome{Org: o.ID, Email: match.Email(m.Email), Action: ActionKeep, Before: m, After: m})
		}
		return out
	}
	norm, matched := x.norm, om.matched
	for k, e := range ent {
		idx := om.match[k]
		switch idx {
		case heldMember:
			continue
		case noMember:
			after := r.newMember(Member{Org: o.ID, Email: e.Email, UserID: e.UserID, Role: e.Role, SeatTier: e.SeatTier, Origin: OriginSCIM, LastModified: r.in.Now})
			out = append(out, Outcome{Org: o.ID, Email: e.Email, Action: ActionAdd, After: after, RoleGroup: e.RoleGroup, TierGroup: e.TierGroup})
			continue
		}
		before := members[idx]
		email := norm[idx]
		if before.Role == RolePrimaryOwner {
			out = append(out, Outcome{Org: o.ID, Email: email, Action: ActionKeep, Before: before, After: before})
			continue
		}
		// The member becomes scim-backed with the entitled role and tier;
		// it is copied only when that changes something.
		act := ActionKeep
		switch {
		case e.Role != before.Role || e.SeatTier != before.SeatTier:
			act = ActionChange
		case before.Origin != OriginSCIM || e.UserID != before.UserID:
			act = ActionLink
		}
		if act == ActionKeep {
			out = append(out, Outcome{Org: o.ID, Email: email, Action: act, Before: before, After: before, RoleGroup: e.RoleGroup, TierGroup: e.TierGroup})
			continue
		}
		after := r.newMember(*before)
		after.Origin, after.UserID, after.Role, after.SeatTier = OriginSCIM, e.UserID, e.Role, e.SeatTier
		after.LastModified = r.in.Now
		out = append(out, Outcome{Org: o.ID, Email: email, Action: act, Before: before, After: after, RoleGroup: e.RoleGroup, TierGroup: e.TierGroup})
	}
	for i := range members {
		if matched[i] {
			continue
		}
		m := members[i]
		email := norm[i]
		excepted := mode == ModeFull && m.Role != RolePrimaryOwner && r.liveException(o, email)
		keep := m.Role == RolePrimaryOwner ||
			(mode == ModeStaged && m.Origin != OriginSCIM) || excepted
		if keep {
			out = append(out, Outcome{Org: o.ID, Email: email, Action: ActionKeep, Before: m, After: m})
			if excepted {
				r.excepted = append(r.excepted, OrgEmail{Org: o.ID, Email: email})
			}
			continue
		}
		out = append(out, Outcome{Org: o.ID, Email: email, Action: ActionRemove, Before: m, Reason: r.reason(o, m, mode)})
	}
	return out
}

// newMember returns a pointer to a copy of m. Resolution makes one for
// every member it adds or changes, tens of thousands at a time: they are
// allocated in chunks.
func (r *resolver) newMember(m Member) *Member {
	if len(r.chunk) == cap(r.chunk) {
		r.chunk = make([]Member, 0, 256)
	}
	r.chunk = append(r.chunk, m)
	return &r.chunk[len(r.chunk)-1]
}

// liveException reports whether an unexpired exception of o covers email.
func (r *resolver) liveException(o Org, email string) bool {
	for _, x := range o.Exceptions {
		if match.Email(x.Email) == email && validDate(x.Until) && x.Until >= r.today {
			return true
		}
	}
	return false
}

// lapsedException reports whether an exception of o that names email has
// lapsed: any of its Exceptions (a live one would have kept the member), or
// one of its HeldExceptions that is not live.
func (r *resolver) lapsedException(o Org, email string) bool {
	for _, x := range o.Exceptions {
		if match.Email(x.Email) == email {
			return true
		}
	}
	for _, x := range o.HeldExceptions {
		if match.Email(x.Email) == email && !(validDate(x.Until) && x.Until >= r.today) {
			return true
		}
	}
	return false
}

// reason says why m, not entitled in o, is removed. A lapsed exception
// comes first, whichever side holds it.
func (r *resolver) reason(o Org, m *Member, mode Mode) Reason {
	email := match.Email(m.Email)
	if mode == ModeFull && r.lapsedException(o, email) {
		return ReasonExceptionExpired
	}
	var u *User
	if m.UserID != "" {
		if i, ok := r.userIdx[m.UserID]; ok {
			u = r.list[i]
		}
	}
	if u == nil {
		if us := r.usersByEmail(email); len(us) > 0 {
			u = r.list[us[0]]
			for _, c := range us {
				if r.list[c].Active {
					u = r.list[c]
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
		if _, ok := r.groupOf[mp.GroupID]; !ok {
			return ReasonGroupDeleted
		}
	}
	return ReasonNoMappedGroup
}

func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
