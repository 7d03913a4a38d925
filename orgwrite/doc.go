// Package orgwrite holds what the server does with a write to an
// organization (DESIGN §4 and §5): applying a PATCH to one organization
// (ApplyOrgPatch), checking the result against the rest of the tenant
// (CheckOrgWrite), giving it its next version (NextVersion) and recomputing
// the members that follow (Recompute).
//
// The reference server (package scimtest) and the snapshot-file target
// (package tenant) both write through it, so the two cannot disagree about
// what a write does. It works on wire resources (package scim) and the
// resolution model (package resolve), and performs no I/O.
package orgwrite
