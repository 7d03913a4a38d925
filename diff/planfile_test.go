package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/scim"
)

func samplePlan() *Plan {
	p := &Plan{
		FormatVersion: FormatVersion,
		GeneratedAt:   time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		SpecHash:      "abc",
		Fingerprint:   Fingerprint{Hash: "f00", Orgs: []OrgRef{{ID: "o1", Name: "hq", Version: `W/"3"`}}},
		Parent:        OrgRef{ID: "p", Name: "agency", Version: `W/"1"`},
		Mode:          ModeChange{Before: "staged", After: "full"},
		Summary:       Summary{Add: 1, Remove: 1, Config: 2},
		ConfigChanges: []ConfigChange{{Org: "agency", Field: FieldMode, Before: "staged", After: "full"}},
		Members: []MemberChange{
			{Org: "hq", Email: "a@x.gov", Action: ActionAdd, After: &Assignment{Role: "member", SeatTier: "standard", Origin: "scim"}, Via: "users"},
			{Org: "hq", Email: "b@x.gov", Action: ActionRemove, Before: &Assignment{Role: "member", SeatTier: "standard", Origin: "jit"}, Reason: "not provisioned via SCIM"},
		},
		Writes: []Write{
			{OrgID: "p", Org: "agency", Parent: true, Version: `W/"1"`, Ops: []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}}},
			{OrgID: "o1", Org: "hq", Version: `W/"3"`, Ops: []scim.PatchOp{
				{Op: "replace", Path: "seats", Value: map[string]int{"standard": 900, "premium": 60}},
				{Op: "replace", Path: "exceptions", Value: []scim.Exception{{Email: "c@x.gov", Until: "2027-03-31", Reason: "badge <pending> & \"more\""}}},
			}},
		},
	}
	p.Steps = orderSteps(p.Writes, "staged", "full")
	return p
}

func TestPlanFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	p := samplePlan()
	if err := WritePlanFile(path, p); err != nil {
		t.Fatal(err)
	}
	if p.PlanHash != "" {
		t.Errorf("WritePlanFile modified its argument: PlanHash = %q", p.PlanHash)
	}
	got, err := ReadPlanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.PlanHash == "" {
		t.Errorf("read plan has no PlanHash")
	}
	// Values inside ops come back as generic JSON; compare the documents.
	a, _ := MarshalPlanFile(p)
	b, _ := MarshalPlanFile(got)
	da, _ := decodeGeneric(a)
	db, _ := decodeGeneric(b)
	if diff := cmp.Diff(da, db); diff != "" {
		t.Errorf("round trip changed the plan (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode = %v, want 0600", fi.Mode().Perm())
	}
	// A plan read back can be saved again and read again.
	path2 := filepath.Join(t.TempDir(), "again.json")
	if err := WritePlanFile(path2, got); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPlanFile(path2); err != nil {
		t.Errorf("re-saved plan: %v", err)
	}
}

func TestReadPlanFileRefuses(t *testing.T) {
	good, err := MarshalPlanFile(samplePlan())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(string) string
		want error
	}{
		{"email changed", func(s string) string { return strings.Replace(s, "b@x.gov", "c@x.gov", 1) }, ErrPlanModified},
		{"seat count changed", func(s string) string { return strings.Replace(s, "900", "901", 1) }, ErrPlanModified},
		{"field added", func(s string) string { return strings.Replace(s, "{", `{"extra": 1,`, 1) }, ErrPlanModified},
		{"field renamed by case", func(s string) string { return strings.Replace(s, `"spec_hash"`, `"Spec_Hash"`, 1) }, ErrPlanModified},
		{"hash removed", func(s string) string { return strings.Replace(s, `"plan_hash"`, `"plan_hash_x"`, 1) }, ErrNotSavedPlan},
		{"format bumped", func(s string) string { return strings.Replace(s, `"format_version": "1"`, `"format_version": "2"`, 1) }, ErrPlanFormat},
		{"no format", func(s string) string { return strings.Replace(s, `"format_version"`, `"format"`, 1) }, ErrPlanFormat},
		{"saved before plans held steps", func(s string) string { return strings.Replace(s, `"steps"`, `"steps_x"`, 1) }, ErrPlanFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.edit(string(good))
			if data == string(good) {
				t.Fatal("edit changed nothing")
			}
			_, err := UnmarshalPlanFile([]byte(data))
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Reformatting alone (whitespace) is not a modification.
	var compact bytes.Buffer
	for _, line := range strings.Split(string(good), "\n") {
		compact.WriteString(strings.TrimSpace(line))
	}
	if _, err := UnmarshalPlanFile(compact.Bytes()); err != nil {
		t.Errorf("reindented plan refused: %v", err)
	}
	if _, err := ReadPlanFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Errorf("missing file: no error")
	}
}

// TestReadPlanFileRefusesForgedSteps: a saved plan whose steps are not its
// writes in apply's order is refused even when its plan_hash was computed
// again over the edit, and an edit that keeps the old plan_hash is a
// modification (issue 13).
func TestReadPlanFileRefusesForgedSteps(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Plan)
		want string
	}{
		{"mode switch moved first", func(p *Plan) {
			p.Steps[0], p.Steps[1] = p.Steps[1], p.Steps[0]
			p.Steps[0].Num, p.Steps[1].Num = 1, 2
		}, "not the plan's writes in apply's order"},
		{"a step dropped", func(p *Plan) { p.Steps = p.Steps[:1] }, "1 steps for writes that take 2"},
		{"a step's ops changed", func(p *Plan) {
			p.Steps[0].Ops[0].Value = map[string]int{"standard": 5000}
			p.Steps[0].OpsHash = OpsHash(p.Steps[0].Ops)
		}, "not the plan's writes"},
		{"a step's ops hash changed", func(p *Plan) { p.Steps[1].OpsHash = "0000000000000000" }, "not the plan's writes"},
		{"the order's reason changed", func(p *Plan) { p.Steps[1].Order = OrderModeFirst }, "not the plan's writes"},
		{"no steps", func(p *Plan) { p.Steps = []Step{} }, "0 steps for writes that take 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good, err := MarshalPlanFile(samplePlan())
			if err != nil {
				t.Fatal(err)
			}
			p, err := UnmarshalPlanFile(good)
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(p)
			// Re-hashed: the steps themselves are refused.
			forged, err := MarshalPlanFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := UnmarshalPlanFile(forged); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("re-hashed: err = %v, want one saying %q", err, tt.want)
			}
			// The old plan_hash kept: the hash covers the steps.
			var doc map[string]any
			if err := json.Unmarshal(forged, &doc); err != nil {
				t.Fatal(err)
			}
			var orig map[string]any
			if err := json.Unmarshal(good, &orig); err != nil {
				t.Fatal(err)
			}
			doc["plan_hash"] = orig["plan_hash"]
			kept, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := UnmarshalPlanFile(kept); !errors.Is(err, ErrPlanModified) {
				t.Errorf("old hash kept: err = %v, want ErrPlanModified", err)
			}
		})
	}
}

func TestReadPlanFileRejectsBadWrites(t *testing.T) {
	p := samplePlan()
	p.Writes[0].Ops[0].Op = "delete"
	data, err := MarshalPlanFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalPlanFile(data); err == nil || !strings.Contains(err.Error(), `op "delete"`) {
		t.Errorf("err = %v, want an error about op \"delete\"", err)
	}
}

func FuzzReadPlan(f *testing.F) {
	good, err := MarshalPlanFile(samplePlan())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format_version":"1"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := UnmarshalPlanFile(data)
		if err != nil {
			return
		}
		// Whatever is accepted re-encodes to a file that is accepted again
		// and means the same.
		again, err := MarshalPlanFile(p)
		if err != nil {
			t.Fatalf("re-encoding an accepted plan: %v", err)
		}
		p2, err := UnmarshalPlanFile(again)
		if err != nil {
			t.Fatalf("re-encoded plan refused: %v", err)
		}
		third, err := MarshalPlanFile(p2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, third) {
			t.Errorf("re-encoding is not stable:\n%s\n%s", again, third)
		}
	})
}
