package tenant

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// Recompute replaces s.Members with the members the server semantics of
// DESIGN §5 give at now (resolve.Resolve over the snapshot's users, groups,
// organizations and current members), and returns the resolution.
//
// Members that are kept stay exactly as they were on the wire. A changed or
// linked member keeps its id and gets the new role, tier, origin and userId,
// meta.lastModified = now and a new meta.version. An added member gets the
// id MemberID(org, email) and meta.created = meta.lastModified = now.
// Removed members are dropped. Members of organizations that are not
// children of the parent make s invalid: Recompute fails and leaves s as it
// was.
func Recompute(s *Snapshot, now time.Time) (resolve.Result, error) {
	t, err := FromSCIM(s.Users, s.Groups, s.Organizations, s.Members)
	if err != nil {
		return resolve.Result{}, fmt.Errorf("recomputing members: %w", err)
	}
	res := resolve.Resolve(resolve.Input{
		Users:   t.Users,
		Groups:  t.Groups,
		Parent:  t.Parent,
		Orgs:    t.Orgs,
		Members: t.Members,
		Now:     now,
	})
	old := make(map[string]scim.Member, len(s.Members))
	for _, m := range s.Members {
		old[m.ID] = m
	}
	stamp := now.UTC().Format(time.RFC3339)
	members := make([]scim.Member, 0, len(res.Members))
	for _, oc := range res.Outcomes {
		if oc.After == nil {
			continue
		}
		switch oc.Action {
		case resolve.ActionKeep:
			members = append(members, old[oc.After.ID])
		case resolve.ActionAdd:
			m := memberToSCIM(*oc.After)
			m.ID = MemberID(m.Organization, m.Email)
			for n := 2; old[m.ID].ID != ""; n++ {
				// A hash collision with an existing member: step aside.
				m.ID = MemberID(m.Organization, m.Email+"#"+strconv.Itoa(n))
			}
			old[m.ID] = m // so that later additions step aside too
			m.Meta.Created, m.Meta.LastModified = stamp, stamp
			m.Meta.Version = memberVersion(m)
			members = append(members, m)
		default: // change, link
			m := old[oc.After.ID]
			m.UserID = oc.After.UserID
			m.Role = string(oc.After.Role)
			m.SeatTier = oc.After.SeatTier
			m.Origin = string(oc.After.Origin)
			m.Meta.LastModified = stamp
			m.Meta.Version = memberVersion(m)
			members = append(members, m)
		}
	}
	s.Members = members
	return res, nil
}

// MemberID is the id the server semantics give a member added to the child
// organization orgID for email: derived from both (email normalized), so
// that recomputing the same tenant twice gives the same ids.
func MemberID(orgID, email string) string {
	sum := sha256.Sum256([]byte(orgID + "\x00" + resolve.NormEmail(email)))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// memberVersion is a weak ETag over the member's content.
func memberVersion(m scim.Member) string {
	sum := sha256.Sum256([]byte(m.Organization + "\x00" + m.Email + "\x00" + m.UserID + "\x00" + m.Role + "\x00" + m.SeatTier + "\x00" + m.Origin))
	return `W/"` + hex.EncodeToString(sum[:6]) + `"`
}
