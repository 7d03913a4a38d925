package agent

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
)

// Summary counts a plan's member changes, as the plan's summary line does.
type Summary struct {
	Add    int `json:"add"`
	Change int `json:"change"`
	Remove int `json:"remove"`
}

// WouldRemove is one member who would lose access if SCIM mode full were
// switched on now, and why.
type WouldRemove struct {
	Email  string `json:"email"`
	Reason string `json:"reason"`
}

// report is what the agent keeps of one plan: what /status, /metrics and
// the webhook need, derived from the plan by reportFromPlan.
type report struct {
	Tenant  string
	Summary Summary
	// ConfigChanges counts configuration changes (all orgs).
	ConfigChanges int
	// Flags counts flagged members (all orgs).
	Flags int
	// Line is the plan's one-line summary (diff.SummaryLine).
	Line string
	// ChangesKey identifies the planned changes themselves (config and
	// member changes and blocking findings, not the fingerprint of the
	// whole observed state): equal keys mean the same drift. Empty when the
	// plan's verdict is VerdictNoChanges.
	ChangesKey string
	Orgs       []orgReport
	// Mode is the parent's provisioning mode before and after the plan.
	Mode diff.ModeChange
	// Expiring is the plan's notice list: the exceptions within
	// policy.exceptionNoticeDays of lapsing, as the plan orders them (by
	// org, until, email). Never nil.
	Expiring []diff.Expiring
	// Plan is the plan's JSON form, served by /status.
	Plan json.RawMessage
}

// Drift reports whether the plan has anything to do: changes to write, or
// an error-level finding (the plan's verdict is not VerdictNoChanges).
func (r *report) Drift() bool { return r.ChangesKey != "" }

// orgReport is one child organization's part of a report.
type orgReport struct {
	Org string
	// Drift counts changes by kind (KindConfig, KindAdd…).
	Drift map[string]int
	// HasReadiness says the plan carried a readiness entry for this org.
	HasReadiness bool
	Members      int
	SCIMBacked   int
	WouldRemove  []WouldRemove
	// Members by role and tier, as read.
	MembersByRole []roleTierCount
	Seats         []seatUsage
	// Expiring is this org's part of the plan's notice list.
	Expiring []diff.Expiring
	// Lapsed are the members the plan removes because their exception
	// lapsed (reason "exception expired"), by email.
	Lapsed []string
}

type roleTierCount struct {
	Role  string
	Tier  string
	Count int
}

type seatUsage struct {
	Tier      string
	Purchased int
	Used      int
	After     int
}

// changesKey hashes the JSON of v (the plan's changes): the key changes
// exactly when the planned changes do.
func changesKey(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// reportFromOutcome derives the agent's report from a plan and the tenant
// it was computed from.
func reportFromOutcome(o *Outcome) (*report, error) {
	p := o.Plan
	rep := &report{
		Tenant:        p.Parent.Name,
		Summary:       Summary{Add: p.Summary.Add, Change: p.Summary.Change, Remove: p.Summary.Remove},
		ConfigChanges: len(p.ConfigChanges),
		Mode:          p.Mode,
		Expiring:      slices.Clone(p.Expiring),
	}
	if rep.Expiring == nil {
		rep.Expiring = []diff.Expiring{}
	}
	// Orgs are keyed by the shared name rule, match.Name, which is how the
	// plan names them (so a plan's name is its own key, and the series
	// carry the name the plan shows): two orgs whose names differ only by
	// a look-alike character (a Kelvin sign K and a k) stay two orgs here
	// as they are in the plan. Never strings.ToLower, which merges them.
	byName := map[string]*orgReport{}
	get := func(name string) *orgReport {
		name = match.Name(name)
		if r, ok := byName[name]; ok {
			return r
		}
		r := &orgReport{Org: name, Drift: map[string]int{}}
		for _, k := range driftKinds {
			r.Drift[k] = 0
		}
		byName[name] = r
		return r
	}
	for _, c := range p.ConfigChanges {
		get(c.Org).Drift[KindConfig]++
	}
	var changes []diff.MemberChange
	for _, m := range p.Members {
		switch m.Action {
		case diff.ActionAdd:
			get(m.Org).Drift[KindAdd]++
		case diff.ActionChange:
			get(m.Org).Drift[KindChange]++
		case diff.ActionRemove:
			or := get(m.Org)
			or.Drift[KindRemove]++
			if m.Reason == string(resolve.ReasonExceptionExpired) {
				or.Lapsed = append(or.Lapsed, m.Email)
			}
		case diff.ActionFlag:
			get(m.Org).Drift[KindFlag]++
			rep.Flags++
			continue
		default:
			// Links are reported by the plan but are not drift.
			continue
		}
		changes = append(changes, m)
	}
	blocking := p.Blocking()
	for _, f := range blocking {
		orgs := f.Orgs
		if f.Org != "" {
			orgs = []string{f.Org}
		}
		if len(orgs) == 0 {
			orgs = []string{p.Parent.Name} // a plan-wide figure (maxRemovals)
		}
		for _, o := range orgs {
			get(o).Drift[KindPolicy]++
		}
	}
	for _, r := range p.Readiness {
		or := get(r.Org)
		or.HasReadiness = true
		or.Members, or.SCIMBacked = r.Members, r.ScimBacked
		for _, w := range r.WouldRemove {
			or.WouldRemove = append(or.WouldRemove, WouldRemove{Email: w.Email, Reason: w.Reason})
		}
	}
	for _, e := range rep.Expiring {
		or := get(e.Org)
		or.Expiring = append(or.Expiring, e)
	}
	for _, s := range p.Seats {
		or := get(s.Org)
		or.Seats = append(or.Seats, seatUsage{Tier: s.Tier, Purchased: s.Purchased, Used: s.Now, After: s.After})
	}
	if o.Tenant != nil {
		// The members name their org by id; the plan names it by
		// match.Name of its name (as diff.Compute does).
		names := map[string]string{}
		for _, org := range o.Tenant.Orgs {
			names[org.ID] = match.Name(org.Name)
		}
		counts := map[[3]string]int{}
		for _, m := range o.Tenant.Members {
			name, ok := names[m.Org]
			if _, planned := byName[name]; !ok || !planned {
				continue // only the orgs the spec manages
			}
			counts[[3]string{name, string(m.Role), m.SeatTier}]++
		}
		for k, n := range counts {
			or := byName[k[0]]
			or.MembersByRole = append(or.MembersByRole, roleTierCount{Role: k[1], Tier: k[2], Count: n})
		}
	}
	for _, or := range byName {
		slices.SortFunc(or.MembersByRole, func(a, b roleTierCount) int {
			return cmp.Or(cmp.Compare(a.Role, b.Role), cmp.Compare(a.Tier, b.Tier))
		})
		rep.Orgs = append(rep.Orgs, *or)
	}
	slices.SortFunc(rep.Orgs, func(a, b orgReport) int { return cmp.Compare(a.Org, b.Org) })

	// The plan's verdict decides: changes, or an error-level finding with
	// nothing to write (a policy break is drift of kind policy).
	if p.Verdict() != diff.VerdictNoChanges {
		key, err := changesKey(struct {
			Mode     diff.ModeChange
			Config   []diff.ConfigChange
			Members  []diff.MemberChange
			Blocking []diff.Finding `json:",omitempty"`
		}{p.Mode, p.ConfigChanges, changes, blocking})
		if err != nil {
			return nil, fmt.Errorf("hashing the plan's changes: %w", err)
		}
		rep.ChangesKey = key
	}
	rep.Line = diff.SummaryLine(p)
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding the plan: %w", err)
	}
	rep.Plan = b
	return rep, nil
}

// orgDrift lists the orgs with changes, by kind.
func (r *report) orgDrift() []OrgDrift {
	var out []OrgDrift
	for _, o := range r.Orgs {
		kinds := map[string]int{}
		for k, n := range o.Drift {
			if n > 0 {
				kinds[k] = n
			}
		}
		if len(kinds) > 0 {
			out = append(out, OrgDrift{Org: o.Org, Kinds: kinds})
		}
	}
	return out
}

// orgLine is " Changes by org: hq +1 ~2 -0 config 1." for messages, or ""
// without drift.
func (r *report) orgLine() string {
	var parts []string
	for _, o := range r.Orgs {
		d := o.Drift
		if d[KindConfig]+d[KindAdd]+d[KindChange]+d[KindRemove] == 0 {
			continue
		}
		s := fmt.Sprintf("%s +%d ~%d -%d", o.Org, d[KindAdd], d[KindChange], d[KindRemove])
		if d[KindConfig] > 0 {
			s += fmt.Sprintf(" config %d", d[KindConfig])
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return " Changes by org: " + strings.Join(parts, "; ") + "."
}

// lapsedLine is " Exceptions lapsed (their members are removed): a@x (hq)."
// for messages, or "" when no removal is due to a lapsed exception.
func (r *report) lapsedLine() string {
	var parts []string
	for _, o := range r.Orgs {
		for _, e := range o.Lapsed {
			parts = append(parts, fmt.Sprintf("%s (%s)", visible(e), visible(o.Org)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " Exceptions lapsed, their members removed: " + strings.Join(parts, ", ") + "."
}
