package scim

import (
	"encoding/json"
	"fmt"
	"testing"
)

// benchUsersPage is a list page of 1000 users shaped like the reference
// server's: every attribute scimsync reads, with meta (about 560 kB).
func benchUsersPage() []byte {
	users := make([]User, 1000)
	for i := range users {
		email := fmt.Sprintf("first.last%d@agency.example.gov", i)
		users[i] = User{
			Schemas: []string{SchemaUser}, ID: fmt.Sprintf("2b1c%04d-9e0f-4c4e-8d1a-6a0e5d7f3b21", i), ExternalID: fmt.Sprintf("00u%07d", i),
			UserName: email, Name: &Name{Formatted: "First Last", GivenName: "First", FamilyName: "Last"}, DisplayName: "First Last",
			Emails: []Email{{Value: email, Type: "work", Primary: true}}, Active: true,
			Meta: Meta{ResourceType: "User", Created: "2026-01-01T00:00:00Z", LastModified: "2026-01-01T00:00:00Z",
				Location: "https://scim.example.gov/scim/v2/Users/" + fmt.Sprint(i), Version: `W/"1"`},
		}
	}
	b, err := json.Marshal(ListResponse[User]{Schemas: []string{SchemaListResponse}, TotalResults: 100000, StartIndex: 1, ItemsPerPage: 1000, Resources: users})
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkDecodeUsersPage is what the client does with each page of a
// listing: the validity check of the retry policy, then the decode.
func BenchmarkDecodeUsersPage(b *testing.B) {
	body := benchUsersPage()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := checkJSON(body); err != nil {
			b.Fatal(err)
		}
		if p, err := decodePage[User](body); err != nil || len(p.items) != 1000 {
			b.Fatalf("decodePage = %d users, %v", len(p.items), err)
		}
	}
}
