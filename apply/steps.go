package apply

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// step is one PATCH of the apply: part or all of one of the plan's Writes.
type step struct {
	Num    int // 1-based, in execution order
	OrgID  string
	Org    string
	Parent bool
	// PlanVersion is the org's version the plan recorded; the If-Match of
	// the first step on the org.
	PlanVersion string
	Ops         []scim.PatchOp
	OpsHash     string
}

// fields names the attributes a step writes: "mappings", "seats"….
func (s step) fields() []string {
	out := make([]string, len(s.Ops))
	for i, op := range s.Ops {
		out[i] = op.Path
	}
	return out
}

// enforcement ranks modes by how much SCIM enforces: jit < staged < full.
func enforcement(m string) int {
	switch resolve.Mode(m) {
	case resolve.ModeStaged:
		return 1
	case resolve.ModeFull:
		return 2
	}
	return 0
}

// orderSteps turns the plan's writes (one per organization, parent first)
// into the steps of the apply, in the order DESIGN §7 fixes:
//
//   - when the mode moves towards more enforcement (jit → staged → full),
//     the parent's other settings go first, then every child org's
//     mappings, seats and exceptions, and the mode switch last, so that
//     full provisioning never runs with the old mappings;
//   - when it moves away (full → staged → jit), the parent's write, mode
//     switch included, goes first and the children after it, so that no
//     mapping change is ever enforced under the old mode;
//   - otherwise the parent goes first (new seat tiers exist before a
//     mapping uses them), then the children.
func orderSteps(p *diff.Plan) []step {
	var parent []step
	var children []step
	var modeStep *step
	up := enforcement(p.Mode.After) > enforcement(p.Mode.Before)
	for _, w := range p.Writes {
		s := step{OrgID: w.OrgID, Org: w.Org, Parent: w.Parent, PlanVersion: w.Version}
		if !w.Parent {
			s.Ops = w.Ops
			children = append(children, s)
			continue
		}
		if !up {
			s.Ops = w.Ops
			parent = append(parent, s)
			continue
		}
		var mode, other []scim.PatchOp
		for _, op := range w.Ops {
			if strings.EqualFold(op.Path, "mode") {
				mode = append(mode, op)
			} else {
				other = append(other, op)
			}
		}
		if len(other) > 0 {
			s.Ops = other
			parent = append(parent, s)
		}
		if len(mode) > 0 {
			m := s
			m.Ops = mode
			modeStep = &m
		}
	}
	steps := append(parent, children...)
	if modeStep != nil {
		steps = append(steps, *modeStep)
	}
	for i := range steps {
		steps[i].Num = i + 1
		steps[i].OpsHash = opsHash(steps[i].Ops)
	}
	return steps
}

// opsHash identifies a step's operations in the journal. The operations are
// encoded canonically (object keys sorted), so a plan read back from its file
// hashes as the one computed in memory.
func opsHash(ops []scim.PatchOp) string {
	b, err := json.Marshal(ops)
	if err == nil {
		var v any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			if c, cerr := json.Marshal(v); cerr == nil {
				b = c
			}
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
