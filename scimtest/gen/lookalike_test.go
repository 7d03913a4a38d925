package gen

import (
	"strings"
	"testing"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/tenant"
)

// lookAlikeParams is a small tenant where a tenth of the users have a
// look-alike address.
func lookAlikeParams() Params {
	p := Params{
		Users: 400, Groups: 40, BigGroups: 2, BigGroupSize: 80, Orgs: 3, Mappings: 12,
		Members: 400, NonSCIMFraction: 0.1, InactiveFraction: 0.1, SpecialFraction: 0.05,
		AliasFraction: 0.1, LookAlikeFraction: 0.1,
	}
	p.Memberships = p.Users + p.BigGroups*p.BigGroupSize + p.Orgs + (p.Groups-1-p.BigGroups)*6
	return p
}

// TestLookAlikesConverged: with look-alike users, the generated tenant is
// still what the server holds. Each entitled look-alike user has a scim
// member at its own address beside a jit member at the ASCII one; a rule
// that folded K into k would link the two, and recomputing would change
// the tenant.
func TestLookAlikesConverged(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		snap, err := Generate(lookAlikeParams(), seed)
		if err != nil {
			t.Fatal(err)
		}
		pairs := 0
		byOrg := map[string]map[string]string{} // org → folded email → origin
		for _, m := range snap.Members {
			if byOrg[m.Organization] == nil {
				byOrg[m.Organization] = map[string]string{}
			}
			byOrg[m.Organization][match.Email(m.Email)] = m.Origin
		}
		for _, m := range snap.Members {
			if !strings.ContainsAny(m.Email, "\u212a\u0130") {
				continue
			}
			twin := strings.NewReplacer("\u212a", "k", "\u0130", "i").Replace(m.Email)
			if m.Origin == "scim" && byOrg[m.Organization][match.Email(twin)] == "jit" {
				pairs++
			}
		}
		if pairs == 0 {
			t.Fatalf("seed %d: no look-alike user beside a jit member at the ASCII address", seed)
		}
		before := len(snap.Members)
		res, err := tenant.Recompute(snap, Epoch)
		if err != nil {
			t.Fatal(err)
		}
		for _, oc := range res.Outcomes {
			if oc.Action != resolve.ActionKeep {
				t.Errorf("seed %d: recomputing the generated tenant: %s %s in %s (%s)", seed, oc.Action, oc.Email, oc.Org, oc.Reason)
			}
		}
		if len(snap.Members) != before {
			t.Errorf("seed %d: recomputing changed the member count from %d to %d", seed, before, len(snap.Members))
		}
	}
}

// A zero LookAlikeFraction leaves the tenant as it was: no user has a
// Kelvin sign or a dotted capital I.
func TestNoLookAlikesByDefault(t *testing.T) {
	p := lookAlikeParams()
	p.LookAlikeFraction = 0
	snap, err := Generate(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range snap.Users {
		if strings.ContainsAny(u.UserName, "\u212a\u0130") {
			t.Fatalf("user %q has a look-alike address", u.UserName)
		}
	}
}
