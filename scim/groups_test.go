package scim_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/scim"
)

// groupServer serves /Groups. filterMode says how it treats a displayName
// filter: "ci" matches case-insensitively, "cs" case-sensitively, "reject"
// answers 400 invalidFilter, "ignore" returns every group.
type groupServer struct {
	filterMode string
	groups     []scim.Group
	mu         sync.Mutex
	filters    []string
}

func (g *groupServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/Groups/"); ok {
		for _, gr := range g.groups {
			if gr.ID == id {
				writeJSON(w, gr)
				return
			}
		}
		scimError(w, 404, "", "no group "+id)
		return
	}
	f := r.URL.Query().Get("filter")
	if answerProbe(w, r) {
		return
	}
	g.mu.Lock()
	g.filters = append(g.filters, f)
	g.mu.Unlock()
	var out []scim.Group
	for _, gr := range g.groups {
		if r.URL.Query().Get("excludedAttributes") == "members" {
			gr.Members = nil
		}
		if f == "" || g.filterMode == "ignore" {
			out = append(out, gr)
			continue
		}
		want, ok := strings.CutPrefix(f, "displayName eq ")
		if !ok {
			scimError(w, 400, "invalidFilter", "unsupported filter")
			return
		}
		switch g.filterMode {
		case "reject":
			scimError(w, 400, "invalidFilter", "filtering on displayName is not supported")
			return
		case "ci":
			if strings.EqualFold(quote(gr.DisplayName), want) {
				out = append(out, gr)
			}
		case "cs":
			if quote(gr.DisplayName) == want {
				out = append(out, gr)
			}
		}
	}
	writeJSON(w, scim.ListResponse[scim.Group]{TotalResults: len(out), Resources: out})
}

func quote(s string) string { return strings.TrimPrefix(scim.Filter("x", "eq", s), "x eq ") }

func TestFindGroupsByDisplayName(t *testing.T) {
	groups := []scim.Group{
		{ID: "g1", DisplayName: `Claude "HQ" Users`, Members: []scim.GroupMember{{Value: "u1"}}},
		{ID: "g2", DisplayName: "claude-west-users"},
		{ID: "g3", DisplayName: `claude "hq" users`},
	}
	tests := []struct {
		mode, name  string
		want        []string
		wantFilters []string
	}{
		{"ci", `CLAUDE "HQ" USERS`, []string{"g1", "g3"}, []string{`displayName eq "CLAUDE \"HQ\" USERS"`}},
		{"cs", `CLAUDE "HQ" USERS`, []string{"g1", "g3"}, []string{`displayName eq "CLAUDE \"HQ\" USERS"`, ""}},
		{"cs", "claude-west-users", []string{"g2"}, []string{`displayName eq "claude-west-users"`}},
		{"reject", "Claude-West-Users", []string{"g2"}, []string{`displayName eq "Claude-West-Users"`, ""}},
		{"ignore", "claude-west-users", []string{"g2"}, []string{`displayName eq "claude-west-users"`}},
		{"ci", "nobody", nil, []string{`displayName eq "nobody"`, ""}},
	}
	for _, tc := range tests {
		t.Run(tc.mode+" "+tc.name, func(t *testing.T) {
			gs := &groupServer{filterMode: tc.mode, groups: groups}
			c, _ := setup(t, gs)
			found, err := c.FindGroupsByDisplayName(context.Background(), tc.name)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range found {
				got = append(got, g.ID)
				if g.Members != nil {
					t.Errorf("group %s came with members", g.ID)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("found (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFilters, gs.filters); diff != "" {
				t.Errorf("filters sent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindGroupsByDisplayNameOtherErrors(t *testing.T) {
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scimError(w, 403, "", "forbidden")
	}))
	_, err := c.FindGroupsByDisplayName(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), `finding groups named "x": listing /Groups: GET http://`) ||
		!strings.Contains(err.Error(), `/scim/v2/Groups: 403 forbidden: forbidden; the server accepted the bearer token but forbids this request`) {
		t.Errorf("error = %v", err)
	}
}

func TestGetGroup(t *testing.T) {
	gs := &groupServer{groups: []scim.Group{{ID: "g/1", DisplayName: "G", Members: []scim.GroupMember{{Value: "u1", Type: "User"}, {Value: "g2", Type: "Group"}}}}}
	c, _ := setup(t, gs)
	g, err := c.GetGroup(context.Background(), "g/1")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 2 || g.Members[1].Type != "Group" {
		t.Errorf("GetGroup = %+v", g)
	}
	_, err = c.GetGroup(context.Background(), "missing")
	if !errors.Is(err, scim.ErrNotFound) || !strings.Contains(err.Error(), "reading group missing: GET /Groups/missing: 404 not found") {
		t.Errorf("GetGroup(missing) error = %v", err)
	}
}

func TestGetChecksTheID(t *testing.T) {
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"id": "other", "name": "x"})
	}))
	if _, err := c.GetOrganization(context.Background(), "o1"); err == nil || !strings.Contains(err.Error(), `answered with resource "other"`) {
		t.Errorf("GetOrganization error = %v", err)
	}
}

func TestGetOrganizationVersionFromETag(t *testing.T) {
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `W/"7"`)
		writeJSON(w, map[string]any{"id": "o1", "name": "hq", "mode": "staged"})
	}))
	o, err := c.GetOrganization(context.Background(), "o1")
	if err != nil || o.Meta.Version != `W/"7"` || o.Mode != "staged" {
		t.Errorf("GetOrganization = %+v, %v", o, err)
	}
}
