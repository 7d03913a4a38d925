package diff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
)

// Action is what a plan does to one member: resolve.Action, the one
// definition of the vocabulary (DESIGN §9), with the actions a plan shows.
// ActionLink (an existing jit or manual member becoming backed by its SCIM
// user, role and tier unchanged) is reported but not counted; ActionFlag,
// the plan's own, marks a member a finding concerns and is not counted
// either. A plan shows no keep.
type Action = resolve.Action

// Member actions.
const (
	ActionAdd    = resolve.ActionAdd
	ActionChange = resolve.ActionChange
	ActionRemove = resolve.ActionRemove
	ActionLink   = resolve.ActionLink
	ActionFlag   = Action("flag")
)

// Severity is how much a finding weighs: spec.Severity, the one definition
// (a diagnostic's and a finding's severities are the same two words). An
// error-level finding makes the plan dangerous (VerdictDangerous) whether
// or not it writes anything, and apply refuses it unless the operator
// passes the finding's Override.
type Severity = spec.Severity

// Finding severities.
const (
	SeverityError   = spec.Error
	SeverityWarning = spec.Warning
)

// FindingKind says which gate a finding comes from. Each kind is evaluated
// once, by Compute (and, for the fresh read apply makes, GroupShrink).
type FindingKind string

// Finding kinds.
const (
	// FindingOvercommit: entitled users in a tier exceed the purchased seats.
	FindingOvercommit FindingKind = "overcommit"
	// FindingOwnerGroups: a user gets admin or owner from a group outside
	// policy.ownerGroups.
	FindingOwnerGroups FindingKind = "owner-groups"
	// FindingExclusiveOrgs: a user is entitled in more than one child org
	// while policy.exclusiveOrgs is set.
	FindingExclusiveOrgs FindingKind = "exclusive-orgs"
	// FindingProtectedUser: a member listed in policy.protectedUsers would be
	// removed.
	FindingProtectedUser FindingKind = "protected-user"
	// FindingMaxRemovals: the plan removes more members in all than
	// policy.maxRemovals.
	FindingMaxRemovals FindingKind = "max-removals"
	// FindingMaxRemovalPercent: the plan removes more of one org's current
	// members than policy.maxRemovalPercent.
	FindingMaxRemovalPercent FindingKind = "max-removal-percent"
	// FindingEmptyGroup: a mapped group holds no active user, or (on the
	// fresh read apply makes) was deleted or lost more than half its users.
	FindingEmptyGroup FindingKind = "empty-group"
	// FindingReadOnlyTarget: the plan has writes but its target cannot be
	// written (a members export). A warning: the plan is still a true account
	// of what to change by hand; apply refuses it.
	FindingReadOnlyTarget FindingKind = "read-only-target"
	// FindingLookalikeEmails: two addresses of one org look alike (their
	// confusable skeletons are equal) but differ.
	FindingLookalikeEmails FindingKind = "lookalike-emails"
	// FindingDroppedTier: the spec drops a seat tier from the parent that
	// a child org still uses after the plan (one the spec leaves alone).
	FindingDroppedTier FindingKind = "dropped-seat-tier"
	// FindingUnresolvedMembers: a group the mappings read lists member ids
	// that are neither a listed user nor a listed group (a warning).
	FindingUnresolvedMembers FindingKind = "unresolved-group-members"
)

// Label is the kind's name in a summary line: the policy field that sets
// the gate where there is one (maxRemovals, exclusiveOrgs…).
func (k FindingKind) Label() string {
	switch k {
	case FindingOvercommit:
		return "seats"
	case FindingOwnerGroups:
		return "ownerGroups"
	case FindingExclusiveOrgs:
		return "exclusiveOrgs"
	case FindingProtectedUser:
		return "protectedUsers"
	case FindingMaxRemovals:
		return "maxRemovals"
	case FindingMaxRemovalPercent:
		return "maxRemovalPercent"
	case FindingEmptyGroup:
		return "emptyGroups"
	case FindingReadOnlyTarget:
		return "readOnlyTarget"
	case FindingLookalikeEmails:
		return "lookalikeEmails"
	case FindingDroppedTier:
		return "seatTiers"
	case FindingUnresolvedMembers:
		return "unresolvedMembers"
	}
	return string(k)
}

// Override is the apply flag that lifts a finding: OverrideNone when only a
// change of the spec (or the IdP) does.
type Override string

// Overrides. A removal limit is lifted by --allow-removals=N with N the
// plan's removal count exactly (AllowRemovals gives the flag).
const (
	OverrideNone             Override = ""
	OverrideAllowEmptyGroups Override = "--allow-empty-groups"
)

// AllowRemovals is the override of the removal limits for a plan that
// removes n members: "--allow-removals=n".
func AllowRemovals(n int) Override { return Override("--allow-removals=" + strconv.Itoa(n)) }

// Finding is the outcome of one gate: a policy or safety finding.
type Finding struct {
	Severity Severity    `json:"severity"`
	Kind     FindingKind `json:"kind"`
	// Org is the child org the finding concerns; Orgs lists them when it
	// concerns several (exclusiveOrgs).
	Org  string   `json:"org,omitempty"`
	Orgs []string `json:"orgs,omitempty"`
	// Subject is what the finding is about: an email, a group's name, a
	// seat tier; empty for a plan-wide figure (maxRemovals).
	Subject string `json:"subject,omitempty"`
	// Email and Group are set when the subject is a member or a group.
	Email string `json:"email,omitempty"`
	Group string `json:"group,omitempty"`
	// Figures are the numbers the gate compared, when it compares numbers.
	Figures *Figures `json:"figures,omitempty"`
	// Override is the apply flag that lifts the finding; empty when none
	// does.
	Override Override `json:"override,omitempty"`
	Message  string   `json:"message"`
}

// Figures are a finding's numbers: Count of Of (removals of current
// members, entitled users of purchased seats, users now of users when
// planned), Percent when the rule is a share, Limit the policy's limit (a
// count or a percentage).
type Figures struct {
	Count   int     `json:"count"`
	Of      int     `json:"of,omitempty"`
	Percent float64 `json:"percent,omitempty"`
	Limit   float64 `json:"limit,omitempty"`
}

// FormatPercent prints a percentage with at most one decimal: 14.7, 5,
// 0.5. Every percentage scimsync shows (plan, apply, agent) is printed by
// it, so that one figure never reads two ways.
func FormatPercent(f float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(f, 'f', 1, 64), ".0")
}

// FormatPercents formats a figure beside the limit it is compared with,
// as FormatPercent does, but with as many more decimals (up to six) as it
// takes for two different figures to read differently: "14.706" against a
// limit of "14.705", never "14.7" against "14.7".
func FormatPercents(f, limit float64) (string, string) {
	a, b := FormatPercent(f), FormatPercent(limit)
	for prec := 2; a == b && f != limit && prec <= 6; prec++ {
		a = strings.TrimRight(strings.TrimRight(strconv.FormatFloat(f, 'f', prec, 64), "0"), ".")
		b = strings.TrimRight(strings.TrimRight(strconv.FormatFloat(limit, 'f', prec, 64), "0"), ".")
	}
	return a, b
}

// FormatCount says "1 member", "2 members".
func FormatCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Verdict is what a plan amounts to. cmd maps it to an exit code (DESIGN
// §6: 0, 2, 3); the agent reports it.
type Verdict int

// Verdicts.
const (
	// VerdictNoChanges: nothing to write and nothing blocking.
	VerdictNoChanges Verdict = iota
	// VerdictChanges: changes to write, none of them removals, nothing
	// blocking.
	VerdictChanges
	// VerdictDangerous: removals, or an error-level finding, whether or not
	// anything is to be written.
	VerdictDangerous
)

func (v Verdict) String() string {
	switch v {
	case VerdictNoChanges:
		return "no-changes"
	case VerdictChanges:
		return "changes"
	}
	return "dangerous"
}

// HasChanges reports whether the plan changes anything: a configuration
// change or a member added, changed or removed. Links and flags alone are
// not changes.
func (p *Plan) HasChanges() bool {
	return len(p.ConfigChanges) > 0 || p.Summary.Add+p.Summary.Change+p.Summary.Remove > 0
}

// Blocking returns the plan's error-level findings, in plan order.
func (p *Plan) Blocking() []Finding {
	var out []Finding
	for _, f := range p.Findings {
		if f.Severity == SeverityError {
			out = append(out, f)
		}
	}
	return out
}

// Dangerous reports whether the plan removes members or carries an
// error-level finding.
func (p *Plan) Dangerous() bool {
	return p.Summary.Remove > 0 || len(p.Blocking()) > 0
}

// Verdict is the plan's verdict: VerdictDangerous when it removes members
// or carries an error-level finding (even with nothing to write: a policy
// break is a pending problem), VerdictChanges when it has other changes,
// VerdictNoChanges otherwise.
func (p *Plan) Verdict() Verdict {
	switch {
	case p.Dangerous():
		return VerdictDangerous
	case p.HasChanges():
		return VerdictChanges
	}
	return VerdictNoChanges
}

// blockingLine is the summary line's account of the blocking findings: "1
// blocking finding (exclusiveOrgs: hq, regional-west)", "" when none.
func blockingLine(fs []Finding) string {
	if len(fs) == 0 {
		return ""
	}
	var kinds []FindingKind
	orgs := map[FindingKind][]string{}
	for _, f := range fs {
		if !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
		for _, o := range append([]string{f.Org}, f.Orgs...) {
			if o = clean(o); o != "" && !slices.Contains(orgs[f.Kind], o) {
				orgs[f.Kind] = append(orgs[f.Kind], o)
			}
		}
	}
	var parts []string
	for _, k := range kinds {
		part := k.Label()
		if os := orgs[k]; len(os) > 0 {
			slices.Sort(os)
			part += ": " + strings.Join(os, ", ")
		}
		parts = append(parts, part)
	}
	return fmt.Sprintf("%s (%s)", FormatCount(len(fs), "blocking finding"), strings.Join(parts, "; "))
}
