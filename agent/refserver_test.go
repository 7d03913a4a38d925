package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// The tests in this file run the agent against the reference SCIM server
// (package scimtest) with the real pipeline: tenant.OpenSpec, a SCIM read,
// diff.Compute and, for --auto-apply, apply.Run with every precondition.

const refTokenEnv = "AGENT_TEST_SCIM_TOKEN"

// refEnv is the agent tests' environment: only the SCIM token.
func refEnv(k string) string {
	if k == refTokenEnv {
		return scimtest.TestToken
	}
	return ""
}

// refPlan is the PlanFunc the command wires, minus its flags.
func refPlan(ctx context.Context, s *spec.Spec) (*Outcome, error) {
	src, _, _, err := tenant.OpenSpec(ctx, s, tenant.OpenOptions{Getenv: refEnv})
	if err != nil {
		return nil, err
	}
	var req tenant.ReadRequest
	for _, o := range s.Organizations {
		for _, m := range o.Mappings {
			req.GroupNames = append(req.GroupNames, m.Group)
		}
	}
	t, err := src.Read(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("reading the tenant: %w", err)
	}
	p, err := diff.Compute(s, t, time.Now())
	if err != nil {
		return nil, err
	}
	return &Outcome{Plan: p, Tenant: t}, nil
}

// refApply applies as scimsync apply --yes does.
func refApply(dir string) ApplyFunc {
	return func(ctx context.Context, s *spec.Spec, o *Outcome) error {
		src, w, _, err := tenant.OpenSpec(ctx, s, tenant.OpenOptions{Getenv: refEnv})
		if err != nil {
			return err
		}
		_, err = apply.Run(ctx, o.Plan, apply.Options{
			Source: src, Writer: w, Spec: s, SpecHash: s.Hash(), Confirmed: true,
			Journal: filepath.Join(dir, "agent.journal"), AuditLog: filepath.Join(dir, "audit.jsonl"),
			Target: s.Target.URL, Operator: "agent-test",
		})
		return err
	}
}

// refSpec is the jit-to-staged example's spec aimed at url.
func refSpec(t *testing.T, url string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", "jit-to-staged", "scimsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "  file: tenant.json", fmt.Sprintf("  url: %s\n  tokenEnv: %s", url, refTokenEnv), 1)
	if text == string(data) {
		t.Fatal("the example spec's target changed; update refSpec")
	}
	return text
}

// startRefServer serves the jit-to-staged example tenant, converged to its
// spec by one apply, and returns it with the spec's path.
func startRefServer(t *testing.T) (*scimtest.TestServer, string) {
	t.Helper()
	snap, err := tenant.ReadSnapshot(filepath.Join("..", "examples", "jit-to-staged", "tenant.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := scimtest.NewTestServer(t, snap, scimtest.Options{})
	dir := t.TempDir()
	path := writeSpec(t, dir, refSpec(t, srv.URL))
	s, diags, err := spec.Load(path)
	if err != nil || diags.HasErrors() {
		t.Fatalf("loading the spec: %v %v", err, diags)
	}
	o, err := refPlan(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if o.Plan.Summary.Remove != 0 || !o.Plan.HasChanges() {
		t.Fatalf("the example should start with additions only: %s", diff.SummaryLine(o.Plan))
	}
	if err := refApply(t.TempDir())(context.Background(), s, o); err != nil {
		t.Fatalf("converging the server: %v", err)
	}
	return srv, path
}

// scimDo sends one SCIM request as an administrator with curl would.
func scimDo(t *testing.T, srv *scimtest.TestServer, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// setSeats replaces hq's purchased standard seats on the server.
func setSeats(t *testing.T, srv *scimtest.TestServer, standard int) {
	t.Helper()
	scimDo(t, srv, http.MethodPatch, "/Organizations/org-hq", fmt.Sprintf(`{
  "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations": [{"op": "replace", "path": "seats", "value": {"standard": %d, "premium": 60}}]
}`, standard))
}

// serve runs a on a loopback listener until the test ends.
func serve(t *testing.T, a *Agent) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.cfg.Listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestReferenceServerDriftAndResolution(t *testing.T) {
	t.Parallel()
	srv, specPath := startRefServer(t)
	f := newFixture(t, false, func(c *Config) {
		c.SpecPaths = []string{specPath}
		c.Plan = refPlan
	})
	base := serve(t, f.agent)

	waitFor(t, 2*time.Second, "first run", func() bool {
		st := f.agent.Status()
		return st.LastRun != nil
	})
	if st := f.agent.Status(); st.LastRun.Result != ResultInSync {
		t.Fatalf("first run on the converged server: %+v", st.LastRun)
	}

	// An administrator lowers hq's seats on the server by hand.
	setSeats(t, srv, 800)
	changed := time.Now()
	waitFor(t, 2200*time.Millisecond, "drift in /status within two ticks", func() bool {
		var st Status
		return json.Unmarshal([]byte(httpGet(t, base+"/status")), &st) == nil && st.Drift != nil && *st.Drift
	})
	t.Logf("drift visible %v after the change", time.Since(changed).Round(time.Millisecond))
	if m := httpGet(t, base+"/metrics"); !strings.Contains(m, `scimsync_drift{kind="config",org="hq"} 1`) {
		t.Errorf("/metrics:\n%s", grep(m, "scimsync_drift"))
	}
	time.Sleep(1200 * time.Millisecond)
	evs := f.hook.events(t)
	if got := kinds(evs); !cmp.Equal(got, []EventKind{EventDrift}) {
		t.Fatalf("webhooks = %v, want exactly one drift", got)
	}
	if want := []OrgDrift{{Org: "hq", Kinds: map[string]int{KindConfig: 1}}}; !cmp.Equal(want, evs[0].Orgs) {
		t.Errorf("drift event orgs: %s", cmp.Diff(want, evs[0].Orgs))
	}

	// They put it back: one "resolved".
	setSeats(t, srv, 900)
	waitFor(t, 2200*time.Millisecond, "resolved webhook within two ticks", func() bool { return len(f.hook.events(t)) == 2 })
	time.Sleep(1200 * time.Millisecond)
	if got := kinds(f.hook.events(t)); !cmp.Equal(got, []EventKind{EventDrift, EventResolved}) {
		t.Fatalf("webhooks = %v, want drift then exactly one resolved", got)
	}
	if m := httpGet(t, base+"/metrics"); !strings.Contains(m, `scimsync_drift{kind="config",org="hq"} 0`) {
		t.Errorf("/metrics after resolution:\n%s", grep(m, "scimsync_drift"))
	}
}

func TestReferenceServerAutoApplyNeverRemoves(t *testing.T) {
	t.Parallel()
	srv, specPath := startRefServer(t)
	var applies atomic.Int32
	applyDir := t.TempDir()
	f := newFixture(t, false, func(c *Config) {
		c.SpecPaths = []string{specPath}
		c.Plan = refPlan
		c.Apply = func(ctx context.Context, s *spec.Spec, o *Outcome) error {
			applies.Add(1)
			return refApply(applyDir)(ctx, s, o)
		}
	})
	serve(t, f.agent)
	waitFor(t, 2*time.Second, "first run", func() bool { return f.agent.Status().LastRun != nil })

	mappings := func() string {
		org := scimDo(t, srv, http.MethodGet, "/Organizations/org-hq", "")
		b, _ := json.Marshal(org["mappings"])
		return string(b)
	}
	before := mappings()

	// A commit drops the claude-hq-users mapping: its members would go.
	text, _ := os.ReadFile(specPath)
	dropped := strings.Replace(string(text), "      - {group: claude-hq-users, role: member, seatTier: standard}\n", "", 1)
	if dropped == string(text) {
		t.Fatal("the example spec's mappings changed; update the test")
	}
	writeSpec(t, filepath.Dir(specPath), dropped)
	waitFor(t, 5*time.Second, "awaiting approval", func() bool {
		st := f.agent.Status()
		return st.LastRun != nil && st.LastRun.Result == ResultAwaitingApproval
	})
	time.Sleep(1200 * time.Millisecond) // and the next tick does not apply either
	if n := applies.Load(); n != 0 {
		t.Fatalf("apply was called %d times for a plan with removals", n)
	}
	if after := mappings(); after != before {
		t.Fatalf("the server's mappings changed: %s → %s", before, after)
	}
	st := f.agent.Status()
	if st.Summary == nil || st.Summary.Remove == 0 || !strings.Contains(st.LastRun.AwaitingApproval, "removals are never applied automatically") {
		t.Fatalf("status = %+v %+v", st.Summary, st.LastRun)
	}

	// Restored, plus a new mapping that only adds: applied once, through
	// apply, and the tenant then matches.
	added := strings.Replace(string(text), "      - {group: claude-hq-users, role: member, seatTier: standard}\n",
		"      - {group: claude-hq-users, role: member, seatTier: standard}\n      - {group: facilities, role: member, seatTier: standard}\n", 1)
	writeSpec(t, filepath.Dir(specPath), added)
	waitFor(t, 5*time.Second, "auto-apply", func() bool {
		st := f.agent.Status()
		return st.LastRun != nil && st.LastRun.Result == ResultApplied
	})
	if n := applies.Load(); n != 1 {
		t.Fatalf("apply called %d times, want 1", n)
	}
	if !strings.Contains(mappings(), `"g-facilities"`) {
		t.Fatalf("the new mapping is not on the server: %s", mappings())
	}
	if st := f.agent.Status(); st.Drift == nil || *st.Drift {
		t.Fatalf("drift after auto-apply: %v", st.Drift)
	}
	audit, err := os.ReadFile(filepath.Join(applyDir, "audit.jsonl"))
	if err != nil || !bytes.Contains(audit, []byte(`"agent-test"`)) {
		t.Errorf("no audit record of the auto-apply: %v %s", err, audit)
	}
}
