package resolve

import (
	"maps"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// now is the instant every table case resolves at: late on 2027-03-31 UTC.
var now = time.Date(2027, 3, 31, 22, 0, 0, 0, time.UTC)

func user(id, userName string, active bool, emails ...string) User {
	return User{ID: id, UserName: userName, Emails: emails, Active: active}
}

func group(id, name string, members ...string) Group {
	return Group{ID: id, DisplayName: name, Members: members}
}

func member(id, org, email string, role Role, tier string, origin Origin, userID string) Member {
	return Member{ID: id, Org: org, Email: email, Role: role, SeatTier: tier, Origin: origin, UserID: userID}
}

// row is the part of an Outcome a rule decides.
type row struct {
	Org, Email string
	Action     Action
	ID         string // the member's id (Before's, or After's for an add)
	Role       Role
	Tier       string
	Origin     Origin
	UserID     string
	Reason     Reason
}

func rows(res Result) []row {
	var out []row
	for _, oc := range res.Outcomes {
		r := row{Org: oc.Org, Email: oc.Email, Action: oc.Action, Reason: oc.Reason}
		if oc.Before != nil {
			r.ID = oc.Before.ID
		}
		if m := oc.After; m != nil {
			r.ID, r.Role, r.Tier, r.Origin, r.UserID = m.ID, m.Role, m.SeatTier, m.Origin, m.UserID
		}
		out = append(out, r)
	}
	return out
}

// base is a tenant with two tiers, one child org "o1" mapping g-users as
// member/standard and g-admins as admin/premium.
func base(mode Mode) Input {
	return Input{
		Parent: Org{ID: "p", Name: "agency", Mode: mode, SeatTiers: []string{"standard", "premium"}},
		Orgs: []Org{{
			ID: "o1", Name: "hq", Parent: "p",
			Mappings: []Mapping{
				{GroupID: "g-users", Role: RoleMember, SeatTier: "standard"},
				{GroupID: "g-admins", Role: RoleAdmin, SeatTier: "premium"},
			},
		}},
		Now: now,
	}
}

func TestResolveRules(t *testing.T) {
	tests := []struct {
		name  string
		setup func(in *Input)
		want  []row
	}{
		{
			name: "jit changes nobody",
			setup: func(in *Input) {
				in.Parent.Mode = ModeJIT
				in.Users = []User{user("u1", "a@x.gov", true), user("u2", "b@x.gov", false)}
				in.Groups = []Group{group("g-users", "users", "u1")}
				in.Members = []Member{
					member("m1", "o1", "b@x.gov", RoleMember, "standard", OriginSCIM, "u2"),
					member("m2", "o1", "c@x.gov", RoleOwner, "premium", OriginJIT, ""),
				}
			},
			want: []row{
				{Org: "o1", Email: "b@x.gov", Action: ActionKeep, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u2"},
				{Org: "o1", Email: "c@x.gov", Action: ActionKeep, ID: "m2", Role: RoleOwner, Tier: "premium", Origin: OriginJIT},
			},
		},
		{
			name: "empty mode is jit",
			setup: func(in *Input) {
				in.Parent.Mode = ""
				in.Users = []User{user("u1", "a@x.gov", true)}
				in.Groups = []Group{group("g-users", "users", "u1")}
			},
			want: nil,
		},
		{
			name: "staged adds entitled users with origin scim",
			setup: func(in *Input) {
				in.Users = []User{user("u1", "A@X.gov", true), user("u2", "b@x.gov", true)}
				in.Groups = []Group{group("g-users", "users", "u1", "u2"), group("g-admins", "admins", "u2")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionAdd, Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
				{Org: "o1", Email: "b@x.gov", Action: ActionAdd, Role: RoleAdmin, Tier: "premium", Origin: OriginSCIM, UserID: "u2"},
			},
		},
		{
			name: "staged links jit and manual members by email, case-insensitively and trimmed",
			setup: func(in *Input) {
				in.Users = []User{user("u1", "a@x.gov", true), user("u2", "b@x.gov", true)}
				in.Groups = []Group{group("g-users", "users", "u1", "u2")}
				in.Members = []Member{
					member("m1", "o1", " A@X.GOV ", RoleMember, "standard", OriginJIT, ""),
					member("m2", "o1", "B@x.gov", RoleMember, "standard", OriginManual, ""),
				}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionLink, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
				{Org: "o1", Email: "b@x.gov", Action: ActionLink, ID: "m2", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u2"},
			},
		},
		{
			name: "staged link with a new role is a change",
			setup: func(in *Input) {
				in.Users = []User{user("u1", "a@x.gov", true)}
				in.Groups = []Group{group("g-admins", "admins", "u1")}
				in.Members = []Member{member("m1", "o1", "a@x.gov", RoleMember, "standard", OriginJIT, "")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionChange, ID: "m1", Role: RoleAdmin, Tier: "premium", Origin: OriginSCIM, UserID: "u1"},
			},
		},
		{
			name: "staged re-roles a scim member whose mapping changed",
			setup: func(in *Input) {
				in.Users = []User{user("u1", "a@x.gov", true)}
				in.Groups = []Group{group("g-users", "users", "u1")}
				in.Members = []Member{member("m1", "o1", "a@x.gov", RoleAdmin, "premium", OriginSCIM, "u1")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionChange, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
			},
		},
		{
			name: "staged keeps an unchanged scim member",
			setup: func(in *Input) {
				in.Users = []User{user("u1", "a@x.gov", true)}
				in.Groups = []Group{group("g-users", "users", "u1")}
				in.Members = []Member{member("m1", "o1", "a@x.gov", RoleMember, "standard", OriginSCIM, "u1")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionKeep, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
			},
		},
		{
			name: "staged removes scim members no longer entitled, keeps jit and manual",
			setup: func(in *Input) {
				in.Users = []User{
					user("u1", "inactive@x.gov", false),
					user("u2", "ungrouped@x.gov", true),
					user("u3", "jit@x.gov", false),
				}
				in.Groups = []Group{group("g-users", "users", "u1"), group("g-admins", "admins")}
				in.Members = []Member{
					member("m1", "o1", "inactive@x.gov", RoleMember, "standard", OriginSCIM, "u1"),
					member("m2", "o1", "ungrouped@x.gov", RoleMember, "standard", OriginSCIM, "u2"),
					member("m3", "o1", "deleted@x.gov", RoleMember, "standard", OriginSCIM, "u-gone"),
					member("m4", "o1", "jit@x.gov", RoleMember, "standard", OriginJIT, ""),
					member("m5", "o1", "manual@x.gov", RoleOwner, "premium", OriginManual, ""),
				}
			},
			want: []row{
				{Org: "o1", Email: "deleted@x.gov", Action: ActionRemove, ID: "m3", Reason: ReasonNotProvisioned},
				{Org: "o1", Email: "inactive@x.gov", Action: ActionRemove, ID: "m1", Reason: ReasonInactive},
				{Org: "o1", Email: "jit@x.gov", Action: ActionKeep, ID: "m4", Role: RoleMember, Tier: "standard", Origin: OriginJIT},
				{Org: "o1", Email: "manual@x.gov", Action: ActionKeep, ID: "m5", Role: RoleOwner, Tier: "premium", Origin: OriginManual},
				{Org: "o1", Email: "ungrouped@x.gov", Action: ActionRemove, ID: "m2", Reason: ReasonNoMappedGroup},
			},
		},
		{
			name: "full removes every member not entitled, each with its reason",
			setup: func(in *Input) {
				in.Parent.Mode = ModeFull
				in.Users = []User{
					user("u1", "ok@x.gov", true),
					user("u2", "inactive@x.gov", false),
					user("u3", "ungrouped@x.gov", true),
				}
				in.Groups = []Group{group("g-users", "users", "u1", "u2"), group("g-admins", "admins")}
				in.Members = []Member{
					member("m1", "o1", "ok@x.gov", RoleMember, "standard", OriginJIT, ""),
					member("m2", "o1", "inactive@x.gov", RoleMember, "standard", OriginJIT, ""),
					member("m3", "o1", "ungrouped@x.gov", RoleMember, "standard", OriginManual, ""),
					member("m4", "o1", "stranger@x.gov", RoleAdmin, "premium", OriginJIT, ""),
				}
			},
			want: []row{
				{Org: "o1", Email: "inactive@x.gov", Action: ActionRemove, ID: "m2", Reason: ReasonInactive},
				{Org: "o1", Email: "ok@x.gov", Action: ActionLink, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
				{Org: "o1", Email: "stranger@x.gov", Action: ActionRemove, ID: "m4", Reason: ReasonNotProvisioned},
				{Org: "o1", Email: "ungrouped@x.gov", Action: ActionRemove, ID: "m3", Reason: ReasonNoMappedGroup},
			},
		},
		{
			name: "full: a mapped group that no longer exists",
			setup: func(in *Input) {
				in.Parent.Mode = ModeFull
				in.Users = []User{user("u1", "a@x.gov", true), user("u2", "b@x.gov", true)}
				// g-admins is mapped but gone.
				in.Groups = []Group{group("g-users", "users", "u2")}
				in.Members = []Member{
					member("m1", "o1", "a@x.gov", RoleAdmin, "premium", OriginSCIM, "u1"),
					member("m2", "o1", "b@x.gov", RoleMember, "standard", OriginSCIM, "u2"),
				}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionRemove, ID: "m1", Reason: ReasonGroupDeleted},
				{Org: "o1", Email: "b@x.gov", Action: ActionKeep, ID: "m2", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u2"},
			},
		},
		{
			name: "primary owner is never removed, re-roled or linked",
			setup: func(in *Input) {
				in.Parent.Mode = ModeFull
				in.Users = []User{user("u1", "boss@x.gov", true), user("u2", "other@x.gov", false)}
				in.Groups = []Group{group("g-users", "users", "u1"), group("g-admins", "admins")}
				in.Orgs = append(in.Orgs, Org{ID: "o2", Name: "west", Parent: "p"})
				in.Members = []Member{
					// Entitled as member/standard, but stays primary-owner/jit.
					member("m1", "o1", "BOSS@x.gov", RolePrimaryOwner, "premium", OriginJIT, ""),
					// Not entitled anywhere, SCIM user inactive.
					member("m2", "o2", "other@x.gov", RolePrimaryOwner, "standard", OriginSCIM, "u2"),
				}
			},
			want: []row{
				{Org: "o1", Email: "boss@x.gov", Action: ActionKeep, ID: "m1", Role: RolePrimaryOwner, Tier: "premium", Origin: OriginJIT},
				{Org: "o2", Email: "other@x.gov", Action: ActionKeep, ID: "m2", Role: RolePrimaryOwner, Tier: "standard", Origin: OriginSCIM, UserID: "u2"},
			},
		},
		{
			name: "a mapping can never grant primary-owner",
			setup: func(in *Input) {
				in.Parent.Mode = ModeStaged
				in.Orgs[0].Mappings = []Mapping{{GroupID: "g-users", Role: RolePrimaryOwner, SeatTier: "premium"}}
				in.Users = []User{user("u1", "a@x.gov", true)}
				in.Groups = []Group{group("g-users", "users", "u1")}
			},
			want: nil,
		},
		{
			name: "full: exceptions keep a member as it is through until, inclusive",
			setup: func(in *Input) {
				in.Parent.Mode = ModeFull
				in.Orgs[0].Exceptions = []Exception{
					{Email: "Today@x.gov", Until: "2027-03-31", Reason: "badge pending"},
					{Email: "tomorrow@x.gov", Until: "2027-04-01"},
					{Email: "yesterday@x.gov", Until: "2027-03-30"},
					{Email: "nobody@x.gov", Until: "2028-01-01"},
					{Email: "garbled@x.gov", Until: "31/03/2027"},
				}
				in.Users = []User{user("u1", "tomorrow@x.gov", false)}
				in.Members = []Member{
					member("m1", "o1", "today@X.GOV", RoleOwner, "premium", OriginJIT, ""),
					member("m2", "o1", "tomorrow@x.gov", RoleMember, "standard", OriginSCIM, "u1"),
					member("m3", "o1", "yesterday@x.gov", RoleMember, "standard", OriginManual, ""),
					member("m4", "o1", "garbled@x.gov", RoleMember, "standard", OriginManual, ""),
				}
			},
			want: []row{
				{Org: "o1", Email: "garbled@x.gov", Action: ActionRemove, ID: "m4", Reason: ReasonExceptionExpired},
				{Org: "o1", Email: "today@x.gov", Action: ActionKeep, ID: "m1", Role: RoleOwner, Tier: "premium", Origin: OriginJIT},
				{Org: "o1", Email: "tomorrow@x.gov", Action: ActionKeep, ID: "m2", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
				{Org: "o1", Email: "yesterday@x.gov", Action: ActionRemove, ID: "m3", Reason: ReasonExceptionExpired},
			},
		},
		{
			name: "exceptions are judged on the UTC date",
			setup: func(in *Input) {
				in.Parent.Mode = ModeFull
				// 20:00 on 2027-03-31 in UTC-5 is already 2027-04-01 in UTC.
				in.Now = time.Date(2027, 3, 31, 20, 0, 0, 0, time.FixedZone("EST", -5*3600))
				in.Orgs[0].Exceptions = []Exception{{Email: "a@x.gov", Until: "2027-03-31"}}
				in.Members = []Member{member("m1", "o1", "a@x.gov", RoleMember, "standard", OriginJIT, "")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionRemove, ID: "m1", Reason: ReasonExceptionExpired},
			},
		},
		{
			name: "an exception of another org does not apply",
			setup: func(in *Input) {
				in.Parent.Mode = ModeFull
				in.Orgs = append(in.Orgs, Org{ID: "o2", Name: "west", Parent: "p", Exceptions: []Exception{{Email: "a@x.gov", Until: "2099-01-01"}}})
				in.Members = []Member{member("m1", "o1", "a@x.gov", RoleMember, "standard", OriginJIT, "")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionRemove, ID: "m1", Reason: ReasonNotProvisioned},
			},
		},
		{
			name: "staged ignores exceptions: nothing to keep, nothing expired",
			setup: func(in *Input) {
				in.Orgs[0].Exceptions = []Exception{{Email: "a@x.gov", Until: "2020-01-01"}}
				in.Members = []Member{member("m1", "o1", "a@x.gov", RoleMember, "standard", OriginJIT, "")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionKeep, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginJIT},
			},
		},
		{
			name: "nested groups are expanded and a cycle ends",
			setup: func(in *Input) {
				in.Users = []User{user("u1", "deep@x.gov", true), user("u2", "mid@x.gov", true)}
				in.Groups = []Group{
					group("g-users", "users", "g-b"),
					group("g-b", "b", "g-c", "u2"),
					group("g-c", "c", "u1", "g-users", "g-c"), // back to the top, and to itself
				}
			},
			want: []row{
				{Org: "o1", Email: "deep@x.gov", Action: ActionAdd, Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
				{Org: "o1", Email: "mid@x.gov", Action: ActionAdd, Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u2"},
			},
		},
		{
			name: "emails match across userName and emails[]",
			setup: func(in *Input) {
				in.Users = []User{
					// userName is not an email: the first email is canonical.
					user("u1", "jdoe", true, "John.Doe@x.gov", "jd@x.gov"),
					// userName is an email; a member holds the alias.
					user("u2", "ann@x.gov", true, "Ann.Smith@X.gov"),
				}
				in.Groups = []Group{group("g-users", "users", "u1", "u2")}
				in.Members = []Member{
					member("m1", "o1", "ann.smith@x.gov", RoleMember, "standard", OriginJIT, ""),
				}
			},
			want: []row{
				{Org: "o1", Email: "ann.smith@x.gov", Action: ActionLink, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u2"},
				{Org: "o1", Email: "john.doe@x.gov", Action: ActionAdd, Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
			},
		},
		{
			name: "highest role and highest tier, from different mappings",
			setup: func(in *Input) {
				in.Orgs[0].Mappings = []Mapping{
					{GroupID: "g-users", Role: RoleMember, SeatTier: "premium"},
					{GroupID: "g-admins", Role: RoleOwner, SeatTier: "standard"},
					{GroupID: "g-mid", Role: RoleAdmin, SeatTier: "standard"},
				}
				in.Users = []User{user("u1", "a@x.gov", true)}
				in.Groups = []Group{group("g-users", "users", "u1"), group("g-admins", "admins", "u1"), group("g-mid", "mid", "u1")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionAdd, Role: RoleOwner, Tier: "premium", Origin: OriginSCIM, UserID: "u1"},
			},
		},
		{
			name: "inactive users are not entitled",
			setup: func(in *Input) {
				in.Users = []User{user("u1", "a@x.gov", false)}
				in.Groups = []Group{group("g-users", "users", "u1")}
			},
			want: nil,
		},
		{
			name: "members of organizations the input lacks are left alone",
			setup: func(in *Input) {
				in.Parent.Mode = ModeFull
				in.Members = []Member{member("m1", "o-unknown", "a@x.gov", RoleMember, "standard", OriginJIT, "")}
			},
			want: []row{
				{Org: "o-unknown", Email: "a@x.gov", Action: ActionKeep, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginJIT},
			},
		},
		{
			name: "a member linked to its user is not taken by another user's alias",
			setup: func(in *Input) {
				in.Users = []User{
					// u1 sorts first and holds shared@ as an alias.
					user("u1", "a@x.gov", true, "shared@x.gov"),
					user("u2", "shared@x.gov", true),
				}
				in.Groups = []Group{group("g-users", "users", "u1", "u2")}
				in.Members = []Member{member("m1", "o1", "shared@x.gov", RoleMember, "standard", OriginSCIM, "u2")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionAdd, Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
				{Org: "o1", Email: "shared@x.gov", Action: ActionKeep, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u2"},
			},
		},
		{
			name: "an exact email match wins over an alias",
			setup: func(in *Input) {
				in.Users = []User{
					user("u1", "a@x.gov", true, "b@x.gov"),
					user("u2", "b@x.gov", true),
				}
				in.Groups = []Group{group("g-users", "users", "u1", "u2")}
				in.Members = []Member{member("m1", "o1", "b@x.gov", RoleMember, "standard", OriginJIT, "")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionAdd, Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
				{Org: "o1", Email: "b@x.gov", Action: ActionLink, ID: "m1", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u2"},
			},
		},
		{
			name: "each org resolves on its own mappings",
			setup: func(in *Input) {
				in.Orgs = append(in.Orgs, Org{ID: "o2", Name: "west", Parent: "p", Mappings: []Mapping{{GroupID: "g-west", Role: RoleOwner, SeatTier: "standard"}}})
				in.Users = []User{user("u1", "a@x.gov", true)}
				in.Groups = []Group{group("g-users", "users", "u1"), group("g-west", "west", "u1")}
			},
			want: []row{
				{Org: "o1", Email: "a@x.gov", Action: ActionAdd, Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
				{Org: "o2", Email: "a@x.gov", Action: ActionAdd, Role: RoleOwner, Tier: "standard", Origin: OriginSCIM, UserID: "u1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base(ModeStaged)
			tt.setup(&in)
			got := rows(Resolve(in))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveEntitlementGroups(t *testing.T) {
	in := base(ModeJIT)
	in.Orgs[0].Mappings = []Mapping{
		{GroupID: "g-a", Role: RoleAdmin, SeatTier: "standard"},
		{GroupID: "g-b", Role: RoleAdmin, SeatTier: "premium"},
		{GroupID: "g-c", Role: RoleOwner, SeatTier: "premium"},
		{GroupID: "g-gone", Role: RoleOwner, SeatTier: "premium"},
	}
	in.Users = []User{user("u1", "a@x.gov", true), user("u2", "b@x.gov", true), user("u3", "c@x.gov", false)}
	in.Groups = []Group{
		group("g-a", "a", "u1", "u2", "u3"),
		group("g-b", "b", "u1", "g-a"),
		group("g-c", "c", "u2"),
	}
	res := Resolve(in)
	want := []Entitlement{
		// u1: admin first from g-a, the higher tier first from g-b.
		{Org: "o1", UserID: "u1", Email: "a@x.gov", Role: RoleAdmin, SeatTier: "premium", RoleGroup: "g-a", TierGroup: "g-b"},
		{Org: "o1", UserID: "u2", Email: "b@x.gov", Role: RoleOwner, SeatTier: "premium", RoleGroup: "g-c", TierGroup: "g-b"},
	}
	if diff := cmp.Diff(want, res.Entitled); diff != "" {
		t.Errorf("Entitled (-want +got):\n%s", diff)
	}
	wantCounts := map[string]int{"g-a": 2, "g-b": 2, "g-c": 1}
	if diff := cmp.Diff(wantCounts, res.GroupUsers); diff != "" {
		t.Errorf("GroupUsers (-want +got):\n%s", diff)
	}
	if len(res.Outcomes) != 0 {
		t.Errorf("jit with no members: got outcomes %v", res.Outcomes)
	}
}

func TestResolveAddedMemberFields(t *testing.T) {
	in := base(ModeStaged)
	in.Users = []User{user("u1", "jdoe", true, "  J.Doe@X.gov")}
	in.Groups = []Group{group("g-admins", "admins", "u1")}
	res := Resolve(in)
	want := []Member{{Org: "o1", Email: "j.doe@x.gov", UserID: "u1", Role: RoleAdmin, SeatTier: "premium", Origin: OriginSCIM, LastModified: now}}
	if diff := cmp.Diff(want, res.Members); diff != "" {
		t.Errorf("Members (-want +got):\n%s", diff)
	}
	if oc := res.Outcomes[0]; oc.RoleGroup != "g-admins" || oc.TierGroup != "g-admins" {
		t.Errorf("deciding groups = %q, %q; want g-admins twice", oc.RoleGroup, oc.TierGroup)
	}
}

func TestUserEmails(t *testing.T) {
	tests := []struct {
		u    User
		want []string
	}{
		{user("u", "A@x.gov", true, "a@X.gov", "b@x.gov"), []string{"a@x.gov", "b@x.gov"}},
		{user("u", "jdoe", true, "b@x.gov"), []string{"b@x.gov"}},
		{user("u", "jdoe", true), []string{"jdoe"}},
		{user("u", " ", true, " ", ""), nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, UserEmails(tt.u)); diff != "" {
			t.Errorf("UserEmails(%+v) (-want +got):\n%s", tt.u, diff)
		}
	}
}

func TestRoleRank(t *testing.T) {
	order := []Role{"bogus", RoleMember, RoleAdmin, RoleOwner, RolePrimaryOwner}
	for i := 1; i < len(order); i++ {
		if order[i-1].Rank() >= order[i].Rank() {
			t.Errorf("%q ranks %d, not below %q (%d)", order[i-1], order[i-1].Rank(), order[i], order[i].Rank())
		}
	}
	for _, r := range order {
		want := r == RoleMember || r == RoleAdmin || r == RoleOwner
		if r.Grantable() != want {
			t.Errorf("%q.Grantable() = %v", r, !want)
		}
	}
}

// TestResolveExcepted: Excepted lists, under full mode, exactly the members
// an exception keeps: not one an entitlement matches (which the exception
// does not keep), not the primary owner, not an address that is no member;
// and nobody under staged, which ignores exceptions.
func TestResolveExcepted(t *testing.T) {
	in := base(ModeFull)
	in.Orgs[0].Exceptions = []Exception{
		{Email: "entitled@x.gov", Until: "2027-04-01"},
		{Email: "Lapsing@x.gov", Until: "2027-04-01"},
		{Email: "jit@x.gov", Until: "2027-04-01"},
		{Email: "owner@x.gov", Until: "2027-04-01"},
		{Email: "nobody@x.gov", Until: "2027-04-01"},
		{Email: "gone@x.gov", Until: "2027-03-30"},
	}
	in.Users = []User{user("u1", "entitled@x.gov", true), user("u2", "lapsing@x.gov", true)}
	in.Groups = []Group{group("g-users", "users", "u1")}
	in.Members = []Member{
		member("m1", "o1", "entitled@x.gov", RoleMember, "standard", OriginSCIM, "u1"),
		member("m2", "o1", "lapsing@x.gov", RoleMember, "standard", OriginSCIM, "u2"),
		member("m3", "o1", "JIT@x.gov", RoleMember, "standard", OriginJIT, ""),
		member("m4", "o1", "owner@x.gov", RolePrimaryOwner, "premium", OriginManual, ""),
		member("m5", "o1", "gone@x.gov", RoleMember, "standard", OriginJIT, ""),
	}
	want := []OrgEmail{{Org: "o1", Email: "jit@x.gov"}, {Org: "o1", Email: "lapsing@x.gov"}}
	if d := cmp.Diff(want, Resolve(in).Excepted); d != "" {
		t.Errorf("full: Excepted (-want +got):\n%s", d)
	}
	in.Parent.Mode = ModeStaged
	if got := Resolve(in).Excepted; len(got) != 0 {
		t.Errorf("staged: Excepted = %v, want none", got)
	}
}

// Unresolved counts the member ids a configuration's mapped groups (and
// the groups nested in them) list that are neither a user nor a group,
// each under the group that lists them; a resolution sharing a Directory
// with another configuration reports only its own groups'.
func TestUnresolvedMembers(t *testing.T) {
	in := Input{
		Users: []User{{ID: "u1", UserName: "ann@example.gov", Active: true}},
		Groups: []Group{{ID: "g1", DisplayName: "users", Members: []string{"u1", "gone-1", "g2", "gone-1b"}},
			{ID: "g2", DisplayName: "team", Members: []string{"gone-2"}},
			{ID: "g3", DisplayName: "other", Members: []string{"gone-3"}}},
		Parent: Org{ID: "p", SeatTiers: []string{"standard"}},
		Orgs:   []Org{{ID: "o1", Parent: "p", Mappings: []Mapping{{GroupID: "g1", Role: RoleMember, SeatTier: "standard"}}}},
	}
	dir := NewDirectory(in.Users, in.Groups)
	other := in
	other.Orgs = []Org{{ID: "o1", Parent: "p", Mappings: []Mapping{{GroupID: "g3", Role: RoleMember, SeatTier: "standard"}}}}
	other.Directory = dir
	if got := Resolve(other).Unresolved; !maps.Equal(got, map[string]int{"g3": 1}) {
		t.Errorf("mapping g3: Unresolved = %v", got)
	}
	in.Directory = dir
	if got := Resolve(in).Unresolved; !maps.Equal(got, map[string]int{"g1": 2, "g2": 1}) {
		t.Errorf("mapping g1: Unresolved = %v", got)
	}
}
