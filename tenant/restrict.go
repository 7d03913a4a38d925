package tenant

import (
	"maps"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
)

// A trace of a few people (`scimsync explain`, DESIGN §8a) needs the plan's
// verdict on them, not the plan of everyone (issue 17): resolution is run on
// the part of the tenant they depend on. That part is People's closure; the
// organizations are kept whole, and so are the groups, but for their
// members, of which only the groups and the users in the closure are kept.

// People returns which users and which members the people holding emails
// depend on, in the sense that resolving the tenant restricted to them
// (Restrict) gives each of them, and each user and member it keeps, exactly
// the outcome that resolving the whole tenant gives (DESIGN §5): it is the
// least set holding
//   - every user whose userName or one of whose emails[] is one of emails,
//     or whose id a kept member names (userId), and
//   - every member whose email is one of emails, or one of a kept user's
//     userName or emails[], or that is linked (userId) to a kept user,
//
// where emails compare by match.Email, and each kept member's email counts
// as one of emails. Resolution matches a user to a member by a link or any
// of the user's emails, decides the addition of a user's address by the
// users and members holding it, and a removal's reason by the users
// holding the member's address or its link: a set closed this way holds
// everyone who can compete for or decide a kept person's seat. Users whose
// userName is not an address are kept when it matches too, as explain
// reports them.
//
// The closure is computed in rounds over both lists, until a round keeps
// nothing new: two rounds for a person whose addresses no one else holds.
func People(users []resolve.User, members []resolve.Member, emails []string) (keepUsers, keepMembers []bool) {
	keepUsers = make([]bool, len(users))
	keepMembers = make([]bool, len(members))
	keys := make(map[string]bool, len(emails))
	for _, e := range emails {
		keys[match.Email(e)] = true
	}
	ids := map[string]bool{}
	grew := true
	for grew {
		grew = false
		for i := range users {
			u := &users[i]
			if keepUsers[i] || !(ids[u.ID] || keys[match.Email(u.UserName)] || anyKey(keys, u.Emails)) {
				continue
			}
			keepUsers[i], grew = true, true
			ids[u.ID] = true
			keys[match.Email(u.UserName)] = true
			for _, e := range u.Emails {
				keys[match.Email(e)] = true
			}
		}
		for i := range members {
			m := &members[i]
			if keepMembers[i] || !(keys[match.Email(m.Email)] || (m.UserID != "" && ids[m.UserID])) {
				continue
			}
			keepMembers[i], grew = true, true
			keys[match.Email(m.Email)] = true
			if m.UserID != "" {
				ids[m.UserID] = true
			}
		}
	}
	return keepUsers, keepMembers
}

func anyKey(keys map[string]bool, emails []string) bool {
	for _, e := range emails {
		if keys[match.Email(e)] {
			return true
		}
	}
	return false
}

// Restrict returns the part of t that the people holding emails depend on
// (People): the users and members People keeps, in t's order; every group,
// with only the groups and the kept users among its members; the parent and
// the child organizations as they are. Planning it gives these people, and
// everyone it keeps, the member changes and the readiness that planning t
// gives them; what a plan counts over everyone (seat usage, removal
// counts, group sizes) it does not. t is not modified; the result shares
// its strings and organizations.
func Restrict(t *Tenant, emails []string) *Tenant {
	keepU, keepM := People(t.Users, t.Members, emails)
	out, kept := restricted(t, keepU, keepM)
	isGroup := make(map[string]bool, len(t.Groups))
	for _, g := range t.Groups {
		isGroup[g.ID] = true
	}
	out.Groups = make([]resolve.Group, 0, len(t.Groups))
	for _, g := range t.Groups {
		rg := resolve.Group{ID: g.ID, DisplayName: g.DisplayName}
		for _, m := range g.Members {
			if keptMember(isGroup, kept, m) {
				rg.Members = append(rg.Members, m)
			}
		}
		out.Groups = append(out.Groups, rg)
	}
	return out
}

// keptMember says whether a restricted group keeps its member id: a group,
// or a user kept.
func keptMember[S ~string | ~[]byte](isGroup, keptUsers map[string]bool, id S) bool {
	return isGroup[string(id)] || keptUsers[string(id)]
}

// restricted returns t with the users and members kept, in t's order, the
// parent and the child organizations, and no groups yet; and the kept
// users' ids.
func restricted(t *Tenant, keepU, keepM []bool) (*Tenant, map[string]bool) {
	out := &Tenant{Parent: t.Parent, Orgs: t.Orgs, Kind: t.Kind, ReadOnly: t.ReadOnly}
	if t.MembersRead != nil {
		out.MembersRead = maps.Clone(t.MembersRead)
	}
	kept := map[string]bool{}
	for i, k := range keepU {
		if k {
			out.Users = append(out.Users, t.Users[i])
			kept[t.Users[i].ID] = true
		}
	}
	for i, k := range keepM {
		if k {
			out.Members = append(out.Members, t.Members[i])
		}
	}
	return out, kept
}
