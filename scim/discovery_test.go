package scim_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

// discoveryServer answers discovery requests with fixed bodies and refuses
// any query parameter, as SCIMMY does (403).
func discoveryServer(t *testing.T, bodies map[string]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		if r.URL.RawQuery != "" {
			t.Errorf("%s sent with query %q", r.URL.Path, r.URL.RawQuery)
			scimError(w, 403, "", "no query parameters here")
			return
		}
		body, ok := bodies[r.URL.Path]
		if !ok {
			scimError(w, 404, "", "not found")
			return
		}
		io.WriteString(w, body)
	})
}

func TestServiceProviderConfig(t *testing.T) {
	c, _ := setup(t, discoveryServer(t, map[string]string{"/ServiceProviderConfig": `{
		"schemas":["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
		"patch":{"supported":true},"bulk":{"supported":false,"maxOperations":0,"maxPayloadSize":0},
		"filter":{"supported":"True","maxResults":200},"changePassword":{"supported":false},
		"sort":{"supported":false},"etag":{"supported":true},
		"pagination":{"cursor":true,"index":true,"maxPageSize":100},
		"authenticationSchemes":[{"type":"oauthbearertoken","name":"OAuth Bearer Token"}]}`}))
	spc, err := c.ServiceProviderConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !spc.Patch.Supported || !spc.Filter.Supported || spc.Filter.MaxResults != 200 || !spc.ETag.Supported ||
		spc.Pagination == nil || spc.Pagination.MaxPageSize != 100 || len(spc.AuthenticationSchemes) != 1 {
		t.Errorf("ServiceProviderConfig = %+v", spc)
	}
}

func TestHasOrganizations(t *testing.T) {
	const users = `{"name":"User","endpoint":"/Users","schema":"urn:ietf:params:scim:schemas:core:2.0:User"}`
	tests := []struct {
		name string
		body *string
		want bool
	}{
		{"endpoint under another name", ptr(`{"totalResults":2,"Resources":[` + users + `,{"name":"Orgs","endpoint":"/Organizations/","schema":"urn:example:org"}]}`), true},
		{"schema under another endpoint", ptr(`{"Resources":[{"name":"X","endpoint":"/Tenants","schema":"` + scim.SchemaOrganization + `"}]}`), true},
		{"bare array", ptr(`[` + users + `,{"name":"Organization","endpoint":"/Organizations","schema":"` + scim.SchemaOrganization + `"}]`), true},
		{"name alone is not enough", ptr(`{"Resources":[` + users + `,{"name":"Organizations","endpoint":"/Orgs","schema":"urn:example:org"}]}`), false},
		{"no ResourceTypes endpoint", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bodies := map[string]string{}
			if tc.body != nil {
				bodies["/ResourceTypes"] = *tc.body
			}
			c, _ := setup(t, discoveryServer(t, bodies))
			got, err := c.HasOrganizations(context.Background())
			if err != nil || got != tc.want {
				t.Errorf("HasOrganizations = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { scimError(w, 401, "", "no") }))
	if _, err := c.HasOrganizations(context.Background()); err == nil {
		t.Error("HasOrganizations hid a 401")
	}
}

func TestSchemas(t *testing.T) {
	c, _ := setup(t, discoveryServer(t, map[string]string{"/Schemas": `{"totalResults":1,"Resources":[
		{"id":"urn:ietf:params:scim:schemas:core:2.0:Group","name":"Group","attributes":[
		 {"name":"displayName","type":"string","caseExact":false,"required":true},
		 {"name":"members","type":"complex","multiValued":true,"subAttributes":[{"name":"value","type":"string"}]}]}]}`}))
	schemas, err := c.Schemas(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(schemas) != 1 || len(schemas[0].Attributes) != 2 || !schemas[0].Attributes[1].MultiValued ||
		schemas[0].Attributes[1].SubAttributes[0].Name != "value" {
		t.Errorf("Schemas = %+v", schemas)
	}
}

func ptr(s string) *string { return &s }
