package gen

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// Epoch is the instant the generated tenant was last recomputed at: members'
// meta.lastModified, and the clock to judge it by.
var Epoch = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

// Domain is the email domain of the generated users, and the parent
// organization's login domain.
const Domain = "example.gov"

// ParentName is the generated parent organization's name.
const ParentName = "example-agency"

// Seat tiers of the generated parent organization, lowest first.
var SeatTiers = []string{"standard", "premium"}

// AllStaff is the displayName of the group holding every user.
const AllStaff = "all-staff"

// Kinds of special userName, in the order Generate deals them out.
const (
	SpecialQuote     = iota // an apostrophe:      kim.o'brien12@example.gov
	SpecialDQuote           // a quoted local part: "ana lee.12"@example.gov
	SpecialBackslash        // a domain account:   EXAMPLE\ana.lee12 (emails[] holds the address)
	SpecialAccent           // accents, mixed case: José.Núñez12@Example.gov
	SpecialSpace            // a space:            ana lee12@example.gov
	specialKinds
)

// id kinds, so that ids never collide across resource types.
const (
	kindUser = iota + 1
	kindGroup
	kindOrg
)

// Generate returns the tenant p describes for seed, in canonical order (see
// tenant.Snapshot.Sort). Its members are what the server semantics give its
// organizations at Epoch (tenant.Recompute), plus jit and manual members
// that staged mode keeps as they are, so recomputing it changes nothing.
//
// Memory is about 1 KiB per user and 70 bytes per membership.
func Generate(p Params, seed int64) (*tenant.Snapshot, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	g := &generator{p: p, seed: uint64(seed), rng: rand.New(rand.NewPCG(uint64(seed), 0x5c1a5e9c))}
	g.stamps()
	g.users()
	g.groups()
	g.orgs()
	if err := g.members(); err != nil {
		return nil, err
	}
	snap := &tenant.Snapshot{Users: g.us, Groups: g.gs, Organizations: g.os, Members: g.ms}
	snap.Sort()
	return snap, nil
}

type generator struct {
	p    Params
	seed uint64
	rng  *rand.Rand

	created []string // a pool of meta.created stamps

	us       []scim.User
	inactive []int // indices of inactive users, ascending
	gs       []scim.Group
	teams    []int // indices in gs of the Zipf groups
	os       []scim.Organization
	ms       []scim.Member
	mapped   map[int]bool // indices in gs of mapped or nested groups
	// twins maps a look-alike user's index to the ASCII address it looks
	// like.
	twins map[int]string
}

// id returns a UUID-shaped id, unique per kind and index for a seed: its
// first 64 bits are a bijection of (kind, i).
func (g *generator) id(kind, i int) string {
	hi := mix(g.seed + (uint64(kind)<<48|uint64(i))*0x9e3779b97f4a7c15)
	lo := mix(hi ^ 0xd1b54a32d192ed03)
	var b [16]byte
	for k := range 8 {
		b[k] = byte(hi >> (56 - 8*k))
		b[8+k] = byte(lo >> (56 - 8*k))
	}
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// mix is splitmix64's finalizer, a bijection.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (g *generator) stamps() {
	g.created = make([]string, 1000)
	for i := range g.created {
		g.created[i] = Epoch.Add(-time.Duration(i+30) * 24 * time.Hour).Add(time.Duration(i*7919%86400) * time.Second).Format(time.RFC3339)
	}
}

// sample returns k distinct integers of [0, n), ascending (Floyd's
// algorithm). seen is scratch space of n bits, all clear, and left clear.
func (g *generator) sample(n, k int, seen []uint64) []int {
	out := make([]int, 0, k)
	for j := n - k; j < n; j++ {
		t := g.rng.IntN(j + 1)
		if seen[t>>6]&(1<<(t&63)) != 0 {
			t = j
		}
		seen[t>>6] |= 1 << (t & 63)
		out = append(out, t)
	}
	for _, t := range out {
		seen[t>>6] &^= 1 << (t & 63)
	}
	slices.Sort(out)
	return out
}

func bits(n int) []uint64 { return make([]uint64, (n+63)/64) }

func (g *generator) users() {
	p := g.p
	n := p.Users
	seen := bits(n)
	special := map[int]int{}
	for k, i := range g.sample(n, int(math.Round(float64(n)*p.SpecialFraction)), seen) {
		special[i] = k % specialKinds
	}
	g.inactive = g.sample(n, int(math.Round(float64(n)*p.InactiveFraction)), seen)
	inactive := bits(n)
	for _, i := range g.inactive {
		inactive[i>>6] |= 1 << (i & 63)
	}
	lookAlike := map[int]bool{}
	if p.LookAlikeFraction > 0 {
		for _, i := range g.sample(n, int(math.Round(float64(n)*p.LookAlikeFraction)), seen) {
			if _, isSpecial := special[i]; !isSpecial && inactive[i>>6]&(1<<(i&63)) == 0 {
				lookAlike[i] = true
			}
		}
		g.twins = map[int]string{}
	}
	schemas := []string{scim.SchemaUser}
	g.us = make([]scim.User, n)
	for i := range g.us {
		given := givenNames[g.rng.IntN(len(givenNames))]
		family := familyNames[g.rng.IntN(len(familyNames))]
		num := strconv.Itoa(i)
		display := title(given) + " " + title(family)
		email := given + "." + family + num + "@" + Domain
		userName := email
		if kind, ok := special[i]; ok {
			switch kind {
			case SpecialQuote:
				family = "o'" + family
				email = given + "." + family + num + "@" + Domain
				userName = email
			case SpecialDQuote:
				userName = `"` + given + " " + family + "." + num + `"@` + Domain
				email = userName
			case SpecialBackslash:
				userName = `EXAMPLE\` + given + "." + family + num
			case SpecialAccent:
				given = accentedGiven[g.rng.IntN(len(accentedGiven))]
				display = given + " " + title(family)
				userName = given + "." + title(family) + num + "@Example.gov"
				email = strings.ToLower(userName)
			case SpecialSpace:
				userName = given + " " + family + num + "@" + Domain
				email = userName
			}
		}
		if lookAlike[i] {
			if la, ok := lookAlikeOf(email); ok {
				g.twins[i] = email
				email, userName = la, la
			}
		}
		u := scim.User{
			Schemas:     schemas,
			ID:          g.id(kindUser, i),
			ExternalID:  "E" + strconv.Itoa(1_000_000+i),
			UserName:    userName,
			Name:        &scim.Name{GivenName: title(given), FamilyName: title(family)},
			DisplayName: display,
			Emails:      []scim.Email{{Value: email, Type: "work", Primary: true}},
			Active:      inactive[i>>6]&(1<<(i&63)) == 0,
		}
		if g.rng.Float64() < p.AliasFraction {
			u.Emails = append(u.Emails, scim.Email{Value: given + "." + family + num + "@alias." + Domain, Type: "other"})
		}
		c := g.created[g.rng.IntN(len(g.created))]
		u.Meta = scim.Meta{ResourceType: "User", Created: c, LastModified: c, Version: `W/"1"`}
		g.us[i] = u
	}
}

// lookAlikeOf returns email with its first k turned into a Kelvin sign K
// (U+212A), or else its first i into İ (U+0130): an address a person
// cannot tell from email, and strings.ToLower folds back into it.
func lookAlikeOf(email string) (string, bool) {
	local, domain, _ := strings.Cut(email, "@")
	if i := strings.IndexByte(local, 'k'); i >= 0 {
		return local[:i] + "\u212a" + local[i+1:] + "@" + domain, true
	}
	if i := strings.IndexByte(local, 'i'); i >= 0 {
		return local[:i] + "\u0130" + local[i+1:] + "@" + domain, true
	}
	return "", false
}

func title(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// teamSizes returns the sizes of the Zipf groups: n sizes, proportional to
// 1/(k+10) for rank k = 1…n, summing to total, each at least 1 and at most
// limit.
func teamSizes(n, total, limit int) []int {
	const q = 10
	h := 0.0
	for k := 1; k <= n; k++ {
		h += 1 / float64(k+q)
	}
	a := float64(total) / h
	sizes := make([]int, n)
	sum := 0
	for k := range sizes {
		sizes[k] = min(max(int(a/float64(k+1+q)), 1), limit)
		sum += sizes[k]
	}
	// Rounding left total-sum to place (or take back); spread it from the
	// largest groups on.
	for k := 0; sum != total; k = (k + 1) % n {
		switch {
		case sum < total && sizes[k] < limit:
			sizes[k]++
			sum++
		case sum > total && sizes[k] > 1:
			sizes[k]--
			sum--
		}
	}
	return sizes
}

func (g *generator) groups() {
	p := g.p
	seen := bits(p.Users)
	schemas := []string{scim.SchemaGroup}
	newGroup := func(name string, members []int) scim.Group {
		i := len(g.gs)
		gr := scim.Group{Schemas: schemas, ID: g.id(kindGroup, i), DisplayName: name}
		gr.Members = make([]scim.GroupMember, len(members), len(members)+1)
		for k, u := range members {
			gr.Members[k] = scim.GroupMember{Value: g.us[u].ID, Type: "User"}
		}
		c := g.created[g.rng.IntN(len(g.created))]
		gr.Meta = scim.Meta{ResourceType: "Group", Created: c, LastModified: c, Version: `W/"1"`}
		return gr
	}
	g.gs = make([]scim.Group, 0, p.Groups)
	all := make([]int, p.Users)
	for i := range all {
		all[i] = i
	}
	g.gs = append(g.gs, newGroup(AllStaff, all))
	for b := range p.BigGroups {
		g.gs = append(g.gs, newGroup(fmt.Sprintf("division-%02d", b+1), g.sample(p.Users, p.BigGroupSize, seen)))
	}
	nteams := p.Groups - 1 - p.BigGroups
	rest := p.Memberships - p.Users - p.BigGroups*p.BigGroupSize - p.Orgs // one nested group per org
	limit := p.Users
	if p.BigGroupSize > 1 {
		limit = min(limit, p.BigGroupSize-1)
	}
	for k, size := range teamSizes(nteams, rest, limit) {
		g.teams = append(g.teams, len(g.gs))
		g.gs = append(g.gs, newGroup(fmt.Sprintf("team-%0*d", len(strconv.Itoa(nteams)), k+1), g.sample(p.Users, size, seen)))
	}
}

// pick returns n unused teams, closest in size to target first (ties in a
// seeded order), and marks them used.
func (g *generator) pick(n, target int) []int {
	type cand struct{ gi, dist, key int }
	var cs []cand
	for _, gi := range g.teams {
		if !g.mapped[gi] {
			d := len(g.gs[gi].Members) - target
			cs = append(cs, cand{gi, max(d, -d), g.rng.Int()})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int { return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.key, b.key)) })
	out := make([]int, 0, n)
	for _, c := range cs[:n] {
		g.mapped[c.gi] = true
		out = append(out, c.gi)
	}
	return out
}

func (g *generator) orgs() {
	p := g.p
	g.mapped = map[int]bool{}
	version := `W/"1"`
	parent := scim.Organization{
		Schemas:      []string{scim.SchemaOrganization},
		ID:           g.id(kindOrg, 0),
		Name:         ParentName,
		Mode:         string(resolve.ModeStaged),
		LoginDomains: []string{Domain},
		SeatTiers:    slices.Clone(SeatTiers),
		Meta:         scim.Meta{ResourceType: "Organization", Created: g.created[999], LastModified: g.created[0], Version: version},
	}
	g.os = append(g.os, parent)
	// Non-hq organizations map teams of about the size that brings the
	// SCIM-backed members to (1-NonSCIMFraction)·Members.
	perOrg := func(o int) int { return p.Mappings/p.Orgs + b2i(o < p.Mappings%p.Orgs) }
	active := float64(p.Users) * (1 - p.InactiveFraction)
	memberMaps := 0
	for o := 1; o < p.Orgs; o++ {
		memberMaps += perOrg(o) - 2
	}
	target := 1
	if memberMaps > 0 {
		target = max(1, int((float64(p.Members)*(1-p.NonSCIMFraction)-active)/float64(memberMaps)/(1-p.InactiveFraction)))
	}
	standard, premium := SeatTiers[0], SeatTiers[1]
	for o := range p.Orgs {
		org := scim.Organization{
			Schemas: []string{scim.SchemaOrganization},
			ID:      g.id(kindOrg, o+1),
			Name:    orgName(o),
			Parent:  parent.ID,
			Meta:    scim.Meta{ResourceType: "Organization", Created: g.created[999], LastModified: g.created[0], Version: version},
		}
		n := perOrg(o)
		add := func(gi int, role resolve.Role, tier string) {
			org.Mappings = append(org.Mappings, scim.Mapping{Group: g.gs[gi].ID, Role: string(role), SeatTier: tier})
		}
		var admins []int
		if o == 0 {
			// hq: everyone, two divisions on premium, admins and an owner.
			add(0, resolve.RoleMember, standard)
			for b := 1; b <= min(2, p.BigGroups); b++ {
				add(b, resolve.RoleMember, premium)
			}
			admins = g.pick(n-len(org.Mappings), 1)
		} else {
			for k, gi := range g.pick(n-2, target) {
				tier := standard
				if k%3 == 2 {
					tier = premium
				}
				add(gi, resolve.RoleMember, tier)
			}
			admins = g.pick(2, 1)
		}
		for k, gi := range admins {
			role := resolve.RoleAdmin
			if o == 0 && k == len(admins)-1 {
				role = resolve.RoleOwner
			}
			add(gi, role, premium)
		}
		// The first admin group nests another small team, so that reads
		// follow nesting.
		nested := g.pick(1, 1)[0]
		first := &g.gs[admins[0]]
		first.Members = append(first.Members, scim.GroupMember{Value: g.gs[nested].ID, Type: "Group"})
		g.os = append(g.os, org)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func orgName(o int) string {
	if o < len(orgNames) {
		return orgNames[o]
	}
	return fmt.Sprintf("org-%02d", o+1)
}

// members fills in the primary owners, the SCIM-backed members the mappings
// entitle (tenant.Recompute at Epoch), then jit and manual members: inactive
// users who signed in before (jit), contractors (manual) and users signed
// in to an organization that does not map them (jit). Then seats: enough
// for every member, and some.
func (g *generator) members() error {
	p := g.p
	stamp := Epoch.Format(time.RFC3339)
	member := func(org, email string, role resolve.Role, tier string, origin resolve.Origin) scim.Member {
		m := scim.Member{
			Schemas:      []string{scim.SchemaMember},
			Organization: org,
			Email:        email,
			Role:         string(role),
			SeatTier:     tier,
			Origin:       string(origin),
			Meta:         scim.Meta{ResourceType: "Member", Created: g.created[g.rng.IntN(len(g.created))], LastModified: stamp},
		}
		m.ID = orgwrite.MemberID(org, email)
		sum := sha256.Sum256([]byte(org + "\x00" + email + "\x00" + string(role) + "\x00" + tier + "\x00" + string(origin)))
		m.Meta.Version = `W/"` + hex.EncodeToString(sum[:6]) + `"`
		return m
	}
	children := g.os[1:]
	for _, o := range children {
		g.ms = append(g.ms, member(o.ID, "primary-owner."+o.Name+"@"+Domain, resolve.RolePrimaryOwner, SeatTiers[len(SeatTiers)-1], resolve.OriginManual))
	}
	snap := &tenant.Snapshot{Users: g.us, Groups: g.gs, Organizations: g.os, Members: g.ms}
	res, err := tenant.Recompute(snap, Epoch)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	g.ms = snap.Members

	// Who is entitled where, for the jit members of organizations that do
	// not map them.
	userIdx := make(map[string]int, len(g.us))
	for i, u := range g.us {
		userIdx[u.ID] = i
	}
	entitled := make([]map[int]bool, len(children))
	for k := range entitled {
		entitled[k] = map[int]bool{}
	}
	orgIdx := map[string]int{}
	for k, o := range children {
		orgIdx[o.ID] = k
	}
	for _, e := range res.Entitled {
		entitled[orgIdx[e.Org]][userIdx[e.UserID]] = true
	}
	taken := make([]map[string]bool, len(children))
	for k := range taken {
		taken[k] = map[string]bool{}
	}
	for _, m := range g.ms {
		taken[orgIdx[m.Organization]][match.Email(m.Email)] = true
	}

	fill := max(p.Members-len(g.ms), int(math.Round(float64(p.Members)*p.NonSCIMFraction)))
	active := p.Users - len(g.inactive)
	for k := range fill {
		o := k % len(children)
		var email string
		var origin resolve.Origin
		switch k / len(children) % 3 {
		case 0: // an inactive user who signed in before
			if len(g.inactive) == 0 {
				break
			}
			u := g.us[g.inactive[g.rng.IntN(len(g.inactive))]]
			email, origin = u.Emails[0].Value, resolve.OriginJIT
		case 1: // an active user this organization does not map
			if len(entitled[o]) > active*9/10 {
				break
			}
			i := g.rng.IntN(p.Users)
			if entitled[o][i] || !bool(g.us[i].Active) {
				break
			}
			email, origin = g.us[i].Emails[0].Value, resolve.OriginJIT
		}
		if email == "" || taken[o][match.Email(email)] {
			email = fmt.Sprintf("%s.%s.%d@contractor.example.com", givenNames[g.rng.IntN(len(givenNames))], familyNames[g.rng.IntN(len(familyNames))], k)
			origin = resolve.OriginManual
		}
		taken[o][match.Email(email)] = true
		g.ms = append(g.ms, member(children[o].ID, email, resolve.RoleMember, SeatTiers[0], origin))
	}

	// A jit member holding the ASCII address each entitled look-alike user
	// looks like: another person, who keeps a member of its own.
	for _, i := range slices.Sorted(maps.Keys(g.twins)) {
		for o := range children {
			if twin := g.twins[i]; entitled[o][i] && !taken[o][match.Email(twin)] {
				taken[o][match.Email(twin)] = true
				g.ms = append(g.ms, member(children[o].ID, twin, resolve.RoleMember, SeatTiers[0], resolve.OriginJIT))
			}
		}
	}

	used := make([]map[string]int, len(children))
	for k := range used {
		used[k] = map[string]int{}
	}
	for _, m := range g.ms {
		used[orgIdx[m.Organization]][m.SeatTier]++
	}
	for k := range children {
		seats := map[string]int{}
		for _, t := range SeatTiers {
			seats[t] = used[k][t] + used[k][t]/10 + 10
		}
		g.os[1+k].Seats = seats
	}
	return nil
}
