package scimtest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/scim"
)

// TestFilterResultsFollowChanges checks that a filter's cached result is
// dropped when the state changes: the same filtered listing before and
// after a PATCH sees the change, page after page.
func TestFilterResultsFollowChanges(t *testing.T) {
	ts := newFixtureServer(t, Options{PageCap: 1})
	path := "/Users?filter=" + q(`active eq true`)
	page := func(start string) result {
		return ts.call(t, "GET", path+"&startIndex="+start, nil).want(t, 200)
	}
	if got := page("1"); got.total() != 4 || cmp.Diff([]string{"u-alice"}, got.ids()) != "" {
		t.Fatalf("before: total %d, first page %v", got.total(), got.ids())
	}
	ts.call(t, "PATCH", "/Users/u-alice", patchBody(scim.PatchOp{Op: "replace", Path: "active", Value: false})).want(t, 200)
	for start, want := range map[string]string{"1": "u-bob", "2": "u-carol", "3": "u-erin"} {
		got := page(start)
		if got.total() != 3 || cmp.Diff([]string{want}, got.ids()) != "" {
			t.Errorf("after deactivating alice, startIndex %s: total %d, ids %v; want 3, [%s]", start, got.total(), got.ids(), want)
		}
	}
}

// TestExcludeMembersOfLargeGroups checks that excludedAttributes=members
// leaves members out while keeping every other attribute, and that a
// sub-attribute exclusion keeps the members.
func TestExcludeMembersOfLargeGroups(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	for _, tc := range []struct {
		excluded    string
		wantMembers bool
	}{
		{"members", false},
		{"MEMBERS", false},
		{"urn:ietf:params:scim:schemas:core:2.0:Group:members", false},
		{"members.display", true},
		{"displayName", true},
	} {
		r := ts.call(t, "GET", "/Groups?excludedAttributes="+q(tc.excluded), nil).want(t, 200)
		res := r.resources()
		if len(res) == 0 {
			t.Fatal("no groups")
		}
		withMembers := 0
		for _, g := range res {
			if _, ok := g["members"]; ok {
				withMembers++
			}
			if _, ok := g["meta"]; !ok {
				t.Errorf("excludedAttributes=%s: group %v lost its meta", tc.excluded, g["id"])
			}
		}
		if got := withMembers > 0; got != tc.wantMembers {
			t.Errorf("excludedAttributes=%s: %d of %d groups with members, want members %v", tc.excluded, withMembers, len(res), tc.wantMembers)
		}
	}
}
