package scimtest

import (
	"net/http/httptest"
	"testing"

	"github.com/scimsync/scimsync/tenant"
)

// TestToken is the bearer token NewTestServer uses when Options.Token is
// empty.
const TestToken = "scimtest-token"

// TestBasePath is the base path NewTestServer mounts the server under when
// Options.BasePath is empty: not the root, so clients building absolute
// paths by mistake fail.
const TestBasePath = "/scim/v2"

// TestServer is a Server running on an httptest server.
type TestServer struct {
	*Server
	// URL is the SCIM base URL, base path included, such as
	// http://127.0.0.1:41234/scim/v2.
	URL string
	// Token is the bearer token the server accepts.
	Token string
	// HTTP is the underlying httptest server.
	HTTP *httptest.Server
}

// NewTestServer starts a Server holding snap on a local httptest server,
// under TestBasePath and with TestToken unless opts say otherwise, and stops
// it when the test ends. It fails the test if snap cannot be served.
func NewTestServer(t testing.TB, snap *tenant.Snapshot, opts Options) *TestServer {
	t.Helper()
	if opts.BasePath == "" {
		opts.BasePath = TestBasePath
	}
	if opts.Token == "" && !opts.NoAuth {
		opts.Token = TestToken
	}
	srv, err := New(snap, opts)
	if err != nil {
		t.Fatalf("scimtest.NewTestServer: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &TestServer{Server: srv, URL: hs.URL + srv.base, Token: opts.Token, HTTP: hs}
}
