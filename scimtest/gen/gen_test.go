package gen

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

func generateS(t *testing.T, seed int64) *tenant.Snapshot {
	t.Helper()
	snap, err := Generate(S.Params(), seed)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return snap
}

var (
	shared     *tenant.Snapshot
	sharedOnce sync.Once
)

// sharedS returns the S tier for seed 1, generated once for the tests that
// only read it.
func sharedS(t *testing.T) *tenant.Snapshot {
	t.Helper()
	sharedOnce.Do(func() { shared = generateS(t, 1) })
	if shared == nil {
		t.Fatal("generating the S tier failed")
	}
	return shared
}

func TestTierShape(t *testing.T) {
	p := S.Params()
	snap := sharedS(t)

	if len(snap.Users) != p.Users || len(snap.Groups) != p.Groups {
		t.Fatalf("%d users and %d groups, want %d and %d", len(snap.Users), len(snap.Groups), p.Users, p.Groups)
	}
	byName := map[string]*scim.Group{}
	total := 0
	for i := range snap.Groups {
		g := &snap.Groups[i]
		byName[g.DisplayName] = g
		total += len(g.Members)
	}
	if total != p.Memberships {
		t.Errorf("%d memberships, want %d", total, p.Memberships)
	}
	if n := len(byName[AllStaff].Members); n != p.Users {
		t.Errorf("all-staff holds %d members, want every user (%d)", n, p.Users)
	}
	for _, name := range []string{"division-01", "division-10"} {
		if n := len(byName[name].Members); n != p.BigGroupSize {
			t.Errorf("%s holds %d members, want %d", name, n, p.BigGroupSize)
		}
	}
	// The teams: Zipf below the divisions, largest first.
	nteams := p.Groups - 1 - p.BigGroups
	first, last := byName["team-01"], byName["team-89"]
	if first == nil || last == nil || nteams != 89 {
		t.Fatalf("teams team-01 … team-89 missing (%d teams)", nteams)
	}
	users := func(g *scim.Group) int {
		n := 0
		for _, m := range g.Members {
			if m.Type == "User" {
				n++
			}
		}
		return n
	}
	if a, b := users(first), users(last); a >= p.BigGroupSize || a < 5*b {
		t.Errorf("team sizes %d … %d: want below %d and a Zipf spread (first ≥ 5× last)", a, b, p.BigGroupSize)
	}
	prev := p.BigGroupSize
	for k := 1; k <= nteams; k++ {
		g := byName[teamName(k, nteams)]
		if n := users(g); n > prev {
			t.Errorf("%s holds %d users, more than the team before it (%d)", g.DisplayName, n, prev)
		}
		prev = users(g)
	}

	// Organizations and mappings.
	children, mappings, nested := 0, 0, 0
	ids := map[string]bool{}
	for _, g := range snap.Groups {
		ids[g.ID] = true
		for _, m := range g.Members {
			if m.Type == "Group" {
				nested++
			}
		}
	}
	for _, o := range snap.Organizations {
		if o.Parent == "" {
			if o.Mode != "staged" || o.Name != ParentName {
				t.Errorf("parent %q in mode %q, want %q staged", o.Name, o.Mode, ParentName)
			}
			continue
		}
		children++
		mappings += len(o.Mappings)
		for _, m := range o.Mappings {
			if !ids[m.Group] {
				t.Errorf("org %s maps unknown group %s", o.Name, m.Group)
			}
		}
	}
	if children != p.Orgs || mappings != p.Mappings || nested != p.Orgs {
		t.Errorf("%d child orgs, %d mappings, %d nested groups; want %d, %d, %d", children, mappings, nested, p.Orgs, p.Mappings, p.Orgs)
	}

	// Members: about p.Members (S's smallest teams are large next to its
	// users, so its organizations outside hq hold more than the larger
	// tiers' do), of every origin, a primary owner per org.
	origins := map[string]int{}
	owners := 0
	for _, m := range snap.Members {
		origins[m.Origin]++
		if m.Role == string(resolve.RolePrimaryOwner) {
			owners++
		}
	}
	if n := len(snap.Members); n < p.Members*3/4 || n > p.Members*3/2 {
		t.Errorf("%d members, want about %d", n, p.Members)
	}
	if origins["scim"] == 0 || origins["jit"] == 0 || origins["manual"] == 0 {
		t.Errorf("members by origin %v: want scim, jit and manual", origins)
	}
	if nonSCIM := origins["jit"] + origins["manual"]; nonSCIM < int(float64(p.Members)*p.NonSCIMFraction) {
		t.Errorf("%d jit and manual members, want at least %.0f%% of %d", nonSCIM, 100*p.NonSCIMFraction, p.Members)
	}
	if owners != p.Orgs {
		t.Errorf("%d primary owners, want one per child org (%d)", owners, p.Orgs)
	}
}

func teamName(k, n int) string {
	s := strings.Repeat("0", len(itoa(n))-len(itoa(k))) + itoa(k)
	return "team-" + s
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

func TestSpecialUserNames(t *testing.T) {
	p := S.Params()
	snap := sharedS(t)
	kinds := map[string]int{}
	special := 0
	seen := map[string]bool{}
	for _, u := range snap.Users {
		k := strings.ToLower(strings.TrimSpace(u.UserName))
		if seen[k] {
			t.Errorf("userName %q is not unique (in any case)", u.UserName)
		}
		seen[k] = true
		var is []string
		if strings.ContainsAny(u.UserName, `'"`) {
			is = append(is, "quote")
		}
		if strings.Contains(u.UserName, `\`) {
			is = append(is, "backslash")
		}
		if !isASCII(u.UserName) {
			is = append(is, "accent")
		}
		if strings.Contains(u.UserName, " ") {
			is = append(is, "space")
		}
		for _, k := range is {
			kinds[k]++
		}
		if len(is) > 0 {
			special++
		}
		if !utf8.ValidString(u.UserName) || u.UserName != strings.TrimSpace(u.UserName) {
			t.Errorf("userName %q: invalid UTF-8 or surrounding space", u.UserName)
		}
		if len(u.Emails) == 0 || !strings.Contains(u.Emails[0].Value, "@") {
			t.Errorf("user %q has no email address", u.UserName)
		}
	}
	if want := int(float64(p.Users)*p.SpecialFraction + 0.5); special != want {
		t.Errorf("%d special userNames, want %d (%.0f%%)", special, want, 100*p.SpecialFraction)
	}
	for _, k := range []string{"quote", "backslash", "accent", "space"} {
		if kinds[k] == 0 {
			t.Errorf("no userName with a %s (kinds: %v)", k, kinds)
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func TestDeterministic(t *testing.T) {
	encode := func(s *tenant.Snapshot) []byte {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := encode(sharedS(t)), encode(generateS(t, 1)), encode(generateS(t, 2))
	if !bytes.Equal(a, b) {
		t.Error("two tenants generated with seed 1 differ")
	}
	if bytes.Equal(a, c) {
		t.Error("seeds 1 and 2 generate the same tenant")
	}
}

// TestConverged checks that the generated state is what the server holds:
// recomputing it changes nothing, the snapshot round-trips through the file
// format, and planning its own spec finds no changes.
func TestConverged(t *testing.T) {
	snap := sharedS(t)
	var buf bytes.Buffer
	if err := tenant.EncodeSnapshot(&buf, snap); err != nil {
		t.Fatal(err)
	}
	back, err := tenant.DecodeSnapshot(&buf)
	if err != nil {
		t.Fatalf("the generated snapshot does not decode: %v", err)
	}
	before := len(back.Members)
	res, err := tenant.Recompute(back, Epoch)
	if err != nil {
		t.Fatal(err)
	}
	for _, oc := range res.Outcomes {
		if oc.Action != resolve.ActionKeep {
			t.Fatalf("recomputing the generated tenant: %s %s in %s (%s)", oc.Action, oc.Email, oc.Org, oc.Reason)
		}
	}
	if len(back.Members) != before {
		t.Errorf("recomputing changed the member count from %d to %d", before, len(back.Members))
	}

	s, err := Spec(snap)
	if err != nil {
		t.Fatal(err)
	}
	s.Target = spec.Target{File: "tenant.json"}
	y, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	loaded, diags, err := spec.LoadBytes("bench.yaml", y)
	if err != nil || diags.HasErrors() {
		t.Fatalf("the generated spec does not load: %v\n%v\n%s", err, diags, y)
	}
	tn, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := diff.Compute(loaded, tn, Epoch)
	if err != nil {
		t.Fatal(err)
	}
	if plan.HasChanges() {
		var out bytes.Buffer
		diff.RenderText(&out, plan, diff.TextOptions{})
		t.Errorf("planning the generated spec against its tenant finds changes:\n%.3000s", out.String())
	}
}

func TestWithChanges(t *testing.T) {
	snap := sharedS(t)
	s, err := Spec(snap)
	if err != nil {
		t.Fatal(err)
	}
	WithChanges(s)
	s.Target = spec.Target{File: "tenant.json"}
	y, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	loaded, diags, err := spec.LoadBytes("bench.yaml", y)
	if err != nil || diags.HasErrors() {
		t.Fatalf("the changed spec does not load: %v\n%v", err, diags)
	}
	tn, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := diff.Compute(loaded, tn, Epoch)
	if err != nil {
		t.Fatal(err)
	}
	// hq's members outside the premium divisions change tier; every jit
	// and manual member goes.
	p := S.Params()
	if plan.Summary.Change < p.Users/2 || plan.Summary.Remove < int(float64(p.Members)*p.NonSCIMFraction) {
		t.Errorf("plan summary %+v: want over %d changes and %.0f removals", plan.Summary, p.Users/2, float64(p.Members)*p.NonSCIMFraction)
	}
}

func TestTeamSizes(t *testing.T) {
	for _, tc := range []struct{ n, total, limit int }{
		{89, 9995, 999}, {1989, 699995, 19999}, {3, 10, 4}, {5, 5, 1},
	} {
		sizes := teamSizes(tc.n, tc.total, tc.limit)
		sum := 0
		for _, s := range sizes {
			if s < 1 || s > tc.limit {
				t.Errorf("teamSizes(%d, %d, %d): size %d out of [1, %d]", tc.n, tc.total, tc.limit, s, tc.limit)
			}
			sum += s
		}
		if sum != tc.total {
			t.Errorf("teamSizes(%d, %d, %d) sums to %d", tc.n, tc.total, tc.limit, sum)
		}
	}
}

func TestParams(t *testing.T) {
	for _, tier := range []Tier{S, M, L} {
		if err := tier.Params().check(); err != nil {
			t.Errorf("tier %s: %v", tier, err)
		}
	}
	got := M.Params()
	want := Params{Users: 100_000, Groups: 2_000, BigGroups: 10, BigGroupSize: 20_000, Memberships: 1_000_000,
		Orgs: 5, Mappings: 40, Members: 100_000, NonSCIMFraction: 0.05, InactiveFraction: 0.10, SpecialFraction: 0.02, AliasFraction: 0.10}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("M params (-want +got):\n%s", d)
	}
	if _, err := ParseTier("x"); err == nil {
		t.Error(`ParseTier("x") succeeded`)
	}
	if tr, err := ParseTier(" m "); err != nil || tr != M {
		t.Errorf(`ParseTier(" m ") = %v, %v`, tr, err)
	}
	bad := S.Params()
	bad.Groups = 20
	if _, err := Generate(bad, 1); err == nil {
		t.Error("Generate with 20 groups for 40 mappings succeeded")
	}
}
