package tenant

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
)

const exportCSV = "\uFEFFEmail,Role,Seat Tier,Org,Origin\r\n" +
	"ann@x.gov,member,standard,hq,scim\r\n" +
	"BOB@x.gov,admin,premium,hq,\r\n" +
	"dan@x.gov,member,standard,hq,manual\r\n" +
	"boss@x.gov,Primary Owner,premium,hq,manual\r\n" +
	"eve@x.gov,owner,standard,west,jit\r\n"

func exportSource(t *testing.T, csv string, cur *spec.Current) (*MembersExportSource, *fakeServer) {
	t.Helper()
	snap := nestedSample()
	snap.Organizations, snap.Members = nil, nil // a server without the extension
	f := &fakeServer{snap: snap, pageSize: 3}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	c, err := scim.New(scim.Config{BaseURL: ts.URL + basePath, Token: "test-token", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "members.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	return &MembersExportSource{
		Client:  c,
		CSVPath: path,
		Current: cur,
		Parent:  spec.Parent{Name: "agency", SeatTiers: []string{"standard", "premium"}, Mode: "staged"},
	}, f
}

func exportCurrent() *spec.Current {
	return &spec.Current{
		Parent: &spec.Parent{Mode: "jit"},
		Organizations: []spec.Organization{
			{Name: "hq", Seats: map[string]int{"standard": 10}, Mappings: []spec.Mapping{
				{Group: "CLAUDE-USERS", Role: "member", SeatTier: "standard"},
				{GroupID: "g-admins", Role: "admin", SeatTier: "premium"},
			}},
			{Name: "west", Mappings: []spec.Mapping{{Group: "claude-west", Role: "member", SeatTier: "standard"}}},
		},
	}
}

func TestMembersExportSource(t *testing.T) {
	src, f := exportSource(t, exportCSV, exportCurrent())
	tn, err := src.Read(context.Background(), ReadRequest{GroupNames: []string{"spare"}})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Kind != KindMembersExport || !tn.ReadOnly {
		t.Errorf("Kind %s, ReadOnly %v", tn.Kind, tn.ReadOnly)
	}
	// The current parent's mode wins; the rest comes from the spec's parent.
	wantParent := resolve.Org{ID: "agency", Name: "agency", Mode: resolve.ModeJIT, SeatTiers: []string{"standard", "premium"}}
	if diff := cmp.Diff(wantParent, tn.Parent); diff != "" {
		t.Errorf("parent (-want +got):\n%s", diff)
	}
	wantOrgs := []resolve.Org{
		{ID: "hq", Name: "hq", Parent: "agency", Seats: map[string]int{"standard": 10}, Mappings: []resolve.Mapping{
			{GroupID: "g-users", Role: resolve.RoleMember, SeatTier: "standard"},
			{GroupID: "g-admins", Role: resolve.RoleAdmin, SeatTier: "premium"},
		}},
		// No group is called claude-west: a mapped group that is gone.
		{ID: "west", Name: "west", Parent: "agency", Mappings: []resolve.Mapping{{GroupID: "missing:claude-west", Role: resolve.RoleMember, SeatTier: "standard"}}},
	}
	if diff := cmp.Diff(wantOrgs, tn.Orgs); diff != "" {
		t.Errorf("orgs (-want +got):\n%s", diff)
	}
	wantMembers := []resolve.Member{
		{ID: orgwrite.MemberID("hq", "ann@x.gov"), Org: "hq", Email: "ann@x.gov", UserID: "u-ann", Role: resolve.RoleMember, SeatTier: "standard", Origin: resolve.OriginSCIM},
		{ID: orgwrite.MemberID("hq", "bob@x.gov"), Org: "hq", Email: "BOB@x.gov", Role: resolve.RoleAdmin, SeatTier: "premium", Origin: resolve.OriginJIT},
		{ID: orgwrite.MemberID("hq", "dan@x.gov"), Org: "hq", Email: "dan@x.gov", Role: resolve.RoleMember, SeatTier: "standard", Origin: resolve.OriginManual},
		{ID: orgwrite.MemberID("hq", "boss@x.gov"), Org: "hq", Email: "boss@x.gov", Role: resolve.RolePrimaryOwner, SeatTier: "premium", Origin: resolve.OriginManual},
		{ID: orgwrite.MemberID("west", "eve@x.gov"), Org: "west", Email: "eve@x.gov", Role: resolve.RoleOwner, SeatTier: "standard", Origin: resolve.OriginJIT},
	}
	if diff := cmp.Diff(wantMembers, tn.Members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	want := map[string]bool{"g-users": true, "g-admins": true, "g-deep": true, "g-spare": true}
	if diff := cmp.Diff(want, tn.MembersRead); diff != "" {
		t.Errorf("MembersRead (-want +got):\n%s", diff)
	}
	if got := f.got("GET /Organizations"); got != nil {
		t.Errorf("the members export asked for %v", got)
	}

	// The point of the source: who would go if full were switched on.
	tn.Parent.Mode = resolve.ModeFull
	res := resolve.Resolve(resolve.Input{Users: tn.Users, Groups: tn.Groups, Parent: tn.Parent, Orgs: tn.Orgs, Members: tn.Members, Now: time.Now()})
	var removed []string
	for _, oc := range res.Outcomes {
		if oc.Action == resolve.ActionRemove {
			removed = append(removed, oc.Org+" "+oc.Email+": "+string(oc.Reason))
		}
	}
	wantRemoved := []string{"hq dan@x.gov: " + string(resolve.ReasonNotProvisioned), "west eve@x.gov: " + string(resolve.ReasonNotProvisioned)}
	if diff := cmp.Diff(wantRemoved, removed); diff != "" {
		t.Errorf("removals on full (-want +got):\n%s", diff)
	}
}

func TestMembersExportSourceErrors(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		cur  *spec.Current
		want []string
	}{
		{"no current block", exportCSV, nil, []string{"the spec has no current: block"}},
		{"csv org not in current", exportCSV + "zed@x.gov,member,standard,east,\r\n", exportCurrent(), []string{`members.csv:7: org "east" is not in the spec's current.organizations`}},
		{"bad csv", "email,role,org\n", exportCurrent(), []string{"members.csv: members export: header lacks the seat tier column"}},
		{"org named like the parent", exportCSV, &spec.Current{Organizations: []spec.Organization{{Name: "hq"}, {Name: "agency"}}}, []string{`current.organizations[1]: name "agency" is used twice`}},
		{"ambiguous group", exportCSV, func() *spec.Current {
			c := exportCurrent()
			c.Organizations[1].Mappings = append(c.Organizations[1].Mappings, spec.Mapping{Group: "dup", Role: "member", SeatTier: "standard"})
			return c
		}(), []string{`current.organizations[1].mappings[1]: group "dup" matches 2 groups (ids g-other, g-dup); name it by groupId`}},
		{"exception in no current org", exportCSV, func() *spec.Current {
			c := exportCurrent()
			c.Exceptions = []spec.Exception{{Email: "eve@x.gov", Org: "west", Until: "2099-12-31"}, {Email: "dan@x.gov", Org: "agency", Until: "2099-12-31"}}
			return c
		}(), []string{`current.exceptions[1]: org "agency" is not in current.organizations`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, f := exportSource(t, tt.csv, tt.cur)
			f.snap.Groups[2].DisplayName = "Dup"
			f.snap.Groups = append(f.snap.Groups, scim.Group{ID: "g-dup", DisplayName: "dup"})
			tn, err := src.Read(context.Background(), ReadRequest{})
			if err == nil || tn != nil {
				t.Fatalf("tenant %v, err %v; want only an error", tn != nil, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

// current.exceptions lands on the organizations the source builds, so the
// diff compares them with policy.exceptions and resolution in full mode
// keeps the members they cover.
func TestMembersExportSourceExceptions(t *testing.T) {
	cur := exportCurrent()
	cur.Exceptions = []spec.Exception{
		{Email: "Eve@X.gov", Org: "WEST", Until: "2099-12-31", Reason: "badge pending"},
		{Email: "dan@x.gov", Org: "hq", Until: "2020-01-31"},
	}
	src, _ := exportSource(t, exportCSV, cur)
	tn, err := src.Read(context.Background(), ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]resolve.Exception{}
	for _, o := range tn.Orgs {
		got[o.Name] = o.Exceptions
	}
	want := map[string][]resolve.Exception{
		"hq":   {{Email: "dan@x.gov", Until: "2020-01-31"}},
		"west": {{Email: "Eve@X.gov", Until: "2099-12-31", Reason: "badge pending"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exceptions by org (-want +got):\n%s", diff)
	}

	// In full mode the live exception keeps eve, a jit member in no mapped
	// group; dan's has expired, so dan goes, and says why.
	tn.Parent.Mode = resolve.ModeFull
	res := resolve.Resolve(resolve.Input{Users: tn.Users, Groups: tn.Groups, Parent: tn.Parent, Orgs: tn.Orgs, Members: tn.Members, Now: time.Now()})
	var removed, kept []string
	for _, oc := range res.Outcomes {
		switch oc.Action {
		case resolve.ActionRemove:
			removed = append(removed, oc.Org+" "+oc.Email+": "+string(oc.Reason))
		case resolve.ActionKeep:
			kept = append(kept, oc.Org+" "+oc.Email)
		}
	}
	if diff := cmp.Diff([]string{"hq dan@x.gov: " + string(resolve.ReasonExceptionExpired)}, removed); diff != "" {
		t.Errorf("removals on full (-want +got):\n%s", diff)
	}
	if !slices.Contains(kept, "west eve@x.gov") {
		t.Errorf("eve is not kept by her exception; kept %v", kept)
	}
}
