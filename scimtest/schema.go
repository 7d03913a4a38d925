package scimtest

import (
	"strings"

	"github.com/scimsync/scimsync/scim"
)

// Attribute types of RFC 7643 §2.3.
const (
	tString   = "string"
	tBoolean  = "boolean"
	tDateTime = "dateTime"
	tInteger  = "integer"
	tRef      = "reference"
	tComplex  = "complex"
)

// Mutability values of RFC 7643 §7.
const (
	readWrite = "readWrite"
	readOnly  = "readOnly"
	immutable = "immutable"
)

// attribute is an attribute definition (RFC 7643 §7), as far as the server
// uses it: for case-insensitive name lookup, caseExact comparison in filters,
// mutability checks in PATCH and the /Schemas endpoint.
type attribute struct {
	Name            string       `json:"name"`
	Type            string       `json:"type"`
	MultiValued     bool         `json:"multiValued"`
	Description     string       `json:"description,omitempty"`
	Required        bool         `json:"required"`
	CaseExact       bool         `json:"caseExact"`
	CanonicalValues []string     `json:"canonicalValues,omitempty"`
	Mutability      string       `json:"mutability"`
	Returned        string       `json:"returned"`
	Uniqueness      string       `json:"uniqueness"`
	ReferenceTypes  []string     `json:"referenceTypes,omitempty"`
	SubAttributes   []*attribute `json:"subAttributes,omitempty"`
	// open marks a complex attribute whose keys are free (seats: tier →
	// count); its values are integers.
	open bool
}

func (a *attribute) sub(name string) *attribute {
	for _, s := range a.SubAttributes {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// schema is a resource schema (RFC 7643 §7).
type schema struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Attributes  []*attribute `json:"attributes"`
}

// attr finds a top-level attribute, the common ones (id, externalId, meta)
// included, by name in any case.
func (s *schema) attr(name string) *attribute {
	for _, a := range s.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	for _, a := range commonAttrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

func str(name string, caseExact bool, mut string, desc string) *attribute {
	return &attribute{Name: name, Type: tString, CaseExact: caseExact, Mutability: mut, Returned: "default", Uniqueness: "none", Description: desc}
}

func required(a *attribute) *attribute { a.Required = true; return a }

func multi(a *attribute) *attribute { a.MultiValued = true; return a }

func complexAttr(name string, mut, desc string, subs ...*attribute) *attribute {
	return &attribute{Name: name, Type: tComplex, Mutability: mut, Returned: "default", Uniqueness: "none", Description: desc, SubAttributes: subs}
}

// commonAttrs are the attributes every resource has (RFC 7643 §3.1). They
// are not listed in /Schemas.
var commonAttrs = []*attribute{
	{Name: "id", Type: tString, CaseExact: true, Mutability: readOnly, Returned: "always", Uniqueness: "server"},
	str("externalId", true, readWrite, ""),
	complexAttr("meta", readOnly, "",
		str("resourceType", true, readOnly, ""),
		&attribute{Name: "created", Type: tDateTime, Mutability: readOnly, Returned: "default", Uniqueness: "none"},
		&attribute{Name: "lastModified", Type: tDateTime, Mutability: readOnly, Returned: "default", Uniqueness: "none"},
		&attribute{Name: "location", Type: tRef, Mutability: readOnly, Returned: "default", Uniqueness: "none", ReferenceTypes: []string{"uri"}},
		str("version", true, readOnly, ""),
	),
}

var userSchema = &schema{
	ID:          scim.SchemaUser,
	Name:        "User",
	Description: "User Account",
	Attributes: []*attribute{
		func() *attribute {
			a := required(str("userName", false, readWrite, "Unique identifier for the User, typically an email address."))
			a.Uniqueness = "server"
			return a
		}(),
		complexAttr("name", readWrite, "The components of the user's name.",
			str("formatted", false, readWrite, ""),
			str("familyName", false, readWrite, ""),
			str("givenName", false, readWrite, ""),
		),
		str("displayName", false, readWrite, "The name of the User, suitable for display."),
		multi(complexAttr("emails", readWrite, "Email addresses for the user.",
			str("value", false, readWrite, "Email address."),
			str("type", false, readWrite, "work, home or other."),
			&attribute{Name: "primary", Type: tBoolean, Mutability: readWrite, Returned: "default", Uniqueness: "none"},
		)),
		{Name: "active", Type: tBoolean, Mutability: readWrite, Returned: "default", Uniqueness: "none", Description: "The user's administrative status."},
	},
}

var groupSchema = &schema{
	ID:          scim.SchemaGroup,
	Name:        "Group",
	Description: "Group",
	Attributes: []*attribute{
		required(str("displayName", false, readWrite, "A human-readable name for the Group.")),
		multi(complexAttr("members", readWrite, "A list of members of the Group.",
			str("value", true, immutable, "Identifier of the member of this Group."),
			&attribute{Name: "$ref", Type: tRef, Mutability: immutable, Returned: "default", Uniqueness: "none", ReferenceTypes: []string{"User", "Group"}},
			func() *attribute {
				a := str("type", false, immutable, "User or Group.")
				a.CanonicalValues = []string{"User", "Group"}
				return a
			}(),
			str("display", false, readOnly, ""),
		)),
	},
}

var orgSchema = &schema{
	ID:          scim.SchemaOrganization,
	Name:        "Organization",
	Description: "A parent or child organization of the tenant (scimsync organization extension).",
	Attributes: []*attribute{
		required(str("name", true, readOnly, "The organization's name; set by support.")),
		str("parent", true, readOnly, "Id of the parent organization; absent on the parent itself."),
		func() *attribute {
			a := str("mode", true, readWrite, "Parent only: SCIM provisioning mode.")
			a.CanonicalValues = []string{"jit", "staged", "full"}
			return a
		}(),
		multi(str("loginDomains", false, readWrite, "Parent only: login domains.")),
		multi(str("seatTiers", true, readWrite, "Parent only: seat tiers, lowest first.")),
		multi(complexAttr("mappings", readWrite, "Child only: group → role + seat tier mappings.",
			str("group", true, readWrite, "Id of the mapped group."),
			func() *attribute {
				a := str("role", true, readWrite, "Role granted.")
				a.CanonicalValues = []string{"member", "admin", "owner"}
				return a
			}(),
			str("seatTier", true, readWrite, "Seat tier granted."),
		)),
		func() *attribute {
			a := complexAttr("seats", readWrite, "Child only: purchased seats per tier (tier → count).")
			a.open = true
			return a
		}(),
		multi(complexAttr("exceptions", readWrite, "Child only: members kept although not SCIM-backed, until a date.",
			str("email", false, readWrite, ""),
			&attribute{Name: "until", Type: tString, CaseExact: true, Mutability: readWrite, Returned: "default", Uniqueness: "none", Description: "Date (YYYY-MM-DD), inclusive."},
			str("reason", false, readWrite, ""),
		)),
	},
}

var memberSchema = &schema{
	ID:          scim.SchemaMember,
	Name:        "Member",
	Description: "A person holding a seat in one child organization (read-only).",
	Attributes: []*attribute{
		str("organization", true, readOnly, "Id of the child organization."),
		str("email", false, readOnly, ""),
		str("userId", true, readOnly, "SCIM user id; absent unless origin is scim."),
		str("role", true, readOnly, "member, admin, owner or primary-owner."),
		str("seatTier", true, readOnly, ""),
		str("origin", true, readOnly, "scim, jit or manual."),
	},
}

// resourceType describes one endpoint (RFC 7643 §6).
type resourceType struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Endpoint    string `json:"endpoint"`
	Description string `json:"description"`
	Schema      string `json:"schema"`
	schema      *schema
}

var resourceTypes = []*resourceType{
	{ID: "User", Name: "User", Endpoint: "/Users", Description: "User Account", Schema: scim.SchemaUser, schema: userSchema},
	{ID: "Group", Name: "Group", Endpoint: "/Groups", Description: "Group", Schema: scim.SchemaGroup, schema: groupSchema},
	{ID: "Organization", Name: "Organization", Endpoint: "/Organizations", Description: "Parent and child organizations", Schema: scim.SchemaOrganization, schema: orgSchema},
	{ID: "Member", Name: "Member", Endpoint: "/Members", Description: "Members of child organizations (read-only)", Schema: scim.SchemaMember, schema: memberSchema},
}

var schemas = []*schema{userSchema, groupSchema, orgSchema, memberSchema}
