package tenant_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// requestLog records every request a handler gets, as "METHOD /path"
// relative to the SCIM base path.
type requestLog struct {
	next http.Handler
	base string

	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r.Method+" "+strings.TrimPrefix(r.URL.Path, l.base))
	l.mu.Unlock()
	l.next.ServeHTTP(w, r)
}

// take returns the requests recorded since the last take.
func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.reqs
	l.reqs = nil
	return out
}

// directoryRequest is a read of the standard /Users and /Groups, the only
// requests a members export may make.
var directoryRequest = regexp.MustCompile(`^GET /(Users|Groups|Groups/[^/]+)$`)

// TestMembersExportEndToEnd plans and applies the members-export example as
// the plan and apply commands do (tenant.OpenSpec, Read, diff.Compute,
// apply.Run), against the reference server holding the staged-to-full
// tenant. That server has the organization extension too, with a
// configuration the example's current: block does not state; the members
// export must read only /Users and /Groups, and apply must send nothing.
func TestMembersExportEndToEnd(t *testing.T) {
	const token = "e2e-token-0123456789"
	snap, err := tenant.ReadSnapshot(filepath.Join("..", "examples", "staged-to-full", "tenant.json"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	srv, err := scimtest.New(snap, scimtest.Options{BasePath: "/scim/v2", Token: token, PageCap: 7, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	log := &requestLog{next: srv, base: "/scim/v2"}
	hs := httptest.NewServer(log)
	t.Cleanup(hs.Close)

	// The example, pointed at the server.
	dir := t.TempDir()
	exampleDir := filepath.Join("..", "examples", "members-export")
	yml, err := os.ReadFile(filepath.Join(exampleDir, "scimsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const exampleURL = "http://127.0.0.1:8080/scim/v2"
	if !bytes.Contains(yml, []byte(exampleURL)) {
		t.Fatalf("the example no longer targets %s", exampleURL)
	}
	yml = bytes.ReplaceAll(yml, []byte(exampleURL), []byte(hs.URL+"/scim/v2"))
	csv, err := os.ReadFile(filepath.Join(exampleDir, "members.csv"))
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(dir, "scimsync.yaml")
	if err := os.WriteFile(specPath, yml, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "members.csv"), csv, 0o600); err != nil {
		t.Fatal(err)
	}
	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: now}, specPath)
	if err != nil || diags.HasErrors() {
		t.Fatalf("loading the example: %v %v", err, diags)
	}

	ctx := context.Background()
	opts := tenant.OpenOptions{Getenv: func(string) string { return token }, Now: func() time.Time { return now }}
	src, w, _, err := tenant.OpenSpec(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if w != nil {
		t.Errorf("OpenSpec returned a writer (%T) for a members export", w)
	}
	if _, ok := src.(*tenant.MembersExportSource); !ok {
		t.Fatalf("OpenSpec returned a %T, want a *tenant.MembersExportSource", src)
	}

	// plan: only /Users and /Groups are read.
	var req tenant.ReadRequest
	for _, o := range s.Organizations {
		for _, m := range o.Mappings {
			req.GroupNames = append(req.GroupNames, m.Group)
		}
	}
	tn, err := src.Read(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if tn.Kind != tenant.KindMembersExport || !tn.ReadOnly {
		t.Errorf("tenant kind %s, read-only %v", tn.Kind, tn.ReadOnly)
	}
	checkDirectoryOnly(t, "plan", log.take())
	for _, ep := range []string{"/Organizations", "/Members"} {
		if n := srv.Stats().Endpoints[ep]; n != 0 {
			t.Errorf("the server counted %d requests to %s", n, ep)
		}
	}

	p, err := diff.Compute(s, tn, now)
	if err != nil {
		t.Fatal(err)
	}
	// The configuration is current:'s, not the server's (whose hq has an
	// exception for contractor@example.gov): readiness shows contractor
	// going.
	var gone []string
	for _, r := range p.Readiness {
		for _, rm := range r.WouldRemove {
			gone = append(gone, rm.Email)
		}
	}
	if !slices.Contains(gone, "contractor@example.gov") || !slices.Contains(gone, "jordan.price@example.gov") {
		t.Errorf("readiness would remove %v; want contractor@example.gov and jordan.price@example.gov among them", gone)
	}

	// apply: refused as read-only, with only reads sent. A plan with writes
	// in it, and its removals allowed, so that only the read-only refusal
	// stands between it and a PATCH.
	s.Parent.Mode = "full"
	p, err = diff.Compute(s, tn, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Writes) == 0 {
		t.Fatal("the full-mode plan has no writes; the refusal would prove nothing")
	}
	before := srv.Snapshot()
	removals := p.Summary.Remove
	_, err = apply.Run(ctx, p, apply.Options{
		Source:        src,
		Writer:        w,
		Spec:          s,
		SpecHash:      s.Hash(),
		Confirmed:     true,
		AllowRemovals: &removals,
		Journal:       filepath.Join(dir, "journal"),
		AuditLog:      filepath.Join(dir, "audit.jsonl"),
		LockPath:      filepath.Join(dir, "lock"),
		Target:        s.Target.URL,
		Now:           func() time.Time { return now },
	})
	var ro *apply.ReadOnlyError
	if !errors.As(err, &ro) {
		t.Fatalf("apply: err = %v, want a read-only refusal", err)
	}
	var refused *apply.RefusedError
	if errors.As(err, &refused) && len(refused.Refusals) != 1 {
		t.Errorf("apply refused for more than the read-only target: %v", err)
	}
	if !strings.Contains(ro.Reason, "members export") {
		t.Errorf("the refusal does not say why: %q", ro.Reason)
	}
	checkDirectoryOnly(t, "apply", log.take())
	if diff := snapshotDiff(t, before, srv.Snapshot()); diff != "" {
		t.Errorf("the server changed during the refused apply:\n%s", diff)
	}
}

// checkDirectoryOnly fails the test unless reqs is not empty and holds only
// reads of /Users and /Groups.
func checkDirectoryOnly(t *testing.T, what string, reqs []string) {
	t.Helper()
	if len(reqs) == 0 {
		t.Errorf("%s made no request at all", what)
	}
	for _, r := range reqs {
		if !directoryRequest.MatchString(r) {
			t.Errorf("%s sent %q; a members export may only read /Users and /Groups", what, r)
		}
	}
}

func snapshotDiff(t *testing.T, a, b *tenant.Snapshot) string {
	t.Helper()
	var ab, bb bytes.Buffer
	if err := tenant.EncodeSnapshot(&ab, a); err != nil {
		t.Fatal(err)
	}
	if err := tenant.EncodeSnapshot(&bb, b); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(ab.Bytes(), bb.Bytes()) {
		return ""
	}
	return "--- before\n" + ab.String() + "\n--- after\n" + bb.String()
}

// A console may write an organization's name in another case than the spec
// does; names are matched case-insensitively everywhere else (the spec
// against the server, policy.exceptions against organizations), so a
// members export's org column is too.
func TestMembersExportOrgNameCase(t *testing.T) {
	const token = "e2e-token-0123456789"
	snap, err := tenant.ReadSnapshot(filepath.Join("..", "examples", "staged-to-full", "tenant.json"))
	if err != nil {
		t.Fatal(err)
	}
	ts := scimtest.NewTestServer(t, snap, scimtest.Options{Token: token})
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "members.csv")
	csv := "email,role,seat tier,org\n" +
		"alice.abbott@example.gov,member,standard,HQ\n" +
		"casey.lee@example.gov,member,standard, Hq \n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := scim.New(scim.Config{BaseURL: ts.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	src := &tenant.MembersExportSource{
		Client:  c,
		CSVPath: csvPath,
		Current: &spec.Current{Organizations: []spec.Organization{{Name: "hq"}}},
		Parent:  spec.Parent{Name: "example-agency", SeatTiers: []string{"standard", "premium"}, Mode: "staged"},
	}
	tn, err := src.Read(context.Background(), tenant.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range tn.Members {
		got = append(got, m.Org+" "+m.Email+" "+m.ID)
	}
	want := []string{
		"hq alice.abbott@example.gov " + orgwrite.MemberID("hq", "alice.abbott@example.gov"),
		"hq casey.lee@example.gov " + orgwrite.MemberID("hq", "casey.lee@example.gov"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("members:\n got %q\nwant %q", got, want)
	}

	// One member listed twice, the org in two cases: the parser says so,
	// with the lines.
	_, err = tenant.ParseMembersCSV(strings.NewReader("email,role,seat tier,org\n" +
		"ann@example.gov,member,standard,hq\n" +
		"Ann@example.gov,admin,standard,HQ\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3: Ann@example.gov is already a member of HQ on line 2") {
		t.Errorf("err = %v, want the duplicate on line 3 reported", err)
	}
}
