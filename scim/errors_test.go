package scim_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/scim"
)

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  scim.Error
		want string
	}{
		{scim.Error{Method: "PATCH", URL: "/Organizations/42", Status: 412, Detail: "version mismatch"},
			"PATCH /Organizations/42: 412 precondition failed: version mismatch"},
		{scim.Error{Method: "GET", URL: "/Groups", Status: 400, SCIMType: "invalidFilter", Detail: "bad filter"},
			"GET /Groups: 400 bad request (invalidFilter): bad filter"},
		{scim.Error{Method: "GET", URL: "/Users", Status: 599}, "GET /Users: 599"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestErrorIs(t *testing.T) {
	var err error = fmt.Errorf("applying: %w", &scim.Error{Method: "PATCH", URL: "/Organizations/1", Status: 412})
	var se *scim.Error
	if !errors.Is(err, scim.ErrPrecondition) || errors.Is(err, scim.ErrNotFound) || !errors.As(err, &se) || se.Status != 412 {
		t.Errorf("412: Is(ErrPrecondition)=%v Is(ErrNotFound)=%v As=%v", errors.Is(err, scim.ErrPrecondition), errors.Is(err, scim.ErrNotFound), se)
	}
	err = &scim.Error{Status: 404}
	if !errors.Is(err, scim.ErrNotFound) || errors.Is(err, scim.ErrPrecondition) {
		t.Errorf("404 does not match ErrNotFound only")
	}
}

func TestErrorDecoding(t *testing.T) {
	long := strings.Repeat("é", 400)
	tests := []struct {
		name  string
		ctype string
		body  string
		want  scim.Error
	}{
		{"status as a string", "application/scim+json",
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"taken"}`,
			scim.Error{Status: 409, SCIMType: "uniqueness", Detail: "taken"}},
		{"status as a number (Okta)", "application/json",
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":409,"scimType":"uniqueness","detail":"taken"}`,
			scim.Error{Status: 409, SCIMType: "uniqueness", Detail: "taken"}},
		{"names in another case", "application/json", `{"STATUS":409,"ScimType":"mutability","Detail":"read-only"}`,
			scim.Error{Status: 409, SCIMType: "mutability", Detail: "read-only"}},
		{"HTML page with a title", "text/html",
			"<!DOCTYPE html>\n<html><head><title>Conflict &amp; co</title><style>p{}</style></head><body><p>x</p></body></html>",
			scim.Error{Status: 409, Detail: "Conflict & co"}},
		{"HTML page without a title", "text/html",
			"<html><body><script>alert(1)</script><h1>Conflict</h1>\n\n<p>Try\tagain</p></body></html>",
			scim.Error{Status: 409, Detail: "Conflict Try again"}},
		{"plain text with control characters", "text/plain", "conflict\x1b[31m\r\nsecond line\x00",
			scim.Error{Status: 409, Detail: "conflict [31m second line"}},
		{"other JSON", "application/json", `{"message":"conflict"}`, scim.Error{Status: 409, Detail: `{"message":"conflict"}`}},
		{"empty", "", "", scim.Error{Status: 409}},
		{"long detail is cut", "application/json", `{"detail":"` + long + `"}`,
			scim.Error{Status: 409, Detail: strings.Repeat("é", 300) + "…"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.WriteHeader(409)
				io.WriteString(w, tc.body)
			}))
			_, err := c.GetGroup(context.Background(), "g 1")
			var got *scim.Error
			if !errors.As(err, &got) {
				t.Fatalf("GetGroup error %v is not a *scim.Error", err)
			}
			tc.want.Method, tc.want.URL = "GET", "/Groups/g%201"
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("*Error (-want +got):\n%s", diff)
			}
		})
	}
}
