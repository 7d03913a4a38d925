// Package diff computes a plan — what the spec would change in a tenant,
// configuration and members alike — and renders it as text, JSON or
// Markdown.
//
// Compute is pure: it reads a spec and an observed tenant and returns a Plan
// value; it performs no I/O. The Plan is data: renderers print it, apply
// executes its Steps without recomputing anything, and the agent reports it.
// Its JSON form (format_version "1") is the contract of DESIGN §6; the saved
// plan file (WritePlanFile, ReadPlanFile) is that JSON plus a self-hash.
package diff

import (
	"time"

	"github.com/scimsync/scimsync/scim"
)

// FormatVersion is the version of the plan's JSON form. A change that removes
// or renames a field, or changes a field's meaning, bumps it; adding a field
// does not.
const FormatVersion = "1"

// Plan is what the spec would change in the tenant, computed from one
// observed state at one instant. Every list is sorted; org names and emails
// are lower-cased. The JSON field names are the contract of DESIGN §6.
type Plan struct {
	// FormatVersion is FormatVersion.
	FormatVersion string `json:"format_version"`
	// GeneratedAt is the instant the plan was computed for (exceptions are
	// judged against it), in UTC.
	GeneratedAt time.Time `json:"generated_at"`
	// SpecHash is spec.(*Spec).Hash of the spec the plan was computed from.
	SpecHash string `json:"spec_hash"`
	// Fingerprint identifies the observed state the plan was computed from.
	// apply re-reads the tenant and refuses to write when it differs.
	Fingerprint Fingerprint `json:"fingerprint"`
	// Parent is the parent organization as observed.
	Parent OrgRef `json:"parent"`
	// Mode is the provisioning mode before and after the plan.
	Mode ModeChange `json:"mode"`
	// Summary counts member changes. Links and flags are not counted.
	Summary Summary `json:"summary"`
	// ConfigChanges are the configuration changes, parent first, then child
	// orgs by name, then by field and key.
	ConfigChanges []ConfigChange `json:"config_changes"`
	// Members are the member changes, by org name, then email, then action.
	Members []MemberChange `json:"members"`
	// Readiness says, per child org, who would be removed if full
	// provisioning were switched on with the desired mappings, even when the
	// mode stays as it is.
	Readiness []Readiness `json:"readiness"`
	// Seats is the seat usage per child org and tier.
	Seats []SeatUsage `json:"seats"`
	// Findings are policy and safety findings, errors first.
	Findings []Finding `json:"findings"`
	// Expiring lists the spec's exceptions within
	// policy.exceptionNoticeDays of lapsing at GeneratedAt (DESIGN §5), by
	// org name, then until, then email; never nil. The window is
	// spec.ExpiringExceptions', the rule validate warns by; the renderers
	// and the agent read this list.
	Expiring []Expiring `json:"expiring"`
	// GroupSizes counts, for every group the desired configuration maps, the
	// distinct active users it holds (directly or nested). apply compares a
	// fresh count against it to catch a group that suddenly shrank.
	GroupSizes []GroupSize `json:"group_sizes"`
	// Predicted is, per child org, the member set the server will hold once
	// the writes are applied. apply verifies the server against it.
	Predicted []Prediction `json:"predicted"`
	// ReadGroupIDs are the ids of the groups whose members the plan's read
	// covered (the spec's mapped groups); apply re-reads with
	// tenant.ReadRequest{GroupIDs: ReadGroupIDs} to recompute the
	// fingerprint.
	ReadGroupIDs []string `json:"read_group_ids"`
	// Writes are the PATCH requests that realise the plan, one per
	// organization, parent first. Steps holds them in the order they are
	// written.
	Writes []Write `json:"writes"`
	// OrgFilter is set when the plan is narrowed to these child orgs (plan
	// --org; see ComputeWith): lower-cased, sorted. Everything the plan
	// shows, predicts and writes is restricted to them; its fingerprint still
	// covers the whole tenant.
	OrgFilter []string `json:"org_filter,omitempty"`
	// SpecPaths are set in a saved plan file only: where its spec was read
	// from, so that apply PLAN finds it without -f (see SpecPathsFor).
	SpecPaths []SpecPath `json:"spec_paths,omitempty"`
	// Steps are the Writes as apply executes them, in order (DESIGN §7):
	// the simulation that predicts the members replays exactly these, and
	// apply executes exactly these, never reordering or recomputing them.
	Steps []Step `json:"steps"`
	// PlanHash is set in a saved plan file only: the sha256 (hex) of the
	// canonical plan content without this field. See WritePlanFile.
	PlanHash string `json:"plan_hash,omitempty"`
}

// OrgRef names an organization on the server.
type OrgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Version is the observed meta.version.
	Version string `json:"version"`
}

// Fingerprint identifies an observed tenant: Hash covers users, groups (and
// the members read of them), organizations and members, canonically ordered.
// Orgs lists every organization's meta.version as observed. Parts holds a
// hash per part ("users", "groups", "organizations", "members") so that
// a mismatch can say what changed.
type Fingerprint struct {
	Hash  string            `json:"hash"`
	Orgs  []OrgRef          `json:"orgs"`
	Parts map[string]string `json:"parts,omitempty"`
}

// ModeChange is the parent's provisioning mode before and after the plan.
type ModeChange struct {
	Before string `json:"before"`
	After  string `json:"after"`
}

// Summary counts member changes across all orgs. Add, Change and Remove are
// DESIGN §6's counts; Link and Config are informational.
type Summary struct {
	Add    int `json:"add"`
	Change int `json:"change"`
	Remove int `json:"remove"`
	Link   int `json:"link"`
	Config int `json:"config"`
}

// Config change fields.
const (
	FieldMode         = "mode"         // parent; Key empty
	FieldLoginDomains = "loginDomains" // parent; Key empty; comma-separated, sorted
	FieldSeatTiers    = "seatTiers"    // parent; Key empty; comma-separated, lowest first
	FieldMapping      = "mapping"      // child; Key is the group's displayName; "role/seatTier"
	FieldSeats        = "seats"        // child; Key is the tier; a count
	FieldException    = "exception"    // child; Key is the email; "until" or "until (reason)"
)

// ConfigChange is one configuration change. Before is empty when the value
// is added, After when it is removed.
type ConfigChange struct {
	// Org is the organization's name (the parent's for parent fields).
	Org    string `json:"org"`
	Field  string `json:"field"`
	Key    string `json:"key,omitempty"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Assignment is a member's role, seat tier and origin.
type Assignment struct {
	Role     string `json:"role"`
	SeatTier string `json:"seatTier"`
	Origin   string `json:"origin,omitempty"`
}

// MemberChange is what happens to one member of one child org. Before is
// nil for an addition, After for a removal. Reason says why a member is
// removed (one of the resolve.Reason* texts) or flagged.
type MemberChange struct {
	Org    string      `json:"org"`
	Email  string      `json:"email"`
	Action Action      `json:"action"`
	Before *Assignment `json:"before,omitempty"`
	After  *Assignment `json:"after,omitempty"`
	Reason string      `json:"reason,omitempty"`
	// Via is the displayName of the group whose mapping decides the
	// resulting role; ViaTier the one deciding the tier, when different.
	Via     string `json:"via,omitempty"`
	ViaTier string `json:"via_tier,omitempty"`
	// User is the SCIM user a change or link joins the member to, when
	// none of its addresses is byte for byte the member's email.
	User *UserRef `json:"user,omitempty"`
}

// UserRef names a SCIM user.
type UserRef struct {
	UserName string `json:"userName"`
	ID       string `json:"id"`
}

// Readiness is one child org's readiness for full provisioning.
type Readiness struct {
	Org string `json:"org"`
	// Members counts current members; ScimBacked those whose origin is scim.
	Members    int `json:"members"`
	ScimBacked int `json:"scim_backed"`
	// WouldRemove lists who full provisioning with the desired mappings and
	// exceptions would remove now, by email.
	WouldRemove []Removal `json:"would_remove"`
}

// Removal is one member full provisioning would remove, and why.
type Removal struct {
	Email  string `json:"email"`
	Reason string `json:"reason"`
	// Protected marks a member in policy.protectedUsers: switching to full
	// now would be refused (FindingProtectedUser).
	Protected bool `json:"protected,omitempty"`
	// ExceptionUntil is the until date of an exception the spec or the
	// server holds for the member that does not keep them: it lapsed
	// (ExceptionLapsed), or the spec or the server does not apply it.
	ExceptionUntil  string `json:"exception_until,omitempty"`
	ExceptionLapsed bool   `json:"exception_lapsed,omitempty"`
}

// SeatUsage is one child org's use of one seat tier. Purchased is the
// desired seats[tier] (0 when absent); Now counts current members holding
// the tier, After the predicted members; Entitled counts the users the
// desired mappings entitle to it. Entitled above Purchased is an overcommit.
type SeatUsage struct {
	Org        string `json:"org"`
	Tier       string `json:"tier"`
	Purchased  int    `json:"purchased"`
	Now        int    `json:"now"`
	After      int    `json:"after"`
	Entitled   int    `json:"entitled"`
	Overcommit bool   `json:"overcommit,omitempty"`
}

// GroupSize is the number of distinct active users a mapped group holds.
type GroupSize struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Users int    `json:"users"`
}

// Prediction is the member set one child org will hold after the plan:
// Count members whose canonical lines hash to Hash (see PredictMembers).
type Prediction struct {
	OrgID   string `json:"org_id"`
	Org     string `json:"org"`
	Members int    `json:"members"`
	Hash    string `json:"hash"`
}

// Write is one PATCH /Organizations/{OrgID} with If-Match: Version. Ops are
// whole-attribute replaces (mode, loginDomains and seatTiers on the parent;
// mappings, seats and exceptions on a child), in that order.
type Write struct {
	OrgID   string         `json:"org_id"`
	Org     string         `json:"org"`
	Parent  bool           `json:"parent,omitempty"`
	Version string         `json:"version"`
	Ops     []scim.PatchOp `json:"ops"`
	// SeatTiersBefore is the parent's seat tiers as observed, on a parent
	// write that changes them: a tier it drops is dropped only once no
	// child org's write still to come uses it (orderSteps).
	SeatTiersBefore []string `json:"seat_tiers_before,omitempty"`
}

// SpecPath is one path a saved plan's spec was read from (a file or a
// directory of *.yaml files): Path absolute and cleaned; FromPlan the same
// path relative to the plan file's directory, when there is one, so that a
// plan and its spec moved together (another checkout of the repository)
// still find each other.
type SpecPath struct {
	Path     string `json:"path"`
	FromPlan string `json:"from_plan,omitempty"`
}

// Expiring is an exception that keeps a member until a date within the
// notice window (policy.exceptionNoticeDays) of the plan's instant. Until is
// inclusive: the member is kept through that day and the exception has
// lapsed from the next one, so DaysLeft is 0 on the last day it holds.
//
// KeepsNobody says that, in full mode after the plan, the exception keeps
// no member: no member holds the address, or an entitlement keeps the
// member anyway, so its lapse removes no one. (Omitted when false, so a
// plan saved before the field existed reads as it did.)
type Expiring struct {
	Org         string `json:"org"`
	Email       string `json:"email"`
	Until       string `json:"until"`
	DaysLeft    int    `json:"days_left"`
	Reason      string `json:"reason"`
	KeepsNobody bool   `json:"keeps_nobody,omitempty"`
}
