package diff

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// TestOrderSteps: the writes in the order DESIGN §7 fixes, each step saying
// why it stands where it does.
func TestOrderSteps(t *testing.T) {
	parent := func(ops ...string) Write {
		w := Write{OrgID: "p", Org: "agency", Parent: true, Version: "pv"}
		for _, o := range ops {
			w.Ops = append(w.Ops, scim.PatchOp{Op: "replace", Path: o})
		}
		return w
	}
	child := func(id string) Write {
		return Write{OrgID: id, Org: id, Version: id + "v", Ops: []scim.PatchOp{{Op: "replace", Path: "mappings"}}}
	}
	type row struct {
		Org    string
		Fields string
		Order  StepOrder
	}
	tests := []struct {
		name          string
		before, after resolve.Mode
		writes        []Write
		want          []row
	}{
		{"to full: mappings first, mode last", "staged", "full",
			[]Write{parent("mode", "seatTiers"), child("hq"), child("west")},
			[]row{{"agency", "seatTiers", OrderParentFirst}, {"hq", "mappings", OrderChild}, {"west", "mappings", OrderChild}, {"agency", "mode", OrderModeLast}}},
		{"jit to staged: mode last", "jit", "staged",
			[]Write{parent("mode"), child("hq")},
			[]row{{"hq", "mappings", OrderChild}, {"agency", "mode", OrderModeLast}}},
		{"away from full: mode first", "full", "staged",
			[]Write{parent("mode", "seatTiers"), child("hq")},
			[]row{{"agency", "mode,seatTiers", OrderModeFirst}, {"hq", "mappings", OrderChild}}},
		{"same mode: parent first", "staged", "staged",
			[]Write{parent("seatTiers"), child("hq")},
			[]row{{"agency", "seatTiers", OrderParentFirst}, {"hq", "mappings", OrderChild}}},
		{"nothing to write", "staged", "staged", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []row
			steps := orderSteps(tt.writes, tt.before, tt.after)
			if steps == nil {
				t.Error("no steps is nil, not an empty list (the JSON holds [])")
			}
			for i, s := range steps {
				if s.Num != i+1 {
					t.Errorf("step %d numbered %d", i+1, s.Num)
				}
				if s.Parent && s.Version != "pv" {
					t.Errorf("parent step carries version %q", s.Version)
				}
				if s.OpsHash != OpsHash(s.Ops) || s.Why != s.Order.Why() {
					t.Errorf("step %d: ops hash %s, why %q", s.Num, s.OpsHash, s.Why)
				}
				got = append(got, row{s.Org, strings.Join(s.Fields(), ","), s.Order})
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("order (-want +got):\n%s", d)
			}
		})
	}
}

func TestOpsHashSurvivesTheFile(t *testing.T) {
	typed := []scim.PatchOp{{Op: "replace", Path: "mappings", Value: []scim.Mapping{{Group: "g1", Role: "member", SeatTier: "standard"}}}}
	generic := []scim.PatchOp{{Op: "replace", Path: "mappings", Value: []any{map[string]any{"seatTier": "standard", "role": "member", "group": "g1"}}}}
	if OpsHash(typed) != OpsHash(generic) {
		t.Error("the same operations hash differently typed and decoded")
	}
	other := []scim.PatchOp{{Op: "replace", Path: "mappings", Value: []any{map[string]any{"seatTier": "premium", "role": "member", "group": "g1"}}}}
	if OpsHash(other) == OpsHash(generic) {
		t.Error("different operations hash the same")
	}
}

// TestPredictionFollowsTheOrder: the convergence checks (checkConverges,
// TestPredictionAgainstServer) replay the plan's steps and compare the
// members with the prediction; they catch an order that drifts from the
// one the simulation replays. Here the mode switch of order-of-writes, run
// before the exception it must wait for, removes a member the plan keeps.
func TestPredictionFollowsTheOrder(t *testing.T) {
	var sc scenario
	for _, c := range scenarios() {
		if c.name == "order-of-writes" {
			sc = c
		}
	}
	if sc.name == "" {
		t.Fatal("no order-of-writes scenario")
	}
	p, err := Compute(loadSpec(t, sc.name, sc.spec), sc.tenant, scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) != 2 || p.Steps[1].Order != OrderModeLast {
		t.Fatalf("steps %+v, want a child step, then the switch to full", p.Steps)
	}
	predicted := func(steps []Step) []Prediction {
		after := applySteps(t, sc.tenant, steps)
		var out []Prediction
		for _, pr := range p.Predicted {
			var ms []resolve.Member
			for _, m := range after.Members {
				if m.Org == pr.OrgID {
					ms = append(ms, m)
				}
			}
			out = append(out, PredictMembers(pr.OrgID, pr.Org, ms))
		}
		return out
	}
	if d := cmp.Diff(p.Predicted, predicted(p.Steps)); d != "" {
		t.Errorf("the plan's steps do not give its prediction (-plan +steps):\n%s", d)
	}
	swapped := []Step{p.Steps[1], p.Steps[0]}
	if cmp.Equal(p.Predicted, predicted(swapped)) {
		t.Error("the switch to full before the exception gives the same members: the order is not what the prediction depends on")
	}
}
