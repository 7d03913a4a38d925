package tenant

import (
	"fmt"
	"time"

	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/resolve"
)

// Recompute replaces s.Members with the members the server holds after a
// write at now, and returns the resolution: s is converted into the model
// (FromSCIM) and its members recomputed by orgwrite.Recompute, which holds
// the rules (DESIGN §5). A snapshot FromSCIM refuses (members of
// organizations that are not children of the parent, say) makes Recompute
// fail and leaves s as it was.
func Recompute(s *Snapshot, now time.Time) (resolve.Result, error) {
	t, err := FromSCIM(s.Users, s.Groups, s.Organizations, s.Members)
	if err != nil {
		return resolve.Result{}, fmt.Errorf("recomputing members: %w", err)
	}
	members, res := orgwrite.Recompute(s.Members, t.ResolveInput(now))
	s.Members = members
	return res, nil
}

// ResolveInput is the input of resolution for t at now.
func (t *Tenant) ResolveInput(now time.Time) resolve.Input {
	return resolve.Input{Users: t.Users, Groups: t.Groups, Parent: t.Parent, Orgs: t.Orgs, Members: t.Members, Now: now}
}

// Errors a Writer's PatchOrganization returns for a write the server
// semantics refuse; see package orgwrite.
type PatchError = orgwrite.PatchError

// ErrInvalidOrg matches a write refused because it would leave the tenant
// inconsistent (orgwrite.CheckOrgWrite).
var ErrInvalidOrg = orgwrite.ErrInvalidOrg

// NextVersion is orgwrite.NextVersion, for callers that fake a Writer.
func NextVersion(v string) string { return orgwrite.NextVersion(v) }
