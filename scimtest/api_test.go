package scimtest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

func TestAuth(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	for _, path := range []string{"/Users", "/Users/u-alice", "/Members", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes"} {
		r := ts.callAs(t, "", "GET", path, nil).want(t, 401)
		if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("GET %s without a token: WWW-Authenticate %q", path, got)
		}
		ts.callAs(t, "wrong", "GET", path, nil).want(t, 401)
		ts.callAs(t, ts.Token+"x", "GET", path, nil).want(t, 401)
		ts.call(t, "GET", path, nil).want(t, 200)
	}
}

func TestAuthNoTokenConfigured(t *testing.T) {
	srv, err := New(fixture(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/Users", nil)
	req.Header.Set("Authorization", "Bearer ")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Fatalf("a server without a token answered %d, want 401 for every request", rec.Code)
	}
	ts := newFixtureServer(t, Options{NoAuth: true})
	ts.callAs(t, "", "GET", "/Users", nil).want(t, 200)
}

func TestMountedUnderBasePath(t *testing.T) {
	ts := newFixtureServer(t, Options{BasePath: "/v1/scim/v2/"})
	if !strings.HasSuffix(ts.URL, "/v1/scim/v2") {
		t.Fatalf("URL %s does not end in the base path", ts.URL)
	}
	r := ts.call(t, "GET", "/Users/u-alice", nil).want(t, 200)
	loc := r.body["meta"].(map[string]any)["location"]
	if loc != ts.URL+"/Users/u-alice" {
		t.Errorf("meta.location %v, want %s", loc, ts.URL+"/Users/u-alice")
	}
	root := &TestServer{Server: ts.Server, URL: ts.HTTP.URL, Token: ts.Token, HTTP: ts.HTTP}
	root.call(t, "GET", "/Users", nil).want(t, 404)
	root.call(t, "GET", "/v1/scim/v2x/Users", nil).want(t, 404)
	ts.call(t, "GET", "/Nothing", nil).want(t, 404)
	ts.call(t, "GET", "/Users/u-alice/extra", nil).want(t, 404)
}

func TestUserCRUD(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	created := ts.call(t, "POST", "/Users", map[string]any{
		"schemas":  []string{scim.SchemaUser},
		"UserName": "zoe@example.gov", // attribute names in any case
		"emails":   []map[string]any{{"value": "zoe@example.gov", "primary": true}},
	}).want(t, 201)
	id := created.str("id")
	if id == "" || created.header.Get("Location") != ts.URL+"/Users/"+id {
		t.Fatalf("created %s with Location %q", created.raw, created.header.Get("Location"))
	}
	if created.header.Get("ETag") != `W/"1"` || created.body["active"] != true {
		t.Fatalf("created user: ETag %q, active %v", created.header.Get("ETag"), created.body["active"])
	}
	m := created.body["meta"].(map[string]any)
	if m["created"] != "2026-06-01T12:00:00Z" || m["version"] != `W/"1"` || m["resourceType"] != "User" {
		t.Fatalf("created user meta %v", m)
	}
	got := ts.call(t, "GET", "/Users/"+id, nil).want(t, 200)
	if got.str("userName") != "zoe@example.gov" || got.header.Get("ETag") != `W/"1"` {
		t.Fatalf("GET after POST: %s", got.raw)
	}
	put := ts.call(t, "PUT", "/Users/"+id, map[string]any{
		"schemas": []string{scim.SchemaUser}, "id": "ignored", "userName": "zoe.new@example.gov", "active": false,
	}).want(t, 200)
	if put.str("id") != id || put.str("userName") != "zoe.new@example.gov" || put.body["active"] != false || put.body["emails"] != nil {
		t.Fatalf("PUT replaced the user with %s", put.raw)
	}
	if put.header.Get("ETag") != `W/"2"` {
		t.Errorf("ETag after PUT %q, want W/\"2\"", put.header.Get("ETag"))
	}
	ts.call(t, "DELETE", "/Users/"+id, nil).want(t, 204)
	ts.call(t, "GET", "/Users/"+id, nil).want(t, 404)
	ts.call(t, "DELETE", "/Users/"+id, nil).want(t, 404)
	ts.call(t, "PATCH", "/Users/"+id, patchBody(scim.PatchOp{Op: "replace", Path: "active", Value: true})).want(t, 404)
	ts.call(t, "POST", "/Users", map[string]any{"userName": "  "}).want(t, 400, "invalidValue")
	ts.call(t, "POST", "/Users", `{"userName": `).want(t, 400, "invalidSyntax")
	ts.call(t, "POST", "/Users/u-alice", map[string]any{"userName": "x"}).want(t, 405)
}

func TestDeleteUserLeavesGroups(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	before := ts.call(t, "GET", "/Groups/g-hq-users", nil).want(t, 200)
	ts.call(t, "DELETE", "/Users/u-bob", nil).want(t, 204)
	after := ts.call(t, "GET", "/Groups/g-hq-users", nil).want(t, 200)
	if got := memberValues(after); !slices.Equal(got, []string{"u-dan"}) {
		t.Errorf("group members after deleting u-bob: %v", got)
	}
	if before.header.Get("ETag") == after.header.Get("ETag") {
		t.Errorf("the group's version did not change when its member was deleted")
	}
}

func memberValues(r result) []string {
	var out []string
	ms, _ := r.body["members"].([]any)
	for _, m := range ms {
		out = append(out, m.(map[string]any)["value"].(string))
	}
	return out
}

func TestDeterministicIDs(t *testing.T) {
	run := func() []string {
		ts := newFixtureServer(t, Options{})
		var ids []string
		for _, n := range []string{"a@x.gov", "b@x.gov"} {
			ids = append(ids, ts.call(t, "POST", "/Users", map[string]any{"userName": n}).want(t, 201).str("id"))
		}
		ids = append(ids, ts.call(t, "POST", "/Groups", map[string]any{"displayName": "g"}).want(t, 201).str("id"))
		return ids
	}
	a, b := run(), run()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("ids differ between identical runs (-first +second):\n%s", diff)
	}
	if a[0] == a[1] || a[1] == a[2] {
		t.Fatalf("ids repeat: %v", a)
	}
}

func TestUniqueness(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	ts.call(t, "POST", "/Users", map[string]any{"userName": "ALICE@example.GOV"}).want(t, 409, "uniqueness")
	ts.call(t, "POST", "/Users", map[string]any{"userName": " alice@example.gov "}).want(t, 409, "uniqueness")
	ts.call(t, "PUT", "/Users/u-bob", map[string]any{"userName": "Alice@Example.gov"}).want(t, 409, "uniqueness")
	ts.call(t, "PATCH", "/Users/u-bob", patchBody(scim.PatchOp{Op: "replace", Path: "userName", Value: "alice@EXAMPLE.gov"})).want(t, 409, "uniqueness")
	// userNames compare by match.Email: a look-alike address with a Kelvin
	// sign is another user's, not a duplicate (issue 14 #3).
	ts.call(t, "POST", "/Users", map[string]any{"userName": "\u212aim@example.gov"}).want(t, 201)
	ts.call(t, "POST", "/Users", map[string]any{"userName": "kim@example.gov"}).want(t, 201)
	ts.call(t, "POST", "/Users", map[string]any{"userName": "KIM@example.gov"}).want(t, 409, "uniqueness")
	// and a filter on userName finds each alone.
	for name, filter := range map[string]string{"kim@example.gov": "KIM@example.gov", "\u212aim@example.gov": "\u212aIM@example.gov"} {
		r := ts.call(t, "GET", "/Users?filter="+q(`userName eq "`+filter+`"`), nil).want(t, 200)
		if r.total() != 1 || r.resources()[0]["userName"] != name {
			t.Errorf("filter userName eq %+q: %d users %v", filter, r.total(), r.resources())
		}
	}
	// A user may change the case of its own userName.
	ts.call(t, "PATCH", "/Users/u-alice", patchBody(scim.PatchOp{Op: "replace", Path: "userName", Value: "Alice@Example.gov"})).want(t, 200)
	if got := ts.call(t, "GET", "/Users?filter="+q(`userName eq "alice@example.gov"`), nil).want(t, 200).total(); got != 1 {
		t.Fatalf("after the failed writes %d users match alice, want 1", got)
	}
}

func TestPatchUser(t *testing.T) {
	type tc struct {
		name   string
		ops    []scim.PatchOp
		status int
		typ    string
		check  func(t *testing.T, u map[string]any)
	}
	emailsOf := func(u map[string]any) []string {
		var out []string
		es, _ := u["emails"].([]any)
		for _, e := range es {
			em := e.(map[string]any)
			out = append(out, em["value"].(string)+"/"+strOr(em["type"]))
		}
		return out
	}
	wantEmails := func(want ...string) func(t *testing.T, u map[string]any) {
		return func(t *testing.T, u map[string]any) {
			t.Helper()
			if diff := cmp.Diff(want, emailsOf(u)); diff != "" {
				t.Errorf("emails (-want +got):\n%s", diff)
			}
		}
	}
	cases := []tc{
		{name: "replace active by path", ops: []scim.PatchOp{{Op: "replace", Path: "active", Value: false}}, status: 200,
			check: func(t *testing.T, u map[string]any) {
				if u["active"] != false {
					t.Errorf("active %v", u["active"])
				}
			}},
		{name: "replace without path, op and attribute in other cases, Entra's string boolean", ops: []scim.PatchOp{{Op: "Replace", Value: map[string]any{"Active": "False", "displayName": "Bob B"}}}, status: 200,
			check: func(t *testing.T, u map[string]any) {
				if u["active"] != false || u["displayName"] != "Bob B" {
					t.Errorf("active %v displayName %v", u["active"], u["displayName"])
				}
			}},
		{name: "schema-qualified path", ops: []scim.PatchOp{{Op: "replace", Path: scim.SchemaUser + ":displayName", Value: "B"}}, status: 200,
			check: func(t *testing.T, u map[string]any) {
				if u["displayName"] != "B" {
					t.Errorf("displayName %v", u["displayName"])
				}
			}},
		{name: "add email appends", ops: []scim.PatchOp{{Op: "add", Path: "emails", Value: []any{map[string]any{"Value": "b@x.gov", "type": "home"}}}}, status: 200,
			check: wantEmails("bob@example.gov/work", "robert@example.gov/work", "b@x.gov/home")},
		{name: "add an email already there changes nothing", ops: []scim.PatchOp{{Op: "add", Path: "emails", Value: map[string]any{"value": "bob@example.gov", "type": "work", "primary": true}}}, status: 200,
			check: wantEmails("bob@example.gov/work", "robert@example.gov/work")},
		{name: "replace emails replaces all", ops: []scim.PatchOp{{Op: "replace", Path: "emails", Value: []any{map[string]any{"value": "only@x.gov"}}}}, status: 200,
			check: wantEmails("only@x.gov/")},
		{name: "replace a sub-attribute through a value path", ops: []scim.PatchOp{{Op: "replace", Path: `emails[value eq "ROBERT@example.gov"].type`, Value: "home"}}, status: 200,
			check: wantEmails("bob@example.gov/work", "robert@example.gov/home")},
		{name: "replace the values a value path selects", ops: []scim.PatchOp{{Op: "replace", Path: `emails[type eq "work" and value sw "rob"]`, Value: map[string]any{"value": "rob@x.gov", "type": "other"}}}, status: 200,
			check: wantEmails("bob@example.gov/work", "rob@x.gov/other")},
		{name: "remove through a value path", ops: []scim.PatchOp{{Op: "remove", Path: `emails[value eq "robert@example.gov"]`}}, status: 200,
			check: wantEmails("bob@example.gov/work")},
		{name: "remove a sub-attribute through a value path", ops: []scim.PatchOp{{Op: "remove", Path: `emails[value eq "robert@example.gov"].type`}}, status: 200,
			check: wantEmails("bob@example.gov/work", "robert@example.gov/")},
		{name: "remove a whole attribute", ops: []scim.PatchOp{{Op: "remove", Path: "emails"}}, status: 200,
			check: wantEmails()},
		{name: "add a sub-attribute of a complex attribute", ops: []scim.PatchOp{{Op: "add", Path: "name.givenName", Value: "Bob"}, {Op: "add", Path: "name", Value: map[string]any{"familyName": "Builder"}}}, status: 200,
			check: func(t *testing.T, u map[string]any) {
				if diff := cmp.Diff(map[string]any{"givenName": "Bob", "familyName": "Builder"}, u["name"]); diff != "" {
					t.Errorf("name (-want +got):\n%s", diff)
				}
			}},
		{name: "remove needs a path", ops: []scim.PatchOp{{Op: "remove"}}, status: 400, typ: "noTarget"},
		{name: "replace through a value path matching nothing", ops: []scim.PatchOp{{Op: "replace", Path: `emails[value eq "nobody@x.gov"].type`, Value: "home"}}, status: 400, typ: "noTarget"},
		{name: "remove through a value path matching nothing", ops: []scim.PatchOp{{Op: "remove", Path: `emails[value eq "nobody@x.gov"]`}}, status: 400, typ: "noTarget"},
		{name: "malformed path", ops: []scim.PatchOp{{Op: "replace", Path: `emails[value eq`, Value: "x"}}, status: 400, typ: "invalidPath"},
		{name: "unknown attribute", ops: []scim.PatchOp{{Op: "replace", Path: "shoeSize", Value: 42}}, status: 400, typ: "invalidPath"},
		{name: "unknown attribute in a value filter", ops: []scim.PatchOp{{Op: "remove", Path: `emails[colour eq "red"]`}}, status: 400, typ: "invalidFilter"},
		{name: "read-only attribute", ops: []scim.PatchOp{{Op: "replace", Path: "id", Value: "u-x"}}, status: 400, typ: "mutability"},
		{name: "read-only attribute without a path", ops: []scim.PatchOp{{Op: "replace", Value: map[string]any{"meta": map[string]any{"version": "x"}}}}, status: 400, typ: "mutability"},
		{name: "unknown op", ops: []scim.PatchOp{{Op: "move", Path: "active", Value: true}}, status: 400, typ: "invalidSyntax"},
		{name: "wrong type", ops: []scim.PatchOp{{Op: "replace", Path: "active", Value: "maybe"}}, status: 400, typ: "invalidValue"},
		{name: "a failing operation undoes the earlier ones", ops: []scim.PatchOp{{Op: "replace", Path: "displayName", Value: "changed"}, {Op: "remove"}}, status: 400, typ: "noTarget"},
		{name: "userName cannot be removed", ops: []scim.PatchOp{{Op: "remove", Path: "userName"}}, status: 400, typ: "invalidValue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newFixtureServer(t, Options{})
			before := ts.call(t, "GET", "/Users/u-bob", nil).want(t, 200)
			r := ts.call(t, "PATCH", "/Users/u-bob", patchBody(c.ops...))
			if c.typ != "" {
				r.want(t, c.status, c.typ)
			} else {
				r.want(t, c.status)
			}
			after := ts.call(t, "GET", "/Users/u-bob", nil).want(t, 200)
			if c.status != 200 {
				if diff := cmp.Diff(before.body, after.body); diff != "" {
					t.Fatalf("a failed PATCH changed the user (-before +after):\n%s", diff)
				}
				return
			}
			if diff := cmp.Diff(r.body, after.body); diff != "" {
				t.Errorf("PATCH answer and GET differ (-patch +get):\n%s", diff)
			}
			if after.header.Get("ETag") != `W/"2"` {
				t.Errorf("ETag after PATCH %q, want W/\"2\"", after.header.Get("ETag"))
			}
			c.check(t, after.body)
		})
	}
	t.Run("bad message", func(t *testing.T) {
		ts := newFixtureServer(t, Options{})
		ts.call(t, "PATCH", "/Users/u-bob", map[string]any{"Operations": []any{map[string]any{"op": "remove", "path": "emails"}}}).want(t, 400, "invalidSyntax")
		ts.call(t, "PATCH", "/Users/u-bob", map[string]any{"schemas": []string{scim.SchemaPatchOp}}).want(t, 400, "invalidSyntax")
		ts.call(t, "PATCH", "/Users/u-bob", "not json").want(t, 400, "invalidSyntax")
	})
}

func strOr(v any) string { s, _ := v.(string); return s }

func TestPatchGroupMembers(t *testing.T) {
	cases := []struct {
		name   string
		ops    []scim.PatchOp
		status int
		typ    string
		want   []string
	}{
		{name: "add", ops: []scim.PatchOp{{Op: "add", Path: "members", Value: []any{map[string]any{"value": "u-erin"}, map[string]any{"value": "u-bob"}}}}, status: 200, want: []string{"u-bob", "u-dan", "u-erin"}},
		{name: "add a group", ops: []scim.PatchOp{{Op: "add", Path: "members", Value: []any{map[string]any{"value": "g-unmapped"}}}}, status: 200, want: []string{"u-bob", "u-dan", "g-unmapped"}},
		{name: "remove with a value path", ops: []scim.PatchOp{{Op: "remove", Path: `members[value eq "u-bob"]`}}, status: 200, want: []string{"u-dan"}},
		{name: "remove with an or filter", ops: []scim.PatchOp{{Op: "remove", Path: `members[value eq "u-bob" or value eq "u-dan"]`}}, status: 200, want: nil},
		{name: "remove without a filter removes every member", ops: []scim.PatchOp{{Op: "remove", Path: "members"}}, status: 200, want: nil},
		{name: "remove listed in value, as Entra ID sends it", ops: []scim.PatchOp{{Op: "Remove", Path: "members", Value: []any{map[string]any{"value": "u-dan"}}}}, status: 200, want: []string{"u-bob"}},
		{name: "replace members", ops: []scim.PatchOp{{Op: "replace", Path: "members", Value: []any{map[string]any{"value": "u-erin"}}}}, status: 200, want: []string{"u-erin"}},
		{name: "value filters compare ids exactly", ops: []scim.PatchOp{{Op: "remove", Path: `members[value eq "U-BOB"]`}}, status: 400, typ: "noTarget"},
		{name: "remove a member that is not there", ops: []scim.PatchOp{{Op: "remove", Path: `members[value eq "u-erin"]`}}, status: 400, typ: "noTarget"},
		{name: "add a member that does not exist", ops: []scim.PatchOp{{Op: "add", Path: "members", Value: []any{map[string]any{"value": "u-nobody"}}}}, status: 400, typ: "invalidValue"},
		{name: "add the group to itself", ops: []scim.PatchOp{{Op: "add", Path: "members", Value: []any{map[string]any{"value": "g-hq-users"}}}}, status: 400, typ: "invalidValue"},
		{name: "unknown sub-attribute", ops: []scim.PatchOp{{Op: "add", Path: "members", Value: []any{map[string]any{"value": "u-erin", "weight": 3}}}}, status: 400, typ: "invalidValue"},
		{name: "members.value needs a filter", ops: []scim.PatchOp{{Op: "replace", Path: "members.value", Value: "u-erin"}}, status: 400, typ: "invalidPath"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newFixtureServer(t, Options{})
			r := ts.call(t, "PATCH", "/Groups/g-hq-users", patchBody(c.ops...))
			if c.typ != "" {
				r.want(t, c.status, c.typ)
			} else {
				r.want(t, c.status)
			}
			got := memberValues(ts.call(t, "GET", "/Groups/g-hq-users", nil).want(t, 200))
			want := c.want
			if c.status != 200 {
				want = []string{"u-bob", "u-dan"}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupCRUD(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	g := ts.call(t, "POST", "/Groups", map[string]any{"displayName": "new", "members": []any{map[string]any{"value": "u-erin"}, map[string]any{"value": "g-unmapped"}}}).want(t, 201)
	id := g.str("id")
	ms := g.body["members"].([]any)
	if ms[0].(map[string]any)["type"] != "User" || ms[1].(map[string]any)["type"] != "Group" {
		t.Errorf("member types not filled in: %s", g.raw)
	}
	ts.call(t, "POST", "/Groups", map[string]any{"displayName": ""}).want(t, 400, "invalidValue")
	ts.call(t, "POST", "/Groups", map[string]any{"displayName": "x", "members": []any{map[string]any{"value": "nobody"}}}).want(t, 400, "invalidValue")
	ts.call(t, "PUT", "/Groups/"+id, map[string]any{"displayName": "renamed"}).want(t, 200)
	ts.call(t, "DELETE", "/Groups/g-unmapped", nil).want(t, 204)
	if got := memberValues(ts.call(t, "GET", "/Groups/"+id, nil).want(t, 200)); got != nil {
		t.Errorf("after PUT without members and deleting the nested group: members %v", got)
	}
	ts.call(t, "GET", "/Groups/g-unmapped", nil).want(t, 404)
}

func TestIfMatch(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	op := patchBody(scim.PatchOp{Op: "replace", Path: "displayName", Value: "x"})
	ts.call(t, "PATCH", "/Users/u-bob", op, "If-Match", `W/"7"`).want(t, 412)
	ts.call(t, "PUT", "/Users/u-bob", map[string]any{"userName": "bob@example.gov"}, "If-Match", `W/"7"`).want(t, 412)
	ts.call(t, "DELETE", "/Users/u-bob", nil, "If-Match", `W/"7"`).want(t, 412)
	ts.call(t, "PATCH", "/Groups/g-hq-users", patchBody(scim.PatchOp{Op: "remove", Path: "members"}), "If-Match", `W/"0"`).want(t, 412)
	u := ts.call(t, "GET", "/Users/u-bob", nil).want(t, 200)
	if u.str("displayName") != "" || u.header.Get("ETag") != `W/"1"` {
		t.Fatalf("a 412 changed the user: %s", u.raw)
	}
	r := ts.call(t, "PATCH", "/Users/u-bob", op, "If-Match", `W/"1"`).want(t, 200)
	if r.header.Get("ETag") != `W/"2"` {
		t.Fatalf("ETag after PATCH %q", r.header.Get("ETag"))
	}
	ts.call(t, "PATCH", "/Users/u-bob", op, "If-Match", `W/"1"`).want(t, 412)
	ts.call(t, "PATCH", "/Users/u-bob", op, "If-Match", `"2"`).want(t, 200) // weak comparison
	ts.call(t, "PATCH", "/Users/u-bob", op, "If-Match", `W/"9", W/"3"`).want(t, 200)
	ts.call(t, "PATCH", "/Users/u-bob", op, "If-Match", `*`).want(t, 200)

	// If-None-Match on GET.
	cur := ts.call(t, "GET", "/Users/u-bob", nil).want(t, 200).header.Get("ETag")
	ts.call(t, "GET", "/Users/u-bob", nil, "If-None-Match", cur).want(t, 304)
	ts.call(t, "GET", "/Users/u-bob", nil, "If-None-Match", `W/"1"`).want(t, 200)

	// Organizations: stale → 412 and nothing changes, members included.
	members := ts.memberSet(t)
	full := patchBody(scim.PatchOp{Op: "replace", Path: "mode", Value: "full"})
	ts.call(t, "PATCH", "/Organizations/o-parent", full, "If-Match", `W/"2"`).want(t, 412)
	if got := ts.call(t, "GET", "/Organizations/o-parent", nil).want(t, 200); got.str("mode") != "staged" || got.header.Get("ETag") != `W/"1"` {
		t.Fatalf("a 412 changed the organization: %s", got.raw)
	}
	if diff := cmp.Diff(members, ts.memberSet(t)); diff != "" {
		t.Fatalf("a 412 changed members:\n%s", diff)
	}
	if r := ts.call(t, "PATCH", "/Organizations/o-parent", full, "If-Match", `W/"1"`).want(t, 200); r.header.Get("ETag") != `W/"2"` || r.str("mode") != "full" {
		t.Fatalf("PATCH with the current version: %s", r.raw)
	}
}

func q(filter string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22", "[", "%5B", "]", "%5D", "&", "%26", "+", "%2B").Replace(filter)
}

func TestFilters(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	ts.call(t, "PATCH", "/Users/u-erin", patchBody(scim.PatchOp{Op: "replace", Path: "externalId", Value: "Ext-1"})).want(t, 200)
	cases := []struct {
		path, filter string
		want         []string
	}{
		{"/Users", `userName eq "ALICE@example.gov"`, []string{"u-alice"}},
		{"/Users", `UserName Eq "carol@example.gov"`, []string{"u-carol"}},
		{"/Users", `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@example.gov"`, []string{"u-bob"}},
		{"/Users", `userName ne "alice@example.gov"`, []string{"u-bob", "u-carol", "u-dan", "u-erin"}},
		{"/Users", `emails[value eq "ROBERT@example.gov"]`, []string{"u-bob"}},
		{"/Users", `emails[type eq "work" and value co "ROB"]`, []string{"u-bob"}},
		{"/Users", `emails.value ew "@EXAMPLE.GOV"`, []string{"u-alice", "u-bob", "u-dan", "u-erin"}},
		{"/Users", `emails co "robert"`, []string{"u-bob"}},
		{"/Users", `userName sw "c"`, []string{"u-carol"}},
		{"/Users", `emails pr`, []string{"u-alice", "u-bob", "u-dan", "u-erin"}},
		{"/Users", `not (emails pr)`, []string{"u-carol"}},
		{"/Users", `active eq false`, []string{"u-dan"}},
		{"/Users", `active eq true and (userName sw "a" or userName sw "b")`, []string{"u-alice", "u-bob"}},
		{"/Users", `userName sw "a" or userName sw "b" and active eq false`, []string{"u-alice"}},
		{"/Users", `externalId eq "ext-1"`, nil}, // caseExact
		{"/Users", `externalId eq "Ext-1"`, []string{"u-erin"}},
		{"/Users", `id eq "U-ALICE"`, nil},
		{"/Users", `meta.lastModified gt "2026-03-01T00:00:00Z"`, []string{"u-erin"}},
		{"/Users", `meta.lastModified le "2026-01-01T00:00:00+00:00"`, []string{"u-alice", "u-bob", "u-carol", "u-dan"}},
		{"/Users", `meta.lastModified ge "2026-06-01T12:00:00Z" and meta.lastModified lt "2026-06-01T12:00:01Z"`, []string{"u-erin"}},
		{"/Users", `userName eq "a \"quoted\" name"`, nil},
		{"/Groups", `displayName eq "CLAUDE-HQ-USERS"`, []string{"g-hq-users"}},
		{"/Groups", `members[value eq "u-bob"]`, []string{"g-hq-users"}},
		{"/Groups", `members.type eq "group"`, []string{"g-west-users"}},
		{"/Members", `organization eq "o-west"`, []string{"m-carol", "m-wendy"}},
		{"/Members", `organization eq "o-hq" and origin eq "scim"`, []string{"m-alice", "m-bob"}},
		{"/Members", `email eq "WENDY@example.gov"`, []string{"m-wendy"}},
		{"/Organizations", `parent eq "o-parent"`, []string{"o-hq", "o-west"}},
		{"/Organizations", `mappings[group eq "g-west-users"]`, []string{"o-west"}},
		{"/Organizations", `parent pr`, []string{"o-hq", "o-west"}},
	}
	for _, c := range cases {
		t.Run(c.path+" "+c.filter, func(t *testing.T) {
			got := ts.call(t, "GET", c.path+"?filter="+q(c.filter), nil).want(t, 200)
			if diff := cmp.Diff(c.want, got.ids()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if got.total() != len(c.want) {
				t.Errorf("totalResults %d, want %d", got.total(), len(c.want))
			}
		})
	}
	for _, bad := range []string{
		`userName eq`,
		`userName xx "a"`,
		`shoeSize eq "42"`,
		`emails[colour eq "red"]`,
		`name.nickname eq "x"`,
		`active gt true`,
		`active eq "true"`,
		`userName eq true`,
		`meta.lastModified gt "yesterday"`,
		`(userName eq "a"`,
		`userName eq "a" and`,
		`urn:example:Other:userName eq "a"`,
		`name eq "x"`,
		``,
	} {
		t.Run("invalid "+bad, func(t *testing.T) {
			ts.call(t, "GET", "/Users?filter="+q(bad), nil).want(t, 400, "invalidFilter")
		})
	}
}

func TestPagination(t *testing.T) {
	ts := newFixtureServer(t, Options{PageCap: 2})
	cases := []struct {
		query     string
		want      []string
		start     int
		itemsPage int
	}{
		{"", []string{"u-alice", "u-bob"}, 1, 2},
		{"?count=10", []string{"u-alice", "u-bob"}, 1, 2},
		{"?startIndex=3&count=2", []string{"u-carol", "u-dan"}, 3, 2},
		{"?startIndex=5&count=2", []string{"u-erin"}, 5, 1},
		{"?startIndex=0&count=1", []string{"u-alice"}, 1, 1},
		{"?startIndex=-4&count=1", []string{"u-alice"}, 1, 1},
		{"?startIndex=99", nil, 99, 0},
		{"?startIndex=9223372036854775807", nil, 2147483647, 0},
		{"?count=0", nil, 1, 0},
		{"?count=-3", nil, 1, 0},
		{"?startIndex=2&count=1&filter=" + q(`active eq true`), []string{"u-bob"}, 2, 1},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			r := ts.call(t, "GET", "/Users"+c.query, nil).want(t, 200)
			if diff := cmp.Diff(c.want, r.ids()); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			wantTotal := 5
			if strings.Contains(c.query, "filter") {
				wantTotal = 4
			}
			if r.total() != wantTotal || int(r.body["startIndex"].(float64)) != c.start || int(r.body["itemsPerPage"].(float64)) != c.itemsPage {
				t.Errorf("totalResults %v startIndex %v itemsPerPage %v", r.body["totalResults"], r.body["startIndex"], r.body["itemsPerPage"])
			}
			if s, _ := r.body["schemas"].([]any); len(s) != 1 || s[0] != scim.SchemaListResponse {
				t.Errorf("schemas %v", r.body["schemas"])
			}
		})
	}
	ts.call(t, "GET", "/Users?startIndex=x", nil).want(t, 400, "invalidValue")
	ts.call(t, "GET", "/Users?count=1.5", nil).want(t, 400, "invalidValue")
	// Reading page by page, advancing by what each page returned, yields
	// every user once.
	var all []string
	for start := 1; ; {
		r := ts.call(t, "GET", "/Users?count=100&startIndex="+itoa(start), nil).want(t, 200)
		if len(r.ids()) == 0 {
			break
		}
		all = append(all, r.ids()...)
		start += len(r.ids())
	}
	if diff := cmp.Diff([]string{"u-alice", "u-bob", "u-carol", "u-dan", "u-erin"}, all); diff != "" {
		t.Errorf("paged listing (-want +got):\n%s", diff)
	}
	if got := ts.Stats().Faults[FaultPageCap]; got == 0 {
		t.Errorf("Stats().Faults[pageCap] = 0 after capped pages")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestAttributes(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	r := ts.call(t, "GET", "/Groups?excludedAttributes=members", nil).want(t, 200)
	for _, g := range r.resources() {
		if _, ok := g["members"]; ok {
			t.Errorf("group %v listed with members despite excludedAttributes=members", g["id"])
		}
		if g["displayName"] == nil || g["meta"] == nil {
			t.Errorf("excludedAttributes=members dropped more: %v", g)
		}
	}
	u := ts.call(t, "GET", "/Users/u-bob?attributes=USERNAME,emails.value", nil).want(t, 200)
	want := map[string]any{
		"id": "u-bob", "schemas": []any{scim.SchemaUser}, "userName": "bob@example.gov",
		"emails": []any{map[string]any{"value": "bob@example.gov"}, map[string]any{"value": "robert@example.gov"}},
	}
	if diff := cmp.Diff(want, u.body); diff != "" {
		t.Errorf("attributes=userName,emails.value (-want +got):\n%s", diff)
	}
	u = ts.call(t, "GET", "/Users/u-bob?excludedAttributes=emails.type,meta,id", nil).want(t, 200)
	if u.body["meta"] != nil || u.body["id"] != "u-bob" {
		t.Errorf("excludedAttributes=meta,id: %s", u.raw)
	}
	if e := u.body["emails"].([]any)[0].(map[string]any); e["type"] != nil || e["value"] == nil {
		t.Errorf("excludedAttributes=emails.type: %v", e)
	}
}

func TestOrganizationsAndMembersAreNotCreatedOrDeleted(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	for _, c := range []struct{ method, path string }{
		{"POST", "/Organizations"}, {"DELETE", "/Organizations/o-hq"}, {"PUT", "/Organizations/o-hq"},
		{"PATCH", "/Organizations"},
		{"POST", "/Members"}, {"DELETE", "/Members/m-bob"}, {"PATCH", "/Members/m-bob"}, {"PUT", "/Members/m-bob"},
	} {
		r := ts.call(t, c.method, c.path, map[string]any{"name": "x"}).want(t, 405)
		if r.str("detail") == "" || r.header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without detail or Allow: %s", c.method, c.path, r.raw)
		}
	}
	ts.call(t, "GET", "/Organizations/o-nope", nil).want(t, 404)
	ts.call(t, "GET", "/Members/m-nope", nil).want(t, 404)
	m := ts.call(t, "GET", "/Members/m-carol", nil).want(t, 200)
	if m.header.Get("ETag") == "" || m.str("organization") != "o-west" || m.str("userId") != "u-carol" {
		t.Errorf("GET /Members/m-carol: %s", m.raw)
	}
}

func TestPatchOrganization(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	// What orgwrite.ApplyOrgPatch refuses, the server refuses with its
	// scimType, and nothing changes.
	for _, c := range []struct {
		id  string
		op  scim.PatchOp
		typ string
	}{
		{"o-parent", scim.PatchOp{Op: "replace", Path: "mode", Value: "sometimes"}, "invalidValue"},
		{"o-parent", scim.PatchOp{Op: "replace", Path: "name", Value: "renamed"}, "mutability"},
		{"o-parent", scim.PatchOp{Op: "replace", Path: "mappings", Value: []any{}}, "invalidPath"},
		{"o-hq", scim.PatchOp{Op: "replace", Path: "mode", Value: "full"}, "invalidPath"},
		{"o-hq", scim.PatchOp{Op: "add", Path: "mappings", Value: map[string]any{"group": "g-unmapped", "role": "primary-owner", "seatTier": "standard"}}, "invalidValue"},
		{"o-hq", scim.PatchOp{Op: "remove"}, "noTarget"},
		// What only the rest of the tenant shows (orgwrite.CheckOrgWrite).
		{"o-hq", scim.PatchOp{Op: "add", Path: "mappings", Value: map[string]any{"group": "g-no-such-group", "role": "member", "seatTier": "standard"}}, "invalidValue"},
		{"o-hq", scim.PatchOp{Op: "add", Path: "mappings", Value: map[string]any{"group": "g-unmapped", "role": "member", "seatTier": "gold"}}, "invalidValue"},
		{"o-hq", scim.PatchOp{Op: "add", Path: "seats", Value: map[string]any{"gold": 3}}, "invalidValue"},
		{"o-parent", scim.PatchOp{Op: "replace", Path: "seatTiers", Value: []any{"premium"}}, "invalidValue"},
	} {
		before := ts.call(t, "GET", "/Organizations/"+c.id, nil).want(t, 200)
		ts.call(t, "PATCH", "/Organizations/"+c.id, patchBody(c.op)).want(t, 400, c.typ)
		after := ts.call(t, "GET", "/Organizations/"+c.id, nil).want(t, 200)
		if diff := cmp.Diff(before.body, after.body); diff != "" {
			t.Errorf("%+v changed the organization:\n%s", c.op, diff)
		}
	}
	r := ts.call(t, "PATCH", "/Organizations/o-hq", patchBody(scim.PatchOp{Op: "add", Path: "seats", Value: map[string]any{"premium": 3}})).want(t, 200)
	if diff := cmp.Diff(map[string]any{"standard": float64(10), "premium": float64(3)}, r.body["seats"]); diff != "" {
		t.Errorf("seats after add (-want +got):\n%s", diff)
	}
	if m := r.body["meta"].(map[string]any); m["version"] != `W/"2"` || m["lastModified"] != "2026-06-01T12:00:00Z" {
		t.Errorf("meta after PATCH: %v", m)
	}
}

func TestDiscovery(t *testing.T) {
	ts := newFixtureServer(t, Options{PageCap: 50})
	rt := ts.call(t, "GET", "/ResourceTypes", nil).want(t, 200)
	got := map[string]string{}
	for _, r := range rt.resources() {
		got[r["endpoint"].(string)] = r["schema"].(string)
	}
	want := map[string]string{"/Users": scim.SchemaUser, "/Groups": scim.SchemaGroup, "/Organizations": scim.SchemaOrganization, "/Members": scim.SchemaMember}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resource types (-want +got):\n%s", diff)
	}
	if r := ts.call(t, "GET", "/ResourceTypes/Organization", nil).want(t, 200); r.str("endpoint") != "/Organizations" {
		t.Errorf("GET /ResourceTypes/Organization: %s", r.raw)
	}
	sc := ts.call(t, "GET", "/Schemas", nil).want(t, 200)
	var ids []string
	for _, s := range sc.resources() {
		ids = append(ids, s["id"].(string))
	}
	if diff := cmp.Diff([]string{scim.SchemaUser, scim.SchemaGroup, scim.SchemaOrganization, scim.SchemaMember}, ids); diff != "" {
		t.Errorf("schemas (-want +got):\n%s", diff)
	}
	user := ts.call(t, "GET", "/Schemas/"+scim.SchemaUser, nil).want(t, 200)
	for _, a := range user.body["attributes"].([]any) {
		a := a.(map[string]any)
		if a["name"] == "userName" && (a["caseExact"] != false || a["uniqueness"] != "server") {
			t.Errorf("userName attribute: %v", a)
		}
	}
	ts.call(t, "GET", "/Schemas/urn:nope", nil).want(t, 404)
	spc := ts.call(t, "GET", "/ServiceProviderConfig", nil).want(t, 200)
	if spc.body["patch"].(map[string]any)["supported"] != true || spc.body["etag"].(map[string]any)["supported"] != true ||
		spc.body["filter"].(map[string]any)["maxResults"] != float64(50) {
		t.Errorf("ServiceProviderConfig: %s", spc.raw)
	}
	ts.call(t, "POST", "/ServiceProviderConfig", map[string]any{}).want(t, 405)
}

func TestNewRefusesBadState(t *testing.T) {
	for name, mutate := range map[string]func(s *tenant.Snapshot){
		"duplicate user id":                        func(s *tenant.Snapshot) { s.Users[1].ID = s.Users[0].ID },
		"user without id":                          func(s *tenant.Snapshot) { s.Users[0].ID = "" },
		"two parents":                              func(s *tenant.Snapshot) { s.Organizations[1].Parent = "" },
		"bad mode":                                 func(s *tenant.Snapshot) { s.Organizations[0].Mode = "sometimes" },
		"member of no org":                         func(s *tenant.Snapshot) { s.Members[0].Organization = "o-nope" },
		"duplicate member ids":                     func(s *tenant.Snapshot) { s.Members[1].ID = s.Members[0].ID },
		"members without organizations":            func(s *tenant.Snapshot) { s.Organizations = nil },
		"duplicate group id without organizations": func(s *tenant.Snapshot) { s.Organizations, s.Members = nil, nil; s.Groups[1].ID = s.Groups[0].ID },
	} {
		t.Run(name, func(t *testing.T) {
			snap := fixture()
			mutate(snap)
			if _, err := New(snap, Options{}); err == nil {
				t.Fatal("New accepted the state")
			}
		})
	}
	// A plain SCIM tenant, without organizations, is served.
	snap := fixture()
	snap.Organizations, snap.Members = nil, nil
	ts := NewTestServer(t, snap, Options{})
	ts.call(t, "PATCH", "/Users/u-bob", patchBody(scim.PatchOp{Op: "replace", Path: "active", Value: false})).want(t, 200)
	if got := ts.call(t, "GET", "/Members", nil).want(t, 200).total(); got != 0 {
		t.Errorf("%d members without organizations", got)
	}
}

func TestNewFillsMissingVersions(t *testing.T) {
	snap := fixture()
	snap.Users[0].Meta = scim.Meta{}
	snap.Members[0].Meta = scim.Meta{}
	ts := NewTestServer(t, snap, Options{})
	for _, path := range []string{"/Users/" + snap.Users[0].ID, "/Members/" + snap.Members[0].ID} {
		r := ts.call(t, "GET", path, nil).want(t, 200)
		if r.header.Get("ETag") != `W/"1"` || r.body["meta"].(map[string]any)["version"] != `W/"1"` {
			t.Errorf("GET %s of a resource without meta.version: ETag %q, meta %v", path, r.header.Get("ETag"), r.body["meta"])
		}
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	snap := fixture()
	ts := NewTestServer(t, snap, Options{Now: func() time.Time { return testNow }})
	ts.call(t, "DELETE", "/Users/u-erin", nil).want(t, 204)
	if len(snap.Users) != 5 {
		t.Fatalf("the server changed the caller's snapshot")
	}
	got := ts.Snapshot()
	if len(got.Users) != 4 {
		t.Fatalf("Snapshot has %d users after a delete, want 4", len(got.Users))
	}
	got.Users[0].UserName = "changed"
	if ts.call(t, "GET", "/Users/u-alice", nil).want(t, 200).str("userName") != "alice@example.gov" {
		t.Fatalf("changing a Snapshot changed the server")
	}
	// The snapshot is served again as it is.
	again := NewTestServer(t, ts.Snapshot(), Options{})
	if diff := cmp.Diff(ts.memberSet(t), again.memberSet(t)); diff != "" {
		t.Errorf("members differ after a round trip:\n%s", diff)
	}
}

func TestConcurrentUse(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				if i%2 == 0 {
					ts.call(t, "GET", "/Members?filter="+q(`organization eq "o-hq"`), nil).want(t, 200)
					continue
				}
				active := j%2 == 0
				ts.call(t, "PATCH", "/Users/u-bob", patchBody(scim.PatchOp{Op: "replace", Path: "active", Value: active})).want(t, 200)
			}
		}()
	}
	wg.Wait()
	if got := ts.call(t, "GET", "/Users/u-bob", nil).want(t, 200).header.Get("ETag"); got != `W/"41"` {
		t.Errorf("after 40 PATCHes the version is %s, want W/\"41\"", got)
	}
}

func TestRequestLimits(t *testing.T) {
	ts := newFixtureServer(t, Options{MaxRequestBytes: 256})
	big := map[string]any{"userName": strings.Repeat("x", 300) + "@example.gov"}
	ts.call(t, "POST", "/Users", big).want(t, 413)
	ts.call(t, "PATCH", "/Users/u-bob", patchBody(op("replace", "displayName", strings.Repeat("x", 300)))).want(t, 413)
	if got := ts.call(t, "GET", "/Users?filter="+q(`userName sw "x"`), nil).want(t, 200).total(); got != 0 {
		t.Errorf("a refused POST created a user")
	}
	r := ts.call(t, "HEAD", "/Users/u-bob", nil)
	if r.status != 200 || len(r.raw) != 0 || r.header.Get("ETag") != `W/"1"` {
		t.Errorf("HEAD: %d %q ETag %q", r.status, r.raw, r.header.Get("ETag"))
	}
}
