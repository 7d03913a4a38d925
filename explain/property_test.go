package explain_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/explain"
	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// randomCase builds a tenant and a spec from seed, with every way one
// person's seat can depend on another's: users sharing a primary address or
// holding another's as an alias, userNames that are not addresses, scim
// members linked to a user under another user's address or to a deleted
// user, jit and manual members under anyone's address, groups nested in
// cycles, server mappings of a deleted group, exceptions on both sides of
// now in the spec and on the server, primary owners, orgs the spec leaves
// alone, any mode on either side, exclusiveOrgs and protected users.
func randomCase(seed uint64) (*spec.Spec, *tenant.Tenant, time.Time) {
	rng := rand.New(rand.NewPCG(seed, seed^0x51ed2701))
	pick := func(ss []string) string { return ss[rng.IntN(len(ss))] }
	vary := func(e string) string {
		switch rng.IntN(4) {
		case 0:
			return strings.ToUpper(e)
		case 1:
			return " " + e + " "
		}
		return e
	}
	now := time.Date(2027, 3, 31, rng.IntN(24), 0, 0, 0, time.UTC)
	tiers := []string{"standard", "premium"}
	roles := []resolve.Role{resolve.RoleMember, resolve.RoleAdmin, resolve.RoleOwner}
	modes := []resolve.Mode{resolve.ModeJIT, resolve.ModeStaged, resolve.ModeFull}
	t := &tenant.Tenant{Kind: tenant.KindSnapshot, MembersRead: map[string]bool{},
		Parent: resolve.Org{ID: "p", Name: "agency", Mode: modes[rng.IntN(3)], SeatTiers: tiers}}

	nUsers := 4 + rng.IntN(24)
	var addrs []string
	for i := range nUsers {
		addrs = append(addrs, fmt.Sprintf("user%02d@x.gov", i))
	}
	for i := range 4 {
		addrs = append(addrs, fmt.Sprintf("stranger%d@x.gov", i))
	}
	for i := range nUsers {
		u := resolve.User{ID: fmt.Sprintf("u%02d", i), Active: rng.IntN(5) > 0}
		primary := addrs[i]
		if rng.IntN(8) == 0 {
			primary = addrs[rng.IntN(len(addrs))] // shared with another user
		}
		u.UserName = vary(primary)
		if rng.IntN(5) == 0 {
			u.UserName = fmt.Sprintf("EMP-%02d", i)
		}
		u.Emails = []string{vary(primary)}
		if rng.IntN(3) == 0 {
			u.Emails = append(u.Emails, vary(pick(addrs))) // an alias, maybe another's
		}
		t.Users = append(t.Users, u)
	}
	rng.Shuffle(len(t.Users), func(i, j int) { t.Users[i], t.Users[j] = t.Users[j], t.Users[i] })

	nGroups := 2 + rng.IntN(6)
	var gids []string
	for i := range nGroups {
		gids = append(gids, fmt.Sprintf("g%d", i))
	}
	for _, id := range gids {
		g := resolve.Group{ID: id, DisplayName: "group-" + id}
		for range rng.IntN(10) {
			if rng.IntN(4) == 0 {
				g.Members = append(g.Members, pick(gids))
			} else {
				g.Members = append(g.Members, t.Users[rng.IntN(nUsers)].ID)
			}
		}
		t.Groups = append(t.Groups, g)
		t.MembersRead[id] = true
	}

	s := &spec.Spec{Version: 1, Target: spec.Target{File: "t.json"},
		Parent: spec.Parent{Name: "agency", SeatTiers: tiers, Mode: modes[rng.IntN(3)]}}
	s.Policy.ExclusiveOrgs = rng.IntN(2) == 0
	for range rng.IntN(3) {
		s.Policy.ProtectedUsers = append(s.Policy.ProtectedUsers, vary(pick(addrs)))
	}
	if rng.IntN(2) == 0 {
		s.Policy.OwnerGroups = []string{pick(gids)}
	}
	until := func() string { return now.AddDate(0, 0, rng.IntN(5)-2).Format(time.DateOnly) }
	nOrgs := 1 + rng.IntN(3)
	for k := range nOrgs {
		o := resolve.Org{ID: fmt.Sprintf("o%d", k), Name: fmt.Sprintf("org%d", k), Parent: "p", Seats: map[string]int{"standard": 5, "premium": 2}}
		for range rng.IntN(4) {
			gid := pick(gids)
			if rng.IntN(6) == 0 {
				gid = "g-deleted"
			}
			o.Mappings = append(o.Mappings, resolve.Mapping{GroupID: gid, Role: roles[rng.IntN(3)], SeatTier: pick(tiers)})
		}
		for range rng.IntN(3) {
			o.Exceptions = append(o.Exceptions, resolve.Exception{Email: vary(pick(addrs)), Until: until()})
		}
		t.Orgs = append(t.Orgs, o)
		if rng.IntN(4) > 0 { // managed
			so := spec.Organization{Name: o.Name, Seats: map[string]int{"standard": 1 + rng.IntN(6), "premium": rng.IntN(3)}}
			used := map[string]bool{}
			for range rng.IntN(4) {
				gid := pick(gids)
				if used[gid] {
					continue
				}
				used[gid] = true
				so.Mappings = append(so.Mappings, spec.Mapping{GroupID: gid, Role: roles[rng.IntN(3)], SeatTier: pick(tiers)})
			}
			s.Organizations = append(s.Organizations, so)
			for range rng.IntN(3) {
				s.Policy.Exceptions = append(s.Policy.Exceptions, spec.Exception{Email: vary(pick(addrs)), Org: o.Name, Until: until(), Reason: "r"})
			}
		}
		used := map[string]bool{}
		add := func(m resolve.Member) {
			if used[match.Email(m.Email)] {
				return
			}
			used[match.Email(m.Email)] = true
			m.ID, m.Org = fmt.Sprintf("m-%s-%d", o.ID, len(used)), o.ID
			t.Members = append(t.Members, m)
		}
		add(resolve.Member{Email: vary(pick(addrs)), Role: resolve.RolePrimaryOwner, SeatTier: pick(tiers), Origin: resolve.OriginManual})
		for range rng.IntN(2 * nUsers) {
			m := resolve.Member{Email: vary(pick(addrs)), Role: roles[rng.IntN(3)], SeatTier: pick(tiers), Origin: resolve.OriginJIT}
			switch rng.IntN(4) {
			case 0:
				u := t.Users[rng.IntN(nUsers)]
				m.Origin, m.UserID = resolve.OriginSCIM, u.ID
				if rng.IntN(2) == 0 {
					m.Email = vary(resolve.CanonicalEmail(u))
				}
				if rng.IntN(6) == 0 {
					m.UserID = "u-deleted"
				}
			case 1:
				m.Origin = resolve.OriginManual
			}
			add(m)
		}
	}
	if len(s.Organizations) == 0 {
		s.Organizations = []spec.Organization{{Name: t.Orgs[0].Name}}
	}
	rng.Shuffle(len(t.Members), func(i, j int) { t.Members[i], t.Members[j] = t.Members[j], t.Members[i] })
	return s, t, now
}

// people returns every address the tenant or the spec holds, each once,
// and one no one holds.
func people(s *spec.Spec, t *tenant.Tenant) []string {
	seen := map[string]bool{}
	var out []string
	add := func(e string) {
		if k := match.Email(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	for _, u := range t.Users {
		add(u.UserName)
		for _, e := range u.Emails {
			add(e)
		}
	}
	for _, m := range t.Members {
		add(m.Email)
	}
	for _, o := range t.Orgs {
		for _, x := range o.Exceptions {
			add(x.Email)
		}
	}
	for _, x := range s.Policy.Exceptions {
		add(x.Email)
	}
	for _, e := range s.Policy.ProtectedUsers {
		add(e)
	}
	add("nobody@x.gov")
	return out
}

// personRows is what a plan says of the people holding the addresses in
// emails: their member changes (flags included), their removals on full
// enablement, and the findings about them.
type personRows struct {
	Members  []diff.MemberChange
	Full     map[string][]diff.Removal
	Findings []diff.Finding
}

func rowsOf(p *diff.Plan, emails map[string]bool) personRows {
	r := personRows{Full: map[string][]diff.Removal{}}
	for _, mc := range p.Members {
		if emails[match.Email(mc.Email)] {
			r.Members = append(r.Members, mc)
		}
	}
	for _, rd := range p.Readiness {
		for _, w := range rd.WouldRemove {
			if emails[match.Email(w.Email)] {
				r.Full[rd.Org] = append(r.Full[rd.Org], w)
			}
		}
	}
	for _, f := range p.Findings {
		if (f.Kind == diff.FindingExclusiveOrgs || f.Kind == diff.FindingProtectedUser) && emails[match.Email(f.Email)] {
			r.Findings = append(r.Findings, f)
		}
	}
	return r
}

// checkRestricted holds, for every person of t, the plan of
// tenant.Restrict(t, person) and the trace from it to the whole plan: the
// person's member changes (action, before and after role, tier and origin,
// reason, deciding groups), removals on full enablement with their reasons
// and findings, and the whole explain report, are the same.
func checkRestricted(t *testing.T, s *spec.Spec, whole *tenant.Tenant, now time.Time, emails []string) {
	t.Helper()
	full, err := diff.Compute(s, whole, now)
	if err != nil {
		t.Fatalf("planning the whole tenant: %v", err)
	}
	all := tenant.Focus(whole, nil).Addresses
	for _, email := range emails {
		part := tenant.Restrict(whole, []string{email})
		p, err := diff.Compute(s, part, now)
		if err != nil {
			t.Fatalf("%s: planning the restricted tenant: %v", email, err)
		}
		// Every address the restriction keeps is told what the whole
		// plan tells it.
		keys := map[string]bool{match.Email(email): true}
		for _, u := range part.Users {
			for _, e := range resolve.UserEmails(u) {
				keys[e] = true
			}
		}
		for _, m := range part.Members {
			keys[match.Email(m.Email)] = true
		}
		if d := cmp.Diff(rowsOf(full, keys), rowsOf(p, keys)); d != "" {
			t.Fatalf("%s: the restricted plan differs from the whole one (-whole +restricted):\n%s", email, d)
		}
		want, err := explain.Explain(explain.Input{Spec: s, Tenant: whole, Plan: full, Now: now}, []string{email})
		if err != nil {
			t.Fatal(err)
		}
		got, err := explain.Explain(explain.Input{Spec: s, Tenant: part, Plan: p, Now: now, Addresses: all}, []string{email})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%s: the trace differs (-whole +restricted):\n%s", email, d)
		}
	}
}

// TestPropertyRestrictedTraceIsTheWholePlans: for random tenants, every
// person's trace from the restricted plan is the whole plan's.
func TestPropertyRestrictedTraceIsTheWholePlans(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 60
	}
	for seed := range uint64(n) {
		s, tn, now := randomCase(seed)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkRestricted(t, s, tn, now, people(s, tn)) })
	}
}

// TestPropertyRestrictedTraceGenerated: the same on tenants of the
// benchmark generator (look-alike addresses, aliases, accents, inactive
// users, large nested groups), with the benchmark's changes and with
// exclusiveOrgs and protected users on.
func TestPropertyRestrictedTraceGenerated(t *testing.T) {
	p := gen.Params{Users: 300, Groups: 40, BigGroups: 2, BigGroupSize: 60, Memberships: 1500, Orgs: 3, Mappings: 12,
		Members: 300, NonSCIMFraction: 0.1, InactiveFraction: 0.1, SpecialFraction: 0.05, AliasFraction: 0.2, LookAlikeFraction: 0.05}
	for seed := range int64(3) {
		snap, err := gen.Generate(p, seed+1)
		if err != nil {
			t.Fatal(err)
		}
		s, err := gen.Spec(snap)
		if err != nil {
			t.Fatal(err)
		}
		if seed > 0 {
			gen.WithChanges(s)
		}
		if seed == 2 {
			s.Policy.ExclusiveOrgs = true
		}
		tn, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
		if err != nil {
			t.Fatal(err)
		}
		emails := people(s, tn)
		s.Policy.ProtectedUsers = emails[:10]
		if testing.Short() {
			emails = emails[:60]
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { checkRestricted(t, s, tn, gen.Epoch, emails) })
	}
}

// The generator's people come in every shape the property relies on.
func TestRandomCaseCoversTheDependencies(t *testing.T) {
	var shared, foreignAlias, mislinked, nonAddress int
	for seed := range uint64(100) {
		_, tn, _ := randomCase(seed)
		holders := map[string]int{}
		for _, u := range tn.Users {
			for _, e := range resolve.UserEmails(u) {
				holders[e]++
			}
			if !strings.Contains(u.UserName, "@") {
				nonAddress++
			}
		}
		for _, n := range holders {
			if n > 1 {
				shared++
			}
		}
		for _, u := range tn.Users {
			if len(u.Emails) > 1 && !strings.HasPrefix(match.Email(u.Emails[1]), "user"+u.ID[1:]) {
				foreignAlias++
			}
		}
		for _, m := range tn.Members {
			if m.UserID != "" && !slices.Contains(resolve.UserEmails(userByID(tn, m.UserID)), match.Email(m.Email)) {
				mislinked++
			}
		}
	}
	if shared == 0 || foreignAlias == 0 || mislinked == 0 || nonAddress == 0 {
		t.Errorf("shared %d, foreign aliases %d, mislinked members %d, non-address userNames %d", shared, foreignAlias, mislinked, nonAddress)
	}
}

func userByID(t *tenant.Tenant, id string) resolve.User {
	for _, u := range t.Users {
		if u.ID == id {
			return u
		}
	}
	return resolve.User{}
}
