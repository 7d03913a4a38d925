package scim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

// flaky answers the first len(fails) requests with those responses, then
// serves one user.
func flaky(calls *atomic.Int64, fails ...func(w http.ResponseWriter)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		if answerProbe(w, r) {
			return
		}
		n := int(calls.Add(1))
		if n <= len(fails) {
			fails[n-1](w)
			return
		}
		writeJSON(w, map[string]any{"totalResults": 1, "Resources": []any{map[string]any{"id": "u1", "userName": "a", "active": true}}})
	}
}

func status(code int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		scimError(w, code, "", "try later")
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		fails     []func(http.ResponseWriter)
		minWait   time.Duration
		maxWait   time.Duration
		wantCalls int64
		wantErr   string
		pageSize  int // the client's; the default when 0
	}{
		{name: "429 with Retry-After seconds", fails: []func(http.ResponseWriter){status(429, "1")},
			minWait: 900 * time.Millisecond, maxWait: 3 * time.Second, wantCalls: 2},
		{name: "429 with Retry-After HTTP date", fails: []func(http.ResponseWriter){
			status(429, time.Now().Add(time.Second).UTC().Format(http.TimeFormat))},
			maxWait: 3 * time.Second, wantCalls: 2},
		{name: "503 twice then success", fails: []func(http.ResponseWriter){status(503, ""), status(503, "")},
			maxWait: time.Second, wantCalls: 3},
		{name: "500 then success", fails: []func(http.ResponseWriter){status(500, "")}, maxWait: time.Second, wantCalls: 2},
		{name: "HTML 502 page then success", fails: []func(http.ResponseWriter){func(w http.ResponseWriter) {
			w.WriteHeader(502)
			io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
		}}, maxWait: time.Second, wantCalls: 2},
		{name: "500 until retries run out", fails: []func(http.ResponseWriter){status(500, ""), status(500, ""), status(500, ""), status(500, "")},
			maxWait: time.Second, wantCalls: 4, wantErr: "GET /Users: 500 internal server error: try later"},
		{name: "Retry-After seconds beyond the budget", fails: []func(http.ResponseWriter){status(429, "3600")},
			maxWait: time.Second, wantCalls: 1,
			wantErr: "GET /Users: 429 too many requests: try later (the server asked to retry in 1h0m0s, beyond the retry budget of 2s)"},
		{name: "Retry-After date beyond the budget", fails: []func(http.ResponseWriter){
			status(503, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))},
			maxWait: time.Second, wantCalls: 1, wantErr: "503 service unavailable: try later (the server asked to retry in 59m"},
		{name: "400 is not retried", fails: []func(http.ResponseWriter){status(400, "")}, maxWait: time.Second, wantCalls: 1,
			wantErr: "GET /Users: 400 bad request: try later", pageSize: scim.FallbackPageSize},
		// A 400 to a page of 1000 is asked again for 100 (the server may
		// refuse the count), and not retried otherwise: the first error is
		// the one reported.
		{name: "400 to pages of 1000 and of 100", fails: []func(http.ResponseWriter){status(400, ""), status(400, "")}, maxWait: time.Second,
			wantCalls: 2, wantErr: "GET /Users: 400 bad request: try later"},
		{name: "400 to a page of 1000, then pages of 100", fails: []func(http.ResponseWriter){status(400, "")}, maxWait: time.Second,
			wantCalls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			c, _ := setup(t, flaky(&calls, tc.fails...), func(cfg *scim.Config) {
				cfg.MaxRetryWait = 2 * time.Second
				if tc.pageSize > 0 {
					cfg.PageSize = tc.pageSize
				}
			})
			start := time.Now()
			users, err := c.ListUsers(context.Background())
			elapsed := time.Since(start)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ListUsers error = %v, want one containing %q", err, tc.wantErr)
				}
				var se *scim.Error
				if !errors.As(err, &se) {
					t.Errorf("error %v is not a *scim.Error", err)
				}
			} else if err != nil || len(users) != 1 {
				t.Fatalf("ListUsers = %d users, %v", len(users), err)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("server saw %d requests, want %d", got, tc.wantCalls)
			}
			if elapsed < tc.minWait || elapsed > tc.maxWait {
				t.Errorf("took %s, want between %s and %s", elapsed, tc.minWait, tc.maxWait)
			}
		})
	}
}

func TestRetryWaitIsCappedInTotal(t *testing.T) {
	// Each Retry-After fits the budget alone; together they do not.
	var calls atomic.Int64
	c, _ := setup(t, flaky(&calls, status(429, "1"), status(429, "1"), status(429, "1")), func(cfg *scim.Config) {
		cfg.MaxRetryWait = 1500 * time.Millisecond
	})
	start := time.Now()
	_, err := c.ListUsers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "beyond the retry budget of 1.5s") {
		t.Fatalf("ListUsers error = %v, want the retry budget exhausted", err)
	}
	if got, took := calls.Load(), time.Since(start); got != 2 || took > 1400*time.Millisecond {
		t.Errorf("server saw %d requests in %s, want 2 within about one second", got, took)
	}
}

// patchServer answers PATCH /Organizations/o1 with the given responses in
// turn and records what it received.
type patchServer struct {
	calls    atomic.Int64
	respond  []func(w http.ResponseWriter, r *http.Request)
	mu       sync.Mutex // guards what follows
	ifMatch  []string
	ctype    string
	body     scim.PatchRequest
	getCalls atomic.Int64
}

func (p *patchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/Organizations/o1" {
		p.getCalls.Add(1)
		writeJSON(w, map[string]any{"id": "o1", "name": "hq", "meta": map[string]any{"version": `W/"from-get"`}})
		return
	}
	if r.Method != http.MethodPatch || r.URL.Path != "/Organizations/o1" {
		scimError(w, 404, "", "no such endpoint")
		return
	}
	n := int(p.calls.Add(1))
	p.mu.Lock()
	p.ifMatch = append(p.ifMatch, r.Header.Get("If-Match"))
	p.ctype = r.Header.Get("Content-Type")
	json.NewDecoder(r.Body).Decode(&p.body)
	p.mu.Unlock()
	p.respond[min(n, len(p.respond))-1](w, r)
}

func orgWithVersion(v string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"id": "o1", "name": "hq", "meta": map[string]any{"version": v}})
	}
}

func TestPatchOrganization(t *testing.T) {
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		// The request arrived; the connection drops before any answer.
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}
	tests := []struct {
		name        string
		respond     []func(w http.ResponseWriter, r *http.Request)
		wantVersion string
		wantCalls   int64
		wantGets    int64
		wantErr     string
		precond     bool
	}{
		{name: "version from the body", respond: []func(http.ResponseWriter, *http.Request){orgWithVersion(`W/"2"`)},
			wantVersion: `W/"2"`, wantCalls: 1},
		{name: "version from the ETag of a 204", respond: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { w.Header().Set("ETag", `W/"3"`); w.WriteHeader(204) }},
			wantVersion: `W/"3"`, wantCalls: 1},
		{name: "version from a read when the answer has none", respond: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }},
			wantVersion: `W/"from-get"`, wantCalls: 1, wantGets: 1},
		{name: "stale version", respond: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { scimError(w, 412, "", "version mismatch") }},
			wantCalls: 1, precond: true, wantErr: "patching organization o1: PATCH /Organizations/o1: 412 precondition failed: version mismatch"},
		{name: "500 is not retried", respond: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { scimError(w, 500, "", "boom") }, orgWithVersion(`W/"2"`)},
			wantCalls: 1, wantErr: "500 internal server error: boom"},
		{name: "a dropped connection is not retried", respond: []func(http.ResponseWriter, *http.Request){hangUp, orgWithVersion(`W/"2"`)},
			wantCalls: 1, wantErr: "PATCH /Organizations/o1: "},
		{name: "429 is retried", respond: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				scimError(w, 429, "", "slow down")
			},
			orgWithVersion(`W/"2"`)},
			wantVersion: `W/"2"`, wantCalls: 2},
		{name: "503 is retried", respond: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { scimError(w, 503, "", "maintenance") }, orgWithVersion(`W/"2"`)},
			wantVersion: `W/"2"`, wantCalls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := &patchServer{respond: tc.respond}
			c, _ := setup(t, ps)
			ops := []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}}
			v, err := c.PatchOrganization(context.Background(), "o1", `W/"1"`, ops)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("PatchOrganization error = %v, want one containing %q", err, tc.wantErr)
				}
				if got := errors.Is(err, scim.ErrPrecondition); got != tc.precond {
					t.Errorf("errors.Is(err, ErrPrecondition) = %v, want %v", got, tc.precond)
				}
			} else if err != nil || v != tc.wantVersion {
				t.Fatalf("PatchOrganization = %q, %v; want %q", v, err, tc.wantVersion)
			}
			if got := ps.calls.Load(); got != tc.wantCalls {
				t.Errorf("server saw %d PATCH requests, want %d", got, tc.wantCalls)
			}
			if got := ps.getCalls.Load(); got != tc.wantGets {
				t.Errorf("server saw %d GET requests, want %d", got, tc.wantGets)
			}
			ps.mu.Lock()
			defer ps.mu.Unlock()
			for _, im := range ps.ifMatch {
				if im != `W/"1"` {
					t.Errorf("If-Match = %q, want W/\"1\"", im)
				}
			}
			if ps.ctype != "application/scim+json" || len(ps.body.Operations) != 1 ||
				ps.body.Schemas[0] != scim.SchemaPatchOp || ps.body.Operations[0].Path != "mode" {
				t.Errorf("request: Content-Type %q, body %+v", ps.ctype, ps.body)
			}
		})
	}
}

func TestPatchOrganizationRefusesMissingPreconditions(t *testing.T) {
	ps := &patchServer{}
	c, _ := setup(t, ps)
	ops := []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}}
	for _, tc := range []struct {
		id, version string
		ops         []scim.PatchOp
	}{{"", "1", ops}, {"o1", "", ops}, {"o1", "1", nil}} {
		if _, err := c.PatchOrganization(context.Background(), tc.id, tc.version, tc.ops); err == nil {
			t.Errorf("PatchOrganization(%q, %q, %d ops) succeeded", tc.id, tc.version, len(tc.ops))
		}
	}
	if ps.calls.Load() != 0 {
		t.Errorf("the server saw %d requests", ps.calls.Load())
	}
}
