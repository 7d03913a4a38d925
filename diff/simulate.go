package diff

import (
	"cmp"
	"maps"
	"slices"

	"github.com/scimsync/scimsync/resolve"
)

// simulation is what the server holds after the plan's steps, each
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
	// excepted returns the final resolution's Excepted: the members only
	// an exception keeps. When nothing is written it resolves the members
	// as observed to find them, so it is called only when needed.
	excepted func() []resolve.OrgEmail
}

// simulate predicts the members the server holds once steps (a plan's, in
// its order, with the parent's mode ending as mode) are applied, the server
// recomputing members after each PATCH. It replays the steps as they are:
// the order is orderSteps', and nowhere else.
//
// With no step at all nothing is recomputed and the members stay as
// observed (and outcomes is empty).
func (pl *planner) simulate(mode resolve.Mode, steps []Step) simulation {
	t := pl.t
	desired := pl.desired(mode)
	// Every simulation of the plan resolves the same users and groups:
	// they share one directory, and an org's entitlements are computed
	// once per configuration (issue 18).
	if pl.dir == nil {
		pl.dir = resolve.NewDirectory(t.Users, t.Groups)
	}
	desired.Directory = pl.dir
	phases := pl.phases(mode, steps, desired)
	if len(phases) == 0 {
		// Nothing is written: the members stay as observed, every outcome
		// would be a keep, and the desired configuration is the current one
		// as far as resolution goes: only its entitlements are needed.
		rv := resolve.NewResolver(desired)
		excepted := func() []resolve.OrgEmail { return rv.Resolve(mode, t.Members).Excepted }
		return simulation{members: t.Members, final: rv.Entitlements(), excepted: excepted}
	}
	// The tracker depends on the observed members alone: it is built on
	// the other core while the first phase resolves, whose entitlements
	// take one core (issue 18).
	tracked := make(chan *tracker, 1)
	go func() { tracked <- newTracker(t.Members) }()
	tk, members, res := replayPhases(desired, t.Members, phases, tracked)
	excepted := res.Excepted
	return simulation{members: members, final: res, outcomes: tk.compose(),
		excepted: func() []resolve.OrgEmail { return excepted }}
}

// phase is one recomputation of members by the server: the configuration
// it holds after one or more steps. Every phase's parent is the desired
// one, under the phase's mode and with the phase's seat tiers.
type phase struct {
	mode  resolve.Mode
	tiers []string
	orgs  []resolve.Org
}

// phases returns the configurations the server recomputes members under
// while steps are applied in order: after each parent step, and after each
// run of child steps. A step writing the mode switches it to mode; a child
// step writes its org's desired configuration.
//
// A run of child steps is one phase once the server has recomputed every
// org: its members then reflect its configuration (resolution is
// idempotent), a child org's members depend only on the parent and that
// org's own configuration, and each step of the run changes one org's, so
// recomputing once after the run is recomputing after each of its steps.
// Before the first recompute they need not reflect it: an exception the
// server holds may have lapsed since it last recomputed an org, and the
// first write, whichever org it is to, recomputes that org under it,
// before a later step renews it (an exception never adds anyone back). So
// the first step is a phase of its own when a child step starts the plan.
func (pl *planner) phases(mode resolve.Mode, steps []Step, desired resolve.Input) []phase {
	cur := phase{mode: pl.t.Parent.Mode, tiers: pl.t.Parent.SeatTiers, orgs: pl.t.Orgs}
	children := 0
	for _, s := range steps {
		if !s.Parent {
			children++
		}
	}
	written := map[string]bool{}
	var out []phase
	for i, s := range steps {
		if s.writesMode() {
			cur.mode = mode
		}
		for _, op := range s.Ops {
			if tiers, ok := seatTiersOf(op); ok && s.Parent && isSeatTiersOp(op) {
				cur.tiers = tiers
			}
		}
		if !s.Parent {
			written[s.OrgID] = true
			if i+1 < len(steps) && !steps[i+1].Parent && len(out) > 0 {
				continue
			}
			cur.orgs = orgsWritten(pl.t.Orgs, desired.Orgs, written, children)
		}
		out = append(out, cur)
	}
	return out
}

// orgsWritten is the child orgs once those in written (of the children
// child steps) hold their desired configuration: the observed ones when
// none does, the desired ones when all do.
func orgsWritten(observed, desired []resolve.Org, written map[string]bool, children int) []resolve.Org {
	switch len(written) {
	case 0:
		return observed
	case children:
		return desired
	}
	orgs := slices.Clone(observed)
	for i := range orgs {
		if written[orgs[i].ID] {
			orgs[i] = desired[i]
		}
	}
	return orgs
}

// A track follows one member from the observed one to its final form.
// Members are identified as the server does, by key: their id, or their
// org and email without one (as additions are); members sharing a key share
// a track.
type track struct {
	org                  string
	email                string
	before, after        *resolve.Member
	reason               string
	roleGroup, tierGroup string
}

// tracker follows the members through the phases of a simulation.
type tracker struct {
	tracks []track // in order of first appearance
	byKey  map[string]int32
	// of[j] is the track of the current members[j]: a phase's members are
	// its outcomes' After, in order, and an outcome's Before is one of the
	// phase's members, so each phase's tracks follow from the previous
	// one's without a key.
	of []int32
	// hint lists the tracks in the order the phases' outcomes first name
	// them: by org and email, as resolution sorts them, but for the
	// additions of each later phase, which form a sorted run of their own.
	// Composed in that order, the outcomes take little sorting.
	hint   []int32
	hinted []bool
}

func memberKey(m *resolve.Member) string {
	if m.ID != "" {
		return m.ID
	}
	return "\x00" + m.Org + "\x00" + resolve.NormEmail(m.Email)
}

// newTracker starts a track for every observed member.
func newTracker(members []resolve.Member) *tracker {
	tk := &tracker{
		tracks: make([]track, 0, len(members)),
		byKey:  make(map[string]int32, len(members)),
		of:     make([]int32, len(members)),
	}
	for i := range members {
		m := &members[i]
		k := memberKey(m)
		at, dup := tk.byKey[k]
		if !dup {
			at = int32(len(tk.tracks))
			tk.byKey[k] = at
			tk.tracks = append(tk.tracks, track{org: m.Org, email: resolve.NormEmail(m.Email), before: m, after: m})
		}
		tk.of[i] = at
	}
	tk.hint = make([]int32, 0, len(tk.tracks))
	tk.hinted = make([]bool, len(tk.tracks))
	return tk
}

// replayPhases resolves each phase against the members the previous one left,
// from the observed members the tracker started with, following every
// outcome on its track, and returns the final members and resolution
// (without its Outcomes: compose the tracks for those).
// The tracker arrives on tracked, before the first phase is followed.
func replayPhases(desired resolve.Input, members []resolve.Member, phases []phase, tracked <-chan *tracker) (*tracker, []resolve.Member, resolve.Result) {
	var (
		res resolve.Result
		tk  *tracker
	)
	// Phases with the same orgs resolve the same configuration but for the
	// mode and members: they share a Resolver, which computes the
	// entitlements once.
	var rv *resolve.Resolver
	for i, ph := range phases {
		if i == 0 || !sameSlice(ph.orgs, phases[i-1].orgs) || !slices.Equal(ph.tiers, phases[i-1].tiers) {
			in := desired
			in.Orgs = ph.orgs
			in.Parent.SeatTiers = ph.tiers
			rv = resolve.NewResolver(in)
		}
		res = rv.Resolve(ph.mode, members)
		if tk == nil {
			tk = <-tracked
		}
		tk.follow(members, res.Outcomes, i == 0)
		// The outcomes are on the tracks now, and their Before point into
		// the previous phase's members: let both go before the next phase
		// resolves (11 MB at 100k members). The tracks then point at this
		// phase's members, not at the copies resolution made of those it
		// changed (8 MB more).
		members, res.Outcomes = res.Members, nil
		tk.settle(members)
	}
	return tk, members, res
}

// follow moves the tracks on by the outcomes of resolving members. In the
// first phase members are the observed ones, each on the track its key
// names; later, the track of members[j] is of[j].
func (tk *tracker) follow(members []resolve.Member, outcomes []resolve.Outcome, observed bool) {
	loc := locator{members: members}
	next := make([]int32, 0, len(outcomes))
	for _, oc := range outcomes {
		var at int32
		switch {
		case oc.Before != nil && observed:
			at = tk.byKey[memberKey(oc.Before)]
		case oc.Before != nil:
			at = tk.of[loc.index(oc.Before)]
		default:
			at = tk.added(oc)
		}
		if !tk.hinted[at] {
			tk.hinted[at] = true
			tk.hint = append(tk.hint, at)
		}
		tr := &tk.tracks[at]
		tr.after = oc.After
		if oc.Action == resolve.ActionRemove {
			// A removal has no mapping behind it: the groups of an earlier
			// phase's keep do not follow the member out.
			tr.reason = string(oc.Reason)
			tr.roleGroup, tr.tierGroup = "", ""
		}
		if oc.RoleGroup != "" {
			tr.roleGroup, tr.tierGroup = oc.RoleGroup, oc.TierGroup
		}
		if oc.After != nil {
			next = append(next, at)
		}
	}
	tk.of = next
}

// settle points each track's member at its copy among a phase's members,
// which of lists in order, so that the tracks, and the outcomes composed
// from them, hold on to no earlier phase's members, nor to the copies
// resolution made of those it changed (at 100k members, 29 MB of the
// plan's peak).
func (tk *tracker) settle(members []resolve.Member) {
	for j, at := range tk.of {
		tk.tracks[at].after = &members[j]
	}
}

// added returns the track of an addition: the track of the member its key
// names, if any (a member removed by an earlier phase and added again), or
// a new one.
func (tk *tracker) added(oc resolve.Outcome) int32 {
	k := memberKey(oc.After)
	if at, ok := tk.byKey[k]; ok {
		return at
	}
	at := int32(len(tk.tracks))
	tk.byKey[k] = at
	tk.tracks = append(tk.tracks, track{org: oc.Org, email: oc.Email})
	tk.hinted = append(tk.hinted, false)
	return at
}

// compose returns the outcome of every track whose member existed before
// or after, sorted by org id, then email.
func (tk *tracker) compose() []resolve.Outcome {
	for i := range tk.tracks {
		if !tk.hinted[i] {
			tk.hint = append(tk.hint, int32(i))
		}
	}
	outcomes := make([]resolve.Outcome, 0, len(tk.tracks))
	seq := make([]int32, 0, len(tk.tracks)) // the outcomes' tracks
	for _, i := range tk.hint {
		if oc, ok := tk.tracks[i].outcome(); ok {
			outcomes = append(outcomes, oc)
			seq = append(seq, i)
		}
	}
	sortOutcomes(outcomes, seq)
	return outcomes
}

// outcome is what happened to the track's member from before to after;
// false when it existed at neither end (added, then removed).
func (tr *track) outcome() (resolve.Outcome, bool) {
	oc := resolve.Outcome{Org: tr.org, Email: tr.email, Before: tr.before, After: tr.after, RoleGroup: tr.roleGroup, TierGroup: tr.tierGroup}
	switch {
	case tr.before == nil && tr.after == nil:
		return oc, false
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
	return oc, true
}

// sameSlice reports whether a and b are the same slice: same elements,
// same length.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// locator finds the place of an outcome's Before among the members
// resolved. Resolution returns its outcomes sorted by org and email, as the
// members of a previous phase already are, so the place after the last one
// found is tried first; only when that guess fails (in a phase whose ties
// came out in another order) is a map of places built, once.
type locator struct {
	members []resolve.Member
	next    int
	at      map[*resolve.Member]int32
}

func (l *locator) index(p *resolve.Member) int {
	i := l.next
	if i >= len(l.members) || &l.members[i] != p {
		if l.at == nil {
			l.at = make(map[*resolve.Member]int32, len(l.members))
			for j := range l.members {
				l.at[&l.members[j]] = int32(j)
			}
		}
		k, ok := l.at[p]
		if !ok {
			panic("diff: an outcome's member is not one of the members resolved")
		}
		i = int(k)
	}
	l.next = i + 1
	return i
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
