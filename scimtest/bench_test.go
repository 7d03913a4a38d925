package scimtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// bigTenant has n users in one mapped group of one child organization,
// each a member.
func bigTenant(n int) *tenant.Snapshot {
	s := &tenant.Snapshot{
		Organizations: []scim.Organization{
			{ID: "o-parent", Name: "p", Mode: "staged", SeatTiers: []string{"standard"}},
			{ID: "o-a", Name: "a", Parent: "o-parent", Mappings: []scim.Mapping{{Group: "g", Role: "member", SeatTier: "standard"}}},
			{ID: "o-b", Name: "b", Parent: "o-parent"},
		},
	}
	g := scim.Group{ID: "g", DisplayName: "all"}
	for i := range n {
		id := fmt.Sprintf("u%06d", i)
		email := fmt.Sprintf("user%06d@example.gov", i)
		s.Users = append(s.Users, scim.User{ID: id, UserName: email, Active: true, Emails: []scim.Email{{Value: email, Primary: true}}})
		g.Members = append(g.Members, scim.GroupMember{Value: id, Type: "User"})
		s.Members = append(s.Members, scim.Member{ID: "m" + id, Organization: "o-a", Email: email, UserID: id, Role: "member", SeatTier: "standard", Origin: "scim"})
	}
	s.Groups = []scim.Group{g}
	return s
}

func BenchmarkListMembersByOrganization(b *testing.B) {
	srv, err := New(bigTenant(20000), Options{NoAuth: true})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/Members?count=1000&filter="+q(`organization eq "o-a"`), nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

func BenchmarkPatchUser(b *testing.B) {
	srv, err := New(bigTenant(20000), Options{NoAuth: true})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"x"}]}`
	for b.Loop() {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("PATCH", "/Users/u000001", strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}
