// Package resolve holds the tenant model and the membership rules of DESIGN §5
// as pure functions: given users, groups, organizations and current members at
// an instant, it says which members result, with which role, seat tier and
// origin, and why each removed member goes.
//
// The planner (package diff) predicts with it and the reference server (package
// scimtest) enforces with it, so a plan and a server can never disagree about
// the rules. Nothing here performs I/O.
package resolve

import (
	"time"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/spec"
)

// Role is a member's role in a child organization: spec.Role, the one
// definition of the vocabulary (its Rank and Grantable say how roles order
// and which a mapping may grant).
type Role = spec.Role

// Roles, lowest to highest. RolePrimaryOwner exists on the server only: it is
// exempt from reconciliation and can never be granted by a mapping.
const (
	RoleMember       = spec.RoleMember
	RoleAdmin        = spec.RoleAdmin
	RoleOwner        = spec.RoleOwner
	RolePrimaryOwner = spec.RolePrimaryOwner
)

// Origin says how a member got into a child organization.
type Origin string

// Origins.
const (
	OriginSCIM   Origin = "scim"   // backed by an active SCIM user
	OriginJIT    Origin = "jit"    // created at SSO login
	OriginManual Origin = "manual" // added in the console
)

// Valid reports whether o is one of the origins.
func (o Origin) Valid() bool { return o == OriginSCIM || o == OriginJIT || o == OriginManual }

// Mode is the parent organization's SCIM provisioning mode: spec.Mode, the
// one definition of the vocabulary.
type Mode = spec.Mode

// Modes.
const (
	ModeJIT    = spec.ModeJIT    // SCIM off
	ModeStaged = spec.ModeStaged // SCIM syncing, nothing enforced
	ModeFull   = spec.ModeFull   // only SCIM-backed members remain
)

// Reason says why a member is removed. It is defined here once; every
// package that shows or checks a removal's reason uses these values.
type Reason string

// Removal reasons, as DESIGN §5 words them, in the order they are decided:
// a lapsed exception first. They are part of the plan's JSON contract.
const (
	ReasonExceptionExpired Reason = "exception expired"
	ReasonNotProvisioned   Reason = "not provisioned via SCIM"
	ReasonInactive         Reason = "SCIM user inactive"
	ReasonNoMappedGroup    Reason = "in no mapped group of this org"
	ReasonGroupDeleted     Reason = "mapped group deleted"
)

// User is a SCIM user as far as resolution cares.
type User struct {
	ID       string
	UserName string
	// Emails holds every emails[].value; the primary one, if any, first.
	Emails []string
	Active bool
}

// Group is a SCIM group. Members holds the ids of its direct members, users or
// groups alike.
type Group struct {
	ID          string
	DisplayName string
	Members     []string
}

// Mapping grants Role and SeatTier in one child organization to the members of
// the group GroupID.
type Mapping struct {
	GroupID  string `json:"group"`
	Role     Role   `json:"role"`
	SeatTier string `json:"seatTier"`
}

// Exception keeps an existing, non-SCIM-backed member of a child organization
// as it is, through Until (a date, YYYY-MM-DD, inclusive, in UTC).
type Exception struct {
	Email  string `json:"email"`
	Until  string `json:"until"`
	Reason string `json:"reason,omitempty"`
}

// Org is a parent or child organization. Parent-only fields are Mode,
// LoginDomains and SeatTiers; child-only fields are Mappings, Seats and
// Exceptions. Parent is empty on the parent itself.
type Org struct {
	ID           string
	Name         string
	Parent       string
	Version      string
	Mode         Mode
	LoginDomains []string
	SeatTiers    []string
	Mappings     []Mapping
	Seats        map[string]int
	Exceptions   []Exception
	// HeldExceptions are the exceptions the tenant holds for this org as
	// it was read (the server's org, or the spec's current.exceptions),
	// when Exceptions are another side's: the spec's, as a plan resolves
	// them; a plan also adds here the spec's own lapsed exceptions, which
	// it drops from Exceptions (diff/compute.go). They keep nobody; a member removed while one of them that
	// names it has lapsed is removed as ReasonExceptionExpired, whichever
	// side holds the exception (DESIGN §5).
	HeldExceptions []Exception
}

// Member is a person holding a seat in one child organization.
type Member struct {
	ID string
	// Org is the child organization's id.
	Org   string
	Email string
	// UserID is the SCIM user's id; empty unless Origin is scim.
	UserID       string
	Role         Role
	SeatTier     string
	Origin       Origin
	LastModified time.Time
}

// NormEmail is the form in which users, members and exceptions are matched:
// match.Email, the one email rule of DESIGN §5 (trimmed and case-folded, a
// non-ASCII character never folding into an ASCII one).
func NormEmail(s string) string { return match.Email(s) }
