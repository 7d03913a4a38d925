package tenant

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/resolve"
)

func sampleTenant(t testing.TB) *Tenant {
	t.Helper()
	s := sample()
	tn, err := FromSCIM(s.Users, s.Groups, s.Organizations, s.Members)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestFingerprintStable(t *testing.T) {
	a := sampleTenant(t)
	fa := a.Fingerprint()
	if len(fa.Hash) != 64 || len(fa.Parts) != 4 {
		t.Fatalf("fingerprint %+v", fa)
	}
	if diff := cmp.Diff(map[string]string{"agency": `W/"7"`, "hq": `W/"3"`, "west": `W/"1"`}, fa.Orgs); diff != "" {
		t.Errorf("Orgs (-want +got):\n%s", diff)
	}

	// The same content in another order, from another source, with other
	// timestamps, fingerprints the same.
	b := sampleTenant(t)
	slices.Reverse(b.Users)
	slices.Reverse(b.Groups)
	slices.Reverse(b.Orgs)
	slices.Reverse(b.Members)
	slices.Reverse(b.Groups[0].Members)
	b.Members[0].LastModified = time.Now()
	b.Kind, b.ReadOnly = KindSCIM, true
	if diff := cmp.Diff(fa, b.Fingerprint()); diff != "" {
		t.Errorf("reordered tenant (-want +got):\n%s", diff)
	}
	if got := fa.Changed(b.Fingerprint()); got != nil {
		t.Errorf("Changed = %q, want nil", got)
	}
}

func TestFingerprintChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(tn *Tenant)
		want   []string
	}{
		{"user deactivated", func(tn *Tenant) { tn.Users[0].Active = false }, []string{"users"}},
		{"user email order", func(tn *Tenant) { slices.Reverse(tn.Users[1].Emails) }, []string{"users"}},
		{"user added", func(tn *Tenant) { tn.Users = append(tn.Users, resolve.User{ID: "u-new"}) }, []string{"users"}},
		{"group renamed", func(tn *Tenant) { tn.Groups[2].DisplayName = "renamed" }, []string{"groups"}},
		{"group member removed", func(tn *Tenant) { tn.Groups[1].Members = tn.Groups[1].Members[:1] }, []string{"groups"}},
		{"group members no longer read", func(tn *Tenant) { delete(tn.MembersRead, "g-other") }, []string{"groups"}},
		{"member re-roled", func(tn *Tenant) { tn.Members[1].Role = resolve.RoleAdmin }, []string{"members"}},
		{"member linked", func(tn *Tenant) { tn.Members[2].UserID = "u-bob" }, []string{"members"}},
		{"org version", func(tn *Tenant) { tn.Orgs[0].Version = `W/"4"` }, []string{"organizations", `org hq: W/"3" → W/"4"`}},
		{"mapping changed, same version", func(tn *Tenant) { tn.Orgs[0].Mappings[0].SeatTier = "premium" }, []string{"organizations"}},
		{"mapping order", func(tn *Tenant) { slices.Reverse(tn.Orgs[0].Mappings) }, []string{"organizations"}},
		{"seats", func(tn *Tenant) { tn.Orgs[0].Seats["standard"]++ }, []string{"organizations"}},
		{"exception", func(tn *Tenant) {
			tn.Orgs[1].Exceptions = []resolve.Exception{{Email: "a@x.gov", Until: "2027-01-01"}}
		}, []string{"organizations"}},
		{"mode", func(tn *Tenant) { tn.Parent.Mode = resolve.ModeFull }, []string{"organizations"}},
		{"org gone", func(tn *Tenant) { tn.Orgs = tn.Orgs[:1] }, []string{"organizations", `org west: W/"1" → (none)`}},
		{"two kinds", func(tn *Tenant) {
			tn.Users[0].UserName = "x"
			tn.Members = tn.Members[1:]
		}, []string{"users", "members"}},
	}
	base := sampleTenant(t).Fingerprint()
	seen := map[string]string{base.Hash: "base"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := sampleTenant(t)
			tt.change(tn)
			fp := tn.Fingerprint()
			if prev, dup := seen[fp.Hash]; dup {
				t.Errorf("hash equals that of %q", prev)
			}
			seen[fp.Hash] = tt.name
			if diff := cmp.Diff(tt.want, base.Changed(fp)); diff != "" {
				t.Errorf("Changed (-want +got):\n%s", diff)
			}
		})
	}
}

// Field boundaries matter: moving a character from one field to the next
// changes the hash.
func TestFingerprintFieldBoundaries(t *testing.T) {
	a := &Tenant{Users: []resolve.User{{ID: "u1", UserName: "ab", Emails: []string{"c"}}}}
	b := &Tenant{Users: []resolve.User{{ID: "u1", UserName: "a", Emails: []string{"bc"}}}}
	if a.Fingerprint().Hash == b.Fingerprint().Hash {
		t.Error("fields that concatenate alike hash alike")
	}
}

func bigTenant(n int) *Tenant {
	tn := &Tenant{
		Parent:      resolve.Org{ID: "p", Name: "agency", Mode: resolve.ModeStaged, SeatTiers: []string{"standard"}, Version: `W/"1"`},
		Orgs:        []resolve.Org{{ID: "o", Name: "hq", Parent: "p", Version: `W/"1"`, Mappings: []resolve.Mapping{{GroupID: "g", Role: resolve.RoleMember, SeatTier: "standard"}}}},
		MembersRead: map[string]bool{"g": true},
	}
	g := resolve.Group{ID: "g", DisplayName: "users"}
	for i := range n {
		id := fmt.Sprintf("user-%06d", i)
		em := fmt.Sprintf("user%06d@example.gov", i)
		tn.Users = append(tn.Users, resolve.User{ID: id, UserName: em, Emails: []string{em}, Active: true})
		g.Members = append(g.Members, id)
		tn.Members = append(tn.Members, resolve.Member{ID: "m-" + id, Org: "o", Email: em, UserID: id, Role: resolve.RoleMember, SeatTier: "standard", Origin: resolve.OriginSCIM})
	}
	tn.Groups = []resolve.Group{g}
	return tn
}

func TestFingerprintFastAt100kUsers(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing bound; not under -short or -race")
	}
	tn := bigTenant(100_000)
	start := time.Now()
	tn.Fingerprint()
	// About 25ms on a 2-core machine; the bound is generous for slow ones:
	// the point is that it is not seconds.
	if d := time.Since(start); d > time.Second {
		t.Errorf("fingerprinting 100k users and members took %v", d)
	}
}

func BenchmarkFingerprint100k(b *testing.B) {
	tn := bigTenant(100_000)
	b.ResetTimer()
	for b.Loop() {
		tn.Fingerprint()
	}
}
