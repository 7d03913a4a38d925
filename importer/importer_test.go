package importer_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/importer"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// roundTrip imports snap, loads the spec, plans it against the same tenant
// and checks that the plan changes no configuration but for dropping the
// exceptions that lapsed before now (they lapse for real, issue 15: the
// plan writes the org's exceptions without them), and that its member
// changes are exactly those the server's own configuration implies (the
// tenant's own lack of convergence). It returns the imported spec.
func roundTrip(t *testing.T, snap *tenant.Snapshot, now time.Time) *importer.Result {
	t.Helper()
	tn, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
	if err != nil {
		t.Fatalf("FromSCIM: %v", err)
	}
	res, err := importer.Spec(tn, importer.Options{Target: spec.Target{File: "tenant.json"}, Now: now})
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	s, diags, err := spec.LoadBytesWith(spec.LoadOptions{Now: now}, "imported.yaml", res.YAML)
	if err != nil || diags.HasErrors() {
		t.Fatalf("loading the imported spec: %v\n%v\n%s", err, diags, res.YAML)
	}
	p, err := diff.Compute(s, tn, now)
	if err != nil {
		t.Fatalf("Compute: %v\n%s", err, res.YAML)
	}
	var changes []diff.ConfigChange
	for _, c := range p.ConfigChanges {
		if c.Field == diff.FieldException && c.After == "" && lapsedBefore(tn, c, now) {
			continue
		}
		changes = append(changes, c)
	}
	if len(changes) > 0 {
		t.Errorf("the imported spec changes configuration: %+v\n%s", changes, res.YAML)
	}
	// The header says what plan still changes: nothing, or the lapsed
	// exceptions it drops.
	claim := "plan finds no\n# configuration to change."
	if n := len(p.ConfigChanges) - len(changes); n == 1 {
		claim = "plan changes\n# only what the comments below mark, 1 item import could not\n# keep."
	} else if n > 1 {
		claim = fmt.Sprintf("plan changes\n# only what the comments below mark, %d items import could not\n# keep.", n)
	}
	if !strings.Contains(string(res.YAML), "Written by scimsync import from the tenant as it is: "+claim) {
		t.Errorf("the header does not say %q:\n%s", claim, res.YAML[:min(len(res.YAML), 400)])
	}
	// What the server itself would do to its members now.
	own := resolve.Resolve(resolve.Input{Users: tn.Users, Groups: tn.Groups, Parent: tn.Parent, Orgs: tn.Orgs, Members: tn.Members, Now: now})
	var want diff.Summary
	for _, oc := range own.Outcomes {
		switch oc.Action {
		case resolve.ActionAdd:
			want.Add++
		case resolve.ActionChange:
			want.Change++
		case resolve.ActionRemove:
			want.Remove++
		}
	}
	// plan assumes a server that writes nothing is converged; it never
	// predicts more than the server's own configuration implies.
	if got := p.Summary; got.Add > want.Add || got.Change > want.Change || got.Remove > want.Remove {
		t.Errorf("member changes %+v, beyond what the server's own configuration gives, %+v", got, want)
	}

	// Deterministic: the same tenant in another order gives the same bytes.
	slices.Reverse(tn.Orgs)
	slices.Reverse(tn.Groups)
	again, err := importer.Spec(tn, importer.Options{Target: spec.Target{File: "tenant.json"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.YAML, res.YAML) {
		t.Errorf("not deterministic:\n%s\n---\n%s", res.YAML, again.YAML)
	}
	return res
}

func TestRoundTripBundledSnapshots(t *testing.T) {
	paths, _ := filepath.Glob("../examples/*/tenant.json")
	paths = append(paths, "../e2e/testdata/tenant.json")
	if len(paths) < 4 {
		t.Fatalf("found only %v", paths)
	}
	for _, now := range []time.Time{time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)} {
		for _, path := range paths {
			t.Run(path+"@"+now.Format(time.DateOnly), func(t *testing.T) {
				snap, err := tenant.ReadSnapshot(path)
				if err != nil {
					t.Fatal(err)
				}
				res := roundTrip(t, snap, now)
				if !strings.HasPrefix(string(res.YAML), "# yaml-language-server: $schema=") {
					t.Errorf("no modeline:\n%s", res.YAML)
				}
			})
		}
	}
}

// smallParams is a generated tenant small enough to plan many times.
var smallParams = gen.Params{
	Users: 300, Groups: 60, BigGroups: 3, BigGroupSize: 60, Memberships: 1500,
	Orgs: 3, Mappings: 12, Members: 300,
	NonSCIMFraction: 0.1, InactiveFraction: 0.1, SpecialFraction: 0.05, AliasFraction: 0.1,
}

// perturb gives a generated tenant what gen leaves out, at random: a mode,
// seats, exceptions (lapsed or not), login domains, and groups whose
// displayNames collide.
func perturb(snap *tenant.Snapshot, rng *rand.Rand) {
	for i := range snap.Organizations {
		o := &snap.Organizations[i]
		if o.Parent == "" {
			o.Mode = []string{"jit", "staged", "full"}[rng.IntN(3)]
			if rng.IntN(4) == 0 {
				o.LoginDomains = nil
			}
			continue
		}
		if rng.IntN(3) > 0 {
			o.Seats = map[string]int{"standard": rng.IntN(500), "premium": rng.IntN(50)}
			if rng.IntN(2) == 0 {
				delete(o.Seats, "premium")
			}
		}
		for k := rng.IntN(3); k > 0; k-- {
			m := snap.Members[rng.IntN(len(snap.Members))]
			if strings.ContainsAny(m.Email, " \"\\") {
				continue // the spec refuses such an address in policy.exceptions
			}
			until := gen.Epoch.AddDate(0, 0, rng.IntN(60)-30).Format(time.DateOnly)
			o.Exceptions = append(o.Exceptions, scim.Exception{Email: m.Email, Until: until, Reason: fmt.Sprintf("reason %d", k)})
		}
		slices.SortFunc(o.Exceptions, func(a, b scim.Exception) int { return strings.Compare(a.Email, b.Email) })
		o.Exceptions = slices.CompactFunc(o.Exceptions, func(a, b scim.Exception) bool { return resolve.NormEmail(a.Email) == resolve.NormEmail(b.Email) })
	}
	// A mapped group and another group take the same name, in another case.
	for k := rng.IntN(3); k > 0; k-- {
		a, b := rng.IntN(len(snap.Groups)), rng.IntN(len(snap.Groups))
		if a != b {
			snap.Groups[b].DisplayName = strings.ToUpper(snap.Groups[a].DisplayName)
		}
	}
}

// TestRoundTripGenerated is the round-trip property: for generated tenants
// across seeds, import → spec.Load → diff.Compute changes no configuration.
func TestRoundTripGenerated(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	collided := 0
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			snap, err := gen.Generate(smallParams, int64(seed))
			if err != nil {
				t.Fatal(err)
			}
			perturb(snap, rand.New(rand.NewPCG(uint64(seed), 17)))
			res := roundTrip(t, snap, gen.Epoch)
			if bytes.Contains(res.YAML, []byte("groupId:")) {
				collided++
			}
		})
	}
	if collided == 0 {
		t.Errorf("no seed exercised the groupId fallback")
	}
}

func TestMembersExport(t *testing.T) {
	f, err := os.Open("../examples/members-export/members.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := tenant.ParseMembersCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	target := spec.Target{URL: "http://127.0.0.1:8080/scim/v2", MembersCSV: "members.csv"}
	res, err := importer.MembersExport(rows, importer.Options{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	s, diags, err := spec.LoadBytes("imported.yaml", res.YAML)
	if err != nil || diags.HasErrors() {
		t.Fatalf("loading: %v\n%v\n%s", err, diags, res.YAML)
	}
	if s.Current == nil || len(s.Current.Organizations) != len(s.Organizations) || s.Target.URL != target.URL || s.Target.MembersCSV != target.MembersCSV {
		t.Errorf("current %+v, organizations %+v, target %+v", s.Current, s.Organizations, s.Target)
	}
	for _, word := range []string{"mappings", "seats", "exceptions", "mode"} {
		if !strings.Contains(strings.Join(res.Notes, " "), word) {
			t.Errorf("the notes do not say that %s are unknown: %q", word, res.Notes)
		}
	}
	if !bytes.Contains(res.YAML, []byte("not in a members export")) {
		t.Errorf("the spec does not say what the export cannot tell:\n%s", res.YAML)
	}
	again, _ := importer.MembersExport(rows, importer.Options{Target: target})
	if !bytes.Equal(again.YAML, res.YAML) {
		t.Error("not deterministic")
	}
}

// lapsedBefore reports whether the config change c drops an exception the
// tenant holds that lapsed before now.
func lapsedBefore(tn *tenant.Tenant, c diff.ConfigChange, now time.Time) bool {
	for _, o := range tn.Orgs {
		if !strings.EqualFold(o.Name, c.Org) {
			continue
		}
		for _, x := range o.Exceptions {
			if strings.EqualFold(x.Email, c.Key) && spec.Lapsed(x.Until, now) {
				return true
			}
		}
	}
	return false
}

// A name YAML 1.1 tools read as a boolean (yes, no, on, off) is written
// quoted, though yaml.v3 would read it back as a string either way.
func TestYAML11BooleanWordsAreQuoted(t *testing.T) {
	tn := &tenant.Tenant{
		Parent: resolve.Org{ID: "p", Name: "agency", Mode: resolve.ModeStaged, SeatTiers: []string{"standard"}},
		Groups: []resolve.Group{{ID: "g1", DisplayName: "yes"}, {ID: "g2", DisplayName: "Off"}},
		Orgs: []resolve.Org{{ID: "o1", Name: "on", Parent: "p", Seats: map[string]int{"standard": 1},
			Mappings: []resolve.Mapping{{GroupID: "g1", Role: resolve.RoleMember, SeatTier: "standard"}, {GroupID: "g2", Role: resolve.RoleMember, SeatTier: "standard"}}}},
	}
	res, err := importer.Spec(tn, importer.Options{Target: spec.Target{File: "tenant.json"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`- name: "on"`, `group: "yes"`, `group: "Off"`} {
		if !strings.Contains(string(res.YAML), want) {
			t.Errorf("the spec does not hold %s:\n%s", want, res.YAML)
		}
	}
}
