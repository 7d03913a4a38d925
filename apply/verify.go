package apply

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
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
		return fmt.Sprintf("verification failed: the server differs from the plan in %s", diff.FormatCount(len(v.Differences), "place"))
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

// Verify compares t, read after the apply, with plan p: each organization's
// configuration with what the plan's writes set (mode, loginDomains,
// seatTiers, mappings, seats, exceptions), then the members of every child
// org with the plan's prediction. Where an org's members differ, it names
// the planned changes the server does not show; when none explains the
// difference, it gives the counts.
func Verify(p *diff.Plan, t *tenant.Tenant) *Verification {
	v := &Verification{Planned: Counts{Add: p.Summary.Add, Change: p.Summary.Change, Remove: p.Summary.Remove}}
	v.Differences = append(v.Differences, unmetWrites(p, t)...)
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

// unmetWrites lists the attributes the plan's writes set that t's
// organizations do not hold. Sets (loginDomains, mappings, exceptions)
// compare without regard to order, as the plan computes them; seatTiers in
// order, which ranks them.
func unmetWrites(p *diff.Plan, t *tenant.Tenant) []string {
	orgs := map[string]resolve.Org{t.Parent.ID: t.Parent}
	for _, o := range t.Orgs {
		orgs[o.ID] = o
	}
	var out []string
	for _, w := range p.Writes {
		o, ok := orgs[w.OrgID]
		if !ok {
			out = append(out, fmt.Sprintf("%s: organization %s not found after the apply", w.Org, w.OrgID))
			continue
		}
		for _, op := range w.Ops {
			if !strings.EqualFold(op.Op, "replace") {
				continue
			}
			want, have, err := configValues(op, o)
			if err != nil {
				out = append(out, fmt.Sprintf("%s: %s: %v", w.Org, op.Path, err))
				continue
			}
			if want != have {
				out = append(out, fmt.Sprintf("%s: %s: planned %s, is %s", w.Org, op.Path, want, have))
			}
		}
	}
	return out
}

// configValues renders the value op sets and the value o holds for op's
// attribute in one canonical form, comparable as strings.
func configValues(op scim.PatchOp, o resolve.Org) (want, have string, err error) {
	path := strings.ToLower(op.Path)
	switch path {
	case "mode":
		var m string
		err = recode(op.Value, &m)
		return m, string(o.Mode), err
	case "logindomains":
		var ds []string
		err = recode(op.Value, &ds)
		return canonSet(ds, strings.ToLower), canonSet(o.LoginDomains, strings.ToLower), err
	case "seattiers":
		var ts []string
		err = recode(op.Value, &ts)
		return canon(ts), canon(o.SeatTiers), err
	case "mappings":
		var ms []scim.Mapping
		err = recode(op.Value, &ms)
		w := make([]string, len(ms))
		for i, m := range ms {
			w[i] = canon(m)
		}
		h := make([]string, len(o.Mappings))
		for i, m := range o.Mappings {
			h[i] = canon(scim.Mapping{Group: m.GroupID, Role: string(m.Role), SeatTier: m.SeatTier})
		}
		return canonSet(w, nil), canonSet(h, nil), err
	case "seats":
		var seats map[string]int
		err = recode(op.Value, &seats)
		return canon(nonEmpty(seats)), canon(nonEmpty(o.Seats)), err
	case "exceptions":
		var xs []scim.Exception
		err = recode(op.Value, &xs)
		w := make([]string, len(xs))
		for i, x := range xs {
			w[i] = canon(scim.Exception{Email: resolve.NormEmail(x.Email), Until: x.Until, Reason: x.Reason})
		}
		h := make([]string, len(o.Exceptions))
		for i, x := range o.Exceptions {
			h[i] = canon(scim.Exception{Email: resolve.NormEmail(x.Email), Until: x.Until, Reason: x.Reason})
		}
		return canonSet(w, nil), canonSet(h, nil), err
	}
	return "", "", nil
}

// recode converts a PATCH value (as built, or as read back from a plan
// file) into v.
func recode(value any, v any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("reading the planned value: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading the planned value: %w", err)
	}
	return nil
}

// canon is v's compact JSON, map keys sorted.
func canon(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// canonSet is the sorted set of ss (each through norm, when given) as JSON.
func canonSet(ss []string, norm func(string) string) string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if norm != nil {
			s = norm(s)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return canon(slices.Compact(out))
}

func nonEmpty(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}
