package scimtest

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/scimsync/scimsync/scim"
)

const (
	schemaSPC          = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	schemaResourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

type supported struct {
	Supported bool `json:"supported"`
}

func (s *Server) serviceProviderConfig(r *http.Request) *response {
	maxResults := s.cap
	if maxResults == 0 {
		maxResults = 1 << 30
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"schemas":          []string{schemaSPC},
		"documentationUri": "https://github.com/scimsync/scimsync",
		"patch":            supported{true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxResults},
		"changePassword":   supported{false},
		"sort":             supported{false},
		"etag":             supported{true},
		"authenticationSchemes": []map[string]any{{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "Authentication with a bearer token in the Authorization header.",
			"primary":     true,
		}},
		"meta": scim.Meta{ResourceType: "ServiceProviderConfig", Location: s.baseURL(r) + "/ServiceProviderConfig"},
	})
}

func (s *Server) resourceTypes(r *http.Request, id string) *response {
	render := func(rt *resourceType) json.RawMessage {
		b, _ := json.Marshal(struct {
			Schemas []string `json:"schemas"`
			*resourceType
			Meta scim.Meta `json:"meta"`
		}{[]string{schemaResourceType}, rt, scim.Meta{ResourceType: "ResourceType", Location: s.baseURL(r) + "/ResourceTypes/" + rt.ID}})
		return b
	}
	if id != "" {
		for _, rt := range resourceTypes {
			if strings.EqualFold(rt.ID, id) {
				return &response{status: http.StatusOK, header: http.Header{}, body: render(rt)}
			}
		}
		return errorResponse(notFound("resource type %q not found", id))
	}
	out := listBody{Schemas: []string{scim.SchemaListResponse}, TotalResults: len(resourceTypes), StartIndex: 1, ItemsPerPage: len(resourceTypes)}
	for _, rt := range resourceTypes {
		out.Resources = append(out.Resources, render(rt))
	}
	return jsonResponse(http.StatusOK, out)
}

func (s *Server) schemas(r *http.Request, id string) *response {
	render := func(sc *schema) json.RawMessage {
		b, _ := json.Marshal(struct {
			Schemas []string `json:"schemas"`
			*schema
			Meta scim.Meta `json:"meta"`
		}{[]string{schemaSchema}, sc, scim.Meta{ResourceType: "Schema", Location: s.baseURL(r) + "/Schemas/" + sc.ID}})
		return b
	}
	if id != "" {
		for _, sc := range schemas {
			if strings.EqualFold(sc.ID, id) {
				return &response{status: http.StatusOK, header: http.Header{}, body: render(sc)}
			}
		}
		return errorResponse(notFound("schema %q not found", id))
	}
	out := listBody{Schemas: []string{scim.SchemaListResponse}, TotalResults: len(schemas), StartIndex: 1, ItemsPerPage: len(schemas)}
	for _, sc := range schemas {
		out.Resources = append(out.Resources, render(sc))
	}
	return jsonResponse(http.StatusOK, out)
}
