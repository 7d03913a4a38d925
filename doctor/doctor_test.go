package doctor_test

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/doctor"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

const token = "doctor-token-5e1f0c2a9b"

func getenv(name string) string {
	if name == "SCIMSYNC_TOKEN" {
		return token
	}
	return ""
}

// reference starts the reference server on a bundled tenant, wrapped by
// wrap when set, and counts the requests that are not GET.
func reference(t *testing.T, pageCap int, wrap func(http.Handler) http.Handler) (url string, writes *atomic.Int64) {
	t.Helper()
	return referenceWith(t, scimtest.Options{PageCap: pageCap}, wrap)
}

// referenceWith is reference with the server's options (its base path and
// token are the suite's).
func referenceWith(t *testing.T, opts scimtest.Options, wrap func(http.Handler) http.Handler) (url string, writes *atomic.Int64) {
	t.Helper()
	snap, err := tenant.ReadSnapshot("../examples/multi-org/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	opts.BasePath, opts.Token = "/scim/v2", token
	srv, err := scimtest.New(snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	writes = new(atomic.Int64)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writes.Add(1)
		}
		srv.ServeHTTP(w, r)
	})
	if wrap != nil {
		h = wrap(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL + "/scim/v2", writes
}

func run(t *testing.T, target spec.Target) *doctor.Report {
	t.Helper()
	rep, err := doctor.Run(context.Background(), doctor.Options{Target: target, Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// statuses returns name → status of a report.
func statuses(rep *doctor.Report) map[string]doctor.Status {
	m := map[string]doctor.Status{}
	for _, c := range rep.Checks {
		m[c.Name] = c.Status
	}
	return m
}

func check(rep *doctor.Report, name string) doctor.Check {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	return doctor.Check{}
}

var allNames = []string{doctor.CheckDNS, doctor.CheckConnection, doctor.CheckTLS, doctor.CheckAuth, doctor.CheckSPC,
	doctor.CheckResourceType, doctor.CheckSchemas, doctor.CheckOrgExtension, doctor.CheckPageSize, doctor.CheckFilters,
	doctor.CheckETags, doctor.CheckClock, doctor.CheckLatency}

func TestReferenceServerPasses(t *testing.T) {
	url, writes := reference(t, 7, nil)
	rep := run(t, spec.Target{URL: url})
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
		t.Logf("%-22s %-7s %s", c.Name, c.Status, c.Detail)
		if c.Status != doctor.OK {
			t.Errorf("%s: %s: %s (fix: %s)", c.Name, c.Status, c.Detail, c.Fix)
		}
	}
	if diff := cmp.Diff(allNames, names); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if !rep.OK() {
		t.Error("report not OK")
	}
	if writes.Load() != 0 {
		t.Errorf("doctor sent %d requests other than GET", writes.Load())
	}
	for name, want := range map[string]string{
		doctor.CheckPageSize:     "the server caps pages at 7, and scimsync reads 7 at a time",
		doctor.CheckFilters:      "organization eq on /Members, displayName eq on /Groups, userName eq on /Users work",
		doctor.CheckETags:        "answered 304",
		doctor.CheckOrgExtension: "/Organizations lists 1 parent and",
		doctor.CheckAuth:         "the token is accepted: GET /Users answered 200",
		doctor.CheckTLS:          "plain http to a loopback host",
	} {
		if got := check(rep, name).Detail; !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to say %q", name, got, want)
		}
	}
}

// A server that refuses a page of 1000 (400) but answers one of 100 is
// read 100 at a time, as a listing does: the check passes and says so.
func TestServerRefusingLargePages(t *testing.T) {
	url, _ := referenceWith(t, scimtest.Options{PageCap: 7, MaxCount: 100}, nil)
	c := check(run(t, spec.Target{URL: url}), doctor.CheckPageSize)
	want := "the server refused count=1000 (400 count 1000 is more than the maximum of 100), so scimsync reads 100 at a time; asked for 100 users, got 7 of "
	if c.Status != doctor.OK || !strings.HasPrefix(c.Detail, want) {
		t.Fatalf("%s: %s: %q, want OK and %q", c.Name, c.Status, c.Detail, want)
	}
}

func TestUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	rep := run(t, spec.Target{URL: "http://" + addr + "/scim/v2"})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
	st := statuses(rep)
	if st[doctor.CheckDNS] != doctor.OK || st[doctor.CheckConnection] != doctor.Fail || st[doctor.CheckAuth] != doctor.Skipped || st[doctor.CheckLatency] != doctor.Skipped {
		t.Errorf("statuses %v", st)
	}
	c := check(rep, doctor.CheckConnection)
	if !strings.Contains(c.Fix, "nothing accepts connections at "+addr) {
		t.Errorf("connection fix %q", c.Fix)
	}
	if rep.OK() || len(rep.Checks) != len(allNames) {
		t.Errorf("OK %v with %d checks", rep.OK(), len(rep.Checks))
	}
}

func TestWebPage(t *testing.T) {
	var requests atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head><title>Sign in</title></head></html>")
	}))
	defer hs.Close()
	rep := run(t, spec.Target{URL: hs.URL + "/scim/v2"})
	c := check(rep, doctor.CheckAuth)
	if c.Status != doctor.Fail || !strings.Contains(c.Detail, `200 OK with a text/html body, not JSON ("Sign in")`) ||
		!strings.Contains(c.Fix, "this looks like a web page, not a SCIM endpoint") {
		t.Errorf("auth check %+v", c)
	}
	if requests.Load() != 1 {
		t.Errorf("%d requests, want 1", requests.Load())
	}
}

func TestWrongToken(t *testing.T) {
	url, _ := reference(t, 0, nil)
	rep, err := doctor.Run(context.Background(), doctor.Options{
		Target: spec.Target{URL: url, TokenEnv: "OTHER"},
		Getenv: func(string) string { return "wrong-" + token },
	})
	if err != nil {
		t.Fatal(err)
	}
	rep2, err := doctor.Run(context.Background(), doctor.Options{Target: spec.Target{URL: url, TokenEnv: "UNSET"}, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	c := check(rep, doctor.CheckAuth)
	if c.Status != doctor.Fail || !strings.Contains(c.Detail, "401 unauthorized") || !strings.Contains(c.Fix, "the server refused the bearer token") {
		t.Errorf("auth check with a wrong token %+v", c)
	}
	c = check(rep2, doctor.CheckAuth)
	if c.Status != doctor.Fail || !strings.Contains(c.Detail, "environment variable UNSET is not set") {
		t.Errorf("auth check without a token %+v", c)
	}
	for _, r := range []*doctor.Report{rep, rep2} {
		for _, c := range r.Checks {
			if strings.Contains(c.Detail+c.Fix, token) {
				t.Errorf("%s shows the token: %+v", c.Name, c)
			}
		}
	}
}

// A server with only /Users and /Groups: the organization extension check
// fails, unless target.membersCsv supplies the members.
func TestNoOrganizationExtension(t *testing.T) {
	url, _ := reference(t, 0, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/scim/v2/Organizations") || strings.HasPrefix(r.URL.Path, "/scim/v2/Members") {
				w.Header().Set("Content-Type", "application/scim+json")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"no such resource type"}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	rep := run(t, spec.Target{URL: url})
	if c := check(rep, doctor.CheckOrgExtension); c.Status != doctor.Fail || !strings.Contains(c.Fix, "set target.membersCsv") {
		t.Errorf("organization extension %+v", c)
	}
	// The export is read as plan reads it: one it cannot read fails here.
	csvPath := filepath.Join(t.TempDir(), "members.csv")
	os.WriteFile(csvPath, []byte("Email,Name\nann@example.gov,Ann\n"), 0o600)
	if c := check(run(t, spec.Target{URL: url, MembersCSV: csvPath}), doctor.CheckOrgExtension); c.Status != doctor.Fail || !strings.Contains(c.Detail, "cannot be read: "+csvPath+": ") {
		t.Errorf("organization extension with an unreadable members export %+v", c)
	}
	os.WriteFile(csvPath, []byte("Email,Role,Seat Tier,Organization\nann@example.gov,Member,standard,hq\n"), 0o600)
	rep = run(t, spec.Target{URL: url, MembersCSV: csvPath})
	if c := check(rep, doctor.CheckOrgExtension); c.Status != doctor.OK || !strings.Contains(c.Detail, "target.membersCsv (1 row)") {
		t.Errorf("organization extension with a members export %+v", c)
	}
	if !rep.OK() {
		for _, c := range rep.Checks {
			t.Logf("%s %s %s", c.Name, c.Status, c.Detail)
		}
		t.Error("a members-export target on such a server is not OK")
	}
}

// A server that ignores the organization filter on /Members fails the
// filter check; one whose clock is off warns.
func TestIgnoredFilterAndClockSkew(t *testing.T) {
	url, _ := reference(t, 0, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/scim/v2/Members" {
				q := r.URL.Query()
				q.Del("filter")
				r.URL.RawQuery = q.Encode()
			}
			w.Header().Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
			next.ServeHTTP(w, r)
		})
	})
	rep := run(t, spec.Target{URL: url})
	if c := check(rep, doctor.CheckFilters); c.Status != doctor.Fail || !strings.Contains(c.Detail, "the filter is ignored") ||
		!strings.Contains(c.Fix, "organization eq") {
		t.Errorf("filters %+v", c)
	}
	if c := check(rep, doctor.CheckClock); c.Status != doctor.Warn || !strings.Contains(c.Detail, "the server's clock is 1h0m0s behind") {
		t.Errorf("clock %+v", c)
	}
}

func TestFileTargetIsRefused(t *testing.T) {
	if _, err := doctor.Run(context.Background(), doctor.Options{Target: spec.Target{File: "tenant.json"}}); err == nil {
		t.Error("no error for a file target")
	}
}

func TestTLS(t *testing.T) {
	snap, err := tenant.ReadSnapshot("../examples/multi-org/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := scimtest.New(snap, scimtest.Options{BasePath: "/scim/v2", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(srv)
	defer hs.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	url := hs.URL + "/scim/v2"

	rep := run(t, spec.Target{URL: url, CAFile: ca})
	if c := check(rep, doctor.CheckTLS); c.Status != doctor.OK || !strings.HasPrefix(c.Detail, "TLS 1.3; certificate for ") || !strings.Contains(c.Detail, "verified up to") {
		t.Errorf("TLS with the CA %+v", c)
	}
	if !rep.OK() {
		t.Errorf("not OK: %+v", rep.Checks)
	}

	rep = run(t, spec.Target{URL: url})
	if c := check(rep, doctor.CheckTLS); c.Status != doctor.Fail || !strings.Contains(c.Fix, "target.caFile") {
		t.Errorf("TLS without the CA %+v", c)
	}
	if st := statuses(rep); st[doctor.CheckAuth] != doctor.Skipped {
		t.Errorf("auth checked after TLS failed: %v", st)
	}

	rep, err = doctor.Run(context.Background(), doctor.Options{Target: spec.Target{URL: url}, Getenv: getenv, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if c := check(rep, doctor.CheckTLS); c.Status != doctor.Warn || !strings.Contains(c.Detail, "not verified") {
		t.Errorf("TLS, insecure %+v", c)
	}

	// https against a plain HTTP server.
	plain, _ := reference(t, 0, nil)
	rep = run(t, spec.Target{URL: strings.Replace(plain, "http://", "https://", 1)})
	if c := check(rep, doctor.CheckTLS); c.Status != doctor.Fail || !strings.Contains(c.Fix, "does not speak TLS") {
		t.Errorf("TLS against plain HTTP %+v", c)
	}
}
