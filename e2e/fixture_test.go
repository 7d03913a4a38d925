package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// The suite's clock, token and tenant. The token is long and unusual so
// that finding it in a file means it leaked, not that it collided.
const (
	nowText   = "2026-11-27"
	testToken = "e2e-SECRET-token-7c1f9a3be04d52"
	// pageCap makes every listing of the fixture take several pages (51
	// users: 8 pages), so that page faults have pages to hit.
	pageCap = 7
)

var testNow = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// fixtureTenant is a copy of examples/multi-org/tenant.json as it was
// when the suite was written (the examples move on): 51 users, 9 groups, a
// parent and three child organizations, 55 members.
const fixtureTenant = "testdata/tenant.json"

// fixtureSpec targets the fixture tenant at $SCIM_URL. Against it the plan
// changes one setting in each child organization (three PATCHes: hq,
// regional-east, regional-west), re-roles 11 members and removes nobody,
// while its readiness section names 6 members who would go under full
// provisioning: a read that lost users would show up in both.
const fixtureSpec = `version: 1
target:
  url: $SCIM_URL
parent:
  name: example-agency
  loginDomains: [example.gov]
  seatTiers: [standard, premium]
  mode: staged
organizations:
  - name: hq
    seats: {standard: 901, premium: 60}
    mappings:
      - {group: claude-hq-it-admins, role: owner, seatTier: premium}
      - {group: claude-hq-users, role: member, seatTier: standard}
  - name: regional-west
    seats: {standard: 300, premium: 10}
    mappings:
      - {group: claude-west-admins, role: admin, seatTier: premium}
      - {group: claude-west-users, role: member, seatTier: standard}
  - name: regional-east
    seats: {standard: 250}
    mappings:
      - {group: claude-east-users, role: member, seatTier: standard}
policy:
  maxRemovals: 25
  maxRemovalPercent: 5
  ownerGroups: [claude-hq-it-admins, claude-west-admins]
  exclusiveOrgs: false
`

// readSnapshot reads a snapshot file.
func readSnapshot(t testing.TB, path string) *tenant.Snapshot {
	t.Helper()
	snap, err := tenant.ReadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// startServer serves snap (the fixture tenant when nil) with the suite's
// token and clock, pageCap resources a page, and opts' faults.
func startServer(t testing.TB, snap *tenant.Snapshot, opts scimtest.Options) *scimtest.TestServer {
	t.Helper()
	if snap == nil {
		snap = readSnapshot(t, fixtureTenant)
	}
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	if opts.PageCap == 0 {
		opts.PageCap = pageCap
	}
	return scimtest.NewTestServer(t, snap, opts)
}

// writeSpec writes text, with $SCIM_URL replaced by url, as
// dir/scimsync.yaml and returns its path.
func writeSpec(t testing.TB, dir, text, url string) string {
	t.Helper()
	p := filepath.Join(dir, "scimsync.yaml")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(text, "$SCIM_URL", url)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadSpec loads and validates a spec file at the suite's clock.
func loadSpec(t testing.TB, path string) *spec.Spec {
	t.Helper()
	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: testNow}, path)
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() || s == nil {
		t.Fatalf("spec %s is invalid:\n%v", path, diags)
	}
	return s
}

// fixture is the fixture spec loaded against a server.
func fixture(t testing.TB, ts *scimtest.TestServer) *spec.Spec {
	t.Helper()
	return loadSpec(t, writeSpec(t, t.TempDir(), fixtureSpec, ts.URL))
}

// fastRetries is a client configuration with the retry policy of the
// default one but waits in milliseconds, so that faults cost little time.
func fastRetries() scim.Config {
	return scim.Config{RetryWaitMin: time.Millisecond, RetryWaitMax: 8 * time.Millisecond, MaxRetryWait: 3 * time.Second}
}

// getenv hands the suite's token to tenant.Open as $SCIMSYNC_TOKEN.
func getenv(name string) string {
	if name == spec.DefaultTokenEnv {
		return testToken
	}
	return ""
}

// openSpec opens the spec's target as the command does, with cfg tuning
// the SCIM client.
func openSpec(t testing.TB, s *spec.Spec, cfg scim.Config) (tenant.Source, tenant.Writer) {
	t.Helper()
	src, w, _, err := tenant.OpenSpec(context.Background(), s, tenant.OpenOptions{Getenv: getenv, Client: cfg, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return src, w
}

// plan reads the tenant and computes the plan, as `scimsync plan` does.
func plan(ctx context.Context, t testing.TB, s *spec.Spec, cfg scim.Config) (*diff.Plan, error) {
	t.Helper()
	src, _ := openSpec(t, s, cfg)
	tn, err := src.Read(ctx, tenant.RequestFor(s))
	if err != nil {
		return nil, err
	}
	return diff.Compute(s, tn, testNow)
}

// planJSON is the plan's JSON form, the contract CI scripts read.
func planJSON(t testing.TB, p *diff.Plan) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := diff.RenderJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
