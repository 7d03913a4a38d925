package diff

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// Compute returns the plan that brings tenant t in line with spec s at the
// instant now. It is pure: it performs no I/O and modifies neither argument.
//
// Before planning it matches the spec against the server and returns a
// *MismatchError listing every problem when a child org the spec names is
// missing on the server, a mapped group does not exist (with the closest
// names suggested) or its displayName matches two groups, one org maps a
// group twice (once by name, once by id), or the parent's name differs from
// the server's.
//
// The desired configuration is the spec's: the parent's mode and seatTiers
// (and its loginDomains when the spec lists any; an empty list leaves the
// server's alone, so that omitting the field never breaks sign-in), and for
// each child org the spec names its mappings, seats and the
// policy.exceptions naming it. Child orgs the spec does not name keep their
// configuration, but the parent's mode applies to them too, so their members
// are planned, predicted and reported like the others.
//
// Members are predicted by playing the plan's writes in the order apply
// executes them (see simulate), resolving members with resolve.Resolve
// after each step as the server does. On a server that follows DESIGN §5 the
// observed members already reflect the current configuration, and the
// prediction is exactly what the server holds once the writes are applied.
// The readiness report plays the same writes with the mode set to full.
func Compute(s *spec.Spec, t *tenant.Tenant, now time.Time) (*Plan, error) {
	return ComputeWith(s, t, now, Options{})
}

// desiredMode is the spec's mode, jit when unset.
func (pl *planner) desiredMode() string {
	if pl.s.Parent.Mode == "" {
		return string(spec.DefaultMode)
	}
	return string(pl.s.Parent.Mode)
}

type planner struct {
	s   *spec.Spec
	t   *tenant.Tenant
	now time.Time

	groupByID   map[string]*resolve.Group
	groupByName map[string][]*resolve.Group // lower-cased displayName
	orgByName   map[string]*resolve.Org     // child orgs, lower-cased name
	orgName     map[string]string           // child org id → lower-cased name

	// Filled by match: for every child org the spec names, keyed by org id.
	managed  map[string]*managedOrg
	readIDs  map[string]bool // ids of the groups the spec maps
	ownerIDs map[string]bool // ids of policy.ownerGroups that exist

	userByID map[string]*resolve.User // built by joinedUser when first needed
	// emailHolders counts the users holding each normalized address,
	// built by holders when first needed.
	emailHolders map[string]int
	dir          *resolve.Directory // shared by the simulations (simulate.go)
	// addresses receives observedAddresses, computed beside the
	// rest of the plan for lookalikeFindings.
	addresses chan map[string]*orgAddresses
}

// managedOrg is the desired configuration of one child org the spec names.
type managedOrg struct {
	spec     *spec.Organization
	mappings []resolve.Mapping
	seats    map[string]int
	// exceptions are the policy.exceptions naming the org that hold at the
	// plan's instant: the ones written to it. lapsed are the others, which
	// the plan drops (DESIGN §5, "Exceptions lapse for real") and which
	// name the reason of a removal they no longer prevent.
	exceptions []resolve.Exception
	lapsed     []resolve.Exception
}

func newPlanner(s *spec.Spec, t *tenant.Tenant, now time.Time) *planner {
	pl := &planner{
		s: s, t: t, now: now.UTC(),
		groupByID:   make(map[string]*resolve.Group, len(t.Groups)),
		groupByName: make(map[string][]*resolve.Group, len(t.Groups)),
		orgByName:   map[string]*resolve.Org{},
		orgName:     map[string]string{},
		managed:     map[string]*managedOrg{},
		readIDs:     map[string]bool{},
		ownerIDs:    map[string]bool{},
	}
	for i := range t.Groups {
		g := &t.Groups[i]
		pl.groupByID[g.ID] = g
		k := match.Name(g.DisplayName)
		pl.groupByName[k] = append(pl.groupByName[k], g)
	}
	for i := range t.Orgs {
		o := &t.Orgs[i]
		pl.orgName[o.ID] = match.Name(o.Name)
		if _, dup := pl.orgByName[match.Name(o.Name)]; !dup {
			pl.orgByName[match.Name(o.Name)] = o
		}
	}
	return pl
}

// problems collects the mismatches between the spec and the server, every
// one of them, as diagnostics located in the spec.
type problems struct {
	s     *spec.Spec
	diags spec.Diagnostics
}

// add records a problem at path: where the spec holds path, or at pos when
// the spec cannot say.
func (pr *problems) add(pos spec.Pos, path, summary, fix string) {
	if at := pr.s.PosOf(path); at.Line > 0 || pos.Line == 0 {
		pos = at
	}
	if pos.File == "" {
		pos.File = pr.s.Source
	}
	pr.diags = append(pr.diags, spec.Diagnostic{Severity: spec.Error, Pos: pos, Path: path, Summary: summary, Fix: fix})
}

// match resolves the spec's names against the server, collecting every
// problem.
func (pl *planner) match() error {
	pr := &problems{s: pl.s}
	pl.matchParent(pr)
	pl.matchOrgs(pr)
	pl.matchExceptions(pr)
	pl.matchOwnerGroups()
	if len(pr.diags) > 0 {
		return &MismatchError{Problems: pr.diags}
	}
	pl.noteLapsed()
	return nil
}

// matchParent checks that the spec describes the server's parent org.
func (pl *planner) matchParent(pr *problems) {
	s, t := pl.s, pl.t
	if match.Name(s.Parent.Name) != match.Name(t.Parent.Name) {
		pr.add(spec.Pos{}, "parent.name",
			fmt.Sprintf("%q is not the server's parent organization %q", s.Parent.Name, t.Parent.Name),
			fmt.Sprintf("set parent.name to %q if this is the right tenant", t.Parent.Name))
	}
}

// matchOrgs finds the server's child org for each one the spec names and
// records its desired configuration in pl.managed, keyed by org id.
func (pl *planner) matchOrgs(pr *problems) {
	s, t := pl.s, pl.t
	allGroups := make([]string, 0, len(t.Groups))
	for _, g := range t.Groups {
		allGroups = append(allGroups, g.DisplayName)
	}
	// Server child orgs whose names collide case-insensitively.
	dupOrgs := map[string]int{}
	for _, o := range t.Orgs {
		dupOrgs[match.Name(o.Name)]++
	}
	for i := range s.Organizations {
		so := &s.Organizations[i]
		path := fmt.Sprintf("organizations[%d]", i)
		o := pl.orgByName[match.Name(so.Name)]
		pl.checkOrgName(pr, so, path, o, dupOrgs[match.Name(so.Name)])
		mo := &managedOrg{spec: so, seats: maps.Clone(so.Seats)}
		if mo.seats == nil {
			mo.seats = map[string]int{}
		}
		mo.mappings = pl.matchMappings(pr, so, path, allGroups)
		if o == nil || dupOrgs[match.Name(so.Name)] != 1 {
			continue
		}
		if prev, dup := pl.managed[o.ID]; dup {
			pr.add(so.Pos, path+".name", fmt.Sprintf("child organization %q is named twice in the spec", so.Name),
				fmt.Sprintf("merge it with %s", prev.spec.Name))
			continue
		}
		pl.managed[o.ID] = mo
	}
}

// checkOrgName reports a spec org o that the server lacks (nil), or that
// names n > 1 of the server's child orgs.
func (pl *planner) checkOrgName(pr *problems, so *spec.Organization, path string, o *resolve.Org, n int) {
	switch {
	case o == nil:
		orgNames := make([]string, 0, len(pl.t.Orgs))
		for _, o := range pl.t.Orgs {
			orgNames = append(orgNames, o.Name)
		}
		fix := "organizations are created by support, not through the API"
		if sug := suggest(so.Name, orgNames); len(sug) > 0 {
			fix = "did you mean " + quoteAll(sug) + "?"
		}
		pr.add(so.Pos, path+".name", fmt.Sprintf("no child organization named %q on the server", so.Name), fix)
	case n > 1:
		pr.add(so.Pos, path+".name", fmt.Sprintf("%d child organizations on the server are named %q (case-insensitively)", n, so.Name), "")
	}
}

// matchMappings returns the desired mappings of the spec org so (at path),
// each naming its group by id, and marks their groups as read.
func (pl *planner) matchMappings(pr *problems, so *spec.Organization, path string, allGroups []string) []resolve.Mapping {
	var out []resolve.Mapping
	mappedAt := map[string]string{} // group id → path of its mapping
	for j, m := range so.Mappings {
		mpath := fmt.Sprintf("%s.mappings[%d]", path, j)
		gid, ok := pl.mappedGroup(pr, m, mpath, allGroups)
		if !ok {
			continue
		}
		if prev, dup := mappedAt[gid]; dup {
			pr.add(m.Pos, mpath, fmt.Sprintf("group %q is mapped twice in %s (also at %s)", pl.groupByID[gid].DisplayName, so.Name, prev),
				"merge the two mappings: a user gets the highest role and tier of its groups anyway")
			continue
		}
		mappedAt[gid] = mpath
		if pl.t.MembersRead != nil && !pl.t.MembersRead[gid] {
			pr.add(m.Pos, mpath, fmt.Sprintf("the members of group %q were not read from the server", pl.groupByID[gid].DisplayName), "")
		}
		pl.readIDs[gid] = true
		out = append(out, resolve.Mapping{GroupID: gid, Role: resolve.Role(m.Role), SeatTier: m.SeatTier})
	}
	return out
}

// mappedGroup returns the id of the one server group mapping m (at mpath)
// names, by groupId or by displayName; false, with the problem recorded,
// when there is none or more than one.
func (pl *planner) mappedGroup(pr *problems, m spec.Mapping, mpath string, allGroups []string) (string, bool) {
	if m.GroupID != "" {
		if _, ok := pl.groupByID[m.GroupID]; !ok {
			pr.add(m.Pos, mpath+".groupId", fmt.Sprintf("no group with id %q on the server", m.GroupID), "")
			return "", false
		}
		return m.GroupID, true
	}
	gs := pl.groupByName[match.Name(m.Group)]
	switch len(gs) {
	case 0:
		fix := ""
		if sug := suggest(m.Group, allGroups); len(sug) > 0 {
			fix = "did you mean " + quoteAll(sug) + "?"
		}
		pr.add(m.Pos, mpath+".group", fmt.Sprintf("no group named %q on the server", m.Group), fix)
		return "", false
	case 1:
		return gs[0].ID, true
	}
	ids := make([]string, len(gs))
	for k, g := range gs {
		ids[k] = g.ID
	}
	slices.Sort(ids)
	pr.add(m.Pos, mpath+".group", fmt.Sprintf("%d groups are named %q (case-insensitively): ids %s", len(gs), m.Group, strings.Join(ids, ", ")),
		"name the group by groupId instead")
	return "", false
}

// matchExceptions gives each managed org the policy.exceptions naming it,
// sorted by email, until and reason (never nil): those that hold at the
// plan's instant as its desired exceptions, those that lapsed (until is
// inclusive; spec.Lapsed) apart. In every mode: the spec means "keep until
// until", and after that day the server holds the exception no longer.
func (pl *planner) matchExceptions(pr *problems) {
	for i, x := range pl.s.Policy.Exceptions {
		path := fmt.Sprintf("policy.exceptions[%d]", i)
		var target *managedOrg
		for _, mo := range pl.managed {
			if match.Name(mo.spec.Name) == match.Name(x.Org) {
				target = mo
			}
		}
		if target == nil {
			if !pl.specNames(x.Org) {
				pr.add(x.Pos, path+".org", fmt.Sprintf("%q is not a child organization of the spec", x.Org), "")
			}
			continue
		}
		rx := resolve.Exception{Email: resolve.NormEmail(x.Email), Until: x.Until, Reason: x.Reason}
		if spec.Lapsed(x.Until, pl.now) {
			target.lapsed = append(target.lapsed, rx)
		} else {
			target.exceptions = append(target.exceptions, rx)
		}
	}
	for _, mo := range pl.managed {
		sortExceptions(mo.exceptions)
		sortExceptions(mo.lapsed)
		if mo.exceptions == nil {
			mo.exceptions = []resolve.Exception{}
		}
	}
}

func sortExceptions(xs []resolve.Exception) {
	slices.SortFunc(xs, func(a, b resolve.Exception) int {
		return cmp.Or(cmp.Compare(a.Email, b.Email), cmp.Compare(a.Until, b.Until), cmp.Compare(a.Reason, b.Reason))
	})
}

// noteLapsed makes the tenant the planner reads one whose child orgs hold,
// as HeldExceptions, the spec's lapsed exceptions naming them. They keep
// nobody; they only give a removal its reason, "exception expired", in
// every phase of the simulation, before the org's write as after it
// (DESIGN §5: whichever side holds the lapsed exception). The tenant
// itself is not modified: the planner reads a shallow copy.
func (pl *planner) noteLapsed() {
	var orgs []resolve.Org
	for i := range pl.t.Orgs {
		mo := pl.managed[pl.t.Orgs[i].ID]
		if mo == nil || len(mo.lapsed) == 0 {
			continue
		}
		if orgs == nil {
			orgs = slices.Clone(pl.t.Orgs)
		}
		orgs[i].HeldExceptions = slices.Concat(orgs[i].HeldExceptions, mo.lapsed)
	}
	if orgs != nil {
		t := *pl.t
		t.Orgs = orgs
		pl.t = &t
	}
}

// matchOwnerGroups records the ids of the policy.ownerGroups that exist,
// named by id or displayName.
func (pl *planner) matchOwnerGroups() {
	for _, g := range pl.s.Policy.OwnerGroups {
		if _, ok := pl.groupByID[g]; ok {
			pl.ownerIDs[g] = true
		}
		for _, gg := range pl.groupByName[match.Name(g)] {
			pl.ownerIDs[gg.ID] = true
		}
	}
}

// specNames reports whether the spec names a child org called name.
func (pl *planner) specNames(name string) bool {
	for _, so := range pl.s.Organizations {
		if match.Name(so.Name) == match.Name(name) {
			return true
		}
	}
	return false
}

// groupName names group id for a reader: its displayName, followed by its
// id when another group's displayName is the same (as match.Name compares
// them), so that two such groups never read, or sort, as one.
func (pl *planner) groupName(id string) string {
	if g, ok := pl.groupByID[id]; ok {
		if len(pl.groupByName[match.Name(g.DisplayName)]) > 1 {
			return g.DisplayName + " (" + id + ")"
		}
		return g.DisplayName
	}
	return id + " (deleted group)"
}

// desired returns the resolution input for the desired configuration, with
// the parent's mode set to mode.
func (pl *planner) desired(mode resolve.Mode) resolve.Input {
	parent := pl.t.Parent
	parent.Mode = mode
	parent.SeatTiers = slices.Clone(pl.s.Parent.SeatTiers)
	orgs := slices.Clone(pl.t.Orgs)
	for i := range orgs {
		if mo, ok := pl.managed[orgs[i].ID]; ok {
			orgs[i].Mappings = mo.mappings
			orgs[i].Seats = mo.seats
			// The exceptions as read (the server's, or current.exceptions)
			// and the spec's lapsed ones (noteLapsed) still name a lapse's
			// reason (issue 15).
			orgs[i].HeldExceptions = slices.Concat(orgs[i].Exceptions, orgs[i].HeldExceptions)
			orgs[i].Exceptions = mo.exceptions
		}
	}
	return resolve.Input{Users: pl.t.Users, Groups: pl.t.Groups, Parent: parent, Orgs: orgs, Members: pl.t.Members, Now: pl.now}
}

func (pl *planner) plan() *Plan {
	s, t := pl.s, pl.t
	// The fingerprint reads the tenant only: hash it on the other core
	// while the members are simulated.
	fp := make(chan Fingerprint, 1)
	go func() { fp <- FingerprintOf(t) }()
	p := &Plan{
		FormatVersion: FormatVersion,
		GeneratedAt:   pl.now,
		SpecHash:      s.Hash(),
		Parent:        OrgRef{ID: t.Parent.ID, Name: match.Name(t.Parent.Name), Version: t.Parent.Version},
		Mode:          ModeChange{Before: string(t.Parent.Mode), After: pl.desiredMode()},
		ConfigChanges: []ConfigChange{},
		Members:       []MemberChange{},
		Readiness:     []Readiness{},
		Seats:         []SeatUsage{},
		Findings:      []Finding{},
		Expiring:      []Expiring{},
		GroupSizes:    []GroupSize{},
		Predicted:     []Prediction{},
		ReadGroupIDs:  slices.Sorted(maps.Keys(pl.readIDs)),
		Writes:        []Write{},
	}
	if p.ReadGroupIDs == nil {
		p.ReadGroupIDs = []string{}
	}
	pl.configChanges(p)

	mode := resolve.Mode(pl.desiredMode())
	p.Steps = orderSteps(p.Writes, t.Parent.Mode, mode)
	// The members only an exception keeps, in full mode after the plan:
	// the readiness report's, or the plan's own when it ends in full.
	var excepted func() []resolve.OrgEmail
	if mode != resolve.ModeFull {
		// The readiness report first, so that its simulation is garbage
		// before the other one is built: at 100k members each holds tens
		// of megabytes. It replays the steps of the same writes with the
		// mode switched to full.
		full := orderSteps(withMode(p.Writes, t.Parent, t.Parent.Mode, resolve.ModeFull), t.Parent.Mode, resolve.ModeFull)
		rs := pl.simulate(resolve.ModeFull, full)
		pl.readiness(p, rs.outcomes)
		excepted = rs.excepted
	}
	sim := pl.simulate(mode, p.Steps)
	// The predictions depend on the final members alone, and the
	// look-alike check on the observed members' addresses: compute them on
	// the other core while the rest of the plan is built. Not before: the
	// simulation's memory is let go first (issue 18).
	predicted := make(chan []Prediction, 1)
	final := sim.members
	go func() { predicted <- pl.predicted(final) }()
	pl.addresses = make(chan map[string]*orgAddresses, 1)
	go func() { pl.addresses <- pl.observedAddresses() }()
	if mode == resolve.ModeFull {
		pl.readiness(p, sim.outcomes)
		excepted = sim.excepted
	}
	in := pl.desired(mode)
	pl.memberChanges(p, sim.outcomes)
	sim.outcomes = nil // in the plan now: let the 100k records go
	pl.seats(p, in, sim)
	pl.findings(p, in, sim.final)
	pl.groupSizes(p, sim.final)
	pl.expiring(p, excepted)
	p.Predicted = append(p.Predicted, <-predicted...)

	p.Summary.Config = len(p.ConfigChanges)
	sortMembers(p.Members)
	p.Fingerprint = <-fp
	return p
}

// sortedOrgs returns the child orgs by lower-cased name, then id.
func (pl *planner) sortedOrgs() []resolve.Org {
	orgs := slices.Clone(pl.t.Orgs)
	slices.SortFunc(orgs, func(a, b resolve.Org) int {
		return cmp.Or(cmp.Compare(match.Name(a.Name), match.Name(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	return orgs
}

// configChanges records the configuration changes and the writes that make
// them: the parent's, then each managed child org's, by name.
func (pl *planner) configChanges(p *Plan) {
	pl.parentChanges(p)
	for _, o := range pl.sortedOrgs() {
		mo, ok := pl.managed[o.ID]
		if !ok {
			continue
		}
		name := match.Name(o.Name)
		var ops []scim.PatchOp
		var changes []ConfigChange
		for _, field := range []func(resolve.Org, *managedOrg, string) ([]ConfigChange, *scim.PatchOp){
			pl.mappingChanges, seatChanges, exceptionChanges,
		} {
			cs, op := field(o, mo, name)
			changes = append(changes, cs...)
			if op != nil {
				ops = append(ops, *op)
			}
		}
		slices.SortFunc(changes, func(a, b ConfigChange) int {
			return cmp.Or(cmp.Compare(fieldRank(a.Field), fieldRank(b.Field)), cmp.Compare(a.Key, b.Key))
		})
		p.ConfigChanges = append(p.ConfigChanges, changes...)
		if len(ops) > 0 {
			p.Writes = append(p.Writes, Write{OrgID: o.ID, Org: name, Version: o.Version, Ops: ops})
		}
	}
}

// parentChanges records the changes of the parent's mode, login domains
// and seat tiers, and the one write that makes them.
func (pl *planner) parentChanges(p *Plan) {
	s, t := pl.s, pl.t
	parentName := match.Name(t.Parent.Name)
	var ops []scim.PatchOp
	if mode := pl.desiredMode(); string(t.Parent.Mode) != mode {
		p.ConfigChanges = append(p.ConfigChanges, ConfigChange{Org: parentName, Field: FieldMode, Before: string(t.Parent.Mode), After: pl.desiredMode()})
		ops = append(ops, scim.PatchOp{Op: "replace", Path: "mode", Value: string(s.Parent.Mode)})
	}
	if len(s.Parent.LoginDomains) > 0 {
		want := normSet(s.Parent.LoginDomains)
		have := normSet(t.Parent.LoginDomains)
		if !slices.Equal(want, have) {
			p.ConfigChanges = append(p.ConfigChanges, ConfigChange{Org: parentName, Field: FieldLoginDomains, Before: strings.Join(have, ", "), After: strings.Join(want, ", ")})
			ops = append(ops, scim.PatchOp{Op: "replace", Path: "loginDomains", Value: want})
		}
	}
	if !slices.Equal(s.Parent.SeatTiers, t.Parent.SeatTiers) {
		p.ConfigChanges = append(p.ConfigChanges, ConfigChange{Org: parentName, Field: FieldSeatTiers, Before: strings.Join(t.Parent.SeatTiers, ", "), After: strings.Join(s.Parent.SeatTiers, ", ")})
		ops = append(ops, scim.PatchOp{Op: "replace", Path: "seatTiers", Value: nonNil(slices.Clone(s.Parent.SeatTiers))})
	}
	if len(ops) > 0 {
		w := Write{OrgID: t.Parent.ID, Org: parentName, Parent: true, Version: t.Parent.Version, Ops: ops}
		if slices.ContainsFunc(ops, isSeatTiersOp) {
			w.SeatTiersBefore = nonNil(slices.Clone(t.Parent.SeatTiers))
		}
		p.Writes = append(p.Writes, w)
	}
}

// mappingChanges compares o's mappings with the desired ones, per group,
// ignoring order (order only decides which of two equal mappings is named
// as deciding), and returns the changes and, when any, the write of the
// whole desired list.
func (pl *planner) mappingChanges(o resolve.Org, mo *managedOrg, name string) ([]ConfigChange, *scim.PatchOp) {
	have := map[string]resolve.Mapping{}
	dupHave := false
	for _, m := range o.Mappings {
		if _, dup := have[m.GroupID]; dup {
			dupHave = true
		}
		have[m.GroupID] = m
	}
	want := map[string]resolve.Mapping{}
	for _, m := range mo.mappings {
		want[m.GroupID] = m
	}
	var changes []ConfigChange
	for gid, w := range want {
		switch h, ok := have[gid]; {
		case !ok:
			changes = append(changes, ConfigChange{Org: name, Field: FieldMapping, Key: pl.groupName(gid), After: mappingValue(w)})
		case h.Role != w.Role || h.SeatTier != w.SeatTier:
			changes = append(changes, ConfigChange{Org: name, Field: FieldMapping, Key: pl.groupName(gid), Before: mappingValue(h), After: mappingValue(w)})
		}
	}
	for gid, h := range have {
		if _, ok := want[gid]; !ok {
			changes = append(changes, ConfigChange{Org: name, Field: FieldMapping, Key: pl.groupName(gid), Before: mappingValue(h)})
		}
	}
	if !dupHave && len(have) == len(want) && len(changes) == 0 {
		return nil, nil
	}
	ms := make([]scim.Mapping, 0, len(mo.mappings))
	for _, m := range mo.mappings {
		ms = append(ms, scim.Mapping{Group: m.GroupID, Role: string(m.Role), SeatTier: m.SeatTier})
	}
	return changes, &scim.PatchOp{Op: "replace", Path: "mappings", Value: ms}
}

// seatChanges compares o's seats with the desired ones, per tier, and
// returns the changes and, when any, the write of the desired seats.
func seatChanges(o resolve.Org, mo *managedOrg, name string) ([]ConfigChange, *scim.PatchOp) {
	var changes []ConfigChange
	for _, tier := range slices.Sorted(maps.Keys(mo.seats)) {
		n := mo.seats[tier]
		if h, ok := o.Seats[tier]; !ok || h != n {
			before := ""
			if ok {
				before = strconv.Itoa(h)
			}
			changes = append(changes, ConfigChange{Org: name, Field: FieldSeats, Key: tier, Before: before, After: strconv.Itoa(n)})
		}
	}
	for _, tier := range slices.Sorted(maps.Keys(o.Seats)) {
		if _, ok := mo.seats[tier]; !ok {
			changes = append(changes, ConfigChange{Org: name, Field: FieldSeats, Key: tier, Before: strconv.Itoa(o.Seats[tier])})
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	return changes, &scim.PatchOp{Op: "replace", Path: "seats", Value: maps.Clone(mo.seats)}
}

// exceptionChanges compares o's exceptions with the desired ones, by
// normalized email, and returns the changes and, when any, the write of
// the whole desired list.
func exceptionChanges(o resolve.Org, mo *managedOrg, name string) ([]ConfigChange, *scim.PatchOp) {
	haveX := map[string]resolve.Exception{}
	dupX := false
	for _, x := range o.Exceptions {
		k := resolve.NormEmail(x.Email)
		if _, dup := haveX[k]; dup {
			dupX = true
		}
		haveX[k] = x
	}
	wantX := map[string]resolve.Exception{}
	for _, x := range mo.exceptions {
		wantX[x.Email] = x
	}
	var changes []ConfigChange
	for k, w := range wantX {
		switch h, ok := haveX[k]; {
		case !ok:
			changes = append(changes, ConfigChange{Org: name, Field: FieldException, Key: k, After: exceptionValue(w)})
		case h.Until != w.Until || h.Reason != w.Reason:
			changes = append(changes, ConfigChange{Org: name, Field: FieldException, Key: k, Before: exceptionValue(h), After: exceptionValue(w)})
		}
	}
	for k, h := range haveX {
		if _, ok := wantX[k]; !ok {
			changes = append(changes, ConfigChange{Org: name, Field: FieldException, Key: k, Before: exceptionValue(h)})
		}
	}
	if !dupX && len(o.Exceptions) == len(mo.exceptions) && len(changes) == 0 {
		return nil, nil
	}
	xs := make([]scim.Exception, 0, len(mo.exceptions))
	for _, x := range mo.exceptions {
		xs = append(xs, scim.Exception{Email: x.Email, Until: x.Until, Reason: x.Reason})
	}
	return changes, &scim.PatchOp{Op: "replace", Path: "exceptions", Value: xs}
}

func fieldRank(f string) int {
	switch f {
	case FieldMode:
		return 0
	case FieldLoginDomains:
		return 1
	case FieldSeatTiers:
		return 2
	case FieldMapping:
		return 3
	case FieldSeats:
		return 4
	case FieldException:
		return 5
	}
	return 6
}

func mappingValue(m resolve.Mapping) string { return string(m.Role) + "/" + m.SeatTier }

func exceptionValue(x resolve.Exception) string {
	if x.Reason == "" {
		return "until " + x.Until
	}
	return "until " + x.Until + " (" + x.Reason + ")"
}

// normSet lower-cases, trims, de-duplicates and sorts ss.
func normSet(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, match.Name(s))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func (pl *planner) memberChanges(p *Plan, outcomes []resolve.Outcome) {
	n := 0
	for i := range outcomes {
		if outcomes[i].Action != resolve.ActionKeep {
			n++
		}
	}
	p.Members = slices.Grow(p.Members, n)
	// The changes' assignments, two at most per change, in one allocation.
	as := make([]Assignment, 0, 2*n)
	assign := func(m *resolve.Member) *Assignment {
		if m == nil {
			return nil
		}
		as = append(as, Assignment{Role: string(m.Role), SeatTier: m.SeatTier, Origin: string(m.Origin)})
		return &as[len(as)-1]
	}
	// Outcomes are sorted by org: look each org's name up once per run.
	org, name, known := "", "", false
	for i := range outcomes {
		oc := &outcomes[i]
		if i == 0 || oc.Org != org {
			org = oc.Org
			name, known = pl.orgName[org]
		}
		if !known {
			continue
		}
		var action Action
		switch oc.Action {
		case resolve.ActionAdd:
			action = ActionAdd
			p.Summary.Add++
		case resolve.ActionChange:
			action = ActionChange
			p.Summary.Change++
		case resolve.ActionLink:
			action = ActionLink
			p.Summary.Link++
		case resolve.ActionRemove:
			action = ActionRemove
			p.Summary.Remove++
		default:
			continue
		}
		mc := MemberChange{Org: name, Email: resolve.NormEmail(oc.Email), Action: action, Before: assign(oc.Before), After: assign(oc.After), Reason: string(oc.Reason)}
		mc.User = pl.joinedUser(oc)
		if oc.RoleGroup != "" {
			mc.Via = pl.groupName(oc.RoleGroup)
		}
		if oc.TierGroup != "" && oc.TierGroup != oc.RoleGroup {
			mc.ViaTier = pl.groupName(oc.TierGroup)
		}
		p.Members = append(p.Members, mc)
	}
}

// joinedUser is the SCIM user a change or link joins an existing member
// to, when none of that user's addresses is byte for byte the member's
// email, or when another user holds that address too: the plan then shows
// which user (DESIGN §5). Nil otherwise.
func (pl *planner) joinedUser(oc *resolve.Outcome) *UserRef {
	if oc.Before == nil || oc.After == nil || oc.After.UserID == "" || oc.Before.UserID == oc.After.UserID {
		return nil
	}
	if pl.userByID == nil {
		pl.userByID = make(map[string]*resolve.User, len(pl.t.Users))
		for i := range pl.t.Users {
			pl.userByID[pl.t.Users[i].ID] = &pl.t.Users[i]
		}
	}
	u := pl.userByID[oc.After.UserID]
	if u == nil {
		return nil
	}
	email := asciiLower(strings.TrimSpace(oc.Before.Email))
	same := func(e string) bool { return asciiLower(strings.TrimSpace(e)) == email }
	if (same(u.UserName) || slices.ContainsFunc(u.Emails, same)) && pl.holders(oc.Before.Email) < 2 {
		return nil
	}
	return &UserRef{UserName: u.UserName, ID: u.ID}
}

// holders is how many users hold email among their addresses (as
// resolution matches them): more than one, and which of them a member is
// joined to is for the plan to say.
func (pl *planner) holders(email string) int {
	if pl.emailHolders == nil {
		pl.emailHolders = make(map[string]int, len(pl.t.Users))
		for i := range pl.t.Users {
			for _, e := range resolve.UserEmails(pl.t.Users[i]) {
				pl.emailHolders[e]++
			}
		}
	}
	return pl.emailHolders[resolve.NormEmail(email)]
}

// asciiLower lower-cases ASCII letters only: the plan shows emails
// lower-cased, so an ASCII case difference is one a reader cannot see
// anyway; any other byte difference (a Kelvin sign for a k) is shown.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// exceptionUntil is the latest until of an exception for email in the org
// with id org, the desired ones and the server's; "" when there is none.
func (pl *planner) exceptionUntil(org, email string) string {
	until := ""
	check := func(xs []resolve.Exception) {
		for _, x := range xs {
			if resolve.NormEmail(x.Email) == email && x.Until > until {
				until = x.Until
			}
		}
	}
	if mo := pl.managed[org]; mo != nil {
		check(mo.exceptions)
	}
	for i := range pl.t.Orgs {
		if pl.t.Orgs[i].ID == org {
			check(pl.t.Orgs[i].Exceptions)
		}
	}
	return until
}

func (pl *planner) readiness(p *Plan, full []resolve.Outcome) {
	type counts struct{ members, scim int }
	now := map[string]*counts{}
	for _, m := range pl.t.Members {
		c := now[m.Org]
		if c == nil {
			c = &counts{}
			now[m.Org] = c
		}
		c.members++
		if m.Origin == resolve.OriginSCIM {
			c.scim++
		}
	}
	protected := protectedSet(pl.s.Policy)
	removals := map[string][]Removal{}
	for _, oc := range full {
		if oc.Action == resolve.ActionRemove {
			email := resolve.NormEmail(oc.Email)
			removals[oc.Org] = append(removals[oc.Org], Removal{Email: email, Reason: string(oc.Reason),
				Protected: protected[email], ExceptionUntil: pl.exceptionUntil(oc.Org, email)})
			if x := &removals[oc.Org][len(removals[oc.Org])-1]; oc.Reason == resolve.ReasonExceptionExpired {
				x.ExceptionUntil = "" // the reason says it
			} else if x.ExceptionUntil != "" {
				x.ExceptionLapsed = spec.Lapsed(x.ExceptionUntil, pl.now)
			}
		}
	}
	for _, o := range pl.sortedOrgs() {
		r := Readiness{Org: match.Name(o.Name), WouldRemove: removals[o.ID]}
		if c := now[o.ID]; c != nil {
			r.Members, r.ScimBacked = c.members, c.scim
		}
		if r.WouldRemove == nil {
			r.WouldRemove = []Removal{}
		}
		slices.SortFunc(r.WouldRemove, func(a, b Removal) int { return cmp.Or(cmp.Compare(a.Email, b.Email), cmp.Compare(a.Reason, b.Reason)) })
		p.Readiness = append(p.Readiness, r)
	}
}

func (pl *planner) seats(p *Plan, in resolve.Input, sim simulation) {
	type key struct{ org, tier string }
	now, after, entitled := map[key]int{}, map[key]int{}, map[key]int{}
	for _, m := range pl.t.Members {
		now[key{m.Org, m.SeatTier}]++
	}
	for _, m := range sim.members {
		after[key{m.Org, m.SeatTier}]++
	}
	for _, e := range sim.final.Entitled {
		entitled[key{e.Org, e.SeatTier}]++
	}
	orgs := map[string]resolve.Org{}
	for _, o := range in.Orgs {
		orgs[o.ID] = o
	}
	for _, o := range pl.sortedOrgs() {
		o := orgs[o.ID]
		tiers := slices.Clone(in.Parent.SeatTiers)
		var extra []string
		for _, m := range []map[key]int{now, after, entitled} {
			for k := range m {
				if k.org == o.ID && !slices.Contains(tiers, k.tier) && !slices.Contains(extra, k.tier) {
					extra = append(extra, k.tier)
				}
			}
		}
		for tier := range o.Seats {
			if !slices.Contains(tiers, tier) && !slices.Contains(extra, tier) {
				extra = append(extra, tier)
			}
		}
		slices.Sort(extra)
		for _, tier := range append(tiers, extra...) {
			k := key{o.ID, tier}
			u := SeatUsage{Org: match.Name(o.Name), Tier: tier, Purchased: o.Seats[tier], Now: now[k], After: after[k], Entitled: entitled[k]}
			if u.Purchased == 0 && u.Now == 0 && u.After == 0 && u.Entitled == 0 {
				if _, listed := o.Seats[tier]; !listed {
					continue
				}
			}
			// Entitlement is defined, and seats counted against it, only
			// where SCIM decides the members (DESIGN §5): staged and full.
			u.Overcommit = u.Entitled > u.Purchased && (in.Parent.Mode == resolve.ModeStaged || in.Parent.Mode == resolve.ModeFull)
			p.Seats = append(p.Seats, u)
		}
	}
}

func (pl *planner) groupSizes(p *Plan, res resolve.Result) {
	for id, n := range res.GroupUsers {
		p.GroupSizes = append(p.GroupSizes, GroupSize{ID: id, Name: pl.groupName(id), Users: n})
	}
	slices.SortFunc(p.GroupSizes, func(a, b GroupSize) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
}

// expiring lists the spec's exceptions within policy.exceptionNoticeDays
// of lapsing at the plan's instant (spec.ExpiringExceptions, the one rule
// of the window), for the child orgs the spec manages: by org name, then
// until, then email.
func (pl *planner) expiring(p *Plan, excepted func() []resolve.OrgEmail) {
	ids := map[string]string{} // match.Name of the spec's name → the org's id
	for id, mo := range pl.managed {
		ids[match.Name(mo.spec.Name)] = id
	}
	pol := pl.s.Policy
	var keeps map[resolve.OrgEmail]bool
	for _, x := range spec.ExpiringExceptions(pol.Exceptions, pl.now, pol.NoticeDays()) {
		id, ok := ids[match.Name(x.Org)]
		if !ok {
			continue
		}
		if keeps == nil {
			keeps = map[resolve.OrgEmail]bool{}
			for _, k := range excepted() {
				keeps[k] = true
			}
		}
		email := resolve.NormEmail(x.Email)
		p.Expiring = append(p.Expiring, Expiring{Org: pl.orgName[id], Email: email, Until: x.Until, DaysLeft: x.DaysLeft, Reason: x.Reason,
			KeepsNobody: !keeps[resolve.OrgEmail{Org: id, Email: email}]})
	}
	slices.SortFunc(p.Expiring, func(a, b Expiring) int {
		return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Until, b.Until), cmp.Compare(a.Email, b.Email))
	})
}

// predicted returns PredictMembers of every child org, by name.
func (pl *planner) predicted(members []resolve.Member) []Prediction {
	// Resolved members come sorted by org: each org's are then a run of
	// members, taken as it is. Otherwise they are copied org by org.
	byOrg := map[string][]resolve.Member{}
	for i := 0; i < len(members); {
		j := i + 1
		for j < len(members) && members[j].Org == members[i].Org {
			j++
		}
		if _, seen := byOrg[members[i].Org]; seen {
			byOrg = membersByOrg(members)
			break
		}
		byOrg[members[i].Org] = members[i:j:j]
		i = j
	}
	var out []Prediction
	for _, o := range pl.sortedOrgs() {
		out = append(out, PredictMembers(o.ID, o.Name, byOrg[o.ID]))
	}
	return out
}

// membersByOrg returns copies of each org's members, in order.
func membersByOrg(members []resolve.Member) map[string][]resolve.Member {
	count := map[string]int{}
	for i := range members {
		count[members[i].Org]++
	}
	byOrg := make(map[string][]resolve.Member, len(count))
	for org, n := range count {
		byOrg[org] = make([]resolve.Member, 0, n)
	}
	for _, m := range members {
		byOrg[m.Org] = append(byOrg[m.Org], m)
	}
	return byOrg
}

func actionRank(a Action) int {
	switch a {
	case ActionRemove:
		return 0
	case ActionChange:
		return 1
	case ActionAdd:
		return 2
	case ActionLink:
		return 3
	}
	return 4
}

// sortMembers sorts ms by org, email, action and reason. It sorts small
// records standing for the changes, by (org rank, the email's first
// bytes, then the changes themselves): every comparison has the sign the
// changes' own comparison has, so the sort takes the same course and
// leaves equal changes in the same order as sorting ms itself would. Then
// it moves each change once into its place.
//
// Changes come from sorted outcomes, in a run per org (by id), and the
// findings' flags after them: when the records merge from a few runs into
// an order where no two are equal, that order is the only one, and the
// sort is skipped.
func sortMembers(ms []MemberChange) {
	at := func(i int) (string, string) { return ms[i].Org, ms[i].Email }
	recs := orgEmailRecords(nil, len(ms), at)
	compare := func(a, b orgEmailRec) int {
		return compareOrgEmail(a, b, func(i, j int32) int {
			x, y := &ms[i], &ms[j]
			return cmp.Or(cmp.Compare(x.Email, y.Email), cmp.Compare(actionRank(x.Action), actionRank(y.Action)), cmp.Compare(x.Reason, y.Reason))
		})
	}
	merged := sortRuns(recs, compare, 64)
	for i := 1; merged && i < len(recs); i++ {
		merged = compare(recs[i-1], recs[i]) != 0
	}
	if !merged {
		orgEmailRecords(recs, len(ms), at)
		slices.SortFunc(recs, compare)
	}
	reorder(ms, positions(recs))
}
