// Package gen generates seeded, synthetic tenants for benchmarks: users,
// groups with a realistic size distribution, a parent organization with child
// organizations and mappings, and members of mixed origin that the server
// semantics of DESIGN §5 would hold. The same Params and seed always give the
// same tenant, byte for byte.
//
// Three tiers (issue 8) fix the shape:
//
//	tier  users      groups  memberships
//	S     5,000      100     25,000
//	M     100,000    2,000   1,000,000
//	L     1,000,000  20,000  10,000,000
//
// In every tier the first group ("all-staff") holds every user, the next ten
// ("division-01" …) a fifth of the users each, and the remaining groups
// ("team-0001" …) follow a Zipf distribution below them. There are five
// child organizations with eight mappings each, members of origin scim, jit
// and manual about as many as users, and 2% of userNames hold quotes,
// backslashes, accents or spaces.
//
// Generated tenants are never committed: generate them at run time.
package gen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Tier names a predefined size.
type Tier string

// Tiers.
const (
	S Tier = "S"
	M Tier = "M"
	L Tier = "L"
)

// ParseTier reads a tier name, in any case.
func ParseTier(s string) (Tier, error) {
	switch t := Tier(strings.ToUpper(strings.TrimSpace(s))); t {
	case S, M, L:
		return t, nil
	}
	return "", fmt.Errorf("unknown tier %q: want S, M or L", s)
}

// Params returns the parameters of tier t. It panics on an unknown tier.
func (t Tier) Params() Params {
	switch t {
	case S:
		return scaled(5_000, 100, 25_000)
	case M:
		return scaled(100_000, 2_000, 1_000_000)
	case L:
		return scaled(1_000_000, 20_000, 10_000_000)
	}
	panic(fmt.Sprintf("gen: unknown tier %q", string(t)))
}

// scaled is the shape the tiers share, at their sizes.
func scaled(users, groups, memberships int) Params {
	return Params{
		Users:            users,
		Groups:           groups,
		Memberships:      memberships,
		BigGroups:        10,
		BigGroupSize:     users / 5,
		Orgs:             5,
		Mappings:         40,
		Members:          users,
		NonSCIMFraction:  0.05,
		InactiveFraction: 0.10,
		SpecialFraction:  0.02,
		AliasFraction:    0.10,
	}
}

// Params shape a generated tenant.
type Params struct {
	// Users is the number of SCIM users.
	Users int
	// Groups is the number of groups: one all-staff group holding every
	// user, BigGroups groups of BigGroupSize users, and the rest sized by a
	// Zipf distribution (s = 1) below BigGroupSize.
	Groups       int
	BigGroups    int
	BigGroupSize int
	// Memberships is the total number of group member entries, nested
	// groups included.
	Memberships int
	// Orgs is the number of child organizations and Mappings the number of
	// mappings over all of them (spread evenly).
	Orgs     int
	Mappings int
	// Members is about the number of members over every child
	// organization: the SCIM-backed members that the mappings entitle, and
	// jit or manual members to make up the rest, at least NonSCIMFraction
	// of Members.
	Members         int
	NonSCIMFraction float64
	// InactiveFraction of the users are inactive.
	InactiveFraction float64
	// SpecialFraction of the userNames hold quotes, backslashes, accents or
	// spaces.
	SpecialFraction float64
	// AliasFraction of the users have a second email.
	AliasFraction float64
	// LookAlikeFraction of the users have an address that looks like
	// another one: a Kelvin sign K (U+212A) for a k, or İ (U+0130) for an
	// i. Where such a user is entitled, a jit member holds the ASCII
	// address it looks like: another person, whom the user must not take
	// over (DESIGN §5). Zero by default, which leaves a tenant as it was.
	LookAlikeFraction float64
}

func (p Params) check() error {
	zipf := p.Groups - 1 - p.BigGroups
	switch {
	case p.Users < 100:
		return fmt.Errorf("gen: %d users, need at least 100", p.Users)
	case p.Orgs < 1 || p.Orgs > len(orgNames)+90:
		return fmt.Errorf("gen: %d child organizations, need 1 to %d", p.Orgs, len(orgNames)+90)
	case p.Mappings < 3*p.Orgs:
		return fmt.Errorf("gen: %d mappings for %d organizations, need at least 3 each", p.Mappings, p.Orgs)
	case p.BigGroups < 0 || p.BigGroupSize < 0 || p.BigGroupSize > p.Users:
		return fmt.Errorf("gen: %d big groups of %d users each, for %d users", p.BigGroups, p.BigGroupSize, p.Users)
	case zipf < 2*p.Mappings:
		return fmt.Errorf("gen: %d groups leave %d below the big ones, need at least %d for %d mappings", p.Groups, zipf, 2*p.Mappings, p.Mappings)
	}
	rest := p.Memberships - p.Users - p.BigGroups*p.BigGroupSize - p.Orgs
	if rest < zipf {
		return fmt.Errorf("gen: %d memberships leave %d for %d groups below the big ones", p.Memberships, rest, zipf)
	}
	return nil
}

// Fit sets p's Mappings, Groups and Memberships to random values that fit
// its Orgs, Users, BigGroups and BigGroupSize, as the property tests'
// small tenants need: four mappings per org and up to three more (hq maps
// all-staff, two big groups and an admin group), twice as many groups as
// mappings below the big ones and up to nine more, and teams of four to
// thirteen members. The same rng gives the same Params.
func (p Params) Fit(rng *rand.Rand) Params {
	p.Mappings = 4*p.Orgs + rng.IntN(4)
	p.Groups = 2*p.Mappings + 4 + rng.IntN(10)
	teams := p.Groups - 1 - p.BigGroups
	p.Memberships = p.Users + p.BigGroups*p.BigGroupSize + p.Orgs + teams*(4+rng.IntN(10))
	return p
}
