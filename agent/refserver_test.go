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
	"slices"
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

// refPlanAt is refPlan judged at the instant now returns, as SCIMSYNC_NOW
// pins it for the command.
func refPlanAt(now func() time.Time) PlanFunc {
	return func(ctx context.Context, s *spec.Spec) (*Outcome, error) {
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
		p, err := diff.Compute(s, t, now())
		if err != nil {
			return nil, err
		}
		return &Outcome{Plan: p, Tenant: t}, nil
	}
}

// TestReferenceServerLapsedExceptionInFull is issue 15 as the agent sees
// it: hq is already in full on the server, converged, and the auditor's
// exception (until 2027-03-31) keeps them. A week before, the agent
// announces it once; the day after it lapses, with nothing else pending,
// the agent reports destructive drift (the removal, reason "exception
// expired"), notifies, and --auto-apply leaves the removal to a person.
func TestReferenceServerLapsedExceptionInFull(t *testing.T) {
	t.Parallel()
	snap, err := tenant.ReadSnapshot(filepath.Join("..", "examples", "staged-to-full", "tenant.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := scimtest.NewTestServer(t, snap, scimtest.Options{})
	data, err := os.ReadFile(filepath.Join("..", "examples", "staged-to-full", "scimsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "  file: tenant.json", fmt.Sprintf("  url: %s\n  tokenEnv: %s", srv.URL, refTokenEnv), 1)
	if text == string(data) || !strings.Contains(text, "{email: auditor@example.gov, org: hq, until: 2027-03-31") {
		t.Fatal("the staged-to-full example changed; update the test")
	}
	specPath := writeSpec(t, t.TempDir(), text)

	// Switch hq to full as an operator would on 2027-03-01, approving the
	// removals the switch makes.
	clk := &clock{t: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)}
	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: clk.Now()}, specPath)
	if err != nil || diags.HasErrors() {
		t.Fatalf("loading the spec: %v %v", err, diags)
	}
	o, err := refPlanAt(clk.Now)(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if o.Plan.Mode.After != "full" {
		t.Fatalf("the example does not switch to full: %+v", o.Plan.Mode)
	}
	src, w, _, err := tenant.OpenSpec(context.Background(), s, tenant.OpenOptions{Getenv: refEnv})
	if err != nil {
		t.Fatal(err)
	}
	approved := o.Plan.Summary.Remove
	if _, err := apply.Run(context.Background(), o.Plan, apply.Options{
		Source: src, Writer: w, Spec: s, SpecHash: s.Hash(), Confirmed: true, AllowRemovals: &approved,
		Journal: filepath.Join(t.TempDir(), "switch.journal"), Target: srv.URL, Operator: "agent-test",
	}); err != nil {
		t.Fatalf("switching hq to full: %v", err)
	}
	if o, err := refPlanAt(clk.Now)(context.Background(), s); err != nil || o.Plan.Verdict() != diff.VerdictNoChanges {
		t.Fatalf("not converged after the switch: %v %s", err, diff.SummaryLine(o.Plan))
	}

	var applies atomic.Int32
	clk.t = time.Date(2027, 3, 25, 9, 0, 0, 0, time.UTC)
	f := newFixture(t, false, func(c *Config) {
		c.SpecPaths = []string{specPath}
		c.Now = clk.Now
		c.Plan = refPlanAt(clk.Now)
		c.Apply = func(context.Context, *spec.Spec, *Outcome) error { applies.Add(1); return nil }
	})
	a, ctx := f.agent, context.Background()

	// A week before: in sync, and the auditor's exception announced once.
	a.runOnce(ctx)
	a.runOnce(ctx)
	st := a.Status()
	if st.LastRun.Result != ResultInSync {
		t.Fatalf("a week before the lapse: %s %s (%s)", st.LastRun.Result, st.SummaryLine, st.LastRun.Error)
	}
	auditorNotice := diff.Expiring{Org: "hq", Email: "auditor@example.gov", Until: "2027-03-31", DaysLeft: 6, Reason: "external audit, read-only"}
	if !slices.Contains(st.Expiring, auditorNotice) {
		t.Errorf("/status expiring = %+v, want the auditor's exception", st.Expiring)
	}
	if got := announced(f.hook.expiringEvents(t)); !cmp.Equal(got, []diff.Expiring{auditorNotice}) {
		t.Errorf("announced a week before = %+v, want the auditor's exception once", got)
	}
	if _, m := get(t, a.Handler(), "/metrics"); !strings.Contains(m, `scimsync_exceptions_expiring{org="hq"} 1`) {
		t.Errorf("/metrics:\n%s", grep(m, "scimsync_exceptions_expiring"))
	}

	// The day after the last day: the removal is pending, with the reason
	// an auditor acts on, and it waits for a person.
	clk.t = time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	a.runOnce(ctx)
	st = a.Status()
	if st.LastRun.Result != ResultAwaitingApproval || st.Drift == nil || !*st.Drift || st.Summary.Remove != 1 {
		t.Fatalf("the day after the lapse: %s drift=%v %s (%s)", st.LastRun.Result, st.Drift, st.SummaryLine, st.LastRun.Error)
	}
	if !strings.Contains(st.LastRun.AwaitingApproval, "removes 1 member(s)") {
		t.Errorf("awaiting approval: %q", st.LastRun.AwaitingApproval)
	}
	var plan diff.Plan
	if err := json.Unmarshal(st.Plan, &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Verdict() != diff.VerdictDangerous {
		t.Errorf("verdict = %v, want dangerous", plan.Verdict())
	}
	var removed []diff.MemberChange
	for _, m := range plan.Members {
		if m.Action == diff.ActionRemove {
			removed = append(removed, m)
		}
	}
	if len(removed) != 1 || removed[0].Email != "auditor@example.gov" || removed[0].Reason != "exception expired" {
		t.Errorf("removals = %+v, want the auditor, exception expired", removed)
	}
	if n := applies.Load(); n != 0 {
		t.Errorf("auto-apply applied a removal %d time(s)", n)
	}
	var drift []Event
	for _, e := range f.hook.events(t) {
		if e.Kind == EventDrift {
			drift = append(drift, e)
		}
	}
	if len(drift) != 1 || !drift[0].AwaitingApproval || drift[0].Summary == nil || drift[0].Summary.Remove != 1 {
		t.Fatalf("drift webhooks = %+v, want one, awaiting approval, removing 1", drift)
	}
	if !strings.Contains(drift[0].Text, "Exceptions lapsed, their members removed: auditor@example.gov (hq).") {
		t.Errorf("drift text = %q, want it to name the lapsed exception", drift[0].Text)
	}
	if !slices.ContainsFunc(drift[0].Orgs, func(o OrgDrift) bool { return o.Org == "hq" && o.Kinds[KindRemove] == 1 }) {
		t.Errorf("drift event orgs = %+v, want hq removing 1 among them", drift[0].Orgs)
	}
	_, m := get(t, a.Handler(), "/metrics")
	for _, want := range []string{`scimsync_drift{kind="remove",org="hq"} 1`, `scimsync_drift_detected 1`, `scimsync_exceptions_expiring{org="hq"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "scimsync_"))
		}
	}
	if page := serveRecorder(a.Handler(), "/").Body.String(); !strings.Contains(page,
		`<tr class="lapsed"><td class="email">auditor@example.gov</td><td></td><td>lapsed: this plan removes the member (exception expired)</td></tr>`) {
		t.Errorf("the readiness page does not show the lapsed exception")
	}
}
