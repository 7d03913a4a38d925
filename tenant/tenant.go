// Package tenant is the observed state of one tenant — its users, groups,
// parent and child organizations and members — and the sources it is read
// from: a live SCIM server, a snapshot file, or a members export.
//
// Every source returns a complete Tenant or an error: a partial read is never
// passed on, since unread users would otherwise look like users to remove.
package tenant

import (
	"context"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// Tenant is everything behind one SCIM base URL, as read at one moment.
type Tenant struct {
	Users []resolve.User
	// Groups holds every group. Members is filled for the groups a mapping
	// references (by the spec or by the server's current configuration) and,
	// transitively, the groups nested in them; MembersRead says which.
	Groups      []resolve.Group
	MembersRead map[string]bool
	Parent      resolve.Org
	Orgs        []resolve.Org // child organizations
	Members     []resolve.Member

	// Kind says which source the tenant was read from.
	Kind Kind
	// ReadOnly is true when nothing can be written back to where the
	// tenant came from (the members export): apply must refuse. Its
	// organizations then have synthetic ids (their names) and no versions.
	ReadOnly bool
}

// Kind names the source a Tenant was read from.
type Kind string

// Kinds of source.
const (
	KindSCIM          Kind = "scim"           // a live server with the organization extension
	KindSnapshot      Kind = "snapshot"       // a snapshot file (target.file)
	KindMembersExport Kind = "members-export" // /Users and /Groups, a CSV export and the spec's current: block
)

// ReadRequest says what a read must cover besides the whole user, group and
// organization lists.
type ReadRequest struct {
	// GroupNames are displayNames (matched case-insensitively) and GroupIDs
	// ids of groups whose members must be read, for example those the spec
	// maps. Groups the server's organizations map are always read.
	GroupNames []string
	GroupIDs   []string
	// AllGroupMembers reads the members of every group, as a snapshot
	// that must stand in for the server needs.
	AllGroupMembers bool
	// Progress, when set, is called as resources arrive; total is -1 while
	// unknown.
	Progress func(kind string, done, total int)
}

// Source reads a tenant.
type Source interface {
	Read(ctx context.Context, req ReadRequest) (*Tenant, error)
}

// Writer changes an organization's configuration. version is the If-Match
// precondition; the new version is returned. A stale version fails with an
// error matching scim.ErrPrecondition and changes nothing.
type Writer interface {
	PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (newVersion string, err error)
}
