package resolve

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// randomTenant builds a tenant from seed: users with aliases, case-variant
// and padded emails, inactive users, groups nested at random (cycles
// included), mappings of existing and deleted groups with random roles
// (primary-owner included) and tiers, members of every origin with one
// primary owner per org, strangers, duplicates, and exceptions on both sides
// of now.
func randomTenant(seed uint64, mode Mode) Input {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(ss []string) string { return ss[rng.IntN(len(ss))] }
	vary := func(email string) string {
		switch rng.IntN(4) {
		case 0:
			return strings.ToUpper(email)
		case 1:
			return " " + email + " "
		case 2:
			return strings.ToUpper(email[:1]) + email[1:]
		}
		return email
	}
	tiers := []string{"standard", "premium", "ultra"}
	roles := []Role{RoleMember, RoleAdmin, RoleOwner}
	in := Input{
		Parent: Org{ID: "p", Name: "agency", Mode: mode, SeatTiers: tiers},
		Now:    time.Date(2027, 3, 31, rng.IntN(24), 0, 0, 0, time.UTC),
	}

	nUsers := 5 + rng.IntN(40)
	var emails []string // every user email, for members and exceptions
	for i := range nUsers {
		u := User{ID: fmt.Sprintf("u%02d", i), Active: rng.IntN(5) > 0}
		primary := fmt.Sprintf("user%02d@x.gov", i)
		if rng.IntN(4) == 0 {
			u.UserName = fmt.Sprintf("login%02d", i) // not an email
		} else {
			u.UserName = vary(primary)
		}
		u.Emails = []string{vary(primary)}
		if rng.IntN(3) == 0 {
			alias := fmt.Sprintf("alias%02d@x.gov", i)
			u.Emails = append(u.Emails, vary(alias))
			emails = append(emails, alias)
		}
		emails = append(emails, primary)
		in.Users = append(in.Users, u)
	}
	for i := range 5 {
		emails = append(emails, fmt.Sprintf("stranger%d@x.gov", i))
	}

	nGroups := 2 + rng.IntN(8)
	var groupIDs []string
	for i := range nGroups {
		groupIDs = append(groupIDs, fmt.Sprintf("g%d", i))
	}
	for _, gid := range groupIDs {
		g := Group{ID: gid, DisplayName: "group " + gid}
		for range rng.IntN(12) {
			if rng.IntN(5) == 0 {
				g.Members = append(g.Members, pick(groupIDs)) // nesting, cycles, self
			} else {
				g.Members = append(g.Members, in.Users[rng.IntN(nUsers)].ID)
			}
		}
		in.Groups = append(in.Groups, g)
	}
	mappable := append(slices.Clone(groupIDs), "g-deleted")

	nOrgs := 1 + rng.IntN(3)
	for i := range nOrgs {
		o := Org{ID: fmt.Sprintf("o%d", i), Name: fmt.Sprintf("org%d", i), Parent: "p"}
		for range rng.IntN(4) {
			role := roles[rng.IntN(len(roles))]
			if rng.IntN(10) == 0 {
				role = RolePrimaryOwner
			}
			o.Mappings = append(o.Mappings, Mapping{GroupID: pick(mappable), Role: role, SeatTier: pick(tiers)})
		}
		for range rng.IntN(4) {
			until := in.Now.AddDate(0, 0, rng.IntN(5)-2).Format(time.DateOnly)
			o.Exceptions = append(o.Exceptions, Exception{Email: vary(pick(emails)), Until: until})
		}
		in.Orgs = append(in.Orgs, o)

		// Members: a primary owner, then members of every origin.
		used := map[string]bool{}
		add := func(m Member) {
			if used[NormEmail(m.Email)] {
				return // one member per email and org
			}
			used[NormEmail(m.Email)] = true
			m.ID = fmt.Sprintf("m-%s-%d", o.ID, len(used))
			m.Org = o.ID
			in.Members = append(in.Members, m)
		}
		add(Member{Email: vary(pick(emails)), Role: RolePrimaryOwner, SeatTier: pick(tiers), Origin: OriginJIT})
		for range rng.IntN(2 * nUsers) {
			m := Member{Email: vary(pick(emails)), Role: roles[rng.IntN(len(roles))], SeatTier: pick(tiers)}
			switch rng.IntN(3) {
			case 0:
				m.Origin = OriginSCIM
				u := in.Users[rng.IntN(nUsers)]
				m.UserID, m.Email = u.ID, vary(UserEmails(u)[0])
				if rng.IntN(6) == 0 {
					m.UserID = "u-deleted"
				}
			case 1:
				m.Origin = OriginJIT
			case 2:
				m.Origin = OriginManual
			}
			add(m)
		}
	}
	rng.Shuffle(len(in.Members), func(i, j int) { in.Members[i], in.Members[j] = in.Members[j], in.Members[i] })
	return in
}

var modes = []Mode{ModeJIT, ModeStaged, ModeFull}

const seeds = 300

func forEachTenant(t *testing.T, f func(t *testing.T, in Input, res Result)) {
	t.Helper()
	for _, mode := range modes {
		for seed := range uint64(seeds) {
			in := randomTenant(seed, mode)
			res := Resolve(in)
			t.Run(fmt.Sprintf("%s/%d", mode, seed), func(t *testing.T) { f(t, in, res) })
		}
	}
}

func TestPropertyIdempotent(t *testing.T) {
	forEachTenant(t, func(t *testing.T, in Input, res Result) {
		again := in
		again.Members = res.Members
		res2 := Resolve(again)
		for _, oc := range res2.Outcomes {
			if oc.Action != ActionKeep {
				t.Errorf("second resolution: %s %s in %s (reason %q)", oc.Action, oc.Email, oc.Org, oc.Reason)
			}
		}
		if diff := cmp.Diff(res.Members, res2.Members); diff != "" {
			t.Errorf("members changed on the second resolution (-first +second):\n%s", diff)
		}
	})
}

func TestPropertyFullHoldsOnlyEntitledOwnersAndExceptions(t *testing.T) {
	for seed := range uint64(seeds) {
		in := randomTenant(seed, ModeFull)
		res := Resolve(in)
		entitled := map[[2]string]Entitlement{}
		for _, e := range res.Entitled {
			entitled[[2]string{e.Org, e.UserID}] = e
		}
		before := map[string]Member{}
		for _, m := range in.Members {
			before[m.ID] = m
		}
		orgs := map[string]Org{}
		for _, o := range in.Orgs {
			orgs[o.ID] = o
		}
		today := in.Now.UTC().Format(time.DateOnly)
		for _, m := range res.Members {
			if m.Role == RolePrimaryOwner {
				if m != before[m.ID] {
					t.Errorf("seed %d: primary owner changed: %+v → %+v", seed, before[m.ID], m)
				}
				continue
			}
			if e, ok := entitled[[2]string{m.Org, m.UserID}]; ok && m.Origin == OriginSCIM {
				if m.Role != e.Role || m.SeatTier != e.SeatTier {
					t.Errorf("seed %d: %s in %s is %s/%s, entitled to %s/%s", seed, m.Email, m.Org, m.Role, m.SeatTier, e.Role, e.SeatTier)
				}
				continue
			}
			covered := slices.ContainsFunc(orgs[m.Org].Exceptions, func(x Exception) bool {
				return NormEmail(x.Email) == NormEmail(m.Email) && x.Until >= today
			})
			if !covered {
				t.Errorf("seed %d: %+v is neither entitled, primary owner nor under a live exception", seed, m)
			} else if old, ok := before[m.ID]; !ok || old != m {
				t.Errorf("seed %d: exception changed or added a member: %+v → %+v", seed, old, m)
			}
		}
	}
}

func TestPropertyStagedKeepsJITAndManual(t *testing.T) {
	for seed := range uint64(seeds) {
		in := randomTenant(seed, ModeStaged)
		res := Resolve(in)
		kept := map[string]bool{}
		for _, m := range res.Members {
			kept[m.ID] = true
		}
		for _, m := range in.Members {
			if m.Origin != OriginSCIM && !kept[m.ID] {
				t.Errorf("seed %d: staged removed %s member %s", seed, m.Origin, m.Email)
			}
		}
	}
}

func TestPropertyEveryEntitlementHeld(t *testing.T) {
	for _, mode := range []Mode{ModeStaged, ModeFull} {
		for seed := range uint64(seeds) {
			in := randomTenant(seed, mode)
			res := Resolve(in)
			users := map[string]User{}
			for _, u := range in.Users {
				users[u.ID] = u
			}
			for _, e := range res.Entitled {
				ok := slices.ContainsFunc(res.Members, func(m Member) bool {
					if m.Org != e.Org {
						return false
					}
					if m.UserID == e.UserID && m.Origin == OriginSCIM {
						return true
					}
					// A primary owner holding one of the user's emails stands in.
					return m.Role == RolePrimaryOwner && slices.Contains(UserEmails(users[e.UserID]), NormEmail(m.Email))
				})
				if !ok {
					t.Errorf("%s seed %d: entitled %s (%s) holds no member of %s", mode, seed, e.Email, e.UserID, e.Org)
				}
			}
		}
	}
}

func TestPropertyOutcomesWellFormed(t *testing.T) {
	reasons := []Reason{ReasonNotProvisioned, ReasonInactive, ReasonNoMappedGroup, ReasonGroupDeleted, ReasonExceptionExpired}
	forEachTenant(t, func(t *testing.T, in Input, res Result) {
		if len(res.Outcomes) < len(in.Members) {
			t.Errorf("%d outcomes for %d members", len(res.Outcomes), len(in.Members))
		}
		removed := 0
		for i, oc := range res.Outcomes {
			if i > 0 {
				p := res.Outcomes[i-1]
				if p.Org > oc.Org || p.Org == oc.Org && p.Email > oc.Email {
					t.Errorf("outcomes out of order: %s/%s before %s/%s", p.Org, p.Email, oc.Org, oc.Email)
				}
			}
			switch oc.Action {
			case ActionRemove:
				removed++
				if oc.After != nil || oc.Before == nil || !slices.Contains(reasons, oc.Reason) {
					t.Errorf("bad removal %+v", oc)
				}
				if in.Parent.Mode == ModeJIT {
					t.Errorf("jit removed %s", oc.Email)
				}
			case ActionAdd:
				if oc.Before != nil || oc.After == nil || oc.After.Origin != OriginSCIM || oc.Reason != "" {
					t.Errorf("bad addition %+v", oc)
				}
			default:
				if oc.Before == nil || oc.After == nil || oc.Reason != "" {
					t.Errorf("bad %s %+v", oc.Action, oc)
				}
			}
		}
		if got, want := len(res.Members), len(res.Outcomes)-removed; got != want {
			t.Errorf("%d members, want %d", got, want)
		}
		// Members are the outcomes' After, in order; Before points into
		// the input members.
		var afters []Member
		for _, oc := range res.Outcomes {
			if oc.After != nil {
				afters = append(afters, *oc.After)
			}
			if oc.Before != nil && !pointsInto(in.Members, oc.Before) {
				t.Errorf("%s in %s: Before does not point into the input members", oc.Email, oc.Org)
			}
		}
		if diff := cmp.Diff(afters, res.Members); diff != "" {
			t.Errorf("members are not the outcomes' After (-After +Members):\n%s", diff)
		}
	})
}

// pointsInto reports whether p points to an element of ms.
func pointsInto(ms []Member, p *Member) bool {
	for i := range ms {
		if &ms[i] == p {
			return true
		}
	}
	return false
}

// Resolution does not depend on the order of its input lists.
func TestPropertyInputOrder(t *testing.T) {
	forEachTenant(t, func(t *testing.T, in Input, res Result) {
		rng := rand.New(rand.NewPCG(1, 2))
		sh := in
		sh.Users = slices.Clone(in.Users)
		sh.Groups = slices.Clone(in.Groups)
		sh.Orgs = slices.Clone(in.Orgs)
		sh.Members = slices.Clone(in.Members)
		rng.Shuffle(len(sh.Users), func(i, j int) { sh.Users[i], sh.Users[j] = sh.Users[j], sh.Users[i] })
		rng.Shuffle(len(sh.Groups), func(i, j int) { sh.Groups[i], sh.Groups[j] = sh.Groups[j], sh.Groups[i] })
		rng.Shuffle(len(sh.Orgs), func(i, j int) { sh.Orgs[i], sh.Orgs[j] = sh.Orgs[j], sh.Orgs[i] })
		rng.Shuffle(len(sh.Members), func(i, j int) { sh.Members[i], sh.Members[j] = sh.Members[j], sh.Members[i] })
		if diff := cmp.Diff(res, Resolve(sh)); diff != "" {
			t.Errorf("shuffled input gives another result (-ordered +shuffled):\n%s", diff)
		}
	})
}

// A Resolver reused across modes and members gives what Resolve gives: the
// second call reuses the entitlements of the first.
func TestPropertyResolverReuse(t *testing.T) {
	forEachTenant(t, func(t *testing.T, in Input, res Result) {
		rv := NewResolver(in)
		if diff := cmp.Diff(res, rv.Resolve(in.Parent.Mode, in.Members)); diff != "" {
			t.Fatalf("first call differs from Resolve (-Resolve +Resolver):\n%s", diff)
		}
		want := Result{Entitled: res.Entitled, GroupUsers: res.GroupUsers}
		if diff := cmp.Diff(want, NewResolver(in).Entitlements()); diff != "" {
			t.Errorf("Entitlements differs from Resolve (-Resolve +Entitlements):\n%s", diff)
		}
		for _, mode := range modes {
			again := in
			again.Parent.Mode, again.Members = mode, res.Members
			if diff := cmp.Diff(Resolve(again), rv.Resolve(mode, res.Members)); diff != "" {
				t.Errorf("%s on the resulting members differs from Resolve (-Resolve +Resolver):\n%s", mode, diff)
			}
		}
	})
}

// TestPropertyDirectoryShared resolves each tenant under several
// configurations sharing one Directory (as a plan's simulations do): the
// original, with the parent's seat tiers reversed, with one org's mappings
// reversed and their tiers swapped, and the original again, which reuses
// the entitlements computed first. Each is what Resolve gives without a
// Directory.
func TestPropertyDirectoryShared(t *testing.T) {
	forEachTenant(t, func(t *testing.T, in Input, res Result) {
		dir := NewDirectory(in.Users, in.Groups)
		tiers := slices.Clone(in.Parent.SeatTiers)
		slices.Reverse(tiers)
		reTiered := in
		reTiered.Parent.SeatTiers = tiers
		remapped := in
		remapped.Orgs = slices.Clone(in.Orgs)
		if len(remapped.Orgs) > 0 {
			ms := slices.Clone(remapped.Orgs[0].Mappings)
			slices.Reverse(ms)
			for i := range ms {
				if len(tiers) > 0 {
					ms[i].SeatTier = tiers[i%len(tiers)]
				}
			}
			remapped.Orgs[0].Mappings = ms
		}
		for i, cfg := range []Input{in, reTiered, remapped, in} {
			shared := cfg
			shared.Directory = dir
			if diff := cmp.Diff(Resolve(cfg), Resolve(shared)); diff != "" {
				t.Fatalf("configuration %d: with the shared directory (-fresh +shared):\n%s", i, diff)
			}
		}
		// A directory of other users is not used.
		other := in
		other.Directory = NewDirectory(nil, nil)
		if diff := cmp.Diff(res, Resolve(other)); diff != "" {
			t.Fatalf("with another tenant's directory (-fresh +shared):\n%s", diff)
		}
	})
}
