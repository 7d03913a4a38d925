package apply

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/tenant"
)

// preconditions checks everything DESIGN §7 requires before the first
// write, against the fresh read t and the journal's account js of earlier
// runs of the same plan. It returns every refusal, not only the first; when
// there is none, versions holds each written organization's If-Match for its
// first step to run and skip the steps an earlier run did, by number.
func (r *run) preconditions(t *tenant.Tenant, js journalState) (versions map[string]string, skip map[int]doneStep, refusals []Refusal) {
	p := r.p
	readOnly := r.opts.Writer == nil || r.opts.ReadOnly != "" || t.ReadOnly
	if readOnly {
		refusals = append(refusals, &ReadOnlyError{Reason: readOnlyReason(r.opts.ReadOnly, t)})
	} else if w, ok := r.opts.Writer.(interface{ CheckWritable() error }); ok {
		if err := w.CheckWritable(); err != nil {
			refusals = append(refusals, &UnwritableTargetError{Err: err})
		}
	}
	if r.opts.SpecHash != "" && r.opts.SpecHash != p.SpecHash {
		refusals = append(refusals, &SpecChangedError{PlanSpecHash: p.SpecHash, SpecHash: r.opts.SpecHash})
	}
	versions, skip, stale := r.staleness(t, js)
	if stale != nil {
		refusals = append(refusals, stale)
	}
	if !readOnly && stale == nil && len(skip) == 0 && r.opts.Spec != nil {
		if e := r.recompute(t); e != nil {
			refusals = append(refusals, e)
		} else if e := r.recomputeToday(t); e != nil {
			refusals = append(refusals, e)
		}
	}
	if !readOnly && stale == nil && len(skip) > 0 && r.opts.Spec != nil {
		if e := r.recomputeRest(t, skip); e != nil {
			refusals = append(refusals, e)
		}
	}
	refusals = append(refusals, gates(p, diff.GroupShrink(p, t), r.opts.AllowRemovals, r.opts.AllowEmptyGroups)...)
	return versions, skip, refusals
}

// planAgain plans the spec against t at instant at, as the saved plan was
// planned: a narrowed plan narrowed the same way.
func (r *run) planAgain(t *tenant.Tenant, at time.Time) (*diff.Plan, error) {
	return diff.ComputeWith(r.opts.Spec, t, at, diff.Options{Orgs: r.p.OrgFilter})
}

// recompute computes the plan again from the spec and the tenant t just
// re-read (whose fingerprint is the plan's), at the plan's own instant, and
// refuses the plan unless it is exactly what the spec asks for. The plan
// hash only refuses an edited file sooner: a file edited and re-hashed is
// caught here.
func (r *run) recompute(t *tenant.Tenant) Refusal {
	q, err := r.planAgain(t, r.p.GeneratedAt)
	if err != nil {
		return &ForgedPlanError{Differ: []string{"the spec no longer plans against this tenant: " + err.Error()}}
	}
	differ, err := diff.Differences(r.p, q)
	if err != nil {
		return &ForgedPlanError{Differ: []string{err.Error()}}
	}
	if len(differ) == 0 {
		return nil
	}
	return &ForgedPlanError{Differ: differ}
}

// recomputeToday plans the spec again on the apply's date, when it is not
// the plan's, and refuses the plan as stale unless it decides the same: an
// exception the plan relied on may have lapsed since it was made (DESIGN
// §5), and the member it kept would go, a removal the plan does not show,
// its gates never weighed, and the server would enforce. The plan made on
// a pull request and applied on merge the day after is the common case.
func (r *run) recomputeToday(t *tenant.Tenant) Refusal {
	now := r.opts.Now().UTC()
	planned, today := r.p.GeneratedAt.UTC().Format(time.DateOnly), now.Format(time.DateOnly)
	if planned == today {
		return nil
	}
	q, err := r.planAgain(t, now)
	if err != nil {
		return &StaleError{Changed: []string{fmt.Sprintf("the date: planned on %s, applied on %s, when the spec no longer plans against this tenant: %v", planned, today, err)}}
	}
	// The same decisions on another day: the days an exception has left
	// are counted from the day, and are no decision.
	q.GeneratedAt, q.Expiring = r.p.GeneratedAt, r.p.Expiring
	differ, err := diff.Differences(r.p, q)
	if err != nil {
		return &ForgedPlanError{Differ: []string{err.Error()}}
	}
	if len(differ) == 0 {
		return nil
	}
	return &StaleError{
		Changed: []string{fmt.Sprintf("the date: planned on %s, applied on %s, when the spec plans differently (%s)", planned, today, strings.Join(differ, ", "))},
		Note:    "An exception the plan relied on has probably lapsed since it was made: a plan made today shows who it removes.",
	}
}

// recomputeRest is recompute for an apply that resumes after the steps in
// skip, which the journal says an earlier run did. The tenant moved by
// those writes, so the plan cannot be computed again whole; but the spec,
// planned against the tenant as it is now (at the plan's instant), must
// ask for exactly the steps that remain, and find nothing blocking the
// saved plan does not. Otherwise a plan file and journal edited together
// (a step claimed done, the writes and findings left changed) would write
// what the spec does not ask for, past gates the plan no longer names.
func (r *run) recomputeRest(t *tenant.Tenant, skip map[int]doneStep) Refusal {
	q, err := r.planAgain(t, r.p.GeneratedAt)
	if err != nil {
		return &ForgedPlanError{Differ: []string{"the spec no longer plans against this tenant: " + err.Error()}}
	}
	type step struct {
		org     string
		parent  bool
		opsHash string
	}
	var rest, want []step
	for _, s := range r.steps {
		if _, done := skip[s.Num]; !done {
			rest = append(rest, step{s.OrgID, s.Parent, s.OpsHash})
		}
	}
	for _, s := range q.Steps {
		want = append(want, step{s.OrgID, s.Parent, s.OpsHash})
	}
	var differ []string
	if !slices.Equal(rest, want) {
		differ = append(differ, fmt.Sprintf("steps: %d remain after the %d the journal says are done, and the spec, planned against the tenant as it is now, asks for %d others",
			len(rest), len(skip), len(want)))
	}
	type key struct{ kind, org, email, subject string }
	held := map[key]bool{}
	for _, f := range r.p.Blocking() {
		held[key{string(f.Kind), f.Org, f.Email, f.Subject}] = true
	}
	for _, f := range q.Blocking() {
		if !held[key{string(f.Kind), f.Org, f.Email, f.Subject}] {
			differ = append(differ, fmt.Sprintf("findings: the steps that remain find %s (%s) and the saved plan does not", f.Kind, cmp.Or(f.Org, "all orgs")))
		}
	}
	if len(differ) > 0 {
		return &ForgedPlanError{Differ: differ}
	}
	return r.restToday(t, q)
}

// restToday is recomputeToday for a resume: the steps that remain, planned
// at the plan's instant (q), must be what they would be on the apply's own
// date. An exception that lapsed between the interrupted run and this one
// would otherwise remove its member in a remaining step, a removal the
// plan never showed.
func (r *run) restToday(t *tenant.Tenant, q *diff.Plan) Refusal {
	now := r.opts.Now().UTC()
	planned, today := r.p.GeneratedAt.UTC().Format(time.DateOnly), now.Format(time.DateOnly)
	if planned == today {
		return nil
	}
	q2, err := r.planAgain(t, now)
	if err != nil {
		return &StaleError{Changed: []string{fmt.Sprintf("the date: planned on %s, resumed on %s, when the spec no longer plans against this tenant: %v", planned, today, err)}}
	}
	q2.GeneratedAt, q2.Expiring = q.GeneratedAt, q.Expiring
	differ, err := diff.Differences(q, q2)
	if err != nil {
		return &ForgedPlanError{Differ: []string{err.Error()}}
	}
	if len(differ) == 0 {
		return nil
	}
	return &StaleError{
		Changed: []string{fmt.Sprintf("the date: planned on %s, resumed on %s, when the steps that remain decide differently (%s)", planned, today, strings.Join(differ, ", "))},
		Note:    "An exception the plan relied on has probably lapsed since it was made: a plan made today shows who it removes.",
	}
}

func readOnlyReason(given string, t *tenant.Tenant) string {
	switch {
	case given != "":
		return given
	case t.Kind == tenant.KindMembersExport:
		return "the target is a members export, from a server with only /Users and /Groups and no organization configuration to write"
	}
	return "the target offers no way to write organizations"
}

// staleness compares the fresh read with the plan's fingerprint. An
// identical fingerprint means a fresh start. A different one is still not
// stale when the journal accounts for every difference: each organization
// whose version moved is one an earlier run of this plan wrote, at exactly
// the version the last such write returned, and besides the organizations
// only the members changed (the server's consequence of those writes). The
// apply then resumes after the steps already done; Verify checks the
// members in the end.
func (r *run) staleness(t *tenant.Tenant, js journalState) (map[string]string, map[int]doneStep, *StaleError) {
	p := r.p
	versions := map[string]string{}
	for _, s := range r.steps {
		versions[s.OrgID] = s.Version
	}
	fp := diff.FingerprintOf(t)
	if fp.Hash == p.Fingerprint.Hash {
		return versions, nil, nil
	}

	// Replay the journal over the plan's versions.
	skip := map[int]doneStep{}
	wrote := map[string]bool{}
	for _, s := range r.steps {
		d, ok := js.Done[s.Num]
		// A write that succeeded moved the organization's version: an
		// entry whose version is its If-Match records none.
		if !ok || d.OrgID != s.OrgID || d.OpsHash != s.OpsHash || d.IfMatch != versions[s.OrgID] || d.Version == d.IfMatch {
			continue
		}
		skip[s.Num] = d
		versions[s.OrgID] = d.Version
		wrote[s.OrgID] = true
	}

	var unexplained []string
	planned, now := orgVersions(p.Fingerprint), orgVersions(fp)
	moved := false
	for _, id := range slices.Sorted(maps.Keys(union(planned, now))) {
		was, is := planned[id], now[id]
		if was.Version != is.Version {
			moved = true
		}
		switch {
		case wrote[id] && is.Version == versions[id]:
		case wrote[id]:
			unexplained = append(unexplained, fmt.Sprintf("organization %s (version %s, the journal's last write left %s)", cmp.Or(is.Name, was.Name), orNone(is.Version), versions[id]))
		case was != is:
			unexplained = append(unexplained, fmt.Sprintf("organization %s (version %s, planned %s)", cmp.Or(is.Name, was.Name), orNone(is.Version), orNone(was.Version)))
		}
	}
	for _, part := range diff.ChangedParts(p.Fingerprint, fp) {
		switch {
		case part == "organizations" && moved:
			// Accounted for above, organization by organization.
		case part == "members" && len(wrote) > 0:
			// What the server made of this plan's writes.
		default:
			unexplained = append(unexplained, part)
		}
	}
	if len(unexplained) == 0 {
		return versions, skip, nil
	}
	e := &StaleError{Changed: unexplained}
	if len(js.Interrupted) > 0 {
		nums := slices.Sorted(maps.Keys(js.Interrupted))
		e.Note = fmt.Sprintf("An earlier apply of this plan was interrupted during step %s, so whether the server applied it is unknown; a new plan will show what remains.", strings.Trim(fmt.Sprint(nums), "[]"))
	}
	return nil, nil, e
}

// orgVersions indexes a fingerprint's organizations by id.
func orgVersions(fp diff.Fingerprint) map[string]diff.OrgRef {
	out := make(map[string]diff.OrgRef, len(fp.Orgs))
	for _, o := range fp.Orgs {
		out[o.ID] = o
	}
	return out
}

func union[V any](a, b map[string]V) map[string]V {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func orNone(v string) string { return cmp.Or(v, "none") }

// gates turns the plan's error-level findings, with the group-shrink
// findings of the fresh read (which replace the plan's own empty-group
// findings), into refusals: one per kind of gate, each finding lifted only by
// its exact override. An --allow-removals that does not match the plan's
// removal count is refused whatever the findings. No rule is evaluated here:
// diff evaluates every gate (DESIGN §6).
func gates(p *diff.Plan, shrunk []diff.Finding, allowRemovals *int, allowEmpty bool) []Refusal {
	lifted := func(f diff.Finding) bool {
		switch {
		case f.Override == diff.OverrideAllowEmptyGroups:
			return allowEmpty
		case f.Override != diff.OverrideNone && allowRemovals != nil:
			return f.Override == diff.AllowRemovals(*allowRemovals)
		}
		return false
	}
	var removal, protected, empty, seats, policy []string
	for _, f := range append(p.Blocking(), shrunk...) {
		if lifted(f) {
			continue
		}
		switch f.Kind {
		case diff.FindingMaxRemovals:
			removal = append(removal, fmt.Sprintf("%s in all, policy.maxRemovals is %s", diff.FormatCount(f.Figures.Count, "removal"), diff.FormatPercent(f.Figures.Limit)))
		case diff.FindingMaxRemovalPercent:
			pct, limit := diff.FormatPercents(f.Figures.Percent, f.Figures.Limit)
			removal = append(removal, fmt.Sprintf("%s: %d of %d members (%s%%), policy.maxRemovalPercent is %s%%", f.Org, f.Figures.Count, f.Figures.Of, pct, limit))
		case diff.FindingProtectedUser:
			protected = append(protected, f.Org+": "+f.Email)
		case diff.FindingEmptyGroup:
			if f.Org == "" { // the fresh read's; the plan's own are replaced by it
				empty = append(empty, f.Message)
			}
		case diff.FindingOvercommit:
			seats = append(seats, fmt.Sprintf("%s %s: %d entitled, %d purchased", f.Org, f.Subject, f.Figures.Count, f.Figures.Of))
		default:
			policy = append(policy, f.Message)
		}
	}
	var out []Refusal
	if allowRemovals != nil && *allowRemovals != p.Summary.Remove {
		out = append(out, &TooManyRemovalsError{Removals: p.Summary.Remove, Allowed: *allowRemovals})
	} else if removal != nil {
		out = append(out, &TooManyRemovalsError{Removals: p.Summary.Remove, Allowed: -1, Over: removal})
	}
	if protected != nil {
		out = append(out, &ProtectedUserError{Users: protected})
	}
	if empty != nil {
		out = append(out, &EmptyGroupError{Groups: empty})
	}
	if seats != nil {
		out = append(out, &SeatOvercommitError{Tiers: seats})
	}
	if policy != nil {
		out = append(out, &PolicyError{Findings: policy})
	}
	return out
}
