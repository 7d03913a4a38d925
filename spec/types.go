// Package spec is the scimsync spec: the YAML document that describes one
// tenant (DESIGN §2), its loader and its offline validation.
//
// Load reads a file, a directory of *.yaml files or stdin, checks it in three
// layers (YAML syntax and the JSON Schema, semantics, policy lint) and returns
// every diagnostic it found, each pinned to file:line:col and a field path.
// Nothing here opens a socket, prints or exits.
package spec

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Version is the only spec format version this package understands.
const Version = 1

// Defaults applied by Load when a field is left unset. They are applied in
// one place, applyDefaults.
const (
	// DefaultMode is parent.mode when unset: jit changes nobody's access.
	DefaultMode = ModeJIT
	// DefaultMaxRemovals is policy.maxRemovals when unset.
	DefaultMaxRemovals = 10
	// DefaultMaxRemovalPercent is policy.maxRemovalPercent when unset.
	DefaultMaxRemovalPercent = 10.0
	// DefaultTokenEnv is target.tokenEnv when target.url is set and neither
	// tokenEnv nor tokenFile is.
	DefaultTokenEnv = "SCIMSYNC_TOKEN"
)

// Spec is one tenant's desired configuration: a parsed, defaulted scimsync
// spec. The spec never holds a bearer token, only where to find one.
type Spec struct {
	// Version is the spec format version. Required; must be 1.
	Version int `yaml:"version" json:"version"`
	// Target says where the tenant lives: a SCIM server or a snapshot file.
	// Required.
	Target Target `yaml:"target" json:"target"`
	// Parent is the parent organization's identity settings. Required.
	Parent Parent `yaml:"parent" json:"parent"`
	// Organizations are the child organizations scimsync manages. Required,
	// at least one. Child organizations on the server that the spec does not
	// name are left alone.
	Organizations []Organization `yaml:"organizations" json:"organizations"`
	// Policy holds the safety rails for plan and apply. Optional; unset
	// fields take the Default* values.
	Policy Policy `yaml:"policy" json:"policy"`
	// Current is the live configuration a server without the organization
	// extension cannot expose, used only by the members-export source
	// (target.url plus target.membersCsv). Optional otherwise; nil when unset.
	Current *Current `yaml:"current,omitempty" json:"current,omitempty"`

	// Source names where the spec came from: the file paths, comma separated
	// ("-" for stdin). It is not part of the YAML and not part of Hash.
	Source string `yaml:"-" json:"-"`

	// idx ties field paths to positions; nil for a Spec built in code.
	idx *index
}

// PosOf returns where the field at path (e.g. "organizations[1].seats.premium")
// is written, or the nearest enclosing field that is. Paths index the merged
// spec, as Organizations does. It returns a Pos holding only Source for a
// Spec that was not loaded.
func (s *Spec) PosOf(path string) Pos {
	if s.idx == nil {
		return Pos{File: s.Source}
	}
	p, _ := s.idx.locate(path, false)
	return p
}

// Target says where scimsync reads and writes the tenant. Exactly one of URL
// and File is set.
type Target struct {
	// URL is the SCIM 2.0 base URL, e.g. https://claude.fedstart.com/v1/scim/v2.
	// https is required except for loopback hosts.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// File is an offline snapshot (JSON) used instead of a server, relative
	// to the spec file's directory unless absolute. It need not exist to
	// validate.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// TokenEnv names the environment variable holding the bearer token.
	// Defaults to SCIMSYNC_TOKEN for URL targets when TokenFile is unset.
	// Never the token itself.
	TokenEnv string `yaml:"tokenEnv,omitempty" json:"tokenEnv,omitempty"`
	// TokenFile is a path to a file holding the bearer token. Mutually
	// exclusive with TokenEnv.
	TokenFile string `yaml:"tokenFile,omitempty" json:"tokenFile,omitempty"`
	// CAFile is a PEM bundle of extra CAs trusted for URL. Optional: the
	// system pool is used when unset.
	CAFile string `yaml:"caFile,omitempty" json:"caFile,omitempty"`
	// MembersCSV is the console's members export (email, role, seat tier,
	// org). Setting it selects the members-export source, which also needs
	// the spec's current: block. Only with URL.
	MembersCSV string `yaml:"membersCsv,omitempty" json:"membersCsv,omitempty"`
}

// Parent is the parent organization: identity settings shared by every child.
type Parent struct {
	// Name is the parent organization's name on the server. Required.
	Name string `yaml:"name" json:"name"`
	// LoginDomains are the email domains whose users sign in through the
	// tenant's IdP. Optional; emails in the spec outside them get a warning.
	LoginDomains []string `yaml:"loginDomains,omitempty" json:"loginDomains,omitempty"`
	// SeatTiers names the seat tiers, lowest first. Required, at least one,
	// no duplicates.
	SeatTiers []string `yaml:"seatTiers" json:"seatTiers"`
	// Mode is the SCIM provisioning mode: jit, staged or full. Defaults to
	// jit.
	Mode Mode `yaml:"mode,omitempty" json:"mode,omitempty"`
}

// Organization is one child organization.
type Organization struct {
	// Name is the child organization's name on the server; unique in the
	// spec. Required. A name the server lacks is an error at plan time
	// (organizations are never created through the API).
	Name string `yaml:"name" json:"name"`
	// Seats is the number of purchased seats per tier. A tier that is
	// mapped but absent here has no seats. Optional.
	Seats map[string]int `yaml:"seats,omitempty" json:"seats,omitempty"`
	// Mappings map IdP groups to a role and a seat tier in this org.
	// Optional; an org with no mappings entitles nobody.
	Mappings []Mapping `yaml:"mappings,omitempty" json:"mappings,omitempty"`
	// Pos is where the organization starts in the spec.
	Pos Pos `yaml:"-" json:"-"`
}

// Mapping grants the members of one IdP group a role and a seat tier in one
// child org. Exactly one of Group and GroupID is set.
type Mapping struct {
	// Group is the group's displayName, matched case-insensitively.
	Group string `yaml:"group,omitempty" json:"group,omitempty"`
	// GroupID is the group's SCIM id.
	GroupID string `yaml:"groupId,omitempty" json:"groupId,omitempty"`
	// Role is member, admin or owner. Required. primary-owner is never
	// grantable.
	Role Role `yaml:"role" json:"role"`
	// SeatTier is one of parent.seatTiers. Required.
	SeatTier string `yaml:"seatTier" json:"seatTier"`
	// Pos is where the mapping starts in the spec.
	Pos Pos `yaml:"-" json:"-"`
}

// GroupRef is the group reference as written: the displayName, or
// "id:<groupId>" when the mapping names the group by id.
func (m Mapping) GroupRef() string {
	if m.GroupID != "" {
		return "id:" + m.GroupID
	}
	return m.Group
}

// Policy holds the safety rails of plan and apply.
type Policy struct {
	// MaxRemovals is the most members one apply may remove without
	// --allow-removals. Defaults to DefaultMaxRemovals; never nil after Load.
	MaxRemovals *int `yaml:"maxRemovals,omitempty" json:"maxRemovals,omitempty"`
	// MaxRemovalPercent is the most removals per child org, as a percentage
	// (0–100) of its current members, one apply may make without
	// --allow-removals. Defaults to DefaultMaxRemovalPercent; never nil
	// after Load.
	MaxRemovalPercent *float64 `yaml:"maxRemovalPercent,omitempty" json:"maxRemovalPercent,omitempty"`
	// OwnerGroups are the only groups (displayName or id) allowed to grant
	// admin or owner. Unset: any group may.
	OwnerGroups []string `yaml:"ownerGroups,omitempty" json:"ownerGroups,omitempty"`
	// ExclusiveOrgs, when true, forbids a user entitled in more than one
	// child org: no group may be mapped in two orgs. Default false.
	ExclusiveOrgs bool `yaml:"exclusiveOrgs,omitempty" json:"exclusiveOrgs,omitempty"`
	// ProtectedUsers are emails whose removal always blocks an apply.
	// Optional.
	ProtectedUsers []string `yaml:"protectedUsers,omitempty" json:"protectedUsers,omitempty"`
	// Exceptions keep existing members that are not SCIM-backed until a
	// date, in full mode. Written to their child org. Optional.
	Exceptions []Exception `yaml:"exceptions,omitempty" json:"exceptions,omitempty"`
	// ExceptionNoticeDays is how many days before an exception lapses it
	// is announced (validate warns, the plan lists it as expiring, the
	// agent counts it): 0 announces it on its last day only. At least 0.
	// Defaults to DefaultExceptionNoticeDays; never nil after Load (see
	// NoticeDays).
	ExceptionNoticeDays *int `yaml:"exceptionNoticeDays,omitempty" json:"exceptionNoticeDays,omitempty"`
}

// Exception keeps one existing member of one child org as it is (role, tier,
// origin) until a date, even when not SCIM-backed. It never adds anyone.
type Exception struct {
	// Email is the member's email, matched case-insensitively. Required.
	Email string `yaml:"email" json:"email"`
	// Org is the child organization's name: one of organizations in
	// policy.exceptions, one of current.organizations in current.exceptions.
	// Required.
	Org string `yaml:"org" json:"org"`
	// Until is the last day (inclusive) the exception holds, YYYY-MM-DD.
	// Required. A past date in policy.exceptions is a warning: the exception
	// protects nobody. In current.exceptions it is the tenant's state and
	// not reported.
	Until string `yaml:"until" json:"until"`
	// Reason says why, for the audit trail. Optional; an empty reason is
	// warned about in policy.exceptions only.
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
	// Pos is where the exception starts in the spec.
	Pos Pos `yaml:"-" json:"-"`
}

// Current is the live configuration that a server exposing only /Users and
// /Groups cannot report (the members-export source): the same shape as the
// spec's parent, organizations and policy.exceptions.
type Current struct {
	// Parent is the parent organization as it is now (mode, seat tiers…).
	// Optional: the spec's parent is assumed when nil.
	Parent *Parent `yaml:"parent,omitempty" json:"parent,omitempty"`
	// Organizations are the child organizations as they are now.
	Organizations []Organization `yaml:"organizations,omitempty" json:"organizations,omitempty"`
	// Exceptions are the exceptions the tenant holds now, as the console
	// shows them: the same shape as policy.exceptions, each naming one of
	// Organizations. Optional: when unset the tenant is taken to hold none,
	// so every entry of policy.exceptions plans as an exception to add.
	Exceptions []Exception `yaml:"exceptions,omitempty" json:"exceptions,omitempty"`
}

// Pos is a position in a spec file. Line and Col are 1-based; zero means
// unknown.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String formats p as file:line:col, dropping the parts that are unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	return b.String()
}

// Severity is the kind of a Diagnostic.
type Severity string

// Severities. An Error makes a spec invalid; a Warning does not.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Diagnostic is one finding about a spec.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	// Pos is where the finding is; Pos.File is always set.
	Pos Pos `json:"pos"`
	// Path is the field path in the file, e.g.
	// organizations[0].mappings[1].seatTier; empty for the whole file.
	Path string `json:"path,omitempty"`
	// Summary is one line saying what is wrong.
	Summary string `json:"summary"`
	// Fix says how to fix it, when that is obvious.
	Fix string `json:"fix,omitempty"`
}

// String formats d on one line:
//
//	agency.yaml:14:23: organizations[0].mappings[1].seatTier: "gold" is not one of parent.seatTiers [standard premium]
//
// Warnings say so after the position; a fix follows the summary after "; ".
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Summary)
	if d.Fix != "" {
		b.WriteString("; ")
		b.WriteString(d.Fix)
	}
	return b.String()
}

// Diagnostics is a list of findings. It implements error, listing every
// diagnostic, one per line.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an Error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns the diagnostics of severity Error.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(Error) }

// Warnings returns the diagnostics of severity Warning.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(Warning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Error lists the diagnostics, one per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// ResolvePath returns the path held by one of the target's path fields
// ("target.file", "target.tokenFile", "target.caFile" or
// "target.membersCsv") resolved against the directory of the spec file that
// sets it. Absolute paths, and paths in a spec read from stdin or built in
// code, are returned as written; "" when the field is unset or unknown.
func (s *Spec) ResolvePath(field string) string {
	var p string
	switch field {
	case "target.file":
		p = s.Target.File
	case "target.tokenFile":
		p = s.Target.TokenFile
	case "target.caFile":
		p = s.Target.CAFile
	case "target.membersCsv":
		p = s.Target.MembersCSV
	}
	if p == "" || filepath.IsAbs(p) || s.idx == nil {
		return p
	}
	n, ok := s.idx.nodes[field]
	if !ok {
		return p
	}
	file, ok := s.idx.file[n]
	if !ok || file == stdinName {
		return p
	}
	return filepath.Join(filepath.Dir(file), p)
}
