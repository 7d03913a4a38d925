package diff

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/tenant"
)

// FingerprintOf fingerprints an observed tenant with (*tenant.Tenant).Fingerprint:
// Hash and Parts ("users", "groups", "organizations", "members") are
// sha256 over the canonical content of each kind of object, member
// lastModified times left out; Orgs lists every organization's id, name and
// meta.version, the parent included, by name.
//
// apply calls it on a fresh read (made with the plan's ReadGroupIDs) and
// compares the result with Plan.Fingerprint.Hash; the plan is stale when they
// differ, and ChangedParts says what changed.
func FingerprintOf(t *tenant.Tenant) Fingerprint {
	f := t.Fingerprint()
	orgs := append([]resolve.Org{t.Parent}, t.Orgs...)
	refs := make([]OrgRef, 0, len(orgs))
	for _, o := range orgs {
		refs = append(refs, OrgRef{ID: o.ID, Name: match.Name(o.Name), Version: o.Version})
	}
	slices.SortFunc(refs, func(a, b OrgRef) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return Fingerprint{Hash: f.Hash, Orgs: refs, Parts: f.Parts}
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

// appendFields appends fields to buf, joined unambiguously: each
// length-prefixed, then a newline.
func appendFields(buf []byte, fields ...string) []byte {
	for _, f := range fields {
		buf = strconv.AppendInt(buf, int64(len(f)), 10)
		buf = append(buf, ':')
		buf = append(buf, f...)
	}
	return append(buf, '\n')
}

// fieldsLen is how many bytes appendFields appends for fields.
func fieldsLen(fields ...string) int {
	n := 1
	for _, f := range fields {
		n += len(strconv.Itoa(len(f))) + 1 + len(f)
	}
	return n
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
	// Every line in one buffer, line k at buf[spans[k].from:spans[k].to]:
	// sorting the spans sorts the lines as strings would sort, without a
	// string per line.
	type span struct {
		key      uint64 // the line's first 8 bytes, as emailKey
		from, to int
	}
	// Room for the lines as the members' fields are, so that the buffer
	// is allocated once: folding an email rarely changes its length.
	n := 0
	for i := range ms {
		m := &ms[i]
		n += fieldsLen(m.Email, string(m.Role), m.SeatTier, string(m.Origin), m.UserID)
	}
	buf := make([]byte, 0, n)
	spans := make([]span, len(ms))
	for i := range ms {
		m := &ms[i]
		from := len(buf)
		buf = appendFields(buf, resolve.NormEmail(m.Email), string(m.Role), m.SeatTier, string(m.Origin), m.UserID)
		spans[i] = span{key: emailKey(buf[from:]), from: from, to: len(buf)}
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.key != b.key {
			return cmp.Compare(a.key, b.key)
		}
		return bytes.Compare(buf[a.from:a.to], buf[b.from:b.to])
	})
	h := sha256.New()
	for _, sp := range spans {
		h.Write(buf[sp.from:sp.to])
	}
	return Prediction{OrgID: orgID, Org: match.Name(org), Members: len(ms), Hash: sum(h)}
}
