package scim_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

// closedPort returns an address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// checkFailsFast checks that err is a *TargetError naming url and fix,
// that it came within a few seconds, and that at most two attempts were made.
func checkFailsFast(t *testing.T, err error, took time.Duration, attempts int64, url, fix string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var te *scim.TargetError
	if !errors.As(err, &te) {
		t.Errorf("error %v is not a *scim.TargetError", err)
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("error %q does not name the URL %s", err, url)
	}
	if !strings.Contains(err.Error(), fix) {
		t.Errorf("error %q does not say %q", err, fix)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q shows the token", err)
	}
	if attempts > 2 {
		t.Errorf("%d attempts, want at most 2 (one quick retry)", attempts)
	}
	if took > 5*time.Second {
		t.Errorf("failed after %s, want within a few seconds", took)
	}
}

// newDefault makes a client with the default retry policy, as scimsync
// runs it.
func newDefault(t *testing.T, base string, mod ...func(*scim.Config)) *scim.Client {
	t.Helper()
	cfg := scim.Config{BaseURL: base, Token: testToken}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := scim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUnreachableServerFailsFast(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		addr := closedPort(t)
		c := newDefault(t, "http://"+addr+"/scim/v2")
		start := time.Now()
		_, err := c.ListUsers(context.Background())
		n, _ := c.Stats()
		checkFailsFast(t, err, time.Since(start), n, "GET http://"+addr+"/scim/v2/Users: ",
			"connection refused; nothing accepts connections at "+addr+": check the host and port of the base URL, and that the server is running")
		if n != 2 {
			t.Errorf("%d attempts, want 2: a refused connection gets one quick retry", n)
		}
	})
	t.Run("DNS failure", func(t *testing.T) {
		var dials atomic.Int64
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "scim.example.invalid", IsNotFound: true}}
		}}
		c := newDefault(t, "https://scim.example.invalid/scim/v2", func(cfg *scim.Config) { cfg.HTTPClient = &http.Client{Transport: tr} })
		start := time.Now()
		_, err := c.ServiceProviderConfig(context.Background())
		checkFailsFast(t, err, time.Since(start), dials.Load(), "GET https://scim.example.invalid/scim/v2/ServiceProviderConfig: ",
			"the host name scim.example.invalid does not resolve: check the host of the base URL")
	})
	t.Run("PATCH to a closed port", func(t *testing.T) {
		addr := closedPort(t)
		c := newDefault(t, "http://"+addr+"/scim/v2")
		start := time.Now()
		_, err := c.PatchOrganization(context.Background(), "o1", `W/"1"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}})
		n, _ := c.Stats()
		checkFailsFast(t, err, time.Since(start), n, "PATCH http://"+addr+"/scim/v2/Organizations/o1: ", "nothing accepts connections")
	})
}

// connCounter counts the connections a server accepts.
func connCounter(srv *httptest.Server) *atomic.Int64 {
	var n atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

func TestTLSMismatchFailsFast(t *testing.T) {
	t.Run("https to a plain HTTP server", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("the handler ran: %s %s", r.Method, r.URL)
		}))
		conns := connCounter(srv)
		srv.Start()
		defer srv.Close()
		host := strings.TrimPrefix(srv.URL, "http://")
		c := newDefault(t, "https://"+host+"/scim/v2")
		start := time.Now()
		_, err := c.ListUsers(context.Background())
		checkFailsFast(t, err, time.Since(start), conns.Load(), "GET https://"+host+"/scim/v2/Users: ",
			"the server at "+host+" does not speak TLS: check the port; for a plain-HTTP server on this machine, use http://")
	})
	t.Run("http to an HTTPS server", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("the handler ran: %s %s", r.Method, r.URL)
		}))
		conns := connCounter(srv)
		srv.StartTLS()
		defer srv.Close()
		host := strings.TrimPrefix(srv.URL, "https://")
		c := newDefault(t, "http://"+host+"/scim/v2")
		start := time.Now()
		_, err := c.ListUsers(context.Background())
		checkFailsFast(t, err, time.Since(start), conns.Load(), "GET http://"+host+"/scim/v2/Users: 400 bad request",
			"the server speaks HTTPS on that port: use https:// in the base URL")
	})
	t.Run("a certificate not trusted", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("the handler ran: %s %s", r.Method, r.URL)
		}))
		conns := connCounter(srv)
		srv.StartTLS()
		defer srv.Close()
		c := newDefault(t, srv.URL+"/scim/v2")
		start := time.Now()
		_, err := c.ListUsers(context.Background())
		checkFailsFast(t, err, time.Since(start), conns.Load(), "GET "+srv.URL+"/scim/v2/Users: ",
			"the server's certificate is not trusted: name the CA that issued it in target.caFile")
	})
}

func TestWrongEndpointFailsFast(t *testing.T) {
	tests := []struct {
		name string
		call func(*scim.Client) error
		h    http.HandlerFunc
		path string // the URL named, below the server
		fix  string
	}{
		{name: "404 on /ServiceProviderConfig",
			call: func(c *scim.Client) error { _, err := c.ServiceProviderConfig(context.Background()); return err },
			h:    func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			path: "/scim/v2/ServiceProviderConfig: 404 not found: 404 page not found",
			fix:  "the server has no /ServiceProviderConfig below the base URL: check the base URL, which usually ends in /scim/v2"},
		{name: "404 on /Users",
			call: func(c *scim.Client) error { _, err := c.ListUsers(context.Background()); return err },
			h:    func(w http.ResponseWriter, r *http.Request) { scimError(w, 404, "", "no such endpoint") },
			path: "/scim/v2/Users: 404 not found: no such endpoint",
			fix:  "the server has no /Users below the base URL"},
		{name: "an HTML page",
			call: func(c *scim.Client) error { _, err := c.ListUsers(context.Background()); return err },
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(w, "<!doctype html><html><head><title>Sign in</title></head><body>Welcome</body></html>")
			},
			path: "/scim/v2/Users: 200 OK with a text/html body, not JSON (\"Sign in\"); ",
			fix:  "this looks like a web page, not a SCIM endpoint: check the base URL, which usually ends in /scim/v2"},
		{name: "an HTML page without a Content-Type",
			call: func(c *scim.Client) error { _, err := c.ServiceProviderConfig(context.Background()); return err },
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				io.WriteString(w, "<html><body>Welcome</body></html>")
			},
			path: "/scim/v2/ServiceProviderConfig: ",
			fix:  "this looks like a web page"},
		{name: "plain text",
			call: func(c *scim.Client) error { _, err := c.ListUsers(context.Background()); return err },
			h:    func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") },
			path: "/scim/v2/Users: ",
			fix:  "the answer is not JSON, so this is not a SCIM endpoint: check the base URL, which usually ends in /scim/v2"},
		{name: "401",
			call: func(c *scim.Client) error { _, err := c.ListUsers(context.Background()); return err },
			h:    func(w http.ResponseWriter, r *http.Request) { scimError(w, 401, "", "invalid token") },
			path: "/scim/v2/Users: 401 unauthorized: invalid token",
			fix:  "the server refused the bearer token (from environment variable SCIMSYNC_TOKEN): it may be expired, revoked or meant for another server"},
		{name: "403",
			call: func(c *scim.Client) error { _, err := c.ListUsers(context.Background()); return err },
			h:    func(w http.ResponseWriter, r *http.Request) { scimError(w, 403, "", "no") },
			path: "/scim/v2/Users: 403 forbidden: no",
			fix:  "the server accepted the bearer token (from environment variable SCIMSYNC_TOKEN) but forbids this request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.h(w, r)
			}))
			defer srv.Close()
			c := newDefault(t, srv.URL+"/scim/v2", func(cfg *scim.Config) { cfg.TokenSource = "environment variable SCIMSYNC_TOKEN" })
			start := time.Now()
			err := tc.call(c)
			checkFailsFast(t, err, time.Since(start), calls.Load(), "GET "+srv.URL+tc.path, tc.fix)
			if calls.Load() != 1 {
				t.Errorf("%d requests, want 1: this is not retried", calls.Load())
			}
		})
	}
}

func TestNotFoundOfAResourceNamesNoFix(t *testing.T) {
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { scimError(w, 404, "", "no such user") }))
	_, err := c.GetUser(context.Background(), "u1")
	var te *scim.TargetError
	if err == nil || errors.As(err, &te) || !errors.Is(err, scim.ErrNotFound) {
		t.Fatalf("GetUser error = %v, want a plain not found", err)
	}
	if want := "reading user u1: GET /Users/u1: 404 not found: no such user"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestNewRefusesABaseURLOfAResource(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"https://scim.example.gov/scim/v2/Users", "scim client: base URL https://scim.example.gov/scim/v2/Users must not include /Users: use https://scim.example.gov/scim/v2, the service root"},
		{"https://scim.example.gov/scim/v2/groups/", "must not include /groups: use https://scim.example.gov/scim/v2,"},
		{"http://127.0.0.1:8080/ServiceProviderConfig", "must not include /ServiceProviderConfig: use http://127.0.0.1:8080,"},
	} {
		_, err := scim.New(scim.Config{BaseURL: tc.base, Token: "t"})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, scim.ErrBaseURL) {
			t.Errorf("New(%s) error = %v, want one containing %q, matching ErrBaseURL", tc.base, err, tc.want)
		}
	}
	for _, ok := range []string{"https://scim.example.gov/scim/v2", "https://scim.example.gov/v1/scim/v2/", "https://scim.example.gov/UsersAPI/v2"} {
		if _, err := scim.New(scim.Config{BaseURL: ok, Token: "t"}); err != nil {
			t.Errorf("New(%s): %v", ok, err)
		}
	}
}

// Transient failures are still retried, and each retry is reported to
// OnRetry.
func TestOnRetryReportsEachRetry(t *testing.T) {
	var (
		mu     sync.Mutex
		events []scim.RetryEvent
	)
	record := func(cfg *scim.Config) {
		cfg.OnRetry = func(e scim.RetryEvent) { mu.Lock(); events = append(events, e); mu.Unlock() }
	}
	truncated := func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, `{"totalResults":1,`)
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}
	t.Run("503 then a truncated body then success", func(t *testing.T) {
		events = nil
		var calls atomic.Int64
		c, srv := setup(t, flaky(&calls, status(503, ""), truncated), record)
		if _, err := c.ListUsers(context.Background()); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 3 || len(events) != 2 {
			t.Fatalf("%d requests, %d retry events %v; want 3 and 2", calls.Load(), len(events), events)
		}
		url := srv.URL + basePath + "/Users"
		if e := events[0]; e.Status != 503 || e.Retry != 1 || e.URL != url || e.Method != "GET" ||
			e.String() != "retrying in 1ms (503 from "+url+")" {
			t.Errorf("first event %+v: %s", e, e)
		}
		if e := events[1]; e.Status != 0 || !errors.Is(e.Err, scim.ErrIncompleteRead) || e.Retry != 2 ||
			e.String() != "retrying in 2ms (a truncated body from "+url+")" {
			t.Errorf("second event %+v: %s", e, e)
		}
	})
	t.Run("an announced body a transport ends at once is a truncated body", func(t *testing.T) {
		// A transport of the caller's (Config.HTTPClient) may end a body of
		// announced length with io.EOF before its first byte, where
		// net/http's says io.ErrUnexpectedEOF.
		events = nil
		empty := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusOK, ContentLength: 100, Header: http.Header{"Content-Type": {"application/scim+json"}},
				Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
		})
		c := newDefault(t, "https://scim.example/scim/v2", record, func(cfg *scim.Config) {
			cfg.HTTPClient = &http.Client{Transport: empty}
			cfg.RetryWaitMin, cfg.RetryWaitMax = time.Millisecond, time.Millisecond
		})
		_, err := c.ListUsers(context.Background())
		if !errors.Is(err, scim.ErrIncompleteRead) {
			t.Fatalf("err = %v, want ErrIncompleteRead", err)
		}
		if len(events) == 0 || !errors.Is(events[0].Err, scim.ErrIncompleteRead) {
			t.Errorf("events %v, want retries of a truncated body", events)
		}
	})
	t.Run("an announced body of which nothing arrives is a truncated body", func(t *testing.T) {
		events = nil
		var calls atomic.Int64
		empty := func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}
		c, _ := setup(t, flaky(&calls, empty), record)
		if _, err := c.ListUsers(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || !errors.Is(events[0].Err, scim.ErrIncompleteRead) {
			t.Errorf("events %v, want one retry of a truncated body", events)
		}
	})
	t.Run("no event once the retries run out", func(t *testing.T) {
		events = nil
		var calls atomic.Int64
		c, _ := setup(t, flaky(&calls, status(500, ""), status(500, ""), status(500, ""), status(500, "")), record)
		if _, err := c.ListUsers(context.Background()); err == nil {
			t.Fatal("no error")
		}
		if calls.Load() != 4 || len(events) != 3 {
			t.Errorf("%d requests, %d retry events; want 4 and 3 (MaxRetries)", calls.Load(), len(events))
		}
	})
	t.Run("no event for what fails fast", func(t *testing.T) {
		events = nil
		c := newDefault(t, "http://"+closedPort(t)+"/scim/v2", record)
		if _, err := c.ListUsers(context.Background()); err == nil {
			t.Fatal("no error")
		}
		if len(events) != 1 || !strings.Contains(events[0].String(), "(connection refused from http://") {
			t.Errorf("events %v, want the one quick retry", events)
		}
	})
}

func TestRetryEventString(t *testing.T) {
	for _, tc := range []struct {
		e    scim.RetryEvent
		want string
	}{
		{scim.RetryEvent{URL: "https://h/scim/v2/Users", Wait: 2 * time.Second, Status: 503}, "retrying in 2s (503 from https://h/scim/v2/Users)"},
		{scim.RetryEvent{URL: "https://h/x", Wait: 1500 * time.Millisecond, Status: 429}, "retrying in 1.5s (429 from https://h/x)"},
		{scim.RetryEvent{URL: "https://h/x", Wait: 500 * time.Millisecond, Err: io.ErrUnexpectedEOF}, "retrying in 500ms (unexpected EOF from https://h/x)"},
		{scim.RetryEvent{URL: "https://h/x", Wait: time.Second, Err: scim.ErrIncompleteRead}, "retrying in 1s (a truncated body from https://h/x)"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// net/http prints request headers, the bearer token among them, under
// GODEBUG=http2debug=1 or 2; New refuses to make a client then (issue 14).
func TestNewRefusesHTTP2DebugLogging(t *testing.T) {
	for _, v := range []string{"http2debug=1", "http2debug=2", "madvdontneed=1,http2debug=2", "http2debug=10"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv("GODEBUG", v)
			_, err := scim.New(scim.Config{BaseURL: "https://scim.example.gov/scim/v2", Token: testToken})
			if err == nil || !strings.Contains(err.Error(), "refusing to run with GODEBUG="+v+": Go's HTTP/2 debug log prints every request header") {
				t.Fatalf("New error = %v, want a refusal naming GODEBUG", err)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
	for _, v := range []string{"", "http2debug=0", "http2client=0", "tlsrsakex=1"} {
		t.Setenv("GODEBUG", v)
		if _, err := scim.New(scim.Config{BaseURL: "https://scim.example.gov/scim/v2", Token: testToken}); err != nil {
			t.Errorf("GODEBUG=%s: New: %v", v, err)
		}
	}
}

// Probe sends a GET with more headers, never a second Authorization, and
// returns the raw answer; TLSConfig is the configuration the client uses.
func TestProbe(t *testing.T) {
	var got http.Header
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		if r.Method != http.MethodGet {
			t.Errorf("Probe sent %s", r.Method)
		}
		if r.Header.Get("If-None-Match") == `W/"2"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Date", "Mon, 07 Dec 2026 01:00:00 GMT")
		writeJSON(w, map[string]any{"totalResults": 0, "echo": testToken})
	}))
	p, err := c.Probe(context.Background(), "/Users", nil, http.Header{"If-None-Match": {`W/"1"`}, "authorization": {"Bearer other"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("Authorization") != "Bearer "+testToken || got.Get("If-None-Match") != `W/"1"` {
		t.Errorf("headers sent %v", got)
	}
	if p.Status != 200 || p.Header.Get("Date") == "" || p.TLS != nil || p.Duration <= 0 ||
		!strings.Contains(string(p.Body), scim.Redacted) || strings.Contains(string(p.Body), testToken) {
		t.Errorf("probe result %+v, body %s", p, p.Body)
	}
	_, err = c.Probe(context.Background(), "/Organizations/o1", nil, http.Header{"If-None-Match": {`W/"2"`}})
	var se *scim.Error
	if !errors.As(err, &se) || se.Status != http.StatusNotModified {
		t.Errorf("Probe with a matching If-None-Match: %v, want an *Error of status 304", err)
	}
	if _, err := c.Probe(context.Background(), "Users", nil, nil); err == nil {
		t.Error("Probe took an endpoint without a leading /")
	}
	cfg, err := scim.TLSConfig("", true)
	if err != nil || !cfg.InsecureSkipVerify || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLSConfig = %+v, %v", cfg, err)
	}
	if _, err := scim.TLSConfig("/nonexistent/ca.pem", false); err == nil {
		t.Error("TLSConfig with a missing CA file: no error")
	}
}

// roundTripFunc is an http.RoundTripper of one function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
