package tenant

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"maps"
	"slices"

	"github.com/scimsync/scimsync/resolve"
)

// Fingerprint identifies the observed state a plan was computed from. Two
// reads of an unchanged tenant give equal fingerprints; a change to anything
// a plan depends on changes Hash.
type Fingerprint struct {
	// Hash is the sha256 (hex) over Parts and Orgs.
	Hash string `json:"hash"`
	// Orgs maps every organization's name, parent included, to its
	// meta.version: the If-Match of any write to it.
	Orgs map[string]string `json:"orgs"`
	// Parts holds the sha256 (hex) of each kind of object: "users",
	// "groups", "organizations" and "members".
	Parts map[string]string `json:"parts"`
}

// Fingerprint kinds, in the order they enter Hash.
var fingerprintParts = []string{"users", "groups", "organizations", "members"}

// Fingerprint hashes the canonical content of the tenant: users (id, userName,
// emails in order, active), groups (id, displayName, whether members were
// read, member ids), organizations (every attribute, version included;
// mappings and exceptions in order) and members (id, org, email, userId,
// role, tier, origin; not lastModified, which no plan depends on). Lists are
// sorted by id first, so the order a server returns things in does not
// matter. Kind and ReadOnly are not part of it.
//
// It streams length-prefixed fields into sha256 without building an
// encoding, so 100,000 users take a few tens of milliseconds.
func (t *Tenant) Fingerprint() Fingerprint {
	fp := Fingerprint{Orgs: map[string]string{}, Parts: map[string]string{}}
	h := &fieldHash{h: sha256.New(), b: make([]byte, 0, 40<<10)}

	users := sortedBy(t.Users, func(u *resolve.User) string { return u.ID })
	for _, u := range users {
		h.str(u.ID)
		h.str(u.UserName)
		h.strs(u.Emails)
		h.bool(u.Active)
	}
	fp.Parts["users"] = h.sum()

	groups := sortedBy(t.Groups, func(g *resolve.Group) string { return g.ID })
	for _, g := range groups {
		h.str(g.ID)
		h.str(g.DisplayName)
		h.bool(t.MembersRead[g.ID])
		ms := slices.Clone(g.Members)
		slices.Sort(ms)
		h.strs(ms)
	}
	fp.Parts["groups"] = h.sum()

	orgs := append([]resolve.Org{t.Parent}, t.Orgs...)
	slices.SortFunc(orgs, func(a, b resolve.Org) int { return cmp.Compare(a.ID, b.ID) })
	for _, o := range orgs {
		h.str(o.ID)
		h.str(o.Name)
		h.str(o.Parent)
		h.str(o.Version)
		h.str(string(o.Mode))
		h.strs(o.LoginDomains)
		h.strs(o.SeatTiers)
		h.int(len(o.Mappings))
		for _, m := range o.Mappings {
			h.str(m.GroupID)
			h.str(string(m.Role))
			h.str(m.SeatTier)
		}
		tiers := slices.Sorted(maps.Keys(o.Seats))
		h.int(len(tiers))
		for _, tier := range tiers {
			h.str(tier)
			h.int(o.Seats[tier])
		}
		h.int(len(o.Exceptions))
		for _, x := range o.Exceptions {
			h.str(x.Email)
			h.str(x.Until)
			h.str(x.Reason)
		}
		if o.Name != "" || o.ID != "" {
			fp.Orgs[o.Name] = o.Version
		}
	}
	fp.Parts["organizations"] = h.sum()

	members := sortedBy(t.Members, func(m *resolve.Member) string { return m.ID })
	for _, m := range members {
		h.str(m.ID)
		h.str(m.Org)
		h.str(m.Email)
		h.str(m.UserID)
		h.str(string(m.Role))
		h.str(m.SeatTier)
		h.str(string(m.Origin))
	}
	fp.Parts["members"] = h.sum()

	h.str("scimsync fingerprint v1")
	for _, p := range fingerprintParts {
		h.str(p)
		h.str(fp.Parts[p])
	}
	for _, name := range slices.Sorted(maps.Keys(fp.Orgs)) {
		h.str(name)
		h.str(fp.Orgs[name])
	}
	fp.Hash = h.sum()
	return fp
}

// Changed lists what differs between f and g: the kinds of object whose
// content changed ("users", "groups", "organizations", "members", in that
// order), then, sorted, one "org NAME: OLD → NEW" per organization whose
// version changed, appeared or disappeared (an absent version reads
// "(none)"). It is empty when the fingerprints are equal.
func (f Fingerprint) Changed(g Fingerprint) []string {
	if f.Hash == g.Hash {
		return nil
	}
	var out []string
	for _, p := range fingerprintParts {
		if f.Parts[p] != g.Parts[p] {
			out = append(out, p)
		}
	}
	names := slices.Sorted(maps.Keys(f.Orgs))
	for n := range g.Orgs {
		if _, ok := f.Orgs[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		a, aok := f.Orgs[n]
		b, bok := g.Orgs[n]
		if a == b && aok == bok {
			continue
		}
		if !aok {
			a = "(none)"
		}
		if !bok {
			b = "(none)"
		}
		out = append(out, "org "+n+": "+a+" → "+b)
	}
	if len(out) == 0 {
		// The hashes differ though no part does: a fingerprint from another
		// version of scimsync.
		out = append(out, "fingerprint")
	}
	return out
}

// sortedBy returns pointers to the elements of s sorted by key, leaving s
// alone.
func sortedBy[T any](s []T, key func(*T) string) []*T {
	out := make([]*T, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	slices.SortFunc(out, func(a, b *T) int { return cmp.Compare(key(a), key(b)) })
	return out
}

// fieldHash feeds length-prefixed fields to a hash, so that no two
// sequences of fields collide by concatenation. It buffers, so that writing
// a field allocates nothing.
type fieldHash struct {
	h hash.Hash
	b []byte
}

func (f *fieldHash) flushIfFull() {
	if len(f.b) >= 32<<10 {
		f.h.Write(f.b)
		f.b = f.b[:0]
	}
}

func (f *fieldHash) int(n int) {
	f.b = binary.AppendUvarint(f.b, uint64(n))
	f.flushIfFull()
}

func (f *fieldHash) str(s string) {
	f.b = binary.AppendUvarint(f.b, uint64(len(s)))
	f.b = append(f.b, s...)
	f.flushIfFull()
}

func (f *fieldHash) strs(ss []string) {
	f.int(len(ss))
	for _, s := range ss {
		f.str(s)
	}
}

func (f *fieldHash) bool(b bool) {
	if b {
		f.b = append(f.b, 1)
	} else {
		f.b = append(f.b, 0)
	}
}

// sum returns the hex digest of what was written and resets the hash.
func (f *fieldHash) sum() string {
	f.h.Write(f.b)
	f.b = f.b[:0]
	s := hex.EncodeToString(f.h.Sum(nil))
	f.h.Reset()
	return s
}
