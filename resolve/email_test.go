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

// Issue 15: "exception expired" is the reason whenever an exception for the
// member has lapsed, whichever side holds it: the spec (Exceptions), or
// only the server or current.exceptions (HeldExceptions). A live exception
// the spec dropped is no lapse.
func TestResolveExpiredExceptionHeldElsewhere(t *testing.T) {
	for _, tt := range []struct {
		name   string
		spec   []Exception
		held   []Exception
		reason Reason
	}{
		{"lapsed, in the spec", []Exception{{Email: "carl@x.gov", Until: "2027-03-30"}}, nil, ReasonExceptionExpired},
		{"lapsed, held only on the server", nil, []Exception{{Email: "CARL@x.gov", Until: "2027-03-30"}}, ReasonExceptionExpired},
		{"lapsed on both sides", []Exception{{Email: "carl@x.gov", Until: "2027-03-30"}}, []Exception{{Email: "carl@x.gov", Until: "2027-03-30"}}, ReasonExceptionExpired},
		{"live on the server, dropped by the spec", nil, []Exception{{Email: "carl@x.gov", Until: "2027-04-30"}}, ReasonNotProvisioned},
		{"lapsed on the server for someone else", nil, []Exception{{Email: "dana@x.gov", Until: "2027-03-30"}}, ReasonNotProvisioned},
		{"a look-alike's lapsed exception", nil, []Exception{{Email: "c\u0430rl@x.gov", Until: "2027-03-30"}}, ReasonNotProvisioned},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := base(ModeFull)
			in.Orgs[0].Exceptions, in.Orgs[0].HeldExceptions = tt.spec, tt.held
			in.Members = []Member{member("m-carl", "o1", "carl@x.gov", RoleMember, "standard", OriginJIT, "")}
			want := []row{{Org: "o1", Email: "carl@x.gov", Action: ActionRemove, ID: "m-carl", Reason: tt.reason}}
			if diff := cmp.Diff(want, rows(Resolve(in))); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
	// HeldExceptions keep nobody, live or not.
	in := base(ModeFull)
	in.Orgs[0].HeldExceptions = []Exception{{Email: "carl@x.gov", Until: "2099-01-01"}}
	in.Members = []Member{member("m-carl", "o1", "carl@x.gov", RoleMember, "standard", OriginJIT, "")}
	if got := rows(Resolve(in)); len(got) != 1 || got[0].Action != ActionRemove {
		t.Errorf("a held exception kept a member: %+v", got)
	}
}
