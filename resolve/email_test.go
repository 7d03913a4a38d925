package resolve

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Issue 14 #3: strings.ToLower folded the Kelvin sign K (U+212A) into k and
// İ (U+0130) into i, so an IdP user with a look-alike address took over
// another person's seat. Emails compare by match.Email (DESIGN §5): a
// non-ASCII character never folds into an ASCII one, while É still
// matches é.
func TestResolveLookAlikeEmailIsAnotherPerson(t *testing.T) {
	const kelvin = "contractor.\u212aim@example.gov"
	owners := func(mode Mode) Input {
		in := base(mode)
		in.Orgs[0].Mappings = append(in.Orgs[0].Mappings, Mapping{GroupID: "g-owners", Role: RoleOwner, SeatTier: "premium"})
		in.Users = []User{user("u-k", kelvin, true)}
		in.Groups = []Group{group("g-owners", "owners", "u-k")}
		in.Members = []Member{member("m-kim", "o1", "contractor.kim@example.gov", RoleMember, "standard", OriginJIT, "")}
		return in
	}
	tests := []struct {
		mode Mode
		want []row
	}{
		{ModeStaged, []row{
			// The jit member is left as it is; the Kelvin user is a new member.
			{Org: "o1", Email: "contractor.kim@example.gov", Action: ActionKeep, ID: "m-kim", Role: RoleMember, Tier: "standard", Origin: OriginJIT},
			{Org: "o1", Email: kelvin, Action: ActionAdd, Role: RoleOwner, Tier: "premium", Origin: OriginSCIM, UserID: "u-k"},
		}},
		{ModeFull, []row{
			// Removed in full with its own reason: no SCIM user has its address.
			{Org: "o1", Email: "contractor.kim@example.gov", Action: ActionRemove, ID: "m-kim", Reason: ReasonNotProvisioned},
			{Org: "o1", Email: kelvin, Action: ActionAdd, Role: RoleOwner, Tier: "premium", Origin: OriginSCIM, UserID: "u-k"},
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, rows(Resolve(owners(tt.mode)))); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveDottedCapitalIIsNotI(t *testing.T) {
	in := base(ModeFull)
	in.Users = []User{user("u-i", "\u0130van@x.gov", true)}
	in.Groups = []Group{group("g-admins", "admins", "u-i")}
	in.Members = []Member{member("m-ivan", "o1", "ivan@x.gov", RoleMember, "standard", OriginManual, "")}
	in.Orgs[0].Exceptions = []Exception{{Email: "\u0130VAN@x.gov", Until: "2099-01-01"}}
	got := rows(Resolve(in))
	want := []row{
		{Org: "o1", Email: "ivan@x.gov", Action: ActionRemove, ID: "m-ivan", Reason: ReasonNotProvisioned},
		{Org: "o1", Email: "\u0130van@x.gov", Action: ActionAdd, Role: RoleAdmin, Tier: "premium", Origin: OriginSCIM, UserID: "u-i"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestResolveCaseVariantAccentStillMatches(t *testing.T) {
	in := base(ModeStaged)
	// RENÉ with a precomposed É, the member with a decomposed é (e + U+0301).
	in.Users = []User{user("u-r", "REN\u00c9@x.gov", true)}
	in.Groups = []Group{group("g-users", "users", "u-r")}
	in.Members = []Member{member("m-r", "o1", "rene\u0301@x.gov", RoleMember, "standard", OriginJIT, "")}
	want := []row{
		{Org: "o1", Email: "ren\u00e9@x.gov", Action: ActionLink, ID: "m-r", Role: RoleMember, Tier: "standard", Origin: OriginSCIM, UserID: "u-r"},
	}
	if diff := cmp.Diff(want, rows(Resolve(in))); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	// A full-mode exception written RENÉ keeps the member.
	in = base(ModeFull)
	in.Members = []Member{member("m-r", "o1", "ren\u00e9@x.gov", RoleMember, "standard", OriginJIT, "")}
	in.Orgs[0].Exceptions = []Exception{{Email: "REN\u00c9@X.GOV", Until: "2099-01-01"}}
	if got := rows(Resolve(in)); len(got) != 1 || got[0].Action != ActionKeep {
		t.Errorf("excepted member: %+v, want kept", got)
	}
}
