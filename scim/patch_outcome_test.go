package scim_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

// A PATCH answered 2xx counts as applied only when the answer shows the
// organization at a new version; anything else is an unknown outcome, never
// a success and never an *scim.Error, whose status would prove that nothing
// changed (issue 14, High #8).
func TestPatchOrganizationSuccessStatusWithoutProofIsUnknown(t *testing.T) {
	const ifMatch = `W/"45"`
	body := func(status int, s string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(status)
			w.Write([]byte(s))
		}
	}
	withETag := func(etag string, status int, s string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", etag)
			body(status, s)(w, r)
		}
	}
	tests := []struct {
		name    string
		patch   func(http.ResponseWriter, *http.Request)
		get     func(http.ResponseWriter, *http.Request) // nil: a GET fails the test
		wantErr string
	}{
		{name: "200 with a SCIM error body", wantErr: "the body is a SCIM error (invalidValue seats must be positive)",
			patch: body(200, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"seats must be positive"}`)},
		{name: "200 with an error body without schemas", wantErr: "the body is a SCIM error (boom)",
			patch: body(200, `{"status":500,"detail":"boom"}`)},
		{name: "201 with an error schema alone", wantErr: "the body is a SCIM error",
			patch: body(201, `{"schemas":["URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:ERROR"]}`)},
		{name: "200 with an organization without id", wantErr: "the organization in the body has no id",
			patch: body(200, `{"name":"hq","meta":{"version":"W/\"46\""}}`)},
		{name: "200 with another organization", wantErr: `the body is organization "o2", not "o1"`,
			patch: body(200, `{"id":"o2","name":"west","meta":{"version":"W/\"46\""}}`)},
		{name: "200 without a version", wantErr: "the answer (neither meta.version nor ETag) carries no version",
			patch: body(200, `{"id":"o1","name":"hq"}`)},
		{name: "200 at the version sent", wantErr: `the organization in the body is still at version W/"45", the one sent as If-Match`,
			patch: body(200, `{"id":"o1","name":"hq","meta":{"version":"W/\"45\""}}`)},
		{name: "200 at the version sent, as a strong tag", wantErr: "still at version",
			patch: body(200, `{"id":"o1","name":"hq","meta":{"version":"\"45\""}}`)},
		{name: "200 without meta.version, ETag unchanged", wantErr: "still at version",
			patch: withETag(ifMatch, 200, `{"id":"o1","name":"hq"}`)},
		{name: "200 with a JSON array", wantErr: "the body is not an organization",
			patch: body(200, `[{"id":"o1"}]`)},
		{name: "200 with HTML", wantErr: "the body is not JSON",
			patch: body(200, `<html><body>Saved!</body></html>`)},
		{name: "204 with the ETag sent", wantErr: "the ETag of the answer is still at version",
			patch: withETag(ifMatch, 204, "")},
		{name: "204, then a read at the version sent", wantErr: "the organization read after the answer is still at version",
			patch: body(204, ""),
			get:   body(200, `{"id":"o1","name":"hq","meta":{"version":"W/\"45\""}}`)},
		{name: "204, then a read that fails", wantErr: "reading the organization failed: reading organization o1: GET http://",
			patch: body(204, ""),
			get:   body(403, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"403","detail":"no"}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var patches, gets atomic.Int64
			c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !authorized(w, r) {
					return
				}
				switch {
				case r.Method == http.MethodPatch && r.URL.Path == "/Organizations/o1":
					patches.Add(1)
					if got := r.Header.Get("If-Match"); got != ifMatch {
						t.Errorf("If-Match %q, want %q", got, ifMatch)
					}
					tc.patch(w, r)
				case r.Method == http.MethodGet && r.URL.Path == "/Organizations/o1" && tc.get != nil:
					gets.Add(1)
					tc.get(w, r)
				default:
					t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
					scimError(w, 404, "", "no")
				}
			}))
			v, err := c.PatchOrganization(context.Background(), "o1", ifMatch, []scim.PatchOp{{Op: "replace", Path: "seats.standard", Value: 901}})
			if err == nil {
				t.Fatalf("PatchOrganization = %q, nil; want an unknown outcome", v)
			}
			if !errors.Is(err, scim.ErrUnknownOutcome) {
				t.Errorf("error %v does not match ErrUnknownOutcome", err)
			}
			var ue *scim.UnknownOutcomeError
			if !errors.As(err, &ue) || ue.URL != "/Organizations/o1" || ue.Method != http.MethodPatch {
				t.Errorf("error %v: not an *UnknownOutcomeError for PATCH /Organizations/o1 (%+v)", err, ue)
			}
			var se *scim.Error
			if errors.As(err, &se) {
				t.Errorf("error %v wraps an *scim.Error (%v): apply would take it for a refusal that changed nothing", err, se)
			}
			if errors.Is(err, scim.ErrPrecondition) {
				t.Errorf("error %v matches ErrPrecondition", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "outcome unknown") {
				t.Errorf("error = %v\nwant one containing %q", err, tc.wantErr)
			}
			if patches.Load() != 1 {
				t.Errorf("%d PATCH requests, want 1 (an unknown outcome is not repeated)", patches.Load())
			}
		})
	}
}

// The answers a correct server gives stay successes.
func TestPatchOrganizationAcceptsANewVersion(t *testing.T) {
	for _, tc := range []struct {
		name, etag, body, want string
		status                 int
	}{
		{name: "body", status: 200, body: `{"id":"o1","name":"hq","meta":{"version":"W/\"46\""}}`, want: `W/"46"`},
		{name: "body without version, ETag", status: 200, etag: `W/"47"`, body: `{"id":"o1","name":"hq"}`, want: `W/"47"`},
		{name: "case-insensitive names", status: 200, body: `{"ID":"o1","META":{"Version":"W/\"48\""}}`, want: `W/"48"`},
		{name: "204 with ETag", status: 204, etag: `W/"49"`, want: `W/"49"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.etag != "" {
					w.Header().Set("ETag", tc.etag)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			v, err := c.PatchOrganization(context.Background(), "o1", `W/"45"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}})
			if err != nil || v != tc.want {
				t.Fatalf("PatchOrganization = %q, %v; want %q", v, err, tc.want)
			}
		})
	}
}
