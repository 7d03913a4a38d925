package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Schema URNs used on the wire.
const (
	SchemaUser         = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaOrganization = "urn:scimsync:params:scim:schemas:core:2.0:Organization"
	SchemaMember       = "urn:scimsync:params:scim:schemas:core:2.0:Member"
	SchemaListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaPatchOp      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaError        = "urn:ietf:params:scim:api:messages:2.0:Error"
)

// Bool is a SCIM boolean. It decodes JSON booleans and, for servers such as
// Entra ID's legacy mode, the strings "True" and "False" in any case.
type Bool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *Bool) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("true")):
		*b = true
	case bytes.Equal(data, []byte("false")), bytes.Equal(data, []byte("null")):
		*b = false
	default:
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("boolean: got %.20s", data)
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			*b = true
		case "false":
			*b = false
		default:
			return fmt.Errorf("boolean: got %q", s)
		}
	}
	return nil
}

// Meta is a resource's meta attribute (RFC 7643 §3.1). Version is the ETag.
type Meta struct {
	ResourceType string `json:"resourceType,omitempty"`
	Created      string `json:"created,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Location     string `json:"location,omitempty"`
	Version      string `json:"version,omitempty"`
}

// Email is one of a user's emails[].
type Email struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary Bool   `json:"primary,omitempty"`
}

// Name is a user's structured name.
type Name struct {
	Formatted  string `json:"formatted,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

// User is a SCIM core User, as far as scimsync reads it.
type User struct {
	Schemas     []string `json:"schemas,omitempty"`
	ID          string   `json:"id"`
	ExternalID  string   `json:"externalId,omitempty"`
	UserName    string   `json:"userName"`
	Name        *Name    `json:"name,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Emails      []Email  `json:"emails,omitempty"`
	Active      Bool     `json:"active"`
	Meta        Meta     `json:"meta,omitzero"`
}

// GroupMember is one of a group's members[]: a user or a nested group.
type GroupMember struct {
	Value   string `json:"value"`
	Ref     string `json:"$ref,omitempty"`
	Type    string `json:"type,omitempty"` // "User" or "Group"
	Display string `json:"display,omitempty"`
}

// Group is a SCIM core Group. Members is empty when listed with
// excludedAttributes=members.
type Group struct {
	Schemas     []string      `json:"schemas,omitempty"`
	ID          string        `json:"id"`
	ExternalID  string        `json:"externalId,omitempty"`
	DisplayName string        `json:"displayName"`
	Members     []GroupMember `json:"members,omitempty"`
	Meta        Meta          `json:"meta,omitzero"`
}

// Mapping is an organization's group → role + seat tier mapping. Group holds
// the group's id.
type Mapping struct {
	Group    string `json:"group"`
	Role     string `json:"role"`
	SeatTier string `json:"seatTier"`
}

// Exception keeps a non-SCIM-backed member until a date (YYYY-MM-DD,
// inclusive).
type Exception struct {
	Email  string `json:"email"`
	Until  string `json:"until"`
	Reason string `json:"reason,omitempty"`
}

// Organization is the organization extension's resource (DESIGN §4). Parent
// is empty on the parent organization; Mode, LoginDomains and SeatTiers are
// set on the parent only, Mappings, Seats and Exceptions on children only.
type Organization struct {
	Schemas      []string       `json:"schemas,omitempty"`
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Parent       string         `json:"parent,omitempty"`
	Mode         string         `json:"mode,omitempty"`
	LoginDomains []string       `json:"loginDomains,omitempty"`
	SeatTiers    []string       `json:"seatTiers,omitempty"`
	Mappings     []Mapping      `json:"mappings,omitempty"`
	Seats        map[string]int `json:"seats,omitempty"`
	Exceptions   []Exception    `json:"exceptions,omitempty"`
	Meta         Meta           `json:"meta,omitzero"`
}

// Member is the organization extension's read-only Member resource.
type Member struct {
	Schemas      []string `json:"schemas,omitempty"`
	ID           string   `json:"id"`
	Organization string   `json:"organization"`
	Email        string   `json:"email"`
	UserID       string   `json:"userId,omitempty"`
	Role         string   `json:"role"`
	SeatTier     string   `json:"seatTier"`
	Origin       string   `json:"origin"`
	Meta         Meta     `json:"meta,omitzero"`
}

// ListResponse is a SCIM list response (RFC 7644 §3.4.2).
type ListResponse[T any] struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex,omitempty"`
	ItemsPerPage int      `json:"itemsPerPage,omitempty"`
	Resources    []T      `json:"Resources"`
}

// PatchOp is one operation of a PATCH request (RFC 7644 §3.5.2).
type PatchOp struct {
	Op    string `json:"op"` // add, remove, replace
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// PatchRequest is the body of a PATCH request.
type PatchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []PatchOp `json:"Operations"`
}

// NewPatchRequest wraps ops in a PatchOp message.
func NewPatchRequest(ops ...PatchOp) PatchRequest {
	return PatchRequest{Schemas: []string{SchemaPatchOp}, Operations: ops}
}
