package scim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

// A server that echoes the token in a string gets it replaced before
// anything above scim sees it, however its JSON escapes it (issue 14).
func TestEchoedTokenIsRedacted(t *testing.T) {
	const slashToken = "Zm9v/YmFy+cXV4=tok3n" // base64 with a slash, as PHP escapes it
	tests := []struct {
		name  string
		token string
		email string // the email as the JSON text carries it, quotes excluded
	}{
		{"raw", testToken, "x." + testToken + "@example.gov"},
		{"every character \\u-escaped", testToken, `x.` + uEscape(testToken) + `@example.gov`},
		{"one character \\u-escaped", testToken, `x.` + uEscape(testToken[:1]) + testToken[1:] + `@example.gov`},
		{"slash escaped", slashToken, `x.` + strings.ReplaceAll(slashToken, "/", `\/`) + `@example.gov`},
		{"slash raw", slashToken, `x.` + slashToken + `@example.gov`},
		{"the whole string", testToken, testToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"Resources":[` +
				`{"id":"m1","organization":"o1","email":"` + tc.email + `","role":"member","seatTier":"standard","origin":"jit","meta":{"version":"W/\"1\""}},` +
				`{"id":"m2","organization":"o1","email":"b@example.gov","role":"member","seatTier":"standard","origin":"jit"}]}`
			if !json.Valid([]byte(body)) {
				t.Fatalf("invalid test body %s", body)
			}
			c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if answerProbe(w, r) {
					return
				}
				w.Header().Set("Content-Type", "application/scim+json")
				w.Write([]byte(body))
			}), func(cfg *scim.Config) { cfg.Token = tc.token })
			ms, err := c.ListMembers(context.Background(), "o1")
			if err != nil {
				t.Fatal(err)
			}
			if c.Redactions() != 1 {
				t.Errorf("Redactions() = %d, want 1", c.Redactions())
			}
			got := fmt.Sprintf("%+v", ms)
			if strings.Contains(got, tc.token) {
				t.Errorf("the token reached the caller: %s", got)
			}
			var want string
			if tc.email == tc.token {
				want = scim.Redacted
			} else {
				want = "x." + scim.Redacted + "@example.gov"
			}
			if len(ms) != 2 || ms[0].Email != want || ms[1].Email != "b@example.gov" || ms[0].Meta.Version != `W/"1"` {
				t.Errorf("members %+v, want the first email %q and the rest unchanged", ms, want)
			}
		})
	}
}

func uEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// The token is replaced in headers too: an ETag becomes a version that
// plans show.
func TestEchoedTokenIsRedactedFromHeaders(t *testing.T) {
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			w.Header().Set("ETag", `W/"`+testToken+`"`)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("ETag", `W/"v-`+testToken+`"`)
		writeJSON(w, map[string]any{"id": "o1", "name": "hq-" + testToken})
	}))
	o, err := c.GetOrganization(context.Background(), "o1")
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "hq-"+scim.Redacted || o.Meta.Version != `W/"v-`+scim.Redacted+`"` {
		t.Errorf("organization %+v: the token is not redacted", o)
	}
	v, err := c.PatchOrganization(context.Background(), "o1", `W/"1"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}})
	if err != nil || v != `W/"`+scim.Redacted+`"` {
		t.Errorf("PatchOrganization = %q, %v; want the version redacted", v, err)
	}
}
