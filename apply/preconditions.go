package apply

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// preconditions checks everything DESIGN §7 requires before the first
// write, against the fresh read t and the journal's account js of earlier
// runs of the same plan. It returns every refusal, not only the first; when
// there is none, versions holds each written organization's If-Match for its
// first step to run and skip the steps an earlier run did, by number.
func (r *run) preconditions(t *tenant.Tenant, js journalState) (versions map[string]string, skip map[int]doneStep, refusals []Refusal) {
	p := r.p
	if r.opts.Writer == nil || r.opts.ReadOnly != "" || t.ReadOnly {
		refusals = append(refusals, &ReadOnlyError{Reason: readOnlyReason(r.opts.ReadOnly, t)})
	}
	if r.opts.SpecHash != "" && r.opts.SpecHash != p.SpecHash {
		refusals = append(refusals, &SpecChangedError{PlanSpecHash: p.SpecHash, SpecHash: r.opts.SpecHash})
	}
	versions, skip, stale := r.staleness(t, js)
	if stale != nil {
		refusals = append(refusals, stale)
	}
	if e := removalLimits(p, r.opts.Policy, r.opts.AllowRemovals); e != nil {
		refusals = append(refusals, e)
	}
	if e := protectedRemovals(p, r.opts.Policy); e != nil {
		refusals = append(refusals, e)
	}
	if !r.opts.AllowEmptyGroups && resolve.Mode(p.Mode.After) != resolve.ModeJIT {
		if e := shrunkGroups(p, t); e != nil {
			refusals = append(refusals, e)
		}
	}
	if e := overcommit(p); e != nil {
		refusals = append(refusals, e)
	}
	if e := policyFindings(p); e != nil {
		refusals = append(refusals, e)
	}
	return versions, skip, refusals
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
		versions[s.OrgID] = s.PlanVersion
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
		if !ok || d.OrgID != s.OrgID || d.OpsHash != s.OpsHash || d.IfMatch != versions[s.OrgID] {
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

// removals counts the plan's removals per org name.
func removals(p *diff.Plan) (total int, byOrg map[string]int) {
	byOrg = map[string]int{}
	for _, m := range p.Members {
		if m.Action == diff.ActionRemove {
			total++
			byOrg[m.Org]++
		}
	}
	return total, byOrg
}

// removalLimits applies policy.maxRemovals and maxRemovalPercent, and
// --allow-removals, which must match the plan's count exactly whenever it is
// given.
func removalLimits(p *diff.Plan, pol spec.Policy, allow *int) *TooManyRemovalsError {
	total, byOrg := removals(p)
	e := &TooManyRemovalsError{Removals: total, Allowed: -1}
	if allow != nil {
		e.Allowed = *allow
		if *allow != total {
			return e
		}
	}
	maxN := spec.DefaultMaxRemovals
	if pol.MaxRemovals != nil {
		maxN = *pol.MaxRemovals
	}
	maxPct := spec.DefaultMaxRemovalPercent
	if pol.MaxRemovalPercent != nil {
		maxPct = *pol.MaxRemovalPercent
	}
	if total > maxN {
		e.Over = append(e.Over, fmt.Sprintf("%s in all, policy.maxRemovals is %d", count(total, "removal"), maxN))
	}
	for _, rd := range p.Readiness {
		n := byOrg[rd.Org]
		if n == 0 || rd.Members == 0 {
			continue
		}
		if pct := 100 * float64(n) / float64(rd.Members); pct > maxPct {
			e.Over = append(e.Over, fmt.Sprintf("%s: %d of %d members (%.0f%%), policy.maxRemovalPercent is %g%%", rd.Org, n, rd.Members, pct, maxPct))
		}
	}
	if len(e.Over) == 0 || allow != nil {
		return nil
	}
	return e
}

func protectedRemovals(p *diff.Plan, pol spec.Policy) *ProtectedUserError {
	protected := map[string]bool{}
	for _, u := range pol.ProtectedUsers {
		protected[resolve.NormEmail(u)] = true
	}
	var hit []string
	for _, m := range p.Members {
		if m.Action == diff.ActionRemove && protected[resolve.NormEmail(m.Email)] {
			hit = append(hit, m.Org+": "+m.Email)
		}
	}
	if hit == nil {
		return nil
	}
	return &ProtectedUserError{Users: hit}
}

// shrunkGroups finds the mapped groups that hold no active user now, or
// less than half the users they held when the plan was computed. It is not
// checked when the plan leaves the tenant in jit mode, where membership of a
// mapped group changes nobody's access.
func shrunkGroups(p *diff.Plan, t *tenant.Tenant) *EmptyGroupError {
	if len(p.GroupSizes) == 0 {
		return nil
	}
	now := groupUsers(t, p.GroupSizes)
	var lines []string
	for _, g := range p.GroupSizes {
		n, exists := now[g.ID]
		switch {
		case !exists:
			lines = append(lines, fmt.Sprintf("%s: deleted since the plan (it held %s)", g.Name, count(g.Users, "user")))
		case n == 0:
			lines = append(lines, fmt.Sprintf("%s: 0 users", g.Name))
		case 2*n < g.Users:
			lines = append(lines, fmt.Sprintf("%s: %s now, %d when planned", g.Name, count(n, "user"), g.Users))
		}
	}
	if lines == nil {
		return nil
	}
	return &EmptyGroupError{Groups: lines}
}

// groupUsers counts the distinct active users of each group, nested groups
// included, with the same rules the plan used (resolve). A group that no
// longer exists is absent.
func groupUsers(t *tenant.Tenant, gs []diff.GroupSize) map[string]int {
	probe := resolve.Org{ID: "\x00probe"}
	for _, g := range gs {
		probe.Mappings = append(probe.Mappings, resolve.Mapping{GroupID: g.ID, Role: resolve.RoleMember})
	}
	res := resolve.Resolve(resolve.Input{Users: t.Users, Groups: t.Groups, Parent: t.Parent, Orgs: []resolve.Org{probe}})
	return res.GroupUsers
}

func overcommit(p *diff.Plan) *SeatOvercommitError {
	var lines []string
	for _, s := range p.Seats {
		if s.Overcommit {
			lines = append(lines, fmt.Sprintf("%s %s: %d entitled, %d purchased", s.Org, s.Tier, s.Entitled, s.Purchased))
		}
	}
	if lines == nil {
		return nil
	}
	return &SeatOvercommitError{Tiers: lines}
}

// policyFindings refuses the plan's error-level findings that no other
// precondition covers (ownerGroups, exclusiveOrgs…). The removal limits,
// protected users, empty groups and seats are checked above, with their
// overrides.
func policyFindings(p *diff.Plan) *PolicyError {
	var lines []string
	for _, f := range p.Findings {
		if f.Severity != diff.SeverityError {
			continue
		}
		switch f.Kind {
		case diff.FindingOvercommit, diff.FindingProtectedUser, diff.FindingMaxRemovals,
			diff.FindingMaxRemovalPercent, diff.FindingEmptyGroup:
			continue
		}
		lines = append(lines, f.Message)
	}
	if lines == nil {
		return nil
	}
	return &PolicyError{Findings: lines}
}
