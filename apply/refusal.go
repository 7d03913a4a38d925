package apply

import (
	"fmt"
	"strings"
)

// Refusal is a precondition that failed: the apply wrote nothing. Each
// precondition has its own type (StaleError, SpecChangedError, …) for
// errors.As; all of them implement Refusal.
type Refusal interface {
	error
	// Summary is a short heading: "Saved plan is stale".
	Summary() string
	// Detail is one or more full sentences saying what happened and what to
	// do, followed by the objects concerned, one per line.
	Detail() string
	// Gate reports whether the refusal is a safety gate on removals or
	// policy (exit code 3) rather than a plain error (exit code 1).
	Gate() bool
}

// RefusedError is what Run returns when preconditions failed: every one of
// them, in the order they were checked. errors.As finds each typed refusal
// through it.
type RefusedError struct {
	Refusals []Refusal
}

func (e *RefusedError) Error() string {
	parts := make([]string, len(e.Refusals))
	for i, r := range e.Refusals {
		parts[i] = r.Error()
	}
	return "apply refused: " + strings.Join(parts, "; ")
}

// Unwrap returns the refusals, so errors.As reaches each one.
func (e *RefusedError) Unwrap() []error {
	out := make([]error, len(e.Refusals))
	for i, r := range e.Refusals {
		out[i] = r
	}
	return out
}

// Gate reports whether every refusal is a gate on removals or policy (exit
// code 3). A plain error among them (a stale plan, say) makes it false.
func (e *RefusedError) Gate() bool {
	for _, r := range e.Refusals {
		if !r.Gate() {
			return false
		}
	}
	return len(e.Refusals) > 0
}

// StaleError: the tenant changed since the plan was computed.
type StaleError struct {
	// Changed names what differs: "users", "groups", "organization hq
	// (version 3 → 4)", "members of hq", ….
	Changed []string
	// Note adds what a journal says about an earlier, interrupted run.
	Note string
}

func (e *StaleError) Error() string {
	return "saved plan is stale: the tenant changed since the plan was computed (" + strings.Join(e.Changed, ", ") + ")"
}
func (e *StaleError) Summary() string { return "Saved plan is stale" }
func (e *StaleError) Detail() string {
	s := "The given plan can no longer be applied because the tenant has changed since the plan was computed, so the writes it holds may not do what was reviewed. Run scimsync plan again, review the new plan, and apply that one."
	if e.Note != "" {
		s += " " + e.Note
	}
	return s + "\nChanged since the plan:" + bullets(e.Changed)
}
func (e *StaleError) Gate() bool { return false }

// SpecChangedError: the spec's hash differs from the one the plan was
// computed from.
type SpecChangedError struct {
	PlanSpecHash, SpecHash string
}

func (e *SpecChangedError) Error() string {
	return fmt.Sprintf("spec changed since the plan: plan has spec hash %.12s, the spec now hashes to %.12s", e.PlanSpecHash, e.SpecHash)
}
func (e *SpecChangedError) Summary() string { return "Spec changed since the plan" }
func (e *SpecChangedError) Detail() string {
	return fmt.Sprintf("The plan was computed from a different version of the spec (hash %.12s; the spec given now hashes to %.12s), so it does not describe what the spec asks for. Run scimsync plan again with the current spec and apply the new plan.", e.PlanSpecHash, e.SpecHash)
}
func (e *SpecChangedError) Gate() bool { return false }

// TooManyRemovalsError: the plan removes more members than the policy
// allows without approval, or --allow-removals does not match the plan.
type TooManyRemovalsError struct {
	Removals int
	// Allowed is the --allow-removals value; -1 when not given.
	Allowed int
	// Over lists the limits exceeded: "5 removals in all, policy.maxRemovals
	// is 3", "hq: 4 of 10 members (40%), policy.maxRemovalPercent is 5%".
	Over []string
}

func (e *TooManyRemovalsError) Error() string {
	if e.Allowed >= 0 && e.Allowed != e.Removals {
		return fmt.Sprintf("removals not approved: --allow-removals=%d does not match the plan's %s", e.Allowed, count(e.Removals, "removal"))
	}
	return fmt.Sprintf("too many removals: the plan removes %s (%s)", count(e.Removals, "member"), strings.Join(e.Over, "; "))
}
func (e *TooManyRemovalsError) Summary() string {
	if e.Allowed >= 0 && e.Allowed != e.Removals {
		return "Removal count does not match"
	}
	return "Too many removals"
}
func (e *TooManyRemovalsError) Detail() string {
	if e.Allowed >= 0 && e.Allowed != e.Removals {
		return fmt.Sprintf("--allow-removals=%d was given, but the plan removes %s. The count must match the plan exactly, so that an approval given for one plan cannot let a larger one through. Review the plan's removals and pass --allow-removals=%d if they are intended.", e.Allowed, count(e.Removals, "member"), e.Removals)
	}
	return fmt.Sprintf("The plan removes %s, beyond what the policy allows one apply to remove without approval. This guards against a typo in the spec, or a broken IdP sync, removing people by the hundred. Review the removals in the plan; if they are intended, run the apply again with --allow-removals=%d.\nLimits exceeded:%s", count(e.Removals, "member"), e.Removals, bullets(e.Over))
}
func (e *TooManyRemovalsError) Gate() bool { return true }

// ProtectedUserError: the plan removes a member listed in
// policy.protectedUsers. Nothing overrides it.
type ProtectedUserError struct {
	// Users are "org: email" lines.
	Users []string
}

func (e *ProtectedUserError) Error() string {
	return "protected user in the removal set: " + strings.Join(e.Users, ", ")
}
func (e *ProtectedUserError) Summary() string { return "Protected user would be removed" }
func (e *ProtectedUserError) Detail() string {
	return "The plan removes a member listed in policy.protectedUsers (break-glass and similar accounts). No flag overrides this: change the spec or the IdP so that the member stays entitled, or take them out of policy.protectedUsers in a reviewed change, then plan again.\nProtected members the plan removes:" + bullets(e.Users)
}
func (e *ProtectedUserError) Gate() bool { return true }

// EmptyGroupError: a mapped group resolves to no user, or lost more than
// half its users since the plan was computed.
type EmptyGroupError struct {
	// Groups are lines such as "claude-hq-users: 0 users" or
	// "claude-hq-users: 3 users now, 40 when planned".
	Groups []string
}

func (e *EmptyGroupError) Error() string {
	return "mapped group empty or shrunk: " + strings.Join(e.Groups, ", ")
}
func (e *EmptyGroupError) Summary() string { return "Mapped group is empty or shrank" }
func (e *EmptyGroupError) Detail() string {
	return "A group the spec maps resolves to no user, or to less than half the users it held when the plan was computed. That is more often a broken IdP sync or a renamed group than an intended change, and applying would remove its members. Check the group in the IdP; if the change is intended, run the apply again with --allow-empty-groups.\nGroups:" + bullets(e.Groups)
}
func (e *EmptyGroupError) Gate() bool { return true }

// SeatOvercommitError: the plan entitles more users to a tier than the org
// purchased.
type SeatOvercommitError struct {
	// Tiers are lines such as "hq premium: 70 entitled, 60 purchased".
	Tiers []string
}

func (e *SeatOvercommitError) Error() string {
	return "seat overcommit: " + strings.Join(e.Tiers, ", ")
}
func (e *SeatOvercommitError) Summary() string { return "Seats overcommitted" }
func (e *SeatOvercommitError) Detail() string {
	return "The plan entitles more users to a seat tier than the organization has purchased. The server does not count seats, so scimsync refuses: raise seats in the spec (after buying them) or narrow the mappings, then plan again.\nOvercommitted:" + bullets(e.Tiers)
}
func (e *SeatOvercommitError) Gate() bool { return false }

// PolicyError: the plan carries an error-level policy finding (an admin role
// granted outside policy.ownerGroups, a user entitled in two orgs under
// policy.exclusiveOrgs). Nothing overrides it but a spec change.
type PolicyError struct {
	Findings []string
}

func (e *PolicyError) Error() string {
	return "plan breaks policy: " + strings.Join(e.Findings, "; ")
}
func (e *PolicyError) Summary() string { return "Plan breaks policy" }
func (e *PolicyError) Detail() string {
	return "The plan carries policy findings of error severity. Change the spec so that it keeps to its policy, then plan again.\nFindings:" + bullets(e.Findings)
}
func (e *PolicyError) Gate() bool { return true }

// ForgedPlanError: the saved plan is not the plan its spec gives for the
// tenant it was computed from, though its hash matches its content: it was
// edited and re-hashed, or made by something other than scimsync plan.
type ForgedPlanError struct {
	// Differ names the parts of the plan that differ: "writes", "findings"….
	Differ []string
}

func (e *ForgedPlanError) Error() string {
	return "saved plan does not follow from its spec: computing it again gives different " + strings.Join(e.Differ, ", ")
}
func (e *ForgedPlanError) Summary() string { return "Saved plan does not follow from its spec" }
func (e *ForgedPlanError) Detail() string {
	return "Computing the plan again from the spec and the tenant it was made from, at the plan's own time, gives a different plan, so the file was changed after scimsync plan wrote it (its hash recomputed) or was not written by it. Nothing was written. Run scimsync plan again, review that plan, and apply it.\nDiffering parts:" + bullets(e.Differ)
}
func (e *ForgedPlanError) Gate() bool { return false }

// ReadOnlyError: the target cannot be written, such as a members export
// (a server exposing only /Users and /Groups).
type ReadOnlyError struct {
	Reason string
}

func (e *ReadOnlyError) Error() string   { return "target is read-only: " + e.Reason }
func (e *ReadOnlyError) Summary() string { return "Target is read-only" }
func (e *ReadOnlyError) Detail() string {
	return "This plan cannot be applied because " + e.Reason + "; make its changes in the admin console and plan again to confirm none are left, or move to a server with the organization extension so that apply can write them."
}
func (e *ReadOnlyError) Gate() bool { return false }

// UnwritableTargetError: the target could be written but for how it is
// set up: a snapshot file that is a symbolic link, say.
type UnwritableTargetError struct {
	Err error
}

func (e *UnwritableTargetError) Error() string {
	return "the target cannot be written: " + e.Err.Error()
}
func (e *UnwritableTargetError) Summary() string { return "Target cannot be written" }
func (e *UnwritableTargetError) Detail() string {
	return "Nothing was written: " + e.Err.Error() + ". Then apply the plan again."
}
func (e *UnwritableTargetError) Gate() bool    { return false }
func (e *UnwritableTargetError) Unwrap() error { return e.Err }

func bullets(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString("\n  - ")
		b.WriteString(it)
	}
	return b.String()
}

// count says "1 member", "2 members".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
