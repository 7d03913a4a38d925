package diff

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/tenant"
)

// FingerprintOf fingerprints an observed tenant: a sha256 over its users,
// groups (with the members read of them), organizations (with their
// meta.version) and members, each part canonically ordered. Member
// lastModified times are left out: they carry no state the plan depends on.
//
// apply calls it on a fresh read (made with the plan's ReadGroupIDs) and
// compares the result with Plan.Fingerprint.Hash; the plan is stale when they
// differ.
func FingerprintOf(t *tenant.Tenant) Fingerprint {
	parts := map[string]string{}

	users := slices.Clone(t.Users)
	slices.SortFunc(users, func(a, b resolve.User) int { return cmp.Compare(a.ID, b.ID) })
	h := sha256.New()
	for _, u := range users {
		record(h, u.ID, u.UserName, strconv.FormatBool(u.Active), strings.Join(u.Emails, "\x1e"))
	}
	parts["users"] = sum(h)

	groups := slices.Clone(t.Groups)
	slices.SortFunc(groups, func(a, b resolve.Group) int { return cmp.Compare(a.ID, b.ID) })
	h = sha256.New()
	for _, g := range groups {
		ms := "-"
		if t.MembersRead[g.ID] {
			sorted := slices.Clone(g.Members)
			slices.Sort(sorted)
			ms = strings.Join(sorted, "\x1e")
		}
		record(h, g.ID, g.DisplayName, ms)
	}
	parts["groups"] = sum(h)

	orgs := append([]resolve.Org{t.Parent}, t.Orgs...)
	refs := make([]OrgRef, 0, len(orgs))
	for _, o := range orgs {
		h = sha256.New()
		record(h, o.ID, o.Name, o.Parent, o.Version, string(o.Mode),
			strings.Join(o.LoginDomains, "\x1e"), strings.Join(o.SeatTiers, "\x1e"))
		for _, m := range o.Mappings {
			record(h, "mapping", m.GroupID, string(m.Role), m.SeatTier)
		}
		tiers := make([]string, 0, len(o.Seats))
		for k := range o.Seats {
			tiers = append(tiers, k)
		}
		slices.Sort(tiers)
		for _, k := range tiers {
			record(h, "seats", k, strconv.Itoa(o.Seats[k]))
		}
		for _, x := range o.Exceptions {
			record(h, "exception", x.Email, x.Until, x.Reason)
		}
		parts["org/"+o.ID] = sum(h)
		refs = append(refs, OrgRef{ID: o.ID, Name: strings.ToLower(o.Name), Version: o.Version})
	}
	slices.SortFunc(refs, func(a, b OrgRef) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })

	members := slices.Clone(t.Members)
	slices.SortFunc(members, func(a, b resolve.Member) int {
		return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Email, b.Email))
	})
	for i := 0; i < len(members); {
		j := i
		h = sha256.New()
		for ; j < len(members) && members[j].Org == members[i].Org; j++ {
			m := members[j]
			record(h, m.ID, m.Email, m.UserID, string(m.Role), m.SeatTier, string(m.Origin))
		}
		parts["members/"+members[i].Org] = sum(h)
		i = j
	}

	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h = sha256.New()
	for _, k := range keys {
		record(h, k, parts[k])
	}
	return Fingerprint{Hash: sum(h), Orgs: refs, Parts: parts}
}

// ChangedParts lists the parts whose hashes differ between two fingerprints,
// sorted; a part present in one only counts as changed.
func ChangedParts(a, b Fingerprint) []string {
	var out []string
	for k, v := range a.Parts {
		if b.Parts[k] != v {
			out = append(out, k)
		}
	}
	for k := range b.Parts {
		if _, ok := a.Parts[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// record writes fields to h unambiguously.
func record(h hash.Hash, fields ...string) { h.Write(encode(fields...)) }

// encode joins fields unambiguously: each length-prefixed, then a newline.
func encode(fields ...string) []byte {
	var buf []byte
	for _, f := range fields {
		buf = strconv.AppendInt(buf, int64(len(f)), 10)
		buf = append(buf, ':')
		buf = append(buf, f...)
	}
	return append(buf, '\n')
}

func sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// PredictMembers summarises the members one child org holds (or will hold):
// their count and a sha256 over their sorted canonical lines (normalized
// email, role, seat tier, origin, SCIM user id). Member ids and
// lastModified times are left out: the server assigns them.
//
// The plan stores PredictMembers of the resolved members; apply verifies a
// fresh read of the server's members of that org against it.
func PredictMembers(orgID, org string, ms []resolve.Member) Prediction {
	lines := make([]string, 0, len(ms))
	for _, m := range ms {
		lines = append(lines, string(encode(resolve.NormEmail(m.Email), string(m.Role), m.SeatTier, string(m.Origin), m.UserID)))
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return Prediction{OrgID: orgID, Org: strings.ToLower(org), Members: len(ms), Hash: sum(h)}
}
