package apply

import (
	"fmt"
	"strings"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/tenant"
)

// Verification compares the members a server holds with a plan's
// prediction.
type Verification struct {
	// Planned are the plan's member changes, which the server now shows.
	Planned Counts
	// Differences says, one line each, where the server differs from the
	// prediction; empty when it matches.
	Differences []string
}

// OK reports whether the server matches the prediction.
func (v *Verification) OK() bool { return len(v.Differences) == 0 }

// String is the one-line outcome: "verified: 4 removed, 12 changed, as
// planned", or the number of differences.
func (v *Verification) String() string {
	if !v.OK() {
		return fmt.Sprintf("verification failed: the server differs from the plan in %d places", len(v.Differences))
	}
	var parts []string
	for _, c := range []struct {
		n    int
		verb string
	}{{v.Planned.Add, "added"}, {v.Planned.Remove, "removed"}, {v.Planned.Change, "changed"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.verb))
		}
	}
	if parts == nil {
		return "verified: members as planned"
	}
	return "verified: " + strings.Join(parts, ", ") + ", as planned"
}

// Verify compares the members of t, read after the apply, with the members
// plan p predicted for every child org. Where an org's members differ, it
// names the planned changes the server does not show; when none explains
// the difference, it gives the counts.
func Verify(p *diff.Plan, t *tenant.Tenant) *Verification {
	v := &Verification{Planned: Counts{Add: p.Summary.Add, Change: p.Summary.Change, Remove: p.Summary.Remove}}
	byOrg := map[string][]resolve.Member{}
	for _, m := range t.Members {
		byOrg[m.Org] = append(byOrg[m.Org], m)
	}
	for _, pred := range p.Predicted {
		ms := byOrg[pred.OrgID]
		got := diff.PredictMembers(pred.OrgID, pred.Org, ms)
		if got.Hash == pred.Hash && got.Members == pred.Members {
			continue
		}
		lines := unmetChanges(p, pred.Org, ms)
		if lines == nil {
			lines = []string{fmt.Sprintf("%s: the server holds %d members, the plan predicted %d, and they differ", pred.Org, got.Members, pred.Members)}
		}
		v.Differences = append(v.Differences, lines...)
	}
	return v
}

// unmetChanges lists the plan's member changes in org that the members ms
// do not show.
func unmetChanges(p *diff.Plan, org string, ms []resolve.Member) []string {
	byEmail := map[string]resolve.Member{}
	for _, m := range ms {
		byEmail[resolve.NormEmail(m.Email)] = m
	}
	var out []string
	for _, c := range p.Members {
		if c.Org != org {
			continue
		}
		m, present := byEmail[resolve.NormEmail(c.Email)]
		switch c.Action {
		case diff.ActionRemove:
			if present {
				out = append(out, fmt.Sprintf("%s: %s: planned removal, still a member (%s/%s)", org, c.Email, m.Role, m.SeatTier))
			}
		case diff.ActionAdd, diff.ActionChange, diff.ActionLink:
			if c.After == nil {
				continue
			}
			switch {
			case !present:
				out = append(out, fmt.Sprintf("%s: %s: planned %s as %s/%s, not a member", org, c.Email, c.Action, c.After.Role, c.After.SeatTier))
			case string(m.Role) != c.After.Role || m.SeatTier != c.After.SeatTier:
				out = append(out, fmt.Sprintf("%s: %s: planned %s/%s, is %s/%s", org, c.Email, c.After.Role, c.After.SeatTier, m.Role, m.SeatTier))
			case c.After.Origin != "" && string(m.Origin) != c.After.Origin:
				out = append(out, fmt.Sprintf("%s: %s: planned origin %s, is %s", org, c.Email, c.After.Origin, m.Origin))
			}
		}
	}
	return out
}
