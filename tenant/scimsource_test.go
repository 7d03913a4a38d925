package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

const basePath = "/scim/v2"

// fakeServer serves a Snapshot under /scim/v2 with just enough of RFC 7644
// for the sources: paged lists (pageSize per page), excludedAttributes=members
// on /Groups, GET /Groups/{id}, and /Members filtered by organization. fail,
// when set, may answer a request instead (return true when it did).
type fakeServer struct {
	snap     *Snapshot
	pageSize int
	fail     func(w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	requests []string // "GET /Groups/g1", with the query for lists
}

var orgFilter = regexp.MustCompile(`^organization eq "([^"]*)"$`)

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+strings.TrimPrefix(r.URL.Path, basePath))
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer test-token" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if f.fail != nil && f.fail(w, r) {
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, basePath)
	if !ok {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	switch {
	case path == "/Users":
		servePage(w, q, f.snap.Users, f.pageSize)
	case path == "/Groups":
		groups := slices.Clone(f.snap.Groups)
		if strings.EqualFold(q.Get("excludedAttributes"), "members") {
			for i := range groups {
				groups[i].Members = nil
			}
		}
		servePage(w, q, groups, f.pageSize)
	case strings.HasPrefix(path, "/Groups/"):
		id := strings.TrimPrefix(path, "/Groups/")
		i := slices.IndexFunc(f.snap.Groups, func(g scim.Group) bool { return g.ID == id })
		if i < 0 {
			scimError(w, http.StatusNotFound, "no such group")
			return
		}
		writeJSON(w, f.snap.Groups[i])
	case path == "/Organizations":
		if f.snap.Organizations == nil {
			scimError(w, http.StatusNotFound, "no such endpoint")
			return
		}
		servePage(w, q, f.snap.Organizations, f.pageSize)
	case path == "/Members":
		var ms []scim.Member
		m := orgFilter.FindStringSubmatch(q.Get("filter"))
		for _, mem := range f.snap.Members {
			if m == nil || mem.Organization == m[1] {
				ms = append(ms, mem)
			}
		}
		servePage(w, q, ms, f.pageSize)
	default:
		scimError(w, http.StatusNotFound, "no such endpoint")
	}
}

func servePage[T any](w http.ResponseWriter, q map[string][]string, all []T, pageSize int) {
	servePageTotal(w, q, all, pageSize, len(all))
}

// servePageTotal is servePage announcing total as totalResults; -1 is the
// length of the page, as some servers announce it.
func servePageTotal[T any](w http.ResponseWriter, q map[string][]string, all []T, pageSize, total int) {
	start, count := 1, pageSize
	if v := q["startIndex"]; len(v) > 0 {
		start, _ = strconv.Atoi(v[0])
	}
	if v := q["count"]; len(v) > 0 {
		if n, _ := strconv.Atoi(v[0]); n < count {
			count = n
		}
	}
	start = max(start, 1)
	lo := min(start-1, len(all))
	hi := min(lo+count, len(all))
	page := all[lo:hi]
	if page == nil {
		page = []T{}
	}
	if total < 0 {
		total = len(page)
	}
	writeJSON(w, scim.ListResponse[T]{
		Schemas: []string{scim.SchemaListResponse}, TotalResults: total,
		StartIndex: start, ItemsPerPage: len(page), Resources: page,
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	json.NewEncoder(w).Encode(v)
}

func scimError(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"schemas": []string{scim.SchemaError}, "status": strconv.Itoa(status), "detail": detail})
}

func (f *fakeServer) got(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// nestedSample is sample() with deeper nesting and a cycle: hq maps
// g-users, which holds g-admins, which holds g-deep, which holds g-users
// again. g-other and g-spare are mapped nowhere.
func nestedSample() *Snapshot {
	s := sample()
	s.Users = append(s.Users, scim.User{ID: "u-deep", UserName: "deep@x.gov", Active: true})
	s.Groups[1].Members = append(s.Groups[1].Members, scim.GroupMember{Value: "g-deep", Type: "Group"})
	s.Groups = append(s.Groups,
		scim.Group{ID: "g-deep", DisplayName: "deep", Members: []scim.GroupMember{{Value: "u-deep"}, {Value: "g-users", Type: "Group"}}},
		scim.Group{ID: "g-spare", DisplayName: "Spare", Members: []scim.GroupMember{{Value: "u-cat"}}},
	)
	return s
}

func newSCIMSource(t *testing.T, f *fakeServer) *SCIMSource {
	t.Helper()
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	c, err := scim.New(scim.Config{BaseURL: ts.URL + basePath, Token: "test-token", MaxRetries: -1, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	return &SCIMSource{Client: c}
}

func TestSCIMSourceRead(t *testing.T) {
	f := &fakeServer{snap: nestedSample(), pageSize: 2}
	src := newSCIMSource(t, f)
	var mu sync.Mutex
	progress := map[string]int{}
	tn, err := src.Read(context.Background(), ReadRequest{Progress: func(kind string, done, total int) {
		mu.Lock()
		progress[kind] = max(progress[kind], done)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Kind != KindSCIM || len(tn.Users) != 4 || len(tn.Groups) != 5 || len(tn.Orgs) != 2 || len(tn.Members) != 5 {
		t.Fatalf("tenant: kind %s, %d users, %d groups, %d orgs, %d members", tn.Kind, len(tn.Users), len(tn.Groups), len(tn.Orgs), len(tn.Members))
	}
	// The mapped groups and those nested in them, each once; not g-other
	// or g-spare.
	want := []string{"GET /Groups/g-admins", "GET /Groups/g-deep", "GET /Groups/g-users"}
	if diff := cmp.Diff(want, f.got("GET /Groups/")); diff != "" {
		t.Errorf("group reads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"g-admins": true, "g-deep": true, "g-users": true}, tn.MembersRead); diff != "" {
		t.Errorf("MembersRead (-want +got):\n%s", diff)
	}
	i := slices.IndexFunc(tn.Groups, func(g resolve.Group) bool { return g.ID == "g-deep" })
	if diff := cmp.Diff([]string{"u-deep", "g-users"}, tn.Groups[i].Members); diff != "" {
		t.Errorf("g-deep members (-want +got):\n%s", diff)
	}
	if i := slices.IndexFunc(tn.Groups, func(g resolve.Group) bool { return g.ID == "g-spare" }); tn.Groups[i].Members != nil {
		t.Errorf("g-spare members read: %v", tn.Groups[i].Members)
	}
	wantProgress := map[string]int{"users": 4, "groups": 5, "organizations": 3, "members": 5, "group members": 3}
	if diff := cmp.Diff(wantProgress, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	// Members were listed per child organization.
	if got := f.got("GET /Members"); len(got) < 2 {
		t.Errorf("member listings: %v", got)
	}
}

// TestSCIMSourceReadSlim checks that what Read drops as it reads (names,
// meta, a group member's $ref and display) changes nothing: its tenant is
// the one converted from the whole resources ReadSnapshot returns.
func TestSCIMSourceReadSlim(t *testing.T) {
	snap := nestedSample()
	for i := range snap.Groups {
		for j := range snap.Groups[i].Members {
			m := &snap.Groups[i].Members[j]
			m.Ref, m.Display, m.Type = "../Users/"+m.Value, "Someone "+m.Value, strings.ToLower(m.Type)
		}
	}
	src := newSCIMSource(t, &fakeServer{snap: snap, pageSize: 2})
	got, err := src.Read(context.Background(), ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := src.ReadSnapshot(context.Background(), ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if m := whole.Groups[slices.IndexFunc(whole.Groups, func(g scim.Group) bool { return len(g.Members) > 0 })].Members[0]; m.Ref == "" || m.Display == "" {
		t.Fatalf("the snapshot lost the members' $ref and display: %+v", m)
	}
	want, err := FromSCIM(whole.Users, whole.Groups, whole.Organizations, whole.Members)
	if err != nil {
		t.Fatal(err)
	}
	want.MembersRead, want.Kind = got.MembersRead, got.Kind
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read differs from the converted snapshot (-snapshot +Read):\n%s", diff)
	}
}

func TestSCIMSourceReadRequestedGroups(t *testing.T) {
	f := &fakeServer{snap: nestedSample(), pageSize: 50}
	src := newSCIMSource(t, f)
	tn, err := src.Read(context.Background(), ReadRequest{GroupNames: []string{" SPARE ", "no such group"}, GroupIDs: []string{"g-other", "g-gone"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"g-admins": true, "g-deep": true, "g-users": true, "g-spare": true, "g-other": true}
	if diff := cmp.Diff(want, tn.MembersRead); diff != "" {
		t.Errorf("MembersRead (-want +got):\n%s", diff)
	}

	f = &fakeServer{snap: nestedSample(), pageSize: 50}
	snap, err := newSCIMSource(t, f).ReadSnapshot(context.Background(), ReadRequest{AllGroupMembers: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.got("GET /Groups/")); n != 5 {
		t.Errorf("AllGroupMembers read %d groups, want 5", n)
	}
	want2 := nestedSample()
	want2.Sort()
	snap.Sort()
	if diff := cmp.Diff(want2, snap); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
}

func TestSCIMSourceNeverPartial(t *testing.T) {
	tests := []struct {
		name string
		fail func(w http.ResponseWriter, r *http.Request) bool
		want string
	}{
		{"a failing page of users", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Users" && r.URL.Query().Get("startIndex") == "3" {
				scimError(w, http.StatusInternalServerError, "database on fire")
				return true
			}
			return false
		}, "reading users: "},
		{"a truncated page of groups", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Groups" && r.URL.Query().Get("startIndex") == "3" {
				w.Header().Set("Content-Type", "application/scim+json")
				w.Write([]byte(`{"schemas":["` + scim.SchemaListResponse + `"],"totalResults":5,"Resources":[{"id":"g-`))
				return true
			}
			return false
		}, "reading groups: "},
		// Listed side by side, users and groups failing together always
		// give the users' error.
		{"users and groups both fail", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Groups" || (r.URL.Path == basePath+"/Users" && r.URL.Query().Get("startIndex") == "3") {
				scimError(w, http.StatusBadRequest, "no")
				return true
			}
			return false
		}, "reading users: "},
		{"members of one org fail", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Members" && strings.Contains(r.URL.Query().Get("filter"), "o-west") {
				scimError(w, http.StatusServiceUnavailable, "later")
				return true
			}
			return false
		}, "reading members of organization o-west (west): "},
		// Read side by side, several listings failing at once always give
		// the first in reading order: the first child organization's.
		{"every member listing and a group read fail", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Members" || r.URL.Path == basePath+"/Groups/g-deep" {
				scimError(w, http.StatusServiceUnavailable, "later")
				return true
			}
			return false
		}, "reading members of organization o-hq (hq): "},
		// A server announcing the page's length as totalResults: the
		// first page looks like the whole list, the users after it absent.
		{"totalResults counting the page", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Users" && r.URL.Query().Get("startIndex") == "1" {
				servePageTotal(w, r.URL.Query(), nestedSample().Users, 2, -1)
				return true
			}
			return false
		}, "reading users: listing /Users: incomplete read: totalResults is 2, all of which the first page held, but startIndex 3 still holds resources"},
		// A server answering the organization filter with nothing, as
		// some answer a filter they do not support: the org looks empty,
		// and its switch to full enforcement harmless.
		{"the organization filter answered with nothing", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Members" && strings.Contains(r.URL.Query().Get("filter"), "o-west") {
				servePage(w, r.URL.Query(), []scim.Member{}, 2)
				return true
			}
			return false
		}, "reading members: incomplete read: the server holds 5 members in all, but its child organizations' listings (filter organization eq \"…\") returned 4"},
		// RFC 7643 makes no sub-attribute of members required: a member
		// with only a $ref, dropped, would be a person in no mapped group.
		{"a group member without value", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Groups/g-deep" {
				writeJSON(w, scim.Group{ID: "g-deep", DisplayName: "deep", Members: []scim.GroupMember{{Ref: "https://idp.example/Users/u-9", Type: "User"}}})
				return true
			}
			return false
		}, "reading members of group g-deep (deep): invalid response: a member has no value (its id), only a $ref or a display"},
		{"a nested group read fails", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Groups/g-deep" {
				scimError(w, http.StatusBadGateway, "upstream")
				return true
			}
			return false
		}, "reading group members (deep): reading group g-deep: "},
		{"a nested group the listing lacks", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Groups/g-deep" {
				writeJSON(w, scim.Group{ID: "g-deep", Members: []scim.GroupMember{{Value: "g-new", Type: "Group"}}})
				return true
			}
			return false
		}, "nested group g-new is not in the group listing"},
		{"a group answered by another", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == basePath+"/Groups/g-admins" {
				writeJSON(w, scim.Group{ID: "g-other"})
				return true
			}
			return false
		}, "reading group members (claude-admins): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{snap: nestedSample(), pageSize: 2, fail: tt.fail}
			tn, err := newSCIMSource(t, f).Read(context.Background(), ReadRequest{})
			if err == nil || tn != nil {
				t.Fatalf("tenant %v, err %v; want only an error", tn != nil, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "test-token") {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}

func TestSCIMSourceNoOrganizations(t *testing.T) {
	s := nestedSample()
	s.Organizations = nil
	_, err := newSCIMSource(t, &fakeServer{snap: s, pageSize: 50}).Read(context.Background(), ReadRequest{})
	if !errors.Is(err, ErrNoOrganizations) || !errors.Is(err, scim.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNoOrganizations and scim.ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "target.membersCsv") {
		t.Errorf("err = %v does not point to the members export", err)
	}
}

func TestSCIMSourceInvalidTenant(t *testing.T) {
	s := nestedSample()
	s.Organizations[2].Parent = "" // two parents
	_, err := newSCIMSource(t, &fakeServer{snap: s, pageSize: 50}).Read(context.Background(), ReadRequest{})
	if err == nil || !strings.Contains(err.Error(), "2 parent organizations") {
		t.Fatalf("err = %v", err)
	}
}
