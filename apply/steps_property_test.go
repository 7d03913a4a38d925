package apply

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// TestAppliedStepsGiveThePrediction is the property that keeps the write
// order in one place (issue 13): for generated tenants on the reference
// server and random changes to their spec (the mode, mappings dropped and
// re-tiered, exceptions, some lapsed), apply executes the plan's steps, exactly those, in their
// order, and the members the server then holds are exactly those the
// plan's simulation predicted (Verify), with nothing left to plan.
func TestAppliedStepsGiveThePrediction(t *testing.T) {
	seeds := 16
	if testing.Short() {
		seeds = 4
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			checkAppliedSteps(t, seed)
		})
	}
}

func checkAppliedSteps(t *testing.T, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x51ed270b27))
	params := gen.Params{
		Users: 100 + rng.IntN(80), BigGroups: 2, BigGroupSize: 30,
		Orgs: 1 + rng.IntN(3), Members: 100,
		NonSCIMFraction: 0.2, InactiveFraction: 0.1, AliasFraction: 0.1,
	}.Fit(rng)
	snap, err := gen.Generate(params, seed)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gen.Spec(snap)
	if err != nil {
		t.Fatal(err)
	}
	s.Target.File = "tenant.json"
	modes := []spec.Mode{spec.ModeJIT, spec.ModeStaged, spec.ModeFull, spec.ModeFull}
	s.Parent.Mode = modes[rng.IntN(len(modes))]
	// Exceptions for some members SCIM does not back: they survive a switch
	// to full only when written before it.
	orgName := map[string]string{}
	for _, o := range snap.Organizations {
		orgName[o.ID] = o.Name
	}
	for _, m := range snap.Members {
		if m.Origin != "scim" && m.Role != "primary-owner" && rng.IntN(3) == 0 {
			until := gen.Epoch.AddDate(0, 0, rng.IntN(60)-10).Format(time.DateOnly)
			s.Policy.Exceptions = append(s.Policy.Exceptions, spec.Exception{Email: m.Email, Org: orgName[m.Organization], Until: until, Reason: "property test"})
		}
	}
	for i := range s.Organizations {
		o := &s.Organizations[i]
		if len(o.Mappings) > 1 && rng.IntN(2) == 0 {
			k := rng.IntN(len(o.Mappings))
			o.Mappings = append(o.Mappings[:k], o.Mappings[k+1:]...)
		}
		if len(o.Mappings) > 0 && rng.IntN(2) == 0 {
			o.Mappings[0].SeatTier = gen.SeatTiers[rng.IntN(len(gen.SeatTiers))]
		}
		for _, tier := range gen.SeatTiers {
			if o.Seats == nil {
				o.Seats = map[string]int{}
			}
			o.Seats[tier] = 10 * params.Users // no overcommit: not this test's subject
		}
	}

	now := gen.Epoch
	ts := scimtest.NewTestServer(t, snap, scimtest.Options{Token: secretToken, Now: func() time.Time { return now }})
	c, err := scim.New(scim.Config{BaseURL: ts.URL, Token: secretToken, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src := &tenant.SCIMSource{Client: c}
	// Planned as the command plans: reading the members of the groups the
	// spec maps, which apply reads again.
	planWith := func(groups []string) *diff.Plan {
		t.Helper()
		tn, err := src.Read(context.Background(), tenant.ReadRequest{GroupIDs: groups})
		if err != nil {
			t.Fatal(err)
		}
		p, err := diff.Compute(s, tn, now)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	plan := func() *diff.Plan { return planWith(planWith(allGroupIDs(snap)).ReadGroupIDs) }
	p := plan()
	for _, f := range p.Blocking() {
		if f.Override == diff.OverrideNone {
			t.Skipf("seed %d: a finding no override lifts: %s", seed, f.Message)
		}
	}

	dir := t.TempDir()
	rw := &recordingWriter{w: c}
	_, err = Run(context.Background(), p, Options{
		Source: src, Writer: rw, Spec: s, Confirmed: true,
		AllowRemovals: &p.Summary.Remove, AllowEmptyGroups: true,
		Journal: filepath.Join(dir, "plan.journal"),
		Now:     func() time.Time { return now },
	})
	if err != nil {
		t.Fatalf("Run: %v (steps %d, %+v)", err, len(p.Steps), p.Summary)
	}
	if len(rw.sent) != len(p.Steps) {
		t.Fatalf("sent %d PATCHes for the plan's %d steps", len(rw.sent), len(p.Steps))
	}
	for i, st := range p.Steps {
		if got := rw.sent[i]; got.OrgID != st.OrgID || diff.OpsHash(got.Ops) != st.OpsHash {
			t.Errorf("PATCH %d went to %s with ops %s; step %d is %s with %s", i+1, got.OrgID, diff.OpsHash(got.Ops), st.Num, st.OrgID, st.OpsHash)
		}
	}
	if again := plan(); again.HasChanges() || len(again.Steps) > 0 {
		t.Errorf("after the apply a plan still has %d steps, %+v", len(again.Steps), again.Summary)
	}
}

func allGroupIDs(snap *tenant.Snapshot) []string {
	ids := make([]string, len(snap.Groups))
	for i, g := range snap.Groups {
		ids[i] = g.ID
	}
	return ids
}
