package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Differences names the parts of plan a that differ from plan b, comparing
// everything a plan decides: fingerprint, mode, summary, changes, readiness,
// seats, findings, the exceptions about to lapse, group sizes, predictions, the groups read, the writes and
// the org filter of a narrowed plan, and its steps.
// Bookkeeping that does not follow from the spec and the tenant (PlanHash,
// SpecPaths) is not compared. apply computes the plan again from the spec
// and the tenant it re-read, at the saved plan's instant, and refuses a
// saved plan with any difference: a plan edited and re-hashed cannot write
// what the spec does not ask for.
func Differences(a, b *Plan) ([]string, error) {
	parts := []struct {
		name string
		a, b any
	}{
		{"format_version", a.FormatVersion, b.FormatVersion},
		{"generated_at", a.GeneratedAt, b.GeneratedAt},
		{"spec_hash", a.SpecHash, b.SpecHash},
		{"fingerprint", a.Fingerprint, b.Fingerprint},
		{"parent", a.Parent, b.Parent},
		{"mode", a.Mode, b.Mode},
		{"summary", a.Summary, b.Summary},
		{"config_changes", a.ConfigChanges, b.ConfigChanges},
		{"members", a.Members, b.Members},
		{"readiness", a.Readiness, b.Readiness},
		{"seats", a.Seats, b.Seats},
		{"findings", a.Findings, b.Findings},
		{"expiring", a.Expiring, b.Expiring},
		{"group_sizes", a.GroupSizes, b.GroupSizes},
		{"predicted", a.Predicted, b.Predicted},
		{"read_group_ids", a.ReadGroupIDs, b.ReadGroupIDs},
		{"writes", a.Writes, b.Writes},
		{"org_filter", a.OrgFilter, b.OrgFilter},
		{"steps", a.Steps, b.Steps},
	}
	var out []string
	for _, p := range parts {
		ja, err := canonicalJSON(p.a)
		if err != nil {
			return nil, fmt.Errorf("comparing plans: %s: %w", p.name, err)
		}
		jb, err := canonicalJSON(p.b)
		if err != nil {
			return nil, fmt.Errorf("comparing plans: %s: %w", p.name, err)
		}
		if !bytes.Equal(ja, jb) {
			out = append(out, p.name)
		}
	}
	return out, nil
}

// canonicalJSON encodes v and decodes it again into generic values, so that
// a plan read back from its file (numbers, empty lists) compares equal to
// one computed in memory.
func canonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var g any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&g); err != nil {
		return nil, err
	}
	if g == nil {
		g = []any{}
	}
	if s, ok := g.([]any); ok && len(s) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(g)
}
