package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

// tieredTenant: the parent sells standard and gold; alpha maps its users
// on gold and buys gold seats; bravo, which a spec may leave alone, uses
// standard only, or gold too when bravoGold.
func tieredTenant(bravoGold bool) *tenant.Snapshot {
	bravoTier := "standard"
	if bravoGold {
		bravoTier = "gold"
	}
	return &tenant.Snapshot{
		Users: []scim.User{{ID: "u1", UserName: "ann@example.gov", Active: true}, {ID: "u2", UserName: "bob@example.gov", Active: true}},
		Groups: []scim.Group{{ID: "g1", DisplayName: "alpha-users", Members: []scim.GroupMember{{Value: "u1"}}},
			{ID: "g2", DisplayName: "bravo-users", Members: []scim.GroupMember{{Value: "u2"}}}},
		Organizations: []scim.Organization{
			{ID: "p", Name: "agency", Mode: "staged", LoginDomains: []string{"example.gov"}, SeatTiers: []string{"standard", "gold"}},
			{ID: "o1", Name: "alpha", Parent: "p", Seats: map[string]int{"gold": 5},
				Mappings: []scim.Mapping{{Group: "g1", Role: "member", SeatTier: "gold"}}},
			{ID: "o2", Name: "bravo", Parent: "p", Seats: map[string]int{bravoTier: 5},
				Mappings: []scim.Mapping{{Group: "g2", Role: "member", SeatTier: bravoTier}}},
		},
		Members: []scim.Member{
			{ID: "m1", Organization: "o1", Email: "ann@example.gov", UserID: "u1", Role: "member", SeatTier: "gold", Origin: "scim"},
			{ID: "m2", Organization: "o2", Email: "bob@example.gov", UserID: "u2", Role: "member", SeatTier: bravoTier, Origin: "scim"},
		},
	}
}

// The spec drops the gold tier (or renames it platinum) and moves alpha
// off it: the parent keeps gold until alpha's write, so that no write
// leaves an org on a tier the parent lacks, and the server accepts every
// step; the members end as planned.
func TestApplyDropsSeatTierAfterTheOrgsMoveOffIt(t *testing.T) {
	for _, tc := range []struct {
		name, tiers, alphaTier string
		steps                  []string
	}{
		{"dropped", "[standard]", "standard", []string{"alpha child [mappings seats]", "agency tiers-last [seatTiers=standard]"}},
		{"renamed", "[standard, platinum]", "platinum", []string{"agency parent-first [seatTiers=standard,gold,platinum]",
			"alpha child [mappings seats]", "agency tiers-last [seatTiers=standard,platinum]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tieredTenant(false), scimtest.Options{})
			dir := t.TempDir()
			s := loadSpec(t, writeSpec(t, dir, `version: 1
target: {url: $SCIM_URL}
parent: {name: agency, loginDomains: [example.gov], seatTiers: `+tc.tiers+`, mode: staged}
organizations:
  - name: alpha
    seats: {`+tc.alphaTier+`: 5}
    mappings: [{group: alpha-users, role: member, seatTier: `+tc.alphaTier+`}]
`, ts.URL))
			p, err := plan(context.Background(), t, s, fastRetries())
			if err != nil {
				t.Fatal(err)
			}
			var steps []string
			for _, st := range p.Steps {
				var fields []string
				for _, op := range st.Ops {
					f := op.Path
					if op.Path == diff.FieldSeatTiers {
						f += "=" + joinTiers(op.Value)
					}
					fields = append(fields, f)
				}
				steps = append(steps, st.Org+" "+string(st.Order)+" "+"["+strings.Join(fields, " ")+"]")
			}
			if d := cmp.Diff(tc.steps, steps); d != "" {
				t.Fatalf("steps (-want +got):\n%s", d)
			}
			if len(p.Blocking()) > 0 {
				t.Fatalf("blocking findings: %+v", p.Blocking())
			}
			// Applied as a saved plan: read back, its steps are still the
			// ordered form of its writes.
			if err := diff.WritePlanFile(filepath.Join(dir, "plan.json"), p); err != nil {
				t.Fatal(err)
			}
			if p, err = diff.ReadPlanFile(filepath.Join(dir, "plan.json")); err != nil {
				t.Fatalf("reading the saved plan back: %v", err)
			}
			src, w := openSpec(t, s, fastRetries())
			rep, err := apply.Run(context.Background(), p, apply.Options{Source: src, Writer: w, Spec: s, SpecHash: s.Hash(), Confirmed: true,
				Journal: filepath.Join(dir, "j"), AuditLog: filepath.Join(dir, "audit"), LockPath: apply.LockPath(dir, ts.URL),
				Target: ts.URL, Operator: "e2e", Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatalf("apply (result %s): %v", rep.Result, err)
			}
			again, err := plan(context.Background(), t, s, fastRetries())
			if err != nil {
				t.Fatal(err)
			}
			if again.HasChanges() {
				t.Errorf("after apply the plan still has changes: %+v %+v", again.ConfigChanges, again.Members)
			}
		})
	}
}

// An org the spec leaves alone still uses the tier the spec drops: the
// plan can never be applied, and says so as a blocking finding.
func TestPlanRefusesDroppingATierAnOrgStillUses(t *testing.T) {
	ts := startServer(t, tieredTenant(true), scimtest.Options{})
	s := loadSpec(t, writeSpec(t, t.TempDir(), `version: 1
target: {url: $SCIM_URL}
parent: {name: agency, loginDomains: [example.gov], seatTiers: [standard], mode: staged}
organizations:
  - name: alpha
    seats: {standard: 5}
    mappings: [{group: alpha-users, role: member, seatTier: standard}]
`, ts.URL))
	p, err := plan(context.Background(), t, s, fastRetries())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []diff.FindingKind
	for _, f := range p.Blocking() {
		kinds = append(kinds, f.Kind)
	}
	if !slices.Equal(kinds, []diff.FindingKind{diff.FindingDroppedTier}) || p.Blocking()[0].Org != "bravo" || p.Verdict() != diff.VerdictDangerous {
		t.Fatalf("blocking findings %+v (verdict %v), want one dropped-seat-tier of bravo", p.Blocking(), p.Verdict())
	}
}

// joinTiers is a seatTiers operation's value, comma separated.
func joinTiers(v any) string {
	var out []string
	switch v := v.(type) {
	case []string:
		out = v
	case []any:
		for _, x := range v {
			out = append(out, x.(string))
		}
	}
	return strings.Join(out, ",")
}
