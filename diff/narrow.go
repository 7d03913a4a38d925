package diff

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// Narrowing a plan to some child orgs (plan --org, DESIGN §8a).
//
// The whole plan is computed first and every gate evaluated on it; the
// narrowed plan is then cut out of it: member changes, configuration
// changes, writes, readiness, seats, expiring exceptions, predictions,
// group sizes and findings of the kept orgs only. This is exact when a child org's members depend
// only on the parent and that org's own configuration, and a plan that
// changes the parent is refused (ParentChangeError): the kept orgs' writes,
// applied alone, then give exactly the members the whole plan predicts for
// them, and leave every other org's as they are. That does not hold when
// the server's members do not yet reflect its configuration (an exception
// it holds lapsed since it last recomputed an org): the first write makes
// it recompute every org. So the kept orgs' writes are simulated alone, and
// the narrowing is refused (NarrowOutsideError) unless they leave every
// other org's members as observed and give the kept orgs' the whole plan's.
//
// Gates are never weakened by narrowing. A per-org finding (seats,
// maxRemovalPercent, protected users, empty groups, ownerGroups,
// look-alike emails) is kept when its org is kept; exclusiveOrgs when any of
// its orgs is. policy.maxRemovals is a limit on the whole tenant: it is
// judged on the whole plan's removals, so that splitting a plan into
// narrowed ones never lets more through without an override, and kept
// whenever the narrowed plan removes anyone. Any other plan-wide finding is
// kept. The fingerprint and the groups read stay the whole tenant's: a
// narrowed plan is stale when anything changed, not only its orgs.

// Options tune ComputeWith.
type Options struct {
	// Orgs, when not empty, narrows the plan to these child orgs, named as
	// on the server (case-insensitively).
	Orgs []string
}

// UnknownOrgError says that a name to narrow a plan to is not a child org
// of the tenant. Suggestions holds the closest names, nearest first.
type UnknownOrgError struct {
	Name        string
	Suggestions []string
	// Ambiguous is set when the name matches several child orgs
	// (case-insensitively) instead of none.
	Ambiguous int
}

func (e *UnknownOrgError) Error() string {
	if e.Ambiguous > 1 {
		return fmt.Sprintf("narrowing the plan: %d child organizations on the server are named %q (case-insensitively)", e.Ambiguous, e.Name)
	}
	s := fmt.Sprintf("narrowing the plan: no child organization named %q on the server", e.Name)
	if len(e.Suggestions) > 0 {
		s += "; did you mean " + quoteAll(e.Suggestions) + "?"
	}
	return s
}

// ParentChangeError says that a plan cannot be narrowed because it changes
// the parent organization, which every child org shares: the mode,
// loginDomains or seatTiers. Changes lists those changes.
type ParentChangeError struct {
	Orgs    []string
	Parent  string
	Changes []ConfigChange
}

func (e *ParentChangeError) Error() string {
	var parts []string
	for _, c := range e.Changes {
		parts = append(parts, c.Field+" "+orNone(c.Before)+" → "+orNone(c.After))
	}
	return fmt.Sprintf("cannot narrow the plan to %s: it changes the parent organization %s (%s), which applies to every child org",
		strings.Join(e.Orgs, ", "), e.Parent, strings.Join(parts, "; "))
}

// NarrowOutsideError says that a plan cannot be narrowed to Orgs because
// their writes, applied alone, would change the members of Affected, orgs
// outside the filter (the server recomputes every org after a write), or
// give the members of Inexact, orgs inside it, other than the whole plan
// predicts.
type NarrowOutsideError struct {
	Orgs     []string
	Affected []string
	Inexact  []string
}

func (e *NarrowOutsideError) Error() string {
	var parts []string
	if len(e.Affected) > 0 {
		parts = append(parts, "would also change the members of "+strings.Join(e.Affected, ", "))
	}
	if len(e.Inexact) > 0 {
		parts = append(parts, "would give "+strings.Join(e.Inexact, ", ")+" other members than the whole plan predicts")
	}
	return fmt.Sprintf("cannot narrow the plan to %s: applying only its writes %s (the server recomputes every org after a write, "+
		"and some members do not reflect the server's configuration yet, an exception having lapsed since)",
		strings.Join(e.Orgs, ", "), strings.Join(parts, ", and "))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// ComputeWith is Compute with options. With opts.Orgs it returns the plan
// narrowed to those child orgs (see the top of this file), its OrgFilter
// set; an *UnknownOrgError when one is not a child org of t, and a
// *ParentChangeError when the plan changes the parent organization.
func ComputeWith(s *spec.Spec, t *tenant.Tenant, now time.Time, opts Options) (*Plan, error) {
	if s == nil || t == nil {
		return nil, fmt.Errorf("computing plan: nil spec or tenant")
	}
	pl := newPlanner(s, t, now)
	if err := pl.match(); err != nil {
		return nil, err
	}
	if len(opts.Orgs) == 0 {
		return pl.plan(), nil
	}
	ids, names, err := pl.orgFilter(opts.Orgs)
	if err != nil {
		return nil, err
	}
	return pl.narrow(pl.plan(), ids, names)
}

// orgFilter resolves names to child org ids, before anything is planned.
func (pl *planner) orgFilter(names []string) (map[string]bool, []string, error) {
	var all []string
	count := map[string]int{}
	for _, o := range pl.t.Orgs {
		all = append(all, o.Name)
		count[match.Name(o.Name)]++
	}
	ids := map[string]bool{}
	var kept []string
	for _, n := range names {
		k := match.Name(n)
		o := pl.orgByName[k]
		switch {
		case o == nil:
			return nil, nil, &UnknownOrgError{Name: n, Suggestions: match.Closest(n, all, 3)}
		case count[k] > 1:
			return nil, nil, &UnknownOrgError{Name: n, Ambiguous: count[k]}
		}
		ids[o.ID] = true
		if !slices.Contains(kept, k) {
			kept = append(kept, k)
		}
	}
	slices.Sort(kept)
	return ids, kept, nil
}

// narrow cuts the plan of the child orgs ids (named names) out of the whole
// plan p.
func (pl *planner) narrow(p *Plan, ids map[string]bool, names []string) (*Plan, error) {
	var parent []ConfigChange
	for _, c := range p.ConfigChanges {
		switch c.Field {
		case FieldMode, FieldLoginDomains, FieldSeatTiers:
			parent = append(parent, c)
		}
	}
	if len(parent) == 0 && slices.ContainsFunc(p.Writes, func(w Write) bool { return w.Parent }) {
		// Unreachable while every parent write has its config change; the
		// write is what matters.
		parent = append(parent, ConfigChange{Org: p.Parent.Name, Field: "parent"})
	}
	if len(parent) > 0 {
		return nil, &ParentChangeError{Orgs: names, Parent: p.Parent.Name, Changes: parent}
	}
	byName := map[string]bool{}
	for id := range ids {
		byName[pl.orgName[id]] = true
	}
	q := *p
	q.OrgFilter = names
	q.ConfigChanges = keep(p.ConfigChanges, func(c ConfigChange) bool { return byName[c.Org] })
	q.Members = keep(p.Members, func(m MemberChange) bool { return byName[m.Org] })
	q.Readiness = keep(p.Readiness, func(r Readiness) bool { return byName[r.Org] })
	q.Seats = keep(p.Seats, func(s SeatUsage) bool { return byName[s.Org] })
	q.Expiring = keep(p.Expiring, func(x Expiring) bool { return byName[x.Org] })
	q.Predicted = keep(p.Predicted, func(x Prediction) bool { return ids[x.OrgID] })
	q.Writes = keep(p.Writes, func(w Write) bool { return !w.Parent && ids[w.OrgID] })
	q.Steps = orderSteps(q.Writes, resolve.Mode(p.Mode.Before), resolve.Mode(p.Mode.After))
	if err := pl.checkNarrowed(p, q.Steps, ids, names); err != nil {
		return nil, err
	}
	mapped := map[string]bool{}
	for id := range ids {
		if mo := pl.managed[id]; mo != nil {
			for _, m := range mo.mappings {
				mapped[m.GroupID] = true
			}
		}
	}
	q.GroupSizes = keep(p.GroupSizes, func(g GroupSize) bool { return mapped[g.ID] })
	q.Summary = Summary{Config: len(q.ConfigChanges)}
	for _, m := range q.Members {
		switch m.Action {
		case ActionAdd:
			q.Summary.Add++
		case ActionChange:
			q.Summary.Change++
		case ActionRemove:
			q.Summary.Remove++
		case ActionLink:
			q.Summary.Link++
		}
	}
	q.Findings = narrowFindings(p, &q, byName)
	return &q, nil
}

// checkNarrowed simulates steps, the narrowed plan's, with only the orgs
// ids configured as the spec says, and fails unless every other org keeps
// the members observed and every org of ids gets those the whole plan p
// predicts.
func (pl *planner) checkNarrowed(p *Plan, steps []Step, ids map[string]bool, names []string) error {
	if len(steps) == 0 {
		return nil
	}
	alone := *pl
	alone.managed = map[string]*managedOrg{}
	for id, mo := range pl.managed {
		if ids[id] {
			alone.managed[id] = mo
		}
	}
	sim := alone.simulate(resolve.Mode(p.Mode.After), steps)
	whole := map[string]Prediction{}
	for _, x := range p.Predicted {
		whole[x.OrgID] = x
	}
	observed := map[string]Prediction{}
	for _, x := range pl.predicted(pl.t.Members) {
		observed[x.OrgID] = x
	}
	e := &NarrowOutsideError{Orgs: names}
	for _, x := range pl.predicted(sim.members) {
		switch {
		case ids[x.OrgID] && x != whole[x.OrgID]:
			e.Inexact = append(e.Inexact, x.Org)
		case !ids[x.OrgID] && x != observed[x.OrgID]:
			e.Affected = append(e.Affected, x.Org)
		}
	}
	if len(e.Affected) > 0 || len(e.Inexact) > 0 {
		slices.Sort(e.Affected)
		slices.Sort(e.Inexact)
		return e
	}
	return nil
}

// narrowFindings keeps the whole plan's findings that concern the narrowed
// plan q, its orgs kept: see the top of this file. A removal limit's
// override becomes q's own removal count, the figure apply checks
// --allow-removals against.
func narrowFindings(p, q *Plan, kept map[string]bool) []Finding {
	wholeOverride := AllowRemovals(p.Summary.Remove)
	out := []Finding{}
	for _, f := range p.Findings {
		switch {
		case f.Kind == FindingMaxRemovals:
			if q.Summary.Remove == 0 {
				continue
			}
			f.Message = fmt.Sprintf("%s across the tenant exceed policy.maxRemovals (%s), a limit on the whole tenant; narrowed to %s, this plan removes %d of them",
				FormatCount(f.Figures.Count, "removal"), FormatPercent(f.Figures.Limit), strings.Join(q.OrgFilter, ", "), q.Summary.Remove)
		case f.Kind == FindingReadOnlyTarget:
			if len(q.Writes) == 0 {
				continue
			}
		case f.Org != "" || len(f.Orgs) > 0:
			if !kept[f.Org] && !slices.ContainsFunc(f.Orgs, func(o string) bool { return kept[o] }) {
				continue
			}
		}
		if f.Override != OverrideNone && f.Override == wholeOverride {
			f.Override = AllowRemovals(q.Summary.Remove)
		}
		out = append(out, f)
	}
	return out
}

// keep returns the elements of xs for which ok holds, never nil.
func keep[T any](xs []T, ok func(T) bool) []T {
	out := make([]T, 0, len(xs))
	for _, x := range xs {
		if ok(x) {
			out = append(out, x)
		}
	}
	return slices.Clip(out)
}

// Narrowed is the plan's account of its org filter: "hq only", "hq,
// regional-west only"; "" when the plan is not narrowed.
func (p *Plan) Narrowed() string {
	if len(p.OrgFilter) == 0 {
		return ""
	}
	return filterNames(p) + " only"
}

// filterNames lists the plan's org filter for a reader: "hq, regional-west".
func filterNames(p *Plan) string {
	os := make([]string, len(p.OrgFilter))
	for i, o := range p.OrgFilter {
		os[i] = clean(o)
	}
	return strings.Join(os, ", ")
}
