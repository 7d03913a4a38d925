package diff

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// This file holds every gate of DESIGN §6 "The plan is the verdict": each is
// evaluated here, once, into typed findings. apply and the agent read the
// findings; they never re-derive a rule. A new gate is a function here, a
// call in findings, and its test.

// findings evaluates the gates on a plan whose member changes, seats and
// writes are known, appends their findings (errors first) and flags the
// members they concern.
func (pl *planner) findings(p *Plan, in resolve.Input, res resolve.Result) {
	flag := func(org, email, reason string) {
		p.Members = append(p.Members, MemberChange{Org: org, Email: email, Action: ActionFlag, Reason: reason})
	}
	p.Findings = append(p.Findings, overcommitFindings(p.Seats)...)
	p.Findings = append(p.Findings, pl.ownerGroupFindings(in, res, flag)...)
	p.Findings = append(p.Findings, pl.exclusiveOrgFindings(res, flag)...)
	p.Findings = append(p.Findings, protectedFindings(p.Members, pl.s.Policy, flag)...)
	current := map[string]int{}
	for _, m := range pl.t.Members {
		current[pl.orgName[m.Org]]++
	}
	p.Findings = append(p.Findings, removalFindings(p.Members, current, pl.s.Policy)...)
	p.Findings = append(p.Findings, pl.emptyGroupFindings(res)...)
	p.Findings = append(p.Findings, readOnlyFindings(p, pl.t)...)
	p.Findings = append(p.Findings, pl.droppedTierFindings(in)...)
	p.Findings = append(p.Findings, pl.unresolvedFindings(res)...)
	p.Findings = append(p.Findings, pl.lookalikeFindings(p, <-pl.addresses)...)
	sortFindings(p.Findings)
	p.Findings = slices.CompactFunc(p.Findings, func(a, b Finding) bool { return compareFindings(a, b) == 0 && a.Override == b.Override })
}

func sevRank(s Severity) int {
	if s == SeverityError {
		return 0
	}
	return 1
}

func compareFindings(a, b Finding) int {
	return cmp.Or(cmp.Compare(sevRank(a.Severity), sevRank(b.Severity)), cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Org, b.Org), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Email, b.Email), cmp.Compare(a.Message, b.Message))
}

func sortFindings(fs []Finding) { slices.SortFunc(fs, compareFindings) }

// droppedTierFindings: a seat tier the spec drops from the parent's
// seatTiers that a child org still uses once the plan is applied (one the
// spec leaves alone, in a mapping or its seats): the server refuses a
// parent without a tier its orgs use, so the plan could never be applied.
func (pl *planner) droppedTierFindings(in resolve.Input) []Finding {
	var out []Finding
	for _, o := range pl.sortedOrgs() {
		var final resolve.Org
		for _, d := range in.Orgs {
			if d.ID == o.ID {
				final = d
			}
		}
		var uses []string
		for _, m := range final.Mappings {
			uses = append(uses, m.SeatTier)
		}
		for tier := range final.Seats {
			uses = append(uses, tier)
		}
		slices.Sort(uses)
		for _, tier := range slices.Compact(uses) {
			if slices.Contains(pl.t.Parent.SeatTiers, tier) && !slices.Contains(in.Parent.SeatTiers, tier) {
				out = append(out, Finding{Severity: SeverityError, Kind: FindingDroppedTier, Org: match.Name(o.Name), Subject: tier,
					Message: fmt.Sprintf("%s still uses seat tier %q, which parent.seatTiers drops: the server refuses a parent without a tier its orgs use; "+
						"move %s's mappings and seats off %q in the spec (naming the org there if it does not), or keep the tier", clean(o.Name), tier, clean(o.Name), tier)})
			}
		}
	}
	return out
}

// unresolvedFindings: a group the plan's mappings read (or one nested in
// one) lists member ids that are neither a user nor a group the server
// listed. They entitle nobody, which is right for a user deleted while
// still a member and wrong for one a listing left out: a warning, so that
// the plan shows what it could not resolve.
func (pl *planner) unresolvedFindings(res resolve.Result) []Finding {
	var out []Finding
	for gid, n := range res.Unresolved {
		g := pl.groupName(gid)
		out = append(out, Finding{Severity: SeverityWarning, Kind: FindingUnresolvedMembers, Subject: g, Group: g,
			Figures: &Figures{Count: n},
			Message: fmt.Sprintf("group %s lists %s that %s neither a user nor a group the server listed; %s nobody "+
				"(a user deleted while still a member, or a listing the server cut short)", g, FormatCount(n, "member id"),
				pick(n, "is", "are"), pick(n, "it entitles", "they entitle"))})
	}
	return out
}

// pick is one for a count of 1, many otherwise.
func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// overcommitFindings: entitled users per tier may not exceed seats[tier].
func overcommitFindings(seats []SeatUsage) []Finding {
	var out []Finding
	for _, u := range seats {
		if u.Overcommit {
			out = append(out, Finding{Severity: SeverityError, Kind: FindingOvercommit, Org: u.Org, Subject: u.Tier,
				Figures: &Figures{Count: u.Entitled, Of: u.Purchased},
				Message: fmt.Sprintf("%s entitled to %s seats, %d purchased", FormatCount(u.Entitled, "user"), u.Tier, u.Purchased)})
		}
	}
	return out
}

// ownerGroupFindings: who gets admin or owner only through a group outside
// policy.ownerGroups. Resolving again with those mappings lowered to member
// tells exactly, whatever the mapping order.
func (pl *planner) ownerGroupFindings(in resolve.Input, res resolve.Result, flag func(org, email, reason string)) []Finding {
	if len(pl.s.Policy.OwnerGroups) == 0 {
		return nil
	}
	lowered, offending := pl.lowerOffending(in)
	if len(offending) == 0 {
		return nil
	}
	lowRes := resolve.Resolve(lowered)
	type uk struct{ org, user string }
	lowRole := map[uk]resolve.Role{}
	for _, e := range lowRes.Entitled {
		lowRole[uk{e.Org, e.UserID}] = e.Role
	}
	perGroup := map[string]int{}
	for _, e := range res.Entitled {
		if e.Role.Rank() <= resolve.RoleMember.Rank() || lowRole[uk{e.Org, e.UserID}] == e.Role {
			continue
		}
		flag(pl.orgName[e.Org], e.Email, fmt.Sprintf("%s from %s, which is not in policy.ownerGroups", e.Role, pl.groupName(e.RoleGroup)))
		perGroup[e.Org+"\x00"+e.RoleGroup]++
	}
	var out []Finding
	for k, role := range offending {
		org, gid, _ := strings.Cut(k, "\x00")
		g := pl.groupName(gid)
		out = append(out, Finding{Severity: SeverityError, Kind: FindingOwnerGroups, Org: pl.orgName[org], Subject: g, Group: g,
			Figures: &Figures{Count: perGroup[k]},
			Message: fmt.Sprintf("%s grants %s but is not in policy.ownerGroups (%s %s from it alone)", g, role, FormatCount(perGroup[k], "user"), pick(perGroup[k], "gets ", "get ")+string(role))})
	}
	return out
}

// lowerOffending returns in with every managed mapping that grants admin or
// owner from a group outside policy.ownerGroups lowered to member, and
// those mappings' roles by org id + "\x00" + group id (the last mapping of a
// group in an org decides, as the server's does).
func (pl *planner) lowerOffending(in resolve.Input) (resolve.Input, map[string]resolve.Role) {
	lowered := in
	lowered.Orgs = slices.Clone(in.Orgs)
	offending := map[string]resolve.Role{}
	for i, o := range lowered.Orgs {
		if _, managed := pl.managed[o.ID]; !managed {
			continue
		}
		var ms []resolve.Mapping
		changed := false
		for _, m := range o.Mappings {
			if m.Role.Rank() > resolve.RoleMember.Rank() && m.Role.Grantable() && !pl.ownerIDs[m.GroupID] {
				offending[o.ID+"\x00"+m.GroupID] = m.Role
				m.Role = resolve.RoleMember
				changed = true
			}
			ms = append(ms, m)
		}
		if changed {
			lowered.Orgs[i].Mappings = ms
		}
	}
	// A group mapped twice in one org keeps the role of its last mapping
	// among all of them, offending or not.
	for _, o := range in.Orgs {
		for _, m := range o.Mappings {
			if k := o.ID + "\x00" + m.GroupID; offending[k] != "" {
				offending[k] = m.Role
			}
		}
	}
	return lowered, offending
}

// exclusiveOrgFindings: under policy.exclusiveOrgs a user may be entitled in
// one child org only.
func (pl *planner) exclusiveOrgFindings(res resolve.Result, flag func(org, email, reason string)) []Finding {
	if !pl.s.Policy.ExclusiveOrgs {
		return nil
	}
	byUser := map[string][]resolve.Entitlement{}
	for _, e := range res.Entitled {
		byUser[e.UserID] = append(byUser[e.UserID], e)
	}
	var out []Finding
	for _, es := range byUser {
		if len(es) < 2 {
			continue
		}
		var names []string
		for _, e := range es {
			names = append(names, pl.orgName[e.Org])
		}
		slices.Sort(names)
		for _, e := range es {
			flag(pl.orgName[e.Org], e.Email, "entitled in "+strings.Join(names, ", ")+" under policy.exclusiveOrgs")
		}
		out = append(out, Finding{Severity: SeverityError, Kind: FindingExclusiveOrgs, Orgs: names, Subject: es[0].Email, Email: es[0].Email,
			Figures: &Figures{Count: len(es), Limit: 1},
			Message: fmt.Sprintf("%s is entitled in %d child orgs (%s); policy.exclusiveOrgs allows one", es[0].Email, len(es), strings.Join(names, ", "))})
	}
	return out
}

// protectedFindings: a member in policy.protectedUsers is never removed;
// nothing but a spec change overrides it.
func protectedFindings(members []MemberChange, pol spec.Policy, flag func(org, email, reason string)) []Finding {
	protected := protectedSet(pol)
	var out []Finding
	for _, mc := range members {
		if mc.Action != ActionRemove || !protected[resolve.NormEmail(mc.Email)] {
			continue
		}
		if flag != nil {
			flag(mc.Org, mc.Email, "in policy.protectedUsers")
		}
		out = append(out, Finding{Severity: SeverityError, Kind: FindingProtectedUser, Org: mc.Org, Subject: mc.Email, Email: mc.Email,
			Message: fmt.Sprintf("%s is in policy.protectedUsers but would be removed (%s)", mc.Email, mc.Reason)})
	}
	return out
}

// protectedSet is policy.protectedUsers, normalised.
func protectedSet(pol spec.Policy) map[string]bool {
	out := map[string]bool{}
	for _, e := range pol.ProtectedUsers {
		out[resolve.NormEmail(e)] = true
	}
	return out
}

// removalFindings applies policy.maxRemovals (to the plan's removals in
// all) and policy.maxRemovalPercent (to each org's removals of its current
// members), the spec package's defaults where unset. Both are lifted by
// --allow-removals with the plan's removal count.
func removalFindings(members []MemberChange, current map[string]int, pol spec.Policy) []Finding {
	perOrg := map[string]int{}
	total := 0
	for _, mc := range members {
		if mc.Action == ActionRemove {
			total++
			perOrg[mc.Org]++
		}
	}
	override := AllowRemovals(total)
	maxRemovals := spec.DefaultMaxRemovals
	if pol.MaxRemovals != nil {
		maxRemovals = *pol.MaxRemovals
	}
	var out []Finding
	if total > maxRemovals {
		out = append(out, Finding{Severity: SeverityError, Kind: FindingMaxRemovals, Override: override,
			Figures: &Figures{Count: total, Limit: float64(maxRemovals)},
			Message: fmt.Sprintf("%d removals exceed policy.maxRemovals (%d)", total, maxRemovals)})
	}
	maxPct := spec.DefaultMaxRemovalPercent
	if pol.MaxRemovalPercent != nil {
		maxPct = *pol.MaxRemovalPercent
	}
	for _, org := range slices.Sorted(maps.Keys(perOrg)) {
		n, of := perOrg[org], current[org]
		if of == 0 {
			continue
		}
		if pct := float64(n) * 100 / float64(of); pct > maxPct {
			out = append(out, Finding{Severity: SeverityError, Kind: FindingMaxRemovalPercent, Org: org, Override: override,
				Figures: &Figures{Count: n, Of: of, Percent: pct, Limit: maxPct},
				Message: removalPercentMessage(n, of, pct, maxPct)})
		}
	}
	return out
}

// emptyGroupFindings: a mapped group that holds no active user is more
// often a broken IdP sync than an intended change. An error, lifted by
// --allow-empty-groups, unless the tenant stays in jit (where a group's
// membership changes nobody's access): a warning then.
func (pl *planner) emptyGroupFindings(res resolve.Result) []Finding {
	sev := SeverityError
	if pl.desiredMode() == string(spec.ModeJIT) {
		sev = SeverityWarning
	}
	var out []Finding
	for id, mo := range pl.managed {
		for _, m := range mo.mappings {
			if res.GroupUsers[m.GroupID] == 0 {
				g := pl.groupName(m.GroupID)
				out = append(out, Finding{Severity: sev, Kind: FindingEmptyGroup, Org: pl.orgName[id], Subject: g, Group: g,
					Figures: &Figures{Count: 0}, Override: OverrideAllowEmptyGroups,
					Message: fmt.Sprintf("mapped group %s holds no active user", g)})
			}
		}
	}
	return out
}

// GroupShrink compares the mapped groups' sizes the plan recorded
// (GroupSizes) with the tenant t read again before an apply: a group
// deleted since, holding no active user now, or less than half the users
// it held when planned is an error-level FindingEmptyGroup, lifted by
// --allow-empty-groups. Nothing is found when the plan leaves the tenant in
// jit mode. apply calls it; the rule lives here.
func GroupShrink(p *Plan, t *tenant.Tenant) []Finding {
	if len(p.GroupSizes) == 0 || p.Mode.After == string(spec.ModeJIT) {
		return nil
	}
	now := groupUsers(t, p.GroupSizes)
	var out []Finding
	for _, g := range p.GroupSizes {
		n, exists := now[g.ID]
		f := Finding{Severity: SeverityError, Kind: FindingEmptyGroup, Subject: g.Name, Group: g.Name,
			Figures: &Figures{Count: n, Of: g.Users}, Override: OverrideAllowEmptyGroups}
		switch {
		case !exists:
			f.Message = fmt.Sprintf("%s: deleted since the plan (it held %s)", g.Name, FormatCount(g.Users, "user"))
		case n == 0:
			f.Message = fmt.Sprintf("%s: 0 users", g.Name)
		case 2*n < g.Users:
			f.Message = fmt.Sprintf("%s: %s now, %d when planned", g.Name, FormatCount(n, "user"), g.Users)
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// groupUsers counts the distinct active users of each group, nested groups
// included, with the rules the plan used (resolve). A group that no longer
// exists is absent.
func groupUsers(t *tenant.Tenant, gs []GroupSize) map[string]int {
	probe := resolve.Org{ID: "\x00probe"}
	for _, g := range gs {
		probe.Mappings = append(probe.Mappings, resolve.Mapping{GroupID: g.ID, Role: resolve.RoleMember})
	}
	res := resolve.Resolve(resolve.Input{Users: t.Users, Groups: t.Groups, Parent: t.Parent, Orgs: []resolve.Org{probe}})
	return res.GroupUsers
}

// readOnlyFindings: a plan with writes whose target cannot be written (a
// members export) is a list of changes to make by hand. A warning: the plan
// is true; apply refuses it.
func readOnlyFindings(p *Plan, t *tenant.Tenant) []Finding {
	if !t.ReadOnly || len(p.Writes) == 0 {
		return nil
	}
	return []Finding{{Severity: SeverityWarning, Kind: FindingReadOnlyTarget,
		Message: "the target cannot be written: make these changes in the admin console, or apply them on a server with the organization extension"}}
}

// lookalikeFindings: two different addresses in one org whose confusable
// skeletons are equal (contractor.kim and contractor.Kim with a Kelvin
// sign). Only orgs where some address holds a non-ASCII character are
// compared, so a plain-ASCII tenant costs little. An error when the plan
// adds, changes or links a member under either address (one may gain a seat
// through the other), a warning otherwise. obs is observedAddresses', which
// the plan computes on the other core after its simulation.
func (pl *planner) lookalikeFindings(p *Plan, obs map[string]*orgAddresses) []Finding {
	add := func(org, email string) string {
		if obs[org] == nil {
			obs[org] = &orgAddresses{skel: map[string]string{}}
		}
		a := match.Email(email)
		obs[org].add(a)
		return a
	}
	gains := map[string]bool{} // org + "\x00" + address
	for _, mc := range p.Members {
		switch mc.Action {
		case ActionAdd, ActionChange, ActionLink:
			gains[mc.Org+"\x00"+add(mc.Org, mc.Email)] = true
			if mc.User != nil {
				gains[mc.Org+"\x00"+add(mc.Org, mc.User.UserName)] = true
			}
		}
	}
	var out []Finding
	for _, org := range slices.Sorted(maps.Keys(obs)) {
		set := obs[org]
		if !set.nonASCII {
			continue
		}
		bySkel := map[string][]string{}
		for a, k := range set.skel {
			if k == "" {
				k = match.Skeleton(a)
			}
			bySkel[k] = append(bySkel[k], a)
		}
		for _, group := range bySkel {
			if len(group) < 2 {
				continue
			}
			slices.Sort(group)
			sev := SeverityWarning
			for _, a := range group {
				if gains[org+"\x00"+a] {
					sev = SeverityError
				}
			}
			quoted := make([]string, len(group))
			for i, a := range group {
				quoted[i] = strconv.QuoteToASCII(a)
			}
			out = append(out, Finding{Severity: sev, Kind: FindingLookalikeEmails, Org: org, Subject: group[0], Email: group[0],
				Figures: &Figures{Count: len(group)},
				Message: fmt.Sprintf("addresses that look alike but differ: %s", strings.Join(quoted, ", "))})
		}
	}
	return out
}

// orgAddresses are the addresses (Email-folded) of one org's members, each
// with its skeleton once it is known ("" until then), and whether any of
// them holds a non-ASCII character.
type orgAddresses struct {
	skel     map[string]string
	nonASCII bool
}

func (o *orgAddresses) add(a string) {
	if _, ok := o.skel[a]; !ok {
		o.skel[a] = ""
		o.nonASCII = o.nonASCII || !match.ASCII(a)
	}
}

// observedAddresses indexes the observed members' addresses by org name,
// with the skeletons of the orgs lookalikeFindings compares: the part of
// it that depends on the tenant alone, which the plan computes on the
// other core while it builds the rest (issue 18).
func (pl *planner) observedAddresses() map[string]*orgAddresses {
	count := map[string]int{}
	for _, m := range pl.t.Members {
		count[m.Org]++
	}
	obs := map[string]*orgAddresses{}
	for _, m := range pl.t.Members {
		org := pl.orgName[m.Org]
		if obs[org] == nil {
			obs[org] = &orgAddresses{skel: make(map[string]string, count[m.Org])}
		}
		obs[org].add(match.Email(m.Email))
	}
	for _, o := range obs {
		if o.nonASCII {
			for a := range o.skel {
				o.skel[a] = match.Skeleton(a)
			}
		}
	}
	return obs
}

// removalPercentMessage is the maxRemovalPercent finding's message, its
// figure and limit told apart however close (FormatPercents).
func removalPercentMessage(n, of int, pct, limit float64) string {
	a, b := FormatPercents(pct, limit)
	return fmt.Sprintf("%d of %d members removed (%s%%) exceed policy.maxRemovalPercent (%s%%)", n, of, a, b)
}
