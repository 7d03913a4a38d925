package tenant

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// The example tenants (examples/*/tenant.json) are generated here, so that
// they stay consistent with the rules: go test ./tenant -run
// TestExampleTenants -update-examples rewrites them. The members of a
// staged tenant are what the server would hold (Recompute at exampleNow);
// the jit, manual and primary-owner members are written by hand to make
// each example worth reading.
var updateExamples = flag.Bool("update-examples", false, "rewrite examples/*/tenant.json")

// exampleNow is the instant the example tenants were last recomputed, a
// little before the instant the CLI tests pin (2026-11-27).
var exampleNow = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

const exampleMaxBytes = 100 << 10

// exampleBuilder assembles a snapshot.
type exampleBuilder struct {
	s *Snapshot
}

func newExample() *exampleBuilder { return &exampleBuilder{s: &Snapshot{}} }

// user adds an active (or not) user; the first email is primary.
func (b *exampleBuilder) user(id, userName string, active bool, display string, emails ...string) {
	u := scim.User{
		Schemas: []string{scim.SchemaUser}, ID: id, UserName: userName, DisplayName: display, Active: scim.Bool(active),
		Meta: scim.Meta{ResourceType: "User", Created: "2025-03-01T12:00:00Z", LastModified: "2026-10-15T08:30:00Z", Version: `W/"2"`},
	}
	if len(emails) == 0 {
		emails = []string{userName}
	}
	for i, e := range emails {
		u.Emails = append(u.Emails, scim.Email{Value: e, Type: "work", Primary: scim.Bool(i == 0)})
	}
	given, family, _ := strings.Cut(display, " ")
	u.Name = &scim.Name{GivenName: given, FamilyName: family, Formatted: display}
	b.s.Users = append(b.s.Users, u)
}

// people adds n active users id prefix-NN, named from a fixed list, with
// emails first.last@example.gov, and returns their ids.
func (b *exampleBuilder) people(prefix string, from, n int) []string {
	var ids []string
	for i := from; i < from+n; i++ {
		first := firstNames[i%len(firstNames)]
		last := lastNames[(i*7)%len(lastNames)]
		id := fmt.Sprintf("%s-%03d", prefix, i)
		email := strings.ToLower(first + "." + last + "@example.gov")
		b.user(id, email, true, first+" "+last)
		ids = append(ids, id)
	}
	return ids
}

func (b *exampleBuilder) group(id, name string, members ...string) {
	g := scim.Group{Schemas: []string{scim.SchemaGroup}, ID: id, DisplayName: name,
		Meta: scim.Meta{ResourceType: "Group", Created: "2025-03-01T12:00:00Z", LastModified: "2026-10-20T16:00:00Z", Version: `W/"4"`}}
	for _, m := range members {
		typ := "User"
		if strings.HasPrefix(m, "g-") {
			typ = "Group"
		}
		g.Members = append(g.Members, scim.GroupMember{Value: m, Type: typ})
	}
	b.s.Groups = append(b.s.Groups, g)
}

func (b *exampleBuilder) org(o scim.Organization) {
	o.Schemas = []string{scim.SchemaOrganization}
	o.Meta.ResourceType = "Organization"
	o.Meta.Created = "2025-02-10T00:00:00Z"
	o.Meta.LastModified = "2026-09-30T14:00:00Z"
	b.s.Organizations = append(b.s.Organizations, o)
}

// member adds a member by hand; userID only for scim origin.
func (b *exampleBuilder) member(org, email, role, tier, origin, userID string) {
	b.s.Members = append(b.s.Members, scim.Member{
		Schemas: []string{scim.SchemaMember}, ID: orgwrite.MemberID(org, email), Organization: org, Email: email,
		UserID: userID, Role: role, SeatTier: tier, Origin: origin,
		Meta: scim.Meta{ResourceType: "Member", Created: "2025-06-01T10:00:00Z", LastModified: "2026-08-14T10:00:00Z", Version: `W/"1"`},
	})
}

// titleEmail capitalizes each dot-separated part of an email's local part,
// as people type it: alice.abbott@x → Alice.Abbott@x.
func titleEmail(email string) string {
	local, domain, _ := strings.Cut(email, "@")
	parts := strings.Split(local, ".")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, ".") + "@" + domain
}

// emailOf returns the primary email of a user the builder holds.
func (b *exampleBuilder) emailOf(id string) string {
	for _, u := range b.s.Users {
		if u.ID == id {
			return u.Emails[0].Value
		}
	}
	panic("no user " + id)
}

var firstNames = []string{"Alice", "Bruno", "Chen", "Dana", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jules",
	"Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Viktor", "Wen", "Yusuf", "Zoe"}

var lastNames = []string{"Abbott", "Baptiste", "Chowdhury", "Dubois", "Eriksen", "Fujita", "Garcia", "Haddad", "Ivanova",
	"Jensen", "Kowalski", "Lindqvist", "Mensah", "Novak", "Okafor", "Petrov", "Quispe", "Rossi", "Santos", "Tanaka", "Umarov"}

// hqDirectory adds the IdP directory that every example shares: hq's users
// (some through a nested group, with a cycle), IT admins (also nested in the
// users group), a user whose userName is not an email, an inactive user, and
// people in no mapped group. It returns the ids of hq's users.
func (b *exampleBuilder) hqDirectory() (users []string) {
	b.user("u-cio", "cio@example.gov", true, "Morgan Reyes")
	b.user("u-breakglass", "breakglass@example.gov", true, "Break Glass")
	staff := b.people("u-hq", 0, 16)
	eng := b.people("u-eng", 16, 5)
	admins := b.people("u-it", 21, 3)
	// userName is an employee number; the email is in emails[] only, and an
	// alias sits next to it.
	b.user("u-emp-10442", "EMP-10442", true, "Grace Okonkwo", "grace.okonkwo@example.gov", "g.okonkwo@example.gov")
	// Left the agency: deactivated in the IdP, still in the group.
	b.user("u-departed", "jordan.price@example.gov", false, "Jordan Price")
	// In the directory, but in no group hq maps.
	b.user("u-facilities", "pat.morrison@example.gov", true, "Pat Morrison")
	b.user("u-intern", "casey.lee@example.gov", true, "Casey Lee")

	b.group("g-hq-users", "claude-hq-users", append([]string{"g-hq-engineering", "g-hq-it-admins", "u-emp-10442", "u-departed"}, staff...)...)
	b.group("g-hq-engineering", "hq-engineering", append(eng, "g-hq-platform")...)
	// A cycle: platform and engineering hold each other.
	b.group("g-hq-platform", "hq-platform", "g-hq-engineering", eng[0])
	b.group("g-hq-it-admins", "claude-hq-it-admins", append(admins, "u-cio")...)
	b.group("g-all-staff", "all-staff", append(append([]string{"u-facilities", "u-intern"}, staff...), eng...)...)
	b.group("g-facilities", "facilities", "u-facilities")
	return append(append(append(staff, eng...), admins...), "u-emp-10442")
}

var exampleTenants = map[string]func() *Snapshot{
	// hq before SCIM: mode jit, every member came in by SSO login or was
	// added in the console. Moving to staged links the IdP users, re-roles
	// the IT admins and adds the rest; nobody goes yet, but the readiness
	// summary shows who would on full enablement.
	"jit-to-staged": func() *Snapshot {
		b := newExample()
		users := b.hqDirectory()
		b.org(scim.Organization{ID: "org-parent", Name: "example-agency", Mode: "jit", LoginDomains: []string{"example.gov"}, SeatTiers: []string{"standard", "premium"}, Meta: scim.Meta{Version: `W/"12"`}})
		b.org(scim.Organization{ID: "org-hq", Name: "hq", Parent: "org-parent",
			// Only the users group is mapped so far; the admins' mapping is new.
			Mappings: []scim.Mapping{{Group: "g-hq-users", Role: "member", SeatTier: "standard"}},
			Seats:    map[string]int{"standard": 900, "premium": 60},
			Meta:     scim.Meta{Version: `W/"31"`}})
		b.member("org-hq", "cio@example.gov", "primary-owner", "premium", "manual", "")
		// Most staff logged in already; some emails differ in case.
		for i, id := range users[:14] {
			email := b.emailOf(id)
			if i%4 == 1 {
				email = titleEmail(email)
			}
			b.member("org-hq", email, "member", "standard", "jit", "")
		}
		// IT admins made admins by hand; the new mapping makes them owners.
		b.member("org-hq", b.emailOf("u-it-021"), "admin", "premium", "manual", "")
		b.member("org-hq", b.emailOf("u-it-022"), "admin", "standard", "jit", "")
		// Logged in with the alias of an employee-number user.
		b.member("org-hq", "G.Okonkwo@example.gov", "member", "standard", "jit", "")
		// Not in the IdP at all.
		b.member("org-hq", "visiting.researcher@example.gov", "member", "standard", "jit", "")
		b.member("org-hq", "contractor.kim@example.gov", "member", "standard", "jit", "")
		b.member("org-hq", "vendor-demo@example.gov", "member", "standard", "manual", "")
		// Deactivated in the IdP, and in no mapped group.
		b.member("org-hq", "jordan.price@example.gov", "member", "standard", "jit", "")
		b.member("org-hq", "pat.morrison@example.gov", "member", "standard", "manual", "")
		return b.s
	},

	// One parent, three children, mode staged: SCIM members are in place;
	// jit and manual members from before remain. The spec adds the west
	// admins' mapping, corrects east's role and drops an exception someone
	// added in the console; exclusiveOrgs holds, since each IdP group
	// feeds one org.
	"multi-org": func() *Snapshot {
		b := newExample()
		b.hqDirectory()
		west := b.people("u-west", 30, 10)
		westAdmins := b.people("u-west-adm", 40, 2)
		east := b.people("u-east", 42, 8)
		b.user("u-west-gone", "riley.stone@example.gov", false, "Riley Stone")
		b.group("g-west-users", "claude-west-users", append(append(append([]string{}, west...), westAdmins...), "u-west-gone")...)
		b.group("g-west-admins", "claude-west-admins", westAdmins...)
		b.group("g-east-users", "claude-east-users", east...)

		b.org(scim.Organization{ID: "org-parent", Name: "example-agency", Mode: "staged", LoginDomains: []string{"example.gov"}, SeatTiers: []string{"standard", "premium"}, Meta: scim.Meta{Version: `W/"18"`}})
		b.org(scim.Organization{ID: "org-hq", Name: "hq", Parent: "org-parent",
			Mappings: []scim.Mapping{{Group: "g-hq-it-admins", Role: "owner", SeatTier: "premium"}, {Group: "g-hq-users", Role: "member", SeatTier: "standard"}},
			Seats:    map[string]int{"standard": 900, "premium": 60},
			Meta:     scim.Meta{Version: `W/"44"`}})
		b.org(scim.Organization{ID: "org-west", Name: "regional-west", Parent: "org-parent",
			Mappings: []scim.Mapping{{Group: "g-west-users", Role: "member", SeatTier: "standard"}},
			Seats:    map[string]int{"standard": 300, "premium": 10},
			Meta:     scim.Meta{Version: `W/"9"`}})
		b.org(scim.Organization{ID: "org-east", Name: "regional-east", Parent: "org-parent",
			// The spec says member: this admin role is a mistake to correct.
			Mappings:   []scim.Mapping{{Group: "g-east-users", Role: "admin", SeatTier: "standard"}},
			Seats:      map[string]int{"standard": 250},
			Exceptions: []scim.Exception{{Email: "liaison@partner-agency.gov", Until: "2027-02-28", Reason: "inter-agency liaison"}},
			Meta:       scim.Meta{Version: `W/"6"`}})
		b.member("org-hq", "cio@example.gov", "primary-owner", "premium", "manual", "")
		b.member("org-hq", "contractor.kim@example.gov", "member", "standard", "jit", "")
		b.member("org-hq", "pat.morrison@example.gov", "member", "standard", "manual", "")
		b.member("org-west", "west.director@example.gov", "primary-owner", "premium", "manual", "")
		b.member("org-west", "Riley.Stone@example.gov", "member", "standard", "jit", "")
		b.member("org-west", "field-tablet-07@example.gov", "member", "standard", "manual", "")
		b.member("org-east", "east.director@example.gov", "primary-owner", "standard", "manual", "")
		b.member("org-east", "liaison@partner-agency.gov", "member", "standard", "manual", "")
		b.member("org-east", "summer.temp@example.gov", "member", "standard", "jit", "")
		return b.s
	},

	// hq in staged, about to switch to full: SCIM members are in place, and
	// the jit and manual members who would lose their seat are the story —
	// people outside the IdP, a deactivated user, one in no mapped group,
	// and three covered by exceptions, the protected break-glass account
	// among them.
	"staged-to-full": func() *Snapshot {
		b := newExample()
		b.hqDirectory()
		b.org(scim.Organization{ID: "org-parent", Name: "example-agency", Mode: "staged", LoginDomains: []string{"example.gov"}, SeatTiers: []string{"standard", "premium"}, Meta: scim.Meta{Version: `W/"27"`}})
		b.org(scim.Organization{ID: "org-hq", Name: "hq", Parent: "org-parent",
			Mappings: []scim.Mapping{{Group: "g-hq-it-admins", Role: "owner", SeatTier: "premium"}, {Group: "g-hq-users", Role: "member", SeatTier: "standard"}},
			Seats:    map[string]int{"standard": 900, "premium": 60},
			// The contractor's exception is on the server already; the
			// auditor's comes with the spec.
			Exceptions: []scim.Exception{{Email: "contractor@example.gov", Until: "2027-06-30", Reason: "badge pending"}},
			Meta:       scim.Meta{Version: `W/"52"`}})
		b.member("org-hq", "cio@example.gov", "primary-owner", "premium", "manual", "")
		b.member("org-hq", "Contractor@Example.gov", "member", "standard", "jit", "")
		b.member("org-hq", "auditor@example.gov", "member", "standard", "manual", "")
		b.member("org-hq", "breakglass@example.gov", "owner", "premium", "manual", "")
		b.member("org-hq", "visiting.researcher@example.gov", "member", "standard", "jit", "")
		b.member("org-hq", "vendor-demo@example.gov", "member", "standard", "manual", "")
		b.member("org-hq", "jordan.price@example.gov", "member", "standard", "jit", "")
		b.member("org-hq", "pat.morrison@example.gov", "admin", "standard", "manual", "")
		b.member("org-hq", "Casey.Lee@example.gov", "member", "standard", "jit", "")
		return b.s
	},
}

func buildExample(t *testing.T, name string) []byte {
	t.Helper()
	snap := exampleTenants[name]()
	if _, err := Recompute(snap, exampleNow); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var buf bytes.Buffer
	if err := EncodeSnapshot(&buf, snap); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExampleTenants(t *testing.T) {
	for name := range exampleTenants {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "examples", name)
			if _, err := os.Stat(filepath.Join(dir, "scimsync.yaml")); err != nil {
				t.Skipf("no example spec: %v", err)
			}
			want := buildExample(t, name)
			path := filepath.Join(dir, "tenant.json")
			if *updateExamples {
				if err := WriteFileAtomic(path, want); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (generate it with go test ./tenant -run TestExampleTenants -update-examples)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what exampleTenants generates; rerun with -update-examples, or change the generator", path)
			}
		})
	}
}

// Every example tenant loads, is valid, is what a server would hold (a
// recompute changes nothing), and is small.
func TestExampleTenantsLoad(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "examples", "*", "tenant.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no example tenants yet")
	}
	for _, path := range paths {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > exampleMaxBytes {
				t.Errorf("%s is %d bytes, over %d", path, st.Size(), exampleMaxBytes)
			}
			src := &SnapshotSource{Path: path}
			tn, err := src.Read(t.Context(), ReadRequest{})
			if err != nil {
				t.Fatal(err)
			}
			snap, err := ReadSnapshot(path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Recompute(snap, exampleNow)
			if err != nil {
				t.Fatal(err)
			}
			for _, oc := range res.Outcomes {
				if oc.Action != resolve.ActionKeep {
					t.Errorf("recomputing changes the tenant: %s %s in %s", oc.Action, oc.Email, oc.Org)
				}
			}
			if len(tn.Members) == 0 || len(tn.Orgs) == 0 {
				t.Errorf("%d orgs, %d members", len(tn.Orgs), len(tn.Members))
			}
		})
	}
}
