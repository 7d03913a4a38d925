package tenant

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

func TestFromSCIM(t *testing.T) {
	s := sample()
	tn, err := FromSCIM(s.Users, s.Groups, s.Organizations, s.Members)
	if err != nil {
		t.Fatal(err)
	}
	wantUsers := []resolve.User{
		{ID: "u-ann", UserName: "ann@x.gov", Emails: []string{"ann@x.gov"}, Active: true},
		// The primary email comes first, whatever the wire order.
		{ID: "u-bob", UserName: "bob", Emails: []string{"Bob@X.gov", "bob.alias@x.gov"}, Active: true},
		{ID: "u-cat", UserName: "cat@x.gov", Emails: []string{"cat@x.gov"}},
	}
	if diff := cmp.Diff(wantUsers, tn.Users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	wantGroups := []resolve.Group{
		{ID: "g-users", DisplayName: "claude-users", Members: []string{"u-ann", "g-admins"}},
		{ID: "g-admins", DisplayName: "claude-admins", Members: []string{"u-bob", "u-cat"}},
		{ID: "g-other", DisplayName: "other"},
	}
	if diff := cmp.Diff(wantGroups, tn.Groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"g-users": true, "g-admins": true, "g-other": true}, tn.MembersRead); diff != "" {
		t.Errorf("MembersRead (-want +got):\n%s", diff)
	}
	wantParent := resolve.Org{ID: "o-p", Name: "agency", Version: `W/"7"`, Mode: resolve.ModeStaged, LoginDomains: []string{"x.gov"}, SeatTiers: []string{"standard", "premium"}}
	if diff := cmp.Diff(wantParent, tn.Parent); diff != "" {
		t.Errorf("parent (-want +got):\n%s", diff)
	}
	wantOrgs := []resolve.Org{
		{ID: "o-hq", Name: "hq", Parent: "o-p", Version: `W/"3"`,
			Mappings: []resolve.Mapping{{GroupID: "g-users", Role: resolve.RoleMember, SeatTier: "standard"}, {GroupID: "g-admins", Role: resolve.RoleAdmin, SeatTier: "premium"}},
			Seats:    map[string]int{"standard": 10, "premium": 2}},
		{ID: "o-west", Name: "west", Parent: "o-p", Version: `W/"1"`},
	}
	if diff := cmp.Diff(wantOrgs, tn.Orgs); diff != "" {
		t.Errorf("orgs (-want +got):\n%s", diff)
	}
	eve := tn.Members[4]
	want := resolve.Member{ID: "m-eve", Org: "o-west", Email: "eve@x.gov", Role: resolve.RoleOwner, SeatTier: "standard", Origin: resolve.OriginManual, LastModified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if diff := cmp.Diff(want, eve); diff != "" {
		t.Errorf("member (-want +got):\n%s", diff)
	}
}

func TestFromSCIMErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *Snapshot)
		want   []string
	}{
		{"no organizations", func(s *Snapshot) { s.Organizations = nil; s.Members = nil }, []string{"no organizations"}},
		{"no parent", func(s *Snapshot) {
			s.Organizations[1].Parent = "o-hq"
		}, []string{"no parent organization"}},
		{"two parents", func(s *Snapshot) {
			s.Organizations[2].Parent = ""
		}, []string{"2 parent organizations, want exactly one: o-p (agency), o-west (west)"}},
		{"grandchild", func(s *Snapshot) {
			s.Organizations[2].Parent = "o-hq"
		}, []string{`organization o-west (west): parent "o-hq" is not the parent organization "o-p"`}},
		{"bad mode", func(s *Snapshot) { s.Organizations[1].Mode = "Full" }, []string{`mode "Full" is not one of jit, staged, full`}},
		{"empty mode", func(s *Snapshot) { s.Organizations[1].Mode = "" }, []string{`mode "" is not one of`}},
		{"bad mapping role", func(s *Snapshot) { s.Organizations[0].Mappings[1].Role = "primary-owner" }, []string{`mappings[1]: role "primary-owner" is not one of member, admin, owner`}},
		{"bad member role and origin", func(s *Snapshot) {
			s.Members[1].Role = "root"
			s.Members[2].Origin = "ldap"
		}, []string{`member m-ann (ann@x.gov): role "root"`, `member m-bob (BOB@x.gov): origin "ldap" is not one of scim, jit, manual`}},
		{"member of the parent", func(s *Snapshot) { s.Members[0].Organization = "o-p" }, []string{`member m-owner (boss@x.gov): organization "o-p" is not a child organization`}},
		{"duplicate ids", func(s *Snapshot) {
			s.Users[1].ID = "u-ann"
			s.Groups[1].ID = "g-users"
			s.Members[1].ID = "m-owner"
		}, []string{"user u-ann: duplicate id", "group g-users: duplicate id", "member m-owner: duplicate id"}},
		{"missing ids", func(s *Snapshot) {
			s.Users[0].ID = ""
			s.Organizations[2].ID = ""
		}, []string{`user 0 ("ann@x.gov"): no id`, `organization 2 ("west"): no id`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample()
			tt.change(s)
			tn, err := FromSCIM(s.Users, s.Groups, s.Organizations, s.Members)
			if err == nil {
				t.Fatalf("no error; tenant %+v", tn)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestToSCIMRoundTrip(t *testing.T) {
	s := sample()
	tn, err := FromSCIM(s.Users, s.Groups, s.Organizations, s.Members)
	if err != nil {
		t.Fatal(err)
	}
	back := ToSCIM(tn)
	again, err := FromSCIM(back.Users, back.Groups, back.Organizations, back.Members)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tn, again); diff != "" {
		t.Errorf("model → wire → model (-want +got):\n%s", diff)
	}
	// The group nested in g-users is typed as a group.
	if got := back.Groups[0].Members; got[1] != (scim.GroupMember{Value: "g-admins", Type: "Group"}) || got[0].Type != "User" {
		t.Errorf("group members %+v", got)
	}
	if !back.Users[1].Emails[0].Primary || back.Users[1].Emails[1].Primary {
		t.Errorf("emails %+v: want the first primary", back.Users[1].Emails)
	}
	if back.Members[4].Meta.LastModified != "2026-01-02T03:04:05Z" {
		t.Errorf("lastModified %q", back.Members[4].Meta.LastModified)
	}
}
