package scim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Supported is a discovery feature flag such as "patch": {"supported": true}.
type Supported struct {
	Supported Bool `json:"supported"`
}

// ServiceProviderConfig is /ServiceProviderConfig (RFC 7643 §5). scimsync
// treats it as a hint: servers misreport features.
type ServiceProviderConfig struct {
	Schemas          []string  `json:"schemas,omitempty"`
	DocumentationURI string    `json:"documentationUri,omitempty"`
	Patch            Supported `json:"patch"`
	Bulk             struct {
		Supported      Bool  `json:"supported"`
		MaxOperations  int64 `json:"maxOperations"`
		MaxPayloadSize int64 `json:"maxPayloadSize"`
	} `json:"bulk"`
	Filter struct {
		Supported  Bool  `json:"supported"`
		MaxResults int64 `json:"maxResults"`
	} `json:"filter"`
	ChangePassword Supported `json:"changePassword"`
	Sort           Supported `json:"sort"`
	ETag           Supported `json:"etag"`
	// Pagination is RFC 9865's advertisement, when present.
	Pagination *struct {
		Cursor                  Bool   `json:"cursor"`
		Index                   Bool   `json:"index"`
		DefaultPaginationMethod string `json:"defaultPaginationMethod,omitempty"`
		DefaultPageSize         int64  `json:"defaultPageSize,omitempty"`
		MaxPageSize             int64  `json:"maxPageSize,omitempty"`
	} `json:"pagination,omitempty"`
	AuthenticationSchemes []struct {
		Type        string `json:"type"`
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		Primary     Bool   `json:"primary,omitempty"`
	} `json:"authenticationSchemes,omitempty"`
}

// SchemaExtension is one of a resource type's schemaExtensions.
type SchemaExtension struct {
	Schema   string `json:"schema"`
	Required Bool   `json:"required"`
}

// ResourceType is one entry of /ResourceTypes (RFC 7643 §6). Names vary
// between servers ("User", "Users"); key on Endpoint and Schema.
type ResourceType struct {
	Schemas          []string          `json:"schemas,omitempty"`
	ID               string            `json:"id,omitempty"`
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	Endpoint         string            `json:"endpoint"`
	Schema           string            `json:"schema"`
	SchemaExtensions []SchemaExtension `json:"schemaExtensions,omitempty"`
}

// SchemaAttribute describes one attribute of a Schema.
type SchemaAttribute struct {
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	MultiValued   Bool              `json:"multiValued"`
	Required      Bool              `json:"required"`
	CaseExact     Bool              `json:"caseExact"`
	Mutability    string            `json:"mutability,omitempty"`
	Returned      string            `json:"returned,omitempty"`
	Uniqueness    string            `json:"uniqueness,omitempty"`
	SubAttributes []SchemaAttribute `json:"subAttributes,omitempty"`
}

// Schema is one entry of /Schemas (RFC 7643 §7).
type Schema struct {
	ID          string            `json:"id"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Attributes  []SchemaAttribute `json:"attributes,omitempty"`
}

// ServiceProviderConfig reads /ServiceProviderConfig, without query
// parameters (some servers answer 403 to any).
func (c *Client) ServiceProviderConfig(ctx context.Context) (*ServiceProviderConfig, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, endpoint: "/ServiceProviderConfig"})
	if err != nil {
		return nil, fmt.Errorf("reading service provider config: %w", err)
	}
	var spc ServiceProviderConfig
	if err := unmarshal(resp.body, &spc); err != nil {
		return nil, fmt.Errorf("reading service provider config: decoding: %w", invalid(err))
	}
	return &spc, nil
}

// ResourceTypes reads /ResourceTypes, without query parameters. A list
// response and a bare JSON array are both accepted.
func (c *Client) ResourceTypes(ctx context.Context) ([]ResourceType, error) {
	rts, err := getAll[ResourceType](ctx, c, "/ResourceTypes")
	if err != nil {
		return nil, fmt.Errorf("reading resource types: %w", err)
	}
	return rts, nil
}

// Schemas reads /Schemas, without query parameters. A list response and a
// bare JSON array are both accepted.
func (c *Client) Schemas(ctx context.Context) ([]Schema, error) {
	s, err := getAll[Schema](ctx, c, "/Schemas")
	if err != nil {
		return nil, fmt.Errorf("reading schemas: %w", err)
	}
	return s, nil
}

// HasOrganizations tells whether the server advertises the organization
// extension in /ResourceTypes: a resource type with endpoint /Organizations
// or schema SchemaOrganization (names are not compared). A server without
// /ResourceTypes (404) has none.
func (c *Client) HasOrganizations(ctx context.Context) (bool, error) {
	rts, err := c.ResourceTypes(ctx)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	for _, rt := range rts {
		ep := strings.ToLower(strings.TrimRight(strings.TrimSpace(rt.Endpoint), "/"))
		if ep == "/organizations" || strings.HasSuffix(ep, "/organizations") ||
			strings.EqualFold(strings.TrimSpace(rt.Schema), SchemaOrganization) {
			return true, nil
		}
	}
	return false, nil
}

// getAll reads a discovery collection: one response, not paginated.
func getAll[T any](ctx context.Context, c *Client, endpoint string) ([]T, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, endpoint: endpoint})
	if err != nil {
		return nil, err
	}
	body := bytes.TrimSpace(resp.body)
	var out []T
	if len(body) > 0 && body[0] == '[' {
		err = unmarshal(body, &out)
	} else {
		var l ListResponse[T]
		err = unmarshal(body, &l)
		out = l.Resources
	}
	if err != nil {
		return nil, invalid(fmt.Errorf("decoding %s: %w", endpoint, err))
	}
	return out, nil
}
