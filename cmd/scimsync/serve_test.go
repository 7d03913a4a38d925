package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

func TestParseServeArgs(t *testing.T) {
	base := serveOptions{state: "t.json", addr: "127.0.0.1:8080", tokenFile: "tok", basePath: "/scim/v2", retryAfter: time.Second}
	with := func(f func(o *serveOptions)) serveOptions { o := base; f(&o); return o }
	tests := []struct {
		args    []string
		want    serveOptions
		wantErr string
	}{
		{args: []string{"--state", "t.json", "--token-file", "tok"}, want: base},
		{args: []string{"--state", "t.json", "--token-env", "TOK", "--addr", "localhost:0", "--persist", "--base-path", "/v1/scim/v2", "--page-cap", "100", "--latency", "20ms"},
			want: with(func(o *serveOptions) {
				o.tokenFile, o.tokenEnv, o.addr, o.persist, o.basePath, o.pageCap, o.latency = "", "TOK", "localhost:0", true, "/v1/scim/v2", 100, 20*time.Millisecond
			})},
		{args: []string{"--state", "t.json", "--no-auth", "--addr", "[::1]:0"},
			want: with(func(o *serveOptions) { o.tokenFile, o.noAuth, o.addr = "", true, "[::1]:0" })},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--addr", "0.0.0.0:8080", "--allow-remote"},
			want: with(func(o *serveOptions) { o.addr, o.allowRemote = "0.0.0.0:8080", true })},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--fault-path", "/Users", "--fail-503", "2", "--fail-429", "1", "--retry-after", "3s", "--drop-at", "4", "--drop-every", "5",
			"--truncate-every", "6", "--shift-total", "--duplicate-ids", "--endless-page", "--empty-pages", "--oversize-mb", "9", "--deep-nesting", "20000", "--slow-loris", "50ms"},
			want: with(func(o *serveOptions) {
				o.faultPath, o.fail503, o.fail429, o.retryAfter, o.dropAt, o.dropEvery, o.truncateEvery = "/Users", 2, 1, 3*time.Second, 4, 5, 6
				o.shiftTotal, o.duplicateIDs, o.endlessPage, o.emptyPages, o.oversizeMB, o.deepNesting, o.slowLoris = true, true, true, true, 9, 20000, 50*time.Millisecond
			})},
		{args: []string{"--token-file", "tok"}, wantErr: "flag --state is required: the tenant snapshot to serve"},
		{args: []string{"--state", "t.json"}, wantErr: "no token: pass --token-file or --token-env (or --no-auth, on loopback only)"},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--no-auth"}, wantErr: "flags --token-file, --token-env and --no-auth exclude each other"},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--token-env", "X"}, wantErr: "flags --token-file, --token-env and --no-auth exclude each other"},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--addr", "0.0.0.0:8080"}, wantErr: "flag --addr: 0.0.0.0:8080 is not a loopback address; pass --allow-remote to listen on it anyway"},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--addr", ":8080"}, wantErr: "flag --addr: :8080 is not a loopback address; pass --allow-remote to listen on it anyway"},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--addr", "scim.example.gov:8080"}, wantErr: "flag --addr: scim.example.gov:8080 is not a loopback address; pass --allow-remote to listen on it anyway"},
		{args: []string{"--state", "t.json", "--no-auth", "--addr", "10.0.0.1:80", "--allow-remote"}, wantErr: "flag --addr: 10.0.0.1:80 is not a loopback address, and --no-auth is allowed on loopback only"},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--addr", "127.0.0.1"}, wantErr: "flag --addr: address 127.0.0.1: missing port in address"},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--base-path", "scim"}, wantErr: `flag --base-path: "scim" must start with /`},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--page-cap", "-1"}, wantErr: "flag --page-cap: -1 is negative"},
		{args: []string{"--state", "t.json", "--token-file", "tok", "--latency", "-1s"}, wantErr: "flag --latency: -1s is negative"},
		{args: []string{"--state", "t.json", "--token-file", "tok", "extra"}, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			checkParse(t, parseServeArgs, tt.args, tt.want, tt.wantErr, exactErr)
		})
	}
}

func TestServeFaultFlags(t *testing.T) {
	o := serveOptions{faultPath: "/Users", latency: 20 * time.Millisecond, fail503: 2, fail429: 1, retryAfter: 3 * time.Second,
		dropAt: 4, dropEvery: 5, truncateEvery: 6, shiftTotal: true, duplicateIDs: true, endlessPage: true, emptyPages: true,
		oversizeMB: 9, deepNesting: 20000, slowLoris: 50 * time.Millisecond}
	u := scimtest.Trigger{Path: "/Users", Always: true}
	want := scimtest.Faults{
		Latency:      scimtest.Latency{When: u, Delay: 20 * time.Millisecond},
		Unavailable:  scimtest.Trigger{Path: "/Users", First: 2},
		RateLimit:    scimtest.RateLimit{When: scimtest.Trigger{Path: "/Users", First: 1}, RetryAfter: 3 * time.Second},
		Drop:         scimtest.Drop{When: scimtest.Trigger{Path: "/Users", At: 4, Every: 5}},
		Truncate:     scimtest.Trigger{Path: "/Users", Every: 6},
		ShiftTotal:   scimtest.ShiftTotal{When: u, By: 1},
		DuplicateIDs: u,
		EndlessPage:  u,
		EmptyPages:   u,
		Oversize:     scimtest.Oversize{When: u, Bytes: 9 << 20},
		DeepNesting:  scimtest.DeepNesting{When: u, Depth: 20000},
		SlowLoris:    scimtest.SlowLoris{When: u, Chunk: 1, Interval: 50 * time.Millisecond},
	}
	if diff := cmp.Diff(want, o.faults()); diff != "" {
		t.Errorf("faults (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(scimtest.Faults{}, (serveOptions{retryAfter: time.Second}).faults()); diff != "" {
		t.Errorf("faults without fault flags (-want +got):\n%s", diff)
	}
}

// serveSnapshot is a small example-like tenant: a staged parent, one
// child organization mapping one group.
func serveSnapshot() *tenant.Snapshot {
	return &tenant.Snapshot{
		Users: []scim.User{
			{Schemas: []string{scim.SchemaUser}, ID: "u-alice", UserName: "alice@example.gov", Active: true},
			{Schemas: []string{scim.SchemaUser}, ID: "u-bob", UserName: "bob@example.gov", Active: true},
		},
		Groups: []scim.Group{{Schemas: []string{scim.SchemaGroup}, ID: "g-users", DisplayName: "claude-hq-users",
			Members: []scim.GroupMember{{Value: "u-alice", Type: "User"}, {Value: "u-bob", Type: "User"}}}},
		Organizations: []scim.Organization{
			{Schemas: []string{scim.SchemaOrganization}, ID: "o-parent", Name: "example-agency", Mode: "staged", SeatTiers: []string{"standard"}, Meta: scim.Meta{Version: `W/"1"`}},
			{Schemas: []string{scim.SchemaOrganization}, ID: "o-hq", Name: "hq", Parent: "o-parent",
				Mappings: []scim.Mapping{{Group: "g-users", Role: "member", SeatTier: "standard"}}, Meta: scim.Meta{Version: `W/"1"`}},
		},
		Members: []scim.Member{
			{Schemas: []string{scim.SchemaMember}, ID: "m-alice", Organization: "o-hq", Email: "alice@example.gov", UserID: "u-alice", Role: "member", SeatTier: "standard", Origin: "scim"},
			{Schemas: []string{scim.SchemaMember}, ID: "m-bob", Organization: "o-hq", Email: "bob@example.gov", UserID: "u-bob", Role: "member", SeatTier: "standard", Origin: "scim"},
		},
	}
}

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startServe runs serve with args in the background and returns its base
// URL, a function that stops it (as a signal would) and returns its exit
// code, and its stderr.
func startServe(t *testing.T, getenv func(string) string, args ...string) (string, func() int, *syncBuffer) {
	t.Helper()
	var stdout, stderr syncBuffer
	env := &cmdEnv{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: getenv,
		Now:   func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) },
		IsTTY: func(any) bool { return false },
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	code := make(chan int, 1)
	go func() { code <- serveMain(ctx, env, args, func(u string) { urls <- u }) }()
	stop := func() int {
		cancel()
		select {
		case c := <-code:
			if stdout.String() != "" {
				t.Errorf("serve wrote to stdout: %q", stdout.String())
			}
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop")
			return -1
		}
	}
	select {
	case u := <-urls:
		t.Cleanup(func() { cancel() })
		return u, stop, &stderr
	case c := <-code:
		cancel()
		t.Fatalf("serve exited with %d: %s", c, stderr.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	return "", nil, nil
}

func get(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "tenant.json")
	if err := tenant.WriteSnapshot(state, serveSnapshot()); err != nil {
		t.Fatal(err)
	}
	const token = "s3cret-serve-token"
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}

	base, stop, stderr := startServe(t, func(string) string { return "" },
		"--state", state, "--addr", "127.0.0.1:0", "--token-file", tokenFile, "--base-path", "/v1/scim/v2", "--persist")
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/v1/scim/v2") {
		t.Fatalf("base URL %s", base)
	}
	if got, want := stderr.String(), "serving "+base+" (state "+state+")\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}

	code, body := get(t, "GET", base+"/Users", token, nil)
	var list scim.ListResponse[scim.User]
	if err := json.Unmarshal(body, &list); code != 200 || err != nil || list.TotalResults != 2 || list.Resources[0].UserName != "alice@example.gov" {
		t.Fatalf("GET /Users with the token: %d %s", code, body)
	}
	if code, body := get(t, "GET", base+"/Users", "", nil); code != 401 {
		t.Fatalf("GET /Users without a token: %d %s", code, body)
	}
	if code, body := get(t, "GET", base+"/Users", "wrong", nil); code != 401 {
		t.Fatalf("GET /Users with a wrong token: %d %s", code, body)
	}
	if code, _ := get(t, "GET", strings.TrimSuffix(base, "/v1/scim/v2")+"/Users", token, nil); code != 404 {
		t.Fatalf("GET outside the base path: %d", code)
	}
	// Deactivating bob removes his member; --persist saves both on shutdown.
	code, body = get(t, "PATCH", base+"/Users/u-bob", token, scim.NewPatchRequest(scim.PatchOp{Op: "replace", Path: "active", Value: false}))
	if code != 200 {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	if after, _ := os.ReadFile(state); !bytes.Equal(after, before) {
		t.Fatalf("the state file changed before shutdown")
	}
	if c := stop(); c != exitOK {
		t.Fatalf("serve exited with %d: %s", c, stderr.String())
	}
	if !strings.HasSuffix(stderr.String(), "saved state to "+state+"\n") {
		t.Errorf("stderr after shutdown: %q", stderr.String())
	}
	if strings.Contains(stderr.String(), token) {
		t.Errorf("stderr holds the token")
	}
	saved, err := tenant.ReadSnapshot(state)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, m := range saved.Members {
		emails = append(emails, m.Email)
	}
	if diff := cmp.Diff([]string{"alice@example.gov"}, emails); diff != "" {
		t.Errorf("saved members (-want +got):\n%s", diff)
	}
	for _, u := range saved.Users {
		if u.ID == "u-bob" && u.Active {
			t.Errorf("saved state has bob active")
		}
	}
}

func TestServeWithoutPersistKeepsTheFile(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "tenant.json")
	if err := tenant.WriteSnapshot(state, serveSnapshot()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(state)
	getenv := func(k string) string {
		if k == "SCIM_SERVE_TOKEN" {
			return "env-token"
		}
		return ""
	}
	base, stop, stderr := startServe(t, getenv, "--state", state, "--addr", "127.0.0.1:0", "--token-env", "SCIM_SERVE_TOKEN", "--page-cap", "1", "--fail-503", "1", "--fault-path", "/Users")
	if code, _ := get(t, "GET", base+"/Users", "env-token", nil); code != 503 {
		t.Fatalf("first GET /Users with --fail-503 1: %d", code)
	}
	code, body := get(t, "GET", base+"/Users", "env-token", nil)
	var list scim.ListResponse[scim.User]
	if err := json.Unmarshal(body, &list); code != 200 || err != nil || len(list.Resources) != 1 || list.TotalResults != 2 {
		t.Fatalf("GET /Users with --page-cap 1: %d %s", code, body)
	}
	if code, _ := get(t, "GET", base+"/Groups", "env-token", nil); code != 200 {
		t.Fatalf("GET /Groups outside --fault-path: %d", code)
	}
	get(t, "DELETE", base+"/Users/u-bob", "env-token", nil)
	if c := stop(); c != exitOK {
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
	if after, _ := os.ReadFile(state); !bytes.Equal(after, before) {
		t.Errorf("serve without --persist rewrote the state")
	}
	if strings.Contains(stderr.String(), "env-token") {
		t.Errorf("stderr holds the token")
	}
}

func TestServeRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "tenant.json")
	if err := tenant.WriteSnapshot(state, serveSnapshot()); err != nil {
		t.Fatal(err)
	}
	bad := serveSnapshot()
	bad.Users[1].ID = bad.Users[0].ID
	badState := filepath.Join(dir, "bad.json")
	if err := tenant.WriteSnapshot(badState, bad); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	tok := filepath.Join(dir, "tok")
	os.WriteFile(tok, []byte("t0ken\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--state", state}, "no token"},
		{[]string{"--state", state, "--token-file", empty}, "token file " + empty + " is empty"},
		{[]string{"--state", state, "--token-env", "NOPE"}, "environment variable NOPE is empty or unset"},
		{[]string{"--state", filepath.Join(dir, "missing.json"), "--token-file", tok}, "no such file"},
		{[]string{"--state", badState, "--token-file", tok}, "duplicate id"},
		{[]string{"--state", state, "--token-file", tok, "--addr", "0.0.0.0:0"}, "not a loopback address"},
	} {
		var stdout, stderr bytes.Buffer
		env := &cmdEnv{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now}
		if code := serveMain(context.Background(), env, c.args, func(string) { t.Errorf("%v: serve started", c.args) }); code != exitError {
			t.Errorf("%v: exit %d", c.args, code)
		}
		if !strings.Contains(stderr.String(), c.want) || !strings.HasPrefix(stderr.String(), "scimsync serve: ") {
			t.Errorf("%v: stderr %q, want it to hold %q", c.args, stderr.String(), c.want)
		}
	}
}
