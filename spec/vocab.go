package spec

// The vocabulary of DESIGN §1 shared by every package: provisioning modes
// and roles, each a named type defined once. Their values are the words the
// YAML, the JSON Schema, the SCIM organization extension and the plan's JSON
// use, so a Mode or a Role encodes as the plain string it always did.

// Mode is the parent organization's SCIM provisioning mode.
type Mode string

// Provisioning modes (DESIGN §1).
const (
	ModeJIT    Mode = "jit"    // SCIM off: members join by SSO login.
	ModeStaged Mode = "staged" // SCIM syncing, nothing enforced.
	ModeFull   Mode = "full"   // only SCIM-backed members remain.
)

// Modes lists the modes in the order SCIM takes over: jit, staged, full.
func Modes() []Mode { return []Mode{ModeJIT, ModeStaged, ModeFull} }

// Valid reports whether m is one of the modes.
func (m Mode) Valid() bool { return m == ModeJIT || m == ModeStaged || m == ModeFull }

// Enforces reports whether SCIM decides who is a member in mode m: staged
// and full do, jit does not.
func (m Mode) Enforces() bool { return m == ModeStaged || m == ModeFull }

// Role is a member's role in a child organization.
type Role string

// Roles, lowest to highest. RolePrimaryOwner exists on the server only: one
// per child org, exempt from SCIM reconciliation, never granted by a
// mapping.
const (
	RoleMember       Role = "member"
	RoleAdmin        Role = "admin"
	RoleOwner        Role = "owner"
	RolePrimaryOwner Role = "primary-owner"
)

// Roles lists every role, lowest first.
func Roles() []Role { return []Role{RoleMember, RoleAdmin, RoleOwner, RolePrimaryOwner} }

// GrantableRoles lists the roles a mapping may grant, lowest first.
func GrantableRoles() []Role { return []Role{RoleMember, RoleAdmin, RoleOwner} }

// Valid reports whether r is one of the roles, primary-owner included.
func (r Role) Valid() bool { return r.Rank() > 0 }

// Grantable reports whether a mapping may grant r: member, admin or owner.
func (r Role) Grantable() bool { return r == RoleMember || r == RoleAdmin || r == RoleOwner }

// Privileged reports whether r is admin or above: the roles that
// policy.ownerGroups restricts.
func (r Role) Privileged() bool { return r.Rank() >= RoleAdmin.Rank() }

// Rank orders roles: member 1 < admin 2 < owner 3 < primary-owner 4. A role
// that is not Valid ranks 0, below every role.
func (r Role) Rank() int {
	switch r {
	case RoleMember:
		return 1
	case RoleAdmin:
		return 2
	case RoleOwner:
		return 3
	case RolePrimaryOwner:
		return 4
	}
	return 0
}

// Compare returns -1, 0 or +1 as r ranks below, equal to or above o, for
// slices.SortFunc and "the highest role".
func (r Role) Compare(o Role) int {
	switch a, b := r.Rank(), o.Rank(); {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// HighestRole returns the highest of roles ("" when there are none): a
// user's role in an org is the highest among its mappings (DESIGN §5).
func HighestRole(roles ...Role) Role {
	var best Role
	for _, r := range roles {
		if best == "" || r.Compare(best) > 0 {
			best = r
		}
	}
	return best
}
