// Package scimtest is an in-process reference SCIM 2.0 service provider
// (RFC 7643, RFC 7644) with scimsync's organization extension (DESIGN §4),
// for tests, examples and `scimsync serve`. It injects the faults real
// servers show, so clients can be tested against them.
//
// # What it serves
//
// Under a base path (Options.BasePath, such as /scim/v2):
//
//   - /Users and /Groups: list, get, POST, PUT, PATCH, DELETE. PATCH follows
//     RFC 7644 §3.5.2: add, remove and replace, with or without a path,
//     sub-attributes (name.givenName) and value paths
//     (members[value eq "…"], emails[type eq "work"].value); remove needs
//     a path, and a value path matching nothing is 400 noTarget. userName is
//     unique in any case (409 uniqueness). A group's members must be
//     existing users or groups; deleting a user or group takes it out of
//     every group.
//   - /Organizations: list, get, and PATCH with orgwrite.ApplyOrgPatch, the
//     same code a snapshot-file target uses. Organizations are neither
//     created nor deleted (405).
//   - /Members: read-only list and get, filterable like any list, such as
//     organization eq "…".
//   - /ServiceProviderConfig, /ResourceTypes, /Schemas.
//
// Every request needs the bearer token (Options.Token), discovery
// endpoints included. Every resource has meta.version, a weak ETag W/"n"
// that each change increments; single-resource answers carry it as ETag,
// If-Match on PUT, PATCH and DELETE is honoured (412 when stale, nothing
// changes) and If-None-Match on GET answers 304.
//
// Lists take filter (eq ne co sw ew pr gt ge lt le, and or not, grouping,
// value paths such as emails[value eq "x"]; string comparison honours each
// attribute's caseExact, so userName, emails.value and displayName compare
// case-insensitively; attribute names are case-insensitive; a malformed
// filter or an unknown attribute is 400 invalidFilter), startIndex and count
// (1-based; Options.PageCap caps a page), attributes and
// excludedAttributes (excludedAttributes=members on /Groups).
//
// After every change to users, groups or organizations the members of
// every child organization are recomputed with the rules of DESIGN §5
// (package resolve, through orgwrite.Recompute), at the server's clock
// (Options.Now). The state a server starts from is taken as it is, members
// included, except that a resource without meta.version gets W/"1".
//
// # Faults
//
// Options.Faults (changeable later with SetFaults) injects latency, 503 and
// 429 answers, dropped connections, truncated, oversized, deeply nested and
// slowly dribbled bodies, and list pages that lie: a totalResults that
// shifts, ids repeated across pages, a page that never advances, empty
// pages. Each fault is aimed with a Trigger (every request, the first n,
// the k-th, every n-th; under a path prefix; on later pages only), and
// counted in Stats.
//
// # Built on net/http
//
// The server is written on net/http and github.com/scim2/filter-parser/v2,
// not on github.com/elimity-com/scim. That library would parse requests and
// filters, but PATCH must be applied by hand anyway, organization PATCH
// must be orgwrite.ApplyOrgPatch, and its handler owns the response path,
// which fault injection needs to control byte by byte (truncation, padding,
// dribbling, dropping). What it would have saved — filter evaluation — is
// small next to that: this package evaluates the parsed filter against the
// resource's JSON form with its own schema definitions, which also serve
// /Schemas, case-insensitive attribute names and caseExact. The parser's
// string values keep JSON escapes; they are decoded here, never re-printed.
package scimtest

import (
	"encoding/json"
	"fmt"

	"github.com/scimsync/scimsync/tenant"
)

// New returns a server holding a copy of snap (snap itself is not kept or
// changed). It fails when snap cannot be served: missing or duplicate ids,
// or, when it has organizations, anything tenant.FromSCIM refuses.
func New(snap *tenant.Snapshot, opts Options) (*Server, error) {
	if snap == nil {
		snap = &tenant.Snapshot{}
	}
	cp, err := cloneSnapshot(snap)
	if err != nil {
		return nil, err
	}
	if len(cp.Organizations) > 0 {
		if _, err := tenant.FromSCIM(cp.Users, cp.Groups, cp.Organizations, cp.Members); err != nil {
			return nil, fmt.Errorf("serving snapshot: %w", err)
		}
	}
	st := &state{users: cp.Users, groups: cp.Groups, orgs: cp.Organizations, members: cp.Members}
	s, err := newServer(st, opts)
	if err != nil {
		return nil, fmt.Errorf("serving snapshot: %w", err)
	}
	return s, nil
}

// Snapshot returns a copy of the server's current state, in the snapshot
// file format's model (write it with tenant.WriteSnapshot).
func (s *Server) Snapshot() *tenant.Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cp, err := cloneSnapshot(&tenant.Snapshot{Users: s.st.users, Groups: s.st.groups, Organizations: s.st.orgs, Members: s.st.members})
	if err != nil {
		panic("scimtest: copying state: " + err.Error()) // wire types always round-trip
	}
	return cp
}

// cloneSnapshot deep-copies a snapshot through its JSON form.
func cloneSnapshot(snap *tenant.Snapshot) (*tenant.Snapshot, error) {
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("copying snapshot: %w", err)
	}
	var cp tenant.Snapshot
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("copying snapshot: %w", err)
	}
	return &cp, nil
}
