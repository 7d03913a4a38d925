package orgwrite

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// Recompute returns the members the server semantics of DESIGN §5 give
// after a write: resolve.Resolve over in (the tenant's users, groups,
// organizations and current members, converted from the wire, with the
// instant in.Now), applied to members, the same current members on the
// wire. It returns the resolution too.
//
// Members that are kept stay exactly as they were on the wire. A changed or
// linked member keeps its id and gets the new role, tier, origin and userId,
// meta.lastModified = in.Now and a new meta.version. An added member gets
// the id MemberID(org, email) and meta.created = meta.lastModified = in.Now.
// Removed members are dropped.
func Recompute(members []scim.Member, in resolve.Input) ([]scim.Member, resolve.Result) {
	res := resolve.Resolve(in)
	old := make(map[string]scim.Member, len(members))
	for _, m := range members {
		old[m.ID] = m
	}
	stamp := in.Now.UTC().Format(time.RFC3339)
	out := make([]scim.Member, 0, len(res.Members))
	for _, oc := range res.Outcomes {
		if oc.After == nil {
			continue
		}
		switch oc.Action {
		case resolve.ActionKeep:
			out = append(out, old[oc.After.ID])
		case resolve.ActionAdd:
			m := newMember(*oc.After)
			m.ID = MemberID(m.Organization, m.Email)
			for n := 2; old[m.ID].ID != ""; n++ {
				// A hash collision with an existing member: step aside.
				m.ID = MemberID(m.Organization, m.Email+"#"+strconv.Itoa(n))
			}
			old[m.ID] = m // so that later additions step aside too
			m.Meta.Created, m.Meta.LastModified = stamp, stamp
			m.Meta.Version = memberVersion(m)
			out = append(out, m)
		default: // change, link
			m := old[oc.After.ID]
			m.UserID = oc.After.UserID
			m.Role = string(oc.After.Role)
			m.SeatTier = oc.After.SeatTier
			m.Origin = string(oc.After.Origin)
			m.Meta.LastModified = stamp
			m.Meta.Version = memberVersion(m)
			out = append(out, m)
		}
	}
	return out, res
}

// newMember is the wire form of a member the server adds.
func newMember(m resolve.Member) scim.Member {
	return scim.Member{
		Schemas:      []string{scim.SchemaMember},
		Organization: m.Org,
		Email:        m.Email,
		UserID:       m.UserID,
		Role:         string(m.Role),
		SeatTier:     m.SeatTier,
		Origin:       string(m.Origin),
		Meta:         scim.Meta{ResourceType: "Member"},
	}
}

// MemberID is the id the server semantics give a member added to the child
// organization orgID for email: derived from both (the email compared by
// match.Email), so that recomputing the same tenant twice gives the same
// ids.
func MemberID(orgID, email string) string {
	sum := sha256.Sum256([]byte(orgID + "\x00" + match.Email(email)))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// memberVersion is a weak ETag over the member's content.
func memberVersion(m scim.Member) string {
	sum := sha256.Sum256([]byte(m.Organization + "\x00" + m.Email + "\x00" + m.UserID + "\x00" + m.Role + "\x00" + m.SeatTier + "\x00" + m.Origin))
	return `W/"` + hex.EncodeToString(sum[:6]) + `"`
}
