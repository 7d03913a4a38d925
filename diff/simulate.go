package diff

import (
	"cmp"
	"maps"
	"slices"
	"unsafe"

	"github.com/scimsync/scimsync/resolve"
)

// writeSet says which kinds of write a plan makes.
type writeSet struct {
	parentOther bool // the parent's seatTiers or loginDomains
	children    bool // any child org's mappings, seats or exceptions
}

func writesOf(ws []Write) writeSet {
	var s writeSet
	for _, w := range ws {
		if !w.Parent {
			s.children = true
			continue
		}
		for _, op := range w.Ops {
			if op.Path != "mode" {
				s.parentOther = true
			}
		}
	}
	return s
}

// enforcement ranks modes: jit < staged < full.
func enforcement(m resolve.Mode) int {
	switch m {
	case resolve.ModeStaged:
		return 1
	case resolve.ModeFull:
		return 2
	}
	return 0
}

// simulation is what the server holds after the plan's writes, each
// followed by the server's recomputation of members.
type simulation struct {
	// outcomes compose every step: Before is the observed member, After the
	// final one; Reason is set by the step that removed a member. Sorted by
	// org id, then email. Members that stay exactly as they are have
	// ActionKeep. When nothing is written every member is kept and
	// outcomes is empty.
	outcomes []resolve.Outcome
	// members are the final members.
	members []resolve.Member
	// final is the resolution under the final configuration: its Entitled
	// and GroupUsers describe the desired configuration. They are all it
	// holds when nothing is written.
	final resolve.Result
}

// simulate predicts the members the server holds once the writes of ws
// (with the parent's mode set to mode) are applied in apply's order, the
// server recomputing members after each PATCH:
//
//   - when the mode moves up (jit → staged → full), the parent's other
//     attributes first, then the children, and the mode switch last, so
//     that new mappings and exceptions are in place before they are
//     enforced;
//   - otherwise the parent first (its mode included), then the children.
//
// All child writes form one step: on a server whose members already
// reflect its configuration, a child org's members depend only on the
// parent and that org's own configuration. With no write at all nothing is
// recomputed and the members stay as observed (and outcomes is empty).
//
// When final is not nil, simulate calls it with the final members as soon
// as they are known, before it composes the outcomes.
func (pl *planner) simulate(mode resolve.Mode, ws writeSet, final func([]resolve.Member)) simulation {
	t := pl.t
	cur := t.Parent.Mode
	desired := pl.desired(mode)
	curOrgs := t.Orgs

	// Every step's parent is the desired one, under the step's mode.
	type config struct {
		mode resolve.Mode
		orgs []resolve.Org
	}
	var steps []config
	if enforcement(mode) > enforcement(cur) {
		if ws.parentOther {
			steps = append(steps, config{cur, curOrgs})
		}
		if ws.children {
			steps = append(steps, config{cur, desired.Orgs})
		}
		steps = append(steps, config{mode, desired.Orgs})
	} else {
		if ws.parentOther || mode != cur {
			steps = append(steps, config{mode, curOrgs})
		}
		if ws.children {
			steps = append(steps, config{mode, desired.Orgs})
		}
	}

	if len(steps) == 0 {
		// Nothing is written: the members stay as observed, every outcome
		// would be a keep, and the desired configuration is the current one
		// as far as resolution goes: only its entitlements are needed.
		if final != nil {
			final(t.Members)
		}
		return simulation{members: t.Members, final: resolve.NewResolver(desired).Entitlements()}
	}

	// A track follows one member from the observed one to its final form.
	// Members are identified as the server does, by key: their id, or
	// their org and email without one (as additions are); members sharing
	// a key share a track. Tracks are in order of first appearance.
	type track struct {
		org                  string
		email                string
		before, after        *resolve.Member
		reason               string
		roleGroup, tierGroup string
	}
	tracks := make([]track, 0, len(t.Members))
	byKey := make(map[string]int32, len(t.Members))
	key := func(m *resolve.Member) string {
		if m.ID != "" {
			return m.ID
		}
		return "\x00" + m.Org + "\x00" + resolve.NormEmail(m.Email)
	}
	// of[j] is the track of members[j]: a step's members are its outcomes'
	// After, in order, and an outcome's Before is one of the step's
	// members, so each step's tracks follow from the previous one's
	// without a key.
	of := make([]int32, len(t.Members))
	for i := range t.Members {
		m := &t.Members[i]
		k := key(m)
		at, dup := byKey[k]
		if !dup {
			at = int32(len(tracks))
			byKey[k] = at
			tracks = append(tracks, track{org: m.Org, email: resolve.NormEmail(m.Email), before: m, after: m})
		}
		of[i] = at
	}

	// hint lists the tracks in the order the steps' outcomes first name
	// them: by org and email, as resolution sorts them, but for the
	// additions of each later step, which form a sorted run of their own.
	// Composed in that order, the outcomes take little sorting.
	hint := make([]int32, 0, len(tracks))
	hinted := make([]bool, len(tracks))

	members := t.Members
	var res resolve.Result
	// Steps with the same orgs resolve the same configuration but for the
	// mode and members: they share a Resolver, which computes the
	// entitlements once.
	var rv *resolve.Resolver
	for i, st := range steps {
		if i == 0 || !sameSlice(st.orgs, steps[i-1].orgs) {
			in := desired
			in.Orgs = st.orgs
			rv = resolve.NewResolver(in)
		}
		res = rv.Resolve(st.mode, members)
		if i == len(steps)-1 && final != nil {
			final(res.Members)
		}
		next := make([]int32, 0, len(res.Members))
		for _, oc := range res.Outcomes {
			var at int32
			if oc.Before != nil {
				at = of[indexIn(members, oc.Before)]
			} else {
				k := key(oc.After)
				var ok bool
				if at, ok = byKey[k]; !ok {
					at = int32(len(tracks))
					byKey[k] = at
					tracks = append(tracks, track{org: oc.Org, email: oc.Email})
					hinted = append(hinted, false)
				}
			}
			if !hinted[at] {
				hinted[at] = true
				hint = append(hint, at)
			}
			tr := &tracks[at]
			tr.after = oc.After
			if oc.Action == resolve.ActionRemove {
				tr.reason = string(oc.Reason)
			}
			if oc.RoleGroup != "" {
				tr.roleGroup, tr.tierGroup = oc.RoleGroup, oc.TierGroup
			}
			if oc.After != nil {
				next = append(next, at)
			}
		}
		members, of = res.Members, next
	}
	sim := simulation{members: members, final: res}

	for i := range tracks {
		if !hinted[i] {
			hint = append(hint, int32(i))
		}
	}
	sim.outcomes = make([]resolve.Outcome, 0, len(tracks))
	seq := make([]int32, 0, len(tracks)) // the outcomes' tracks
	for _, i := range hint {
		tr := &tracks[i]
		oc := resolve.Outcome{Org: tr.org, Email: tr.email, Before: tr.before, After: tr.after, RoleGroup: tr.roleGroup, TierGroup: tr.tierGroup}
		switch {
		case tr.before == nil && tr.after == nil:
			continue
		case tr.before == nil:
			oc.Action = resolve.ActionAdd
			oc.Email = resolve.NormEmail(tr.after.Email)
		case tr.after == nil:
			oc.Action = resolve.ActionRemove
			oc.Reason = resolve.Reason(tr.reason)
		case tr.before.Role != tr.after.Role || tr.before.SeatTier != tr.after.SeatTier:
			oc.Action = resolve.ActionChange
		case tr.before.Origin != tr.after.Origin || tr.before.UserID != tr.after.UserID:
			oc.Action = resolve.ActionLink
		default:
			oc.Action = resolve.ActionKeep
		}
		sim.outcomes = append(sim.outcomes, oc)
		seq = append(seq, i)
	}
	sortOutcomes(sim.outcomes, seq)
	return sim
}

// sameSlice reports whether a and b are the same slice: same elements,
// same length.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// indexIn returns the index in ms of the member p points to, which must be
// one of them: resolve.Outcome's Before points into the members resolved.
func indexIn(ms []resolve.Member, p *resolve.Member) int {
	size := unsafe.Sizeof(resolve.Member{})
	off := uintptr(unsafe.Pointer(p)) - uintptr(unsafe.Pointer(unsafe.SliceData(ms)))
	if off%size != 0 || off/size >= uintptr(len(ms)) {
		panic("diff: an outcome's member is not one of the members resolved")
	}
	return int(off / size)
}

// sortOutcomes sorts outcomes by org id, email, then seq, outcome i's
// track: the order of a stable sort by (org, email) of the outcomes in
// track order. It sorts small records instead of the outcomes, by (org
// rank, the email's first bytes, email, track), then moves each outcome
// once into its place. The order is total, so the result does not depend
// on how the records are sorted: when they arrive in a few sorted runs
// (see simulate's hint), merging the runs is enough.
func sortOutcomes(outcomes []resolve.Outcome, seq []int32) {
	recs := orgEmailRecords(nil, len(outcomes),
		func(i int) (string, string) { return outcomes[i].Org, outcomes[i].Email })
	compare := func(a, b orgEmailRec) int {
		return compareOrgEmail(a, b, func(x, y int32) int {
			return cmp.Or(cmp.Compare(outcomes[x].Email, outcomes[y].Email), cmp.Compare(seq[x], seq[y]))
		})
	}
	if !sortRuns(recs, compare, 16) {
		slices.SortFunc(recs, compare)
	}
	reorder(outcomes, positions(recs))
}

// orgEmailRec stands for one element of a list sorted by org, then email:
// the org's rank among the list's orgs, the first bytes of the email and
// the element's place. Sorting such records, then moving each element
// once into its place (reorder), costs less than sorting the elements.
type orgEmailRec struct {
	key      uint64 // emailKey of the element's email
	org, pos int32
}

// orgEmailRecords fills recs (allocated when nil) with the records of the n
// elements whose org and email at gives, in their order.
func orgEmailRecords(recs []orgEmailRec, n int, at func(i int) (org, email string)) []orgEmailRec {
	rank := map[string]int32{}
	for i := range n {
		org, _ := at(i)
		rank[org] = 0
	}
	for k, org := range slices.Sorted(maps.Keys(rank)) {
		rank[org] = int32(k)
	}
	if recs == nil {
		recs = make([]orgEmailRec, n)
	}
	for i := range n {
		org, email := at(i)
		recs[i] = orgEmailRec{key: emailKey(email), org: rank[org], pos: int32(i)}
	}
	return recs
}

// compareOrgEmail orders records by org, then by the email's first bytes,
// and asks tie, given their elements' places, when both are equal.
func compareOrgEmail(a, b orgEmailRec, tie func(x, y int32) int) int {
	if a.org != b.org {
		return cmp.Compare(a.org, b.org)
	}
	if a.key != b.key {
		return cmp.Compare(a.key, b.key)
	}
	return tie(a.pos, b.pos)
}

// positions returns the places of the elements the records stand for, in
// the records' order.
func positions(recs []orgEmailRec) []int32 {
	order := make([]int32, len(recs))
	for i := range recs {
		order[i] = recs[i].pos
	}
	return order
}

// reorder moves s[order[i]] to place i for every i, moving each element
// once: it follows each cycle of the permutation, marking the places done
// in order with -1.
func reorder[T any](s []T, order []int32) {
	for i := range order {
		if order[i] < 0 {
			continue
		}
		held := s[i]
		j := i
		for {
			k := int(order[j])
			order[j] = -1
			if k == i {
				s[j] = held
				break
			}
			s[j] = s[k]
			j = k
		}
	}
}

// emailKey is the first 8 bytes of s, big-endian, zero-padded: a < b
// whenever emailKey(a) < emailKey(b), and only equal keys need a string
// comparison.
func emailKey[S ~string | ~[]byte](s S) uint64 {
	var k uint64
	for i := range 8 {
		k <<= 8
		if i < len(s) {
			k |= uint64(s[i])
		}
	}
	return k
}
