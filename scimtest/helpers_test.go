package scimtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// testNow is the clock of fixture servers.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func email(v string, primary bool) scim.Email {
	return scim.Email{Value: v, Type: "work", Primary: scim.Bool(primary)}
}

func members(ids ...string) []scim.GroupMember {
	var out []scim.GroupMember
	for _, id := range ids {
		typ := "User"
		if strings.HasPrefix(id, "g-") {
			typ = "Group"
		}
		out = append(out, scim.GroupMember{Value: id, Type: typ})
	}
	return out
}

func meta(kind string) scim.Meta {
	return scim.Meta{ResourceType: kind, Created: "2026-01-01T00:00:00Z", LastModified: "2026-01-01T00:00:00Z", Version: `W/"1"`}
}

// fixture is a tenant in staged mode whose members are what resolution
// gives: hq maps g-hq-admins (owner, premium) and g-hq-users (member,
// standard); west maps g-west-users (member, standard), which nests
// g-west-contractors.
func fixture() *tenant.Snapshot {
	user := func(id, userName string, active bool, emails ...scim.Email) scim.User {
		return scim.User{Schemas: []string{scim.SchemaUser}, ID: id, UserName: userName, Active: scim.Bool(active), Emails: emails, Meta: meta("User")}
	}
	group := func(id, name string, ms ...string) scim.Group {
		return scim.Group{Schemas: []string{scim.SchemaGroup}, ID: id, DisplayName: name, Members: members(ms...), Meta: meta("Group")}
	}
	member := func(id, org, email, userID, role, tier, origin string) scim.Member {
		return scim.Member{Schemas: []string{scim.SchemaMember}, ID: id, Organization: org, Email: email, UserID: userID, Role: role, SeatTier: tier, Origin: origin, Meta: meta("Member")}
	}
	return &tenant.Snapshot{
		Users: []scim.User{
			user("u-alice", "alice@example.gov", true, email("alice@example.gov", true)),
			user("u-bob", "bob@example.gov", true, email("bob@example.gov", true), email("robert@example.gov", false)),
			user("u-carol", "Carol@Example.gov", true),
			user("u-dan", "dan@example.gov", false, email("dan@example.gov", true)),
			user("u-erin", "erin@example.gov", true, email("erin@example.gov", true)),
		},
		Groups: []scim.Group{
			group("g-hq-admins", "claude-hq-it-admins", "u-alice"),
			group("g-hq-users", "claude-hq-users", "u-bob", "u-dan"),
			group("g-west-users", "claude-west-users", "g-west-contractors"),
			group("g-west-contractors", "west-contractors", "u-carol"),
			group("g-unmapped", "Unmapped", "u-erin"),
		},
		Organizations: []scim.Organization{
			{Schemas: []string{scim.SchemaOrganization}, ID: "o-parent", Name: "example-agency", Mode: "staged",
				LoginDomains: []string{"example.gov"}, SeatTiers: []string{"standard", "premium"}, Meta: meta("Organization")},
			{Schemas: []string{scim.SchemaOrganization}, ID: "o-hq", Name: "hq", Parent: "o-parent",
				Mappings: []scim.Mapping{{Group: "g-hq-admins", Role: "owner", SeatTier: "premium"}, {Group: "g-hq-users", Role: "member", SeatTier: "standard"}},
				Seats:    map[string]int{"standard": 10, "premium": 2},
				Exceptions: []scim.Exception{
					{Email: "contractor@example.gov", Until: "2027-03-31", Reason: "badge pending"},
					{Email: "gone@example.gov", Until: "2026-05-31", Reason: "expired yesterday"},
				},
				Meta: meta("Organization")},
			{Schemas: []string{scim.SchemaOrganization}, ID: "o-west", Name: "regional-west", Parent: "o-parent",
				Mappings: []scim.Mapping{{Group: "g-west-users", Role: "member", SeatTier: "standard"}},
				Seats:    map[string]int{"standard": 5}, Meta: meta("Organization")},
		},
		Members: []scim.Member{
			member("m-alice", "o-hq", "alice@example.gov", "u-alice", "owner", "premium", "scim"),
			member("m-bob", "o-hq", "bob@example.gov", "u-bob", "member", "standard", "scim"),
			member("m-boss", "o-hq", "boss@example.gov", "", "primary-owner", "premium", "manual"),
			member("m-contractor", "o-hq", "contractor@example.gov", "", "member", "standard", "jit"),
			member("m-gone", "o-hq", "gone@example.gov", "", "member", "standard", "jit"),
			member("m-frank", "o-hq", "frank@example.gov", "", "admin", "standard", "jit"),
			member("m-carol", "o-west", "carol@example.gov", "u-carol", "member", "standard", "scim"),
			member("m-wendy", "o-west", "wendy@example.gov", "", "member", "standard", "manual"),
		},
	}
}

func newFixtureServer(t *testing.T, opts Options) *TestServer {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	return NewTestServer(t, fixture(), opts)
}

// result is an HTTP answer with its body decoded when it is JSON.
type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// str returns a top-level string attribute of the body.
func (r result) str(name string) string { s, _ := r.body[name].(string); return s }

// ids returns the ids of a list response's resources, in order.
func (r result) ids() []string {
	var out []string
	for _, res := range r.resources() {
		out = append(out, res["id"].(string))
	}
	return out
}

func (r result) resources() []map[string]any {
	var out []map[string]any
	list, _ := r.body["Resources"].([]any)
	for _, x := range list {
		out = append(out, x.(map[string]any))
	}
	return out
}

func (r result) total() int { n, _ := r.body["totalResults"].(float64); return int(n) }

// call sends a request with the server's token. body is JSON-encoded unless
// it is a string or nil. hdr holds extra headers as name, value pairs.
func (ts *TestServer) call(t *testing.T, method, path string, body any, hdr ...string) result {
	t.Helper()
	return ts.callAs(t, ts.Token, method, path, body, hdr...)
}

func (ts *TestServer) callAs(t *testing.T, token, method, path string, body any, hdr ...string) result {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.HTTP.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	res := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &res.body); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return res
}

// want fails the test unless r has the status (and, for errors, the
// scimType, when given).
func (r result) want(t *testing.T, status int, scimType ...string) result {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
	if len(scimType) > 0 && r.str("scimType") != scimType[0] {
		t.Fatalf("scimType %q, want %q; body %s", r.str("scimType"), scimType[0], r.raw)
	}
	if status >= 400 {
		// RFC 7644 §3.12: status is a string, and the error schema is set.
		if r.str("status") != strconv.Itoa(status) {
			t.Fatalf("error body status %v, want the string %q", r.body["status"], strconv.Itoa(status))
		}
		if s, _ := r.body["schemas"].([]any); len(s) != 1 || s[0] != scim.SchemaError {
			t.Fatalf("error body schemas %v, want [%s]", r.body["schemas"], scim.SchemaError)
		}
	}
	return r
}

func patchBody(ops ...scim.PatchOp) scim.PatchRequest { return scim.NewPatchRequest(ops...) }

// memberSet returns the members of the server as "org email role tier
// origin" lines, sorted by the server's order (org, email).
func (ts *TestServer) memberSet(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range ts.call(t, "GET", "/Members", nil).want(t, 200).resources() {
		out = append(out, strings.Join([]string{m["organization"].(string), m["email"].(string), m["role"].(string), m["seatTier"].(string), m["origin"].(string)}, " "))
	}
	return out
}
