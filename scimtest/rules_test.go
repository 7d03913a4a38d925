package scimtest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/scim"
)

// The fixture's members, as memberSet lists them.
var fixtureMembers = []string{
	"o-hq alice@example.gov owner premium scim",
	"o-hq bob@example.gov member standard scim",
	"o-hq boss@example.gov primary-owner premium manual",
	"o-hq contractor@example.gov member standard jit",
	"o-hq frank@example.gov admin standard jit",
	"o-hq gone@example.gov member standard jit",
	"o-west carol@example.gov member standard scim",
	"o-west wendy@example.gov member standard manual",
}

// without returns fixtureMembers without the given lines and with the
// extra ones, sorted as the server sorts (org, then email).
func edit(remove []string, add ...string) []string {
	out := slices.DeleteFunc(slices.Clone(fixtureMembers), func(s string) bool { return slices.Contains(remove, s) })
	out = append(out, add...)
	slices.Sort(out)
	return out
}

func op(o, path string, v any) scim.PatchOp { return scim.PatchOp{Op: o, Path: path, Value: v} }

// TestRules exercises each rule of DESIGN §5 through the HTTP API: a write
// to users, groups or organizations, then the members the server shows.
func TestRules(t *testing.T) {
	type step struct {
		method, path string
		body         any
	}
	patch := func(path string, ops ...scim.PatchOp) step { return step{"PATCH", path, patchBody(ops...)} }
	fullMode := patch("/Organizations/o-parent", op("replace", "mode", "full"))
	cases := []struct {
		name  string
		steps []step
		want  []string
	}{
		{
			name: "the fixture is already resolved: an unrelated write changes no member",
			steps: []step{
				patch("/Users/u-erin", op("replace", "displayName", "Erin")),
			},
			want: fixtureMembers,
		},
		{
			name:  "staged: a deactivated user's scim member is removed",
			steps: []step{patch("/Users/u-bob", op("replace", "active", false))},
			want:  edit([]string{"o-hq bob@example.gov member standard scim"}),
		},
		{
			name:  "staged: a reactivated user comes back",
			steps: []step{patch("/Users/u-dan", op("replace", "active", true))},
			want:  edit(nil, "o-hq dan@example.gov member standard scim"),
		},
		{
			name:  "staged: a user taken out of the mapped group is removed",
			steps: []step{patch("/Groups/g-hq-users", op("remove", `members[value eq "u-bob"]`, nil))},
			want:  edit([]string{"o-hq bob@example.gov member standard scim"}),
		},
		{
			name:  "staged: a deleted user's member is removed",
			steps: []step{{"DELETE", "/Users/u-carol", nil}},
			want:  edit([]string{"o-west carol@example.gov member standard scim"}),
		},
		{
			name:  "staged: a user added to a mapped group becomes a scim member",
			steps: []step{patch("/Groups/g-hq-users", op("add", "members", []any{map[string]any{"value": "u-erin"}}))},
			want:  edit(nil, "o-hq erin@example.gov member standard scim"),
		},
		{
			name:  "nested groups count: a user added to a group nested in a mapped one is entitled",
			steps: []step{patch("/Groups/g-west-contractors", op("add", "members", []any{map[string]any{"value": "u-erin"}}))},
			want:  edit(nil, "o-west erin@example.gov member standard scim"),
		},
		{
			name: "nested group cycles are cut",
			steps: []step{
				patch("/Groups/g-west-contractors", op("add", "members", []any{map[string]any{"value": "g-west-users"}})),
				patch("/Groups/g-west-contractors", op("add", "members", []any{map[string]any{"value": "u-erin"}})),
			},
			want: edit(nil, "o-west erin@example.gov member standard scim"),
		},
		{
			name: "the highest role and the highest tier of all mappings win",
			steps: []step{
				patch("/Groups/g-hq-admins", op("add", "members", []any{map[string]any{"value": "u-bob"}})),
			},
			want: edit([]string{"o-hq bob@example.gov member standard scim"}, "o-hq bob@example.gov owner premium scim"),
		},
		{
			name: "a mapping change re-roles members",
			steps: []step{
				patch("/Organizations/o-hq", op("replace", "mappings", []any{
					map[string]any{"group": "g-hq-admins", "role": "admin", "seatTier": "premium"},
					map[string]any{"group": "g-hq-users", "role": "member", "seatTier": "premium"},
				})),
			},
			want: edit([]string{"o-hq alice@example.gov owner premium scim", "o-hq bob@example.gov member standard scim"},
				"o-hq alice@example.gov admin premium scim", "o-hq bob@example.gov member premium scim"),
		},
		{
			name: "staged: an unmapped group's scim members are removed, jit and manual members stay",
			steps: []step{
				patch("/Organizations/o-hq", op("remove", "mappings", nil)),
			},
			want: edit([]string{"o-hq alice@example.gov owner premium scim", "o-hq bob@example.gov member standard scim"}),
		},
		{
			name:  "a deleted mapped group entitles nobody",
			steps: []step{{"DELETE", "/Groups/g-west-users", nil}},
			want:  edit([]string{"o-west carol@example.gov member standard scim"}),
		},
		{
			name: "staged: a jit member is linked to its newly entitled user, matched by email in any case",
			steps: []step{
				{"POST", "/Users", map[string]any{"userName": "Frank@Example.GOV"}},
				// Frank is in hq's users group: member, standard, which
				// re-roles the jit admin.
				patch("/Groups/g-hq-users", op("add", "members", []any{map[string]any{"value": newUserID(1)}})),
			},
			want: edit([]string{"o-hq frank@example.gov admin standard jit"}, "o-hq frank@example.gov member standard scim"),
		},
		{
			name: "a user matches by any of its emails",
			steps: []step{
				patch("/Users/u-erin", op("add", "emails", []any{map[string]any{"value": "WENDY@example.gov"}})),
				patch("/Groups/g-west-contractors", op("add", "members", []any{map[string]any{"value": "u-erin"}})),
			},
			want: edit([]string{"o-west wendy@example.gov member standard manual"}, "o-west wendy@example.gov member standard scim"),
		},
		{
			name:  "full: only entitled users, the primary owner and live exceptions remain",
			steps: []step{fullMode},
			want: edit([]string{
				"o-hq frank@example.gov admin standard jit",       // not provisioned via SCIM
				"o-hq gone@example.gov member standard jit",       // exception expired yesterday
				"o-west wendy@example.gov member standard manual", // not provisioned via SCIM
			}),
		},
		{
			name:  "full: an exception ends with its date",
			steps: []step{fullMode, patch("/Organizations/o-hq", op("replace", "exceptions", []any{map[string]any{"email": "contractor@example.gov", "until": "2026-05-31"}}))},
			want: edit([]string{
				"o-hq contractor@example.gov member standard jit",
				"o-hq frank@example.gov admin standard jit",
				"o-hq gone@example.gov member standard jit",
				"o-west wendy@example.gov member standard manual",
			}),
		},
		{
			name:  "full: an exception dated today still holds, and keeps its member as it is",
			steps: []step{patch("/Organizations/o-hq", op("add", "exceptions", []any{map[string]any{"email": "FRANK@example.gov", "until": "2026-06-01"}})), fullMode},
			want: edit([]string{
				"o-hq gone@example.gov member standard jit",
				"o-west wendy@example.gov member standard manual",
			}),
		},
		{
			name:  "full: a deactivated user is removed, the primary owner never is",
			steps: []step{fullMode, patch("/Organizations/o-hq", op("remove", "mappings", nil)), patch("/Users/u-alice", op("replace", "active", false))},
			want: []string{
				"o-hq boss@example.gov primary-owner premium manual",
				"o-hq contractor@example.gov member standard jit",
				"o-west carol@example.gov member standard scim",
			},
		},
		{
			name:  "full: the primary owner is neither re-roled nor linked",
			steps: []step{{"POST", "/Users", map[string]any{"userName": "boss@example.gov"}}, patch("/Groups/g-hq-users", op("add", "members", []any{map[string]any{"value": newUserID(1)}})), fullMode},
			want: edit([]string{
				"o-hq frank@example.gov admin standard jit",
				"o-hq gone@example.gov member standard jit",
				"o-west wendy@example.gov member standard manual",
			}),
		},
		{
			name: "jit: SCIM changes nobody",
			steps: []step{
				patch("/Organizations/o-parent", op("replace", "mode", "jit")),
				patch("/Users/u-bob", op("replace", "active", false)),
				patch("/Groups/g-hq-users", op("add", "members", []any{map[string]any{"value": "u-erin"}})),
			},
			want: fixtureMembers,
		},
		{
			name: "back from jit to staged, members are resolved again",
			steps: []step{
				patch("/Organizations/o-parent", op("replace", "mode", "jit")),
				patch("/Users/u-bob", op("replace", "active", false)),
				patch("/Organizations/o-parent", op("replace", "mode", "staged")),
			},
			want: edit([]string{"o-hq bob@example.gov member standard scim"}),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newFixtureServer(t, Options{})
			for _, s := range c.steps {
				r := ts.call(t, s.method, s.path, s.body)
				if r.status >= 300 {
					t.Fatalf("%s %s: %d %s", s.method, s.path, r.status, r.raw)
				}
			}
			if diff := cmp.Diff(c.want, ts.memberSet(t)); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
}

// newUserID is the id the fixture server gives the n-th user it creates.
func newUserID(n int) string {
	return newID("User", n, func(string) bool { return false })
}

func TestMemberMetaFollowsChanges(t *testing.T) {
	now := testNow
	ts := NewTestServer(t, fixture(), Options{Now: func() time.Time { return now }})
	before := ts.call(t, "GET", "/Members/m-bob", nil).want(t, 200)
	now = now.Add(time.Hour)
	ts.call(t, "PATCH", "/Groups/g-hq-admins", patchBody(op("add", "members", []any{map[string]any{"value": "u-bob"}}))).want(t, 200)
	after := ts.call(t, "GET", "/Members/m-bob", nil).want(t, 200)
	if after.str("role") != "owner" {
		t.Fatalf("bob's role %q after joining the admins", after.str("role"))
	}
	bm, am := before.body["meta"].(map[string]any), after.body["meta"].(map[string]any)
	if am["lastModified"] != "2026-06-01T13:00:00Z" || am["version"] == bm["version"] || after.header.Get("ETag") != am["version"] {
		t.Errorf("member meta after a change: %v (before %v)", am, bm)
	}
	// An unchanged member keeps its meta.
	if diff := cmp.Diff(
		ts.call(t, "GET", "/Members/m-carol", nil).want(t, 200).body["meta"],
		fixtureMeta(t, ts, "m-carol")); diff != "" {
		t.Errorf("an unchanged member's meta changed:\n%s", diff)
	}
	// New members get ids that do not depend on the order of writes.
	ts.call(t, "PATCH", "/Groups/g-hq-users", patchBody(op("add", "members", []any{map[string]any{"value": "u-erin"}}))).want(t, 200)
	r := ts.call(t, "GET", "/Members?filter="+q(`email eq "erin@example.gov"`), nil).want(t, 200)
	other := newFixtureServer(t, Options{})
	other.call(t, "PATCH", "/Users/u-erin", patchBody(op("replace", "displayName", "E"))).want(t, 200)
	other.call(t, "PATCH", "/Groups/g-hq-users", patchBody(op("add", "members", []any{map[string]any{"value": "u-erin"}}))).want(t, 200)
	r2 := other.call(t, "GET", "/Members?filter="+q(`email eq "erin@example.gov"`), nil).want(t, 200)
	if len(r.ids()) != 1 || !slices.Equal(r.ids(), r2.ids()) {
		t.Errorf("new member ids %v and %v", r.ids(), r2.ids())
	}
}

func fixtureMeta(t *testing.T, ts *TestServer, id string) any {
	t.Helper()
	for _, m := range fixture().Members {
		if m.ID == id {
			return map[string]any{"resourceType": "Member", "created": m.Meta.Created, "lastModified": m.Meta.LastModified, "version": m.Meta.Version, "location": ts.URL + "/Members/" + id}
		}
	}
	t.Fatalf("no fixture member %s", id)
	return nil
}
