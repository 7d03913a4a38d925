package spec

import "fmt"

// TargetKind is the kind of tenant source a spec's target names (DESIGN §3).
// It is the one home of the target-kind rules: which fields select which
// source, which sources can be written and which can be snapshotted.
type TargetKind int

// Target kinds. TargetInvalid is the zero value: a target that names
// neither url nor file, both, or a file with membersCsv (Target.Problem
// says which).
const (
	TargetInvalid       TargetKind = iota
	TargetSCIM                     // target.url: a SCIM 2.0 server with the organization extension
	TargetSnapshot                 // target.file: an offline snapshot file
	TargetMembersExport            // target.url plus target.membersCsv: standard SCIM and the console's CSV
)

// String names the kind as the docs do: "SCIM server", "snapshot file",
// "members export", or "invalid target".
func (k TargetKind) String() string {
	switch k {
	case TargetSCIM:
		return "SCIM server"
	case TargetSnapshot:
		return "snapshot file"
	case TargetMembersExport:
		return "members export"
	}
	return "invalid target"
}

// Writable reports whether apply can write a target of this kind: a SCIM
// server (PATCH /Organizations) or a snapshot file (rewritten in place). A
// members export is read-only: there is nothing to PATCH.
func (k TargetKind) Writable() bool { return k == TargetSCIM || k == TargetSnapshot }

// Snapshottable reports whether `scimsync snapshot` can read a target of
// this kind into a snapshot file: only a SCIM server with the organization
// extension. A snapshot file is one already; a members export lacks the
// organizations' configuration.
func (k TargetKind) Snapshottable() bool { return k == TargetSCIM }

// Kind returns the kind of source t selects, TargetInvalid when its fields
// contradict each other or select nothing (see Problem).
func (t Target) Kind() TargetKind {
	switch {
	case t.URL != "" && t.File != "", t.URL == "" && t.File == "":
		return TargetInvalid
	case t.File != "":
		if t.MembersCSV != "" {
			return TargetInvalid
		}
		return TargetSnapshot
	case t.MembersCSV != "":
		return TargetMembersExport
	}
	return TargetSCIM
}

// TargetProblem says why a target's kind is TargetInvalid.
type TargetProblem struct {
	// Field is the field path the problem is reported at: "target",
	// "target.file" or "target.membersCsv".
	Field string
	// Summary says what is wrong, in one line.
	Summary string
	// Fix says how to fix it.
	Fix string
}

// Error formats the problem as "field: summary; fix".
func (p *TargetProblem) Error() string {
	return fmt.Sprintf("%s: %s; %s", p.Field, p.Summary, p.Fix)
}

// Problem returns why t selects no source, or nil when Kind is not
// TargetInvalid. Validation reports it as a diagnostic; code that opens a
// target may return it as an error.
func (t Target) Problem() *TargetProblem {
	switch {
	case t.URL != "" && t.File != "":
		return &TargetProblem{Field: "target.file", Summary: "url and file are mutually exclusive",
			Fix: "keep url for a live server, or file for an offline snapshot"}
	case t.URL == "" && t.File == "":
		return &TargetProblem{Field: "target", Summary: "names neither url nor file",
			Fix: "set url (a SCIM server) or file (an offline snapshot)"}
	case t.File != "" && t.MembersCSV != "":
		return &TargetProblem{Field: "target.membersCsv", Summary: "needs target.url, not target.file",
			Fix: "use it with url: the members-export source reads users and groups from a SCIM server"}
	}
	return nil
}
