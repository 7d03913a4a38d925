package scim_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

func TestNewRejectsUnsafeConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     scim.Config
		wantErr string
	}{
		{"plain http to a remote host", scim.Config{BaseURL: "http://scim.example.gov/v2", Token: "t"}, "refusing to send the token over plain http"},
		{"credentials in the URL", scim.Config{BaseURL: "https://u:p@scim.example.gov/v2", Token: "t"}, "must not carry credentials"},
		{"query in the URL", scim.Config{BaseURL: "https://scim.example.gov/v2?token=x", Token: "t"}, "must not have a query"},
		{"other scheme", scim.Config{BaseURL: "ftp://scim.example.gov/v2", Token: "t"}, "scheme must be https"},
		{"no host", scim.Config{BaseURL: "https:///v2", Token: "t"}, "has no host"},
		{"no token", scim.Config{BaseURL: "https://scim.example.gov/v2"}, "no token"},
		{"token with a newline", scim.Config{BaseURL: "https://scim.example.gov/v2", Token: "abc\r\nX-Evil: 1"}, "not allowed in an HTTP header"},
		{"CA file missing", scim.Config{BaseURL: "https://scim.example.gov/v2", Token: "t", CAFile: "/nonexistent/ca.pem"}, "reading CA file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scim.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New error = %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "X-Evil") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
	for _, ok := range []string{"http://127.0.0.1:8080/scim/v2", "http://localhost/scim", "http://[::1]:9/x", "https://scim.example.gov/v2/"} {
		if _, err := scim.New(scim.Config{BaseURL: ok, Token: "t"}); err != nil {
			t.Errorf("New(%s): %v", ok, err)
		}
	}
}

func TestCrossHostRedirectIsRefused(t *testing.T) {
	var sawOther atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawOther.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the other host received Authorization %q", r.Header.Get("Authorization"))
		}
		writeJSON(w, map[string]any{"totalResults": 0})
	}))
	defer other.Close()
	// 127.0.0.1 and localhost are different hosts to an HTTP client.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)

	for _, code := range []int{301, 302, 307, 308} {
		c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, otherURL+"/scim/v2/Users", code)
		}))
		_, err := c.ListUsers(context.Background())
		if err == nil || !strings.Contains(err.Error(), "refusing redirect to http://localhost:") {
			t.Errorf("%d: ListUsers error = %v, want the redirect refused", code, err)
		}
		if n, _ := c.Stats(); n != 1 {
			t.Errorf("%d: %d requests sent, want 1 (a refused redirect is not retried)", code, n)
		}
	}
	if n := sawOther.Load(); n != 0 {
		t.Errorf("the other host saw %d requests", n)
	}
}

func TestSameHostRedirect(t *testing.T) {
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/Users2" {
			http.Redirect(w, r, basePath+"/Users2?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
			return
		}
		if authorized(w, r) {
			writeJSON(w, map[string]any{"totalResults": 1, "Resources": []any{map[string]any{"id": "a", "active": true}}})
		}
	}))
	if users, err := c.ListUsers(context.Background()); err != nil || len(users) != 1 {
		t.Errorf("GET through a same-host redirect = %d users, %v", len(users), err)
	}
	_, err := c.PatchOrganization(context.Background(), "o1", "v1", []scim.PatchOp{{Op: "replace", Path: "mode", Value: "jit"}})
	if err == nil || !strings.Contains(err.Error(), "refusing to follow a redirect of a PATCH request") {
		t.Errorf("PATCH through a redirect: %v, want it refused", err)
	}
}

// TestTokenNeverLeaks drives the client through failures — errors echoing
// the token, HTML pages, retries, a refused redirect, a dead server — with
// debug logging on, and checks that the token appears in no log line and
// no error.
func TestTokenNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	echo := func(w http.ResponseWriter, r *http.Request) string {
		return "you sent " + r.Header.Get("Authorization") + " to " + r.URL.String()
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/Users":
			scimError(w, 401, "", echo(w, r))
		case "/Groups":
			w.WriteHeader(500)
			io.WriteString(w, "<html><title>Error "+echo(w, r)+"</title></html>")
		case "/Organizations":
			w.WriteHeader(502)
			io.WriteString(w, "<html><body><h1>Bad gateway</h1><pre>"+echo(w, r)+"</pre></body></html>")
		case "/Members":
			http.Redirect(w, r, "http://localhost:1/steal?"+r.Header.Get("Authorization"), http.StatusFound)
		case "/ResourceTypes":
			w.Header().Set("Retry-After", "0")
			scimError(w, 503, r.Header.Get("Authorization"), echo(w, r))
		default:
			scimError(w, 400, "invalidFilter", echo(w, r))
		}
	})
	c, srv := setup(t, h, func(cfg *scim.Config) { cfg.Logger = logger })
	ctx := context.Background()
	var errs []error
	_, err := c.ListUsers(ctx)
	errs = append(errs, err)
	_, err = c.ListGroups(ctx, true)
	errs = append(errs, err)
	_, err = c.ListOrganizations(ctx)
	errs = append(errs, err)
	_, err = c.ListMembers(ctx, "o1")
	errs = append(errs, err)
	_, err = c.ResourceTypes(ctx)
	errs = append(errs, err)
	_, err = c.GetGroup(ctx, "g1")
	errs = append(errs, err)
	_, err = c.PatchOrganization(ctx, "o1", "v1", []scim.PatchOp{{Op: "replace", Path: "mode", Value: "jit"}})
	errs = append(errs, err)
	srv.Close()
	_, err = c.ListUsers(ctx)
	errs = append(errs, err)

	var all strings.Builder
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d succeeded", i)
		}
		all.WriteString(err.Error() + "\n")
		var se *scim.Error
		if errors.As(err, &se) {
			all.WriteString(se.Detail + se.SCIMType + se.URL + "\n")
		}
	}
	all.Write(logs.Bytes())
	if strings.Contains(all.String(), testToken) {
		t.Errorf("the token leaked:\n%s", all.String())
	}
	if !strings.Contains(all.String(), "[REDACTED]") || !strings.Contains(logs.String(), "level=DEBUG") {
		t.Errorf("expected redacted server details and debug logs, got:\n%s", all.String())
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.StripPrefix(basePath, &pagedUsers{n: 3}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	srv.StartTLS()
	defer srv.Close()
	cfg := scim.Config{BaseURL: srv.URL + basePath, Token: testToken, RetryWaitMin: time.Millisecond}

	c, err := scim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListUsers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("ListUsers against an unknown CA: %v, want a certificate error", err)
	}
	if n, _ := c.Stats(); n != 1 {
		t.Errorf("%d requests, want 1: certificate errors are not retried", n)
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.CAFile = caFile
	c, err = scim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if users, err := c.ListUsers(context.Background()); err != nil || len(users) != 3 {
		t.Fatalf("ListUsers with the CA file = %d users, %v", len(users), err)
	}

	cfg.CAFile = ""
	cfg.InsecureSkipTLSVerify = true
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c, err = scim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if users, err := c.ListUsers(context.Background()); err != nil || len(users) != 3 {
		t.Fatalf("ListUsers with verification off = %d users, %v", len(users), err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "verification is off") {
		t.Errorf("no warning about insecure TLS in %q", logs.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := scim.New(scim.Config{BaseURL: srv.URL, Token: "t", CAFile: bad}); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("New with a bad CA file: %v", err)
	}
}

func TestBodyCap(t *testing.T) {
	var calls atomic.Int64
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		big := strings.Repeat("x", 4096)
		writeJSON(w, map[string]any{"totalResults": 1, "Resources": []any{map[string]any{"id": "a", "userName": big}}})
	}), func(cfg *scim.Config) { cfg.MaxBodyBytes = 1024 })
	_, err := c.ListUsers(context.Background())
	if !errors.Is(err, scim.ErrBodyTooLarge) {
		t.Fatalf("ListUsers error = %v, want ErrBodyTooLarge", err)
	}
	if calls.Load() != 1 {
		t.Errorf("server saw %d requests, want 1", calls.Load())
	}
}

func TestStatsAndHeaders(t *testing.T) {
	var (
		mu         sync.Mutex // later pages are fetched concurrently
		ua, accept string
	)
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ua, accept = r.Header.Get("User-Agent"), r.Header.Get("Accept")
		mu.Unlock()
		(&pagedUsers{n: 30}).ServeHTTP(w, r)
	}), func(cfg *scim.Config) { cfg.PageSize = 10; cfg.UserAgent = "scimsync-test/1" })
	if _, err := c.ListUsers(context.Background()); err != nil {
		t.Fatal(err)
	}
	req, n := c.Stats()
	if req != 3 || n < 30*40 {
		t.Errorf("Stats() = %d requests, %d bytes; want 3 requests and over 1200 bytes", req, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if ua != "scimsync-test/1" || !strings.Contains(accept, "application/scim+json") {
		t.Errorf("User-Agent %q, Accept %q", ua, accept)
	}
}
