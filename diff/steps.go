package diff

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/scimsync/scimsync/internal/canonjson"
	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// StepOrder says why a step stands where it does in a plan's order of
// writes (DESIGN §7).
type StepOrder string

// Step orders. The steps of a plan go parent-first, then child, with the
// mode switch last when it moves towards more enforcement; a switch away
// from it is part of the parent's first step.
const (
	// OrderParentFirst: the parent's seat tiers and login domains, before
	// any child org's mappings use them.
	OrderParentFirst StepOrder = "parent-first"
	// OrderModeFirst: a switch away from enforcement (full → staged → jit),
	// with the parent's other settings, before the mappings, so that no
	// mapping change is ever enforced under the old mode.
	OrderModeFirst StepOrder = "mode-first"
	// OrderChild: one child org's mappings, seats and exceptions, after the
	// parent's settings and before a switch towards full.
	OrderChild StepOrder = "child"
	// OrderModeLast: a switch towards more enforcement (jit → staged →
	// full), after the mappings and exceptions it is to enforce, so that
	// full provisioning never runs with the old mappings.
	OrderModeLast StepOrder = "mode-last"
	// OrderTiersLast: the parent's seat tiers without those it drops,
	// once the child orgs' writes have moved their mappings and seats off
	// them (the parent's first step keeps them beside the new ones).
	OrderTiersLast StepOrder = "tiers-last"
)

// Why is the reason for the order, as a sentence fragment.
func (o StepOrder) Why() string {
	switch o {
	case OrderParentFirst:
		return "the parent's seat tiers and login domains before the child orgs use them"
	case OrderModeFirst:
		return "a switch to less enforcement before the mappings change"
	case OrderChild:
		return "a child org's configuration after the parent's, before any switch to more enforcement"
	case OrderModeLast:
		return "a switch to more enforcement after the mappings and exceptions it enforces"
	case OrderTiersLast:
		return "the parent's dropped seat tiers after no child org uses them"
	}
	return "unknown order " + string(o)
}

// Step is one PATCH /Organizations/{OrgID} of a plan, in the order apply
// executes them: the whole or a part of one of the plan's Writes. The plan's
// simulation replays exactly these steps, in this order, and apply executes
// exactly them: the order has its one home in Compute.
type Step struct {
	// Num is the step's place, 1-based.
	Num    int    `json:"step"`
	OrgID  string `json:"org_id"`
	Org    string `json:"org"`
	Parent bool   `json:"parent,omitempty"`
	// Version is the organization's meta.version as observed: the If-Match
	// of the first step on the organization.
	Version string         `json:"version"`
	Ops     []scim.PatchOp `json:"ops"`
	// OpsHash identifies the operations (see OpsHash); the journal records
	// it with each step.
	OpsHash string    `json:"ops_hash"`
	Order   StepOrder `json:"order"`
	// Why is Order.Why(), for the person reading the plan.
	Why string `json:"why"`
}

// Fields names the attributes the step writes: "mappings", "seats"….
func (s Step) Fields() []string {
	out := make([]string, len(s.Ops))
	for i, op := range s.Ops {
		out[i] = op.Path
	}
	return out
}

// writesMode reports whether the step sets the parent's mode.
func (s Step) writesMode() bool {
	return s.Parent && slices.ContainsFunc(s.Ops, isModeOp)
}

func isModeOp(op scim.PatchOp) bool { return op.Path == FieldMode }

func isSeatTiersOp(op scim.PatchOp) bool { return op.Path == FieldSeatTiers }

// seatTiersOf returns the tiers a seatTiers operation writes: a []string
// as Compute builds it, or the []any of strings a plan file decodes to.
func seatTiersOf(op scim.PatchOp) ([]string, bool) {
	switch v := op.Value.(type) {
	case []string:
		return v, true
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// enforcement ranks modes by how much SCIM enforces: jit < staged < full.
func enforcement(m resolve.Mode) int {
	switch m {
	case resolve.ModeStaged:
		return 1
	case resolve.ModeFull:
		return 2
	}
	return 0
}

// orderSteps turns writes (one per organization, parent first) into the
// steps that realise them when the parent's mode goes from before to after,
// in the order DESIGN §7 fixes:
//
//   - when the mode moves towards more enforcement (jit → staged → full),
//     the parent's other settings go first, then every child org's
//     mappings, seats and exceptions, and the mode switch last;
//   - otherwise the parent's write, mode switch included, goes first and
//     the children after it: new seat tiers exist before a mapping uses
//     them, and no mapping change is ever enforced under the old mode;
//   - a seat tier the parent drops while child orgs are written stays
//     until they are: the parent's first step writes the tiers it had
//     and those it gains, and a step after the children's (OrderTiersLast,
//     before a mode switch last) the tiers it keeps, so that no write
//     leaves an org using a tier the parent lacks.
func orderSteps(writes []Write, before, after resolve.Mode) []Step {
	up := enforcement(after) > enforcement(before)
	var first, children, tiersLast, last []Step
	anyChild := slices.ContainsFunc(writes, func(w Write) bool { return !w.Parent })
	for _, w := range writes {
		if w.Parent && anyChild {
			var final *scim.PatchOp
			w.Ops, final = keepDroppedTiers(w.Ops, w.SeatTiersBefore)
			if final != nil {
				s := Step{OrgID: w.OrgID, Org: w.Org, Parent: true, Version: w.Version}
				tiersLast = append(tiersLast, s.with([]scim.PatchOp{*final}, OrderTiersLast))
			}
			if len(w.Ops) == 0 {
				continue
			}
		}
		s := Step{OrgID: w.OrgID, Org: w.Org, Parent: w.Parent, Version: w.Version}
		switch {
		case !w.Parent:
			children = append(children, s.with(w.Ops, OrderChild))
		case !up:
			order := OrderParentFirst
			if slices.ContainsFunc(w.Ops, isModeOp) {
				order = OrderModeFirst
			}
			first = append(first, s.with(w.Ops, order))
		default:
			mode, other := splitMode(w.Ops)
			if len(other) > 0 {
				first = append(first, s.with(other, OrderParentFirst))
			}
			if len(mode) > 0 {
				last = append(last, s.with(mode, OrderModeLast))
			}
		}
	}
	steps := slices.Concat(first, children, tiersLast, last)
	for i := range steps {
		steps[i].Num = i + 1
	}
	if steps == nil {
		return []Step{}
	}
	return steps
}

// keepDroppedTiers splits a parent's ops when their seatTiers operation
// drops some of before: the ops then write before's tiers and the new ones
// (in before's order, the new after them, as the final list orders them),
// or no tiers at all when none is new, and final is the operation that
// drops them. Otherwise ops are returned as they are, and final is nil.
func keepDroppedTiers(ops []scim.PatchOp, before []string) ([]scim.PatchOp, *scim.PatchOp) {
	i := slices.IndexFunc(ops, isSeatTiersOp)
	if i < 0 {
		return ops, nil
	}
	after, ok := seatTiersOf(ops[i])
	if !ok || !slices.ContainsFunc(before, func(t string) bool { return !slices.Contains(after, t) }) {
		return ops, nil
	}
	final := ops[i]
	union := slices.Clone(before)
	for _, t := range after {
		if !slices.Contains(union, t) {
			union = append(union, t)
		}
	}
	out := slices.Clone(ops[:i])
	if len(union) > len(before) {
		out = append(out, scim.PatchOp{Op: final.Op, Path: final.Path, Value: union})
	}
	out = append(out, ops[i+1:]...)
	return out, &final
}

// with is s writing ops, ordered as order says.
func (s Step) with(ops []scim.PatchOp, order StepOrder) Step {
	s.Ops = slices.Clone(ops)
	s.OpsHash = OpsHash(s.Ops)
	s.Order, s.Why = order, order.Why()
	return s
}

// splitMode separates the mode switch from the other operations.
func splitMode(ops []scim.PatchOp) (mode, other []scim.PatchOp) {
	for _, op := range ops {
		if isModeOp(op) {
			mode = append(mode, op)
		} else {
			other = append(other, op)
		}
	}
	return mode, other
}

// withMode returns writes with the parent's mode set to mode: the parent's
// mode operation replaced, added, or dropped when mode is the parent's
// observed one (cur). The readiness report orders these hypothetical writes
// as a plan switching to full would.
func withMode(writes []Write, parent resolve.Org, cur, mode resolve.Mode) []Write {
	out := make([]Write, 0, len(writes)+1)
	var modeOps []scim.PatchOp
	if mode != cur {
		modeOps = []scim.PatchOp{{Op: "replace", Path: FieldMode, Value: string(mode)}}
	}
	wrote := false
	for _, w := range writes {
		if w.Parent {
			_, other := splitMode(w.Ops)
			w.Ops = slices.Concat(modeOps, other)
			wrote = true
			if len(w.Ops) == 0 {
				continue
			}
		}
		out = append(out, w)
	}
	if !wrote && modeOps != nil {
		out = append([]Write{{OrgID: parent.ID, Org: match.Name(parent.Name), Parent: true, Version: parent.Version, Ops: modeOps}}, out...)
	}
	return out
}

// OpsHash identifies a step's operations: the sha256 of their canonical
// JSON (RFC 8785), in hex, first 8 bytes. A plan read back from its file
// hashes as the one computed in memory.
func OpsHash(ops []scim.PatchOp) string {
	b, err := canonjson.Marshal(ops)
	if err != nil {
		// Operations the plan itself built always encode; say so rather
		// than collide with another encoding failure.
		b = []byte("unencodable: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// checkSteps rejects a plan whose steps are not exactly the ordered form of
// its writes (a saved plan edited and re-hashed, or one saved by a
// scimsync that kept no steps): apply executes the steps, so they must say
// what the plan's writes and its findings were computed for.
func (p *Plan) checkSteps() error {
	want := orderSteps(p.Writes, resolve.Mode(p.Mode.Before), resolve.Mode(p.Mode.After))
	if len(p.Steps) != len(want) {
		return fmt.Errorf("steps: %d steps for writes that take %d", len(p.Steps), len(want))
	}
	for i := range want {
		a, err := canonicalJSON(p.Steps[i])
		if err != nil {
			return fmt.Errorf("steps[%d]: %w", i, err)
		}
		b, err := canonicalJSON(want[i])
		if err != nil {
			return fmt.Errorf("steps[%d]: %w", i, err)
		}
		if string(a) != string(b) {
			return fmt.Errorf("steps[%d] (%s): not the plan's writes in apply's order", i, p.Steps[i].Org)
		}
	}
	return nil
}
