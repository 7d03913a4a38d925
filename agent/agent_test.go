package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"

	"github.com/scimsync/scimsync/internal/testtool"
)

const validSpec = `version: 1
target:
  file: tenant.json
parent:
  name: example-agency
  seatTiers: [standard, premium]
  mode: staged
organizations:
  - name: hq
    seats: {standard: 10, premium: 2}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
  - name: regional-west
    seats: {standard: 5}
    mappings:
      - {group: claude-west-users, role: member, seatTier: standard}
`

// writeSpec writes content to a spec file in dir and returns its path.
func writeSpec(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "agency.yaml")
	// Atomically, as editors and git do, so a run never reads half a file.
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// observed is the tenant the fake planner reports: two orgs, three members.
func observed() *tenant.Tenant {
	return &tenant.Tenant{
		Parent: resolve.Org{ID: "p", Name: "example-agency"},
		Orgs: []resolve.Org{
			{ID: "o1", Name: "hq", Parent: "p"},
			{ID: "o2", Name: "regional-west", Parent: "p"},
			{ID: "o3", Name: "unmanaged", Parent: "p"},
		},
		Members: []resolve.Member{
			{ID: "m1", Org: "o1", Email: "ana@example.gov", Role: resolve.RoleMember, SeatTier: "standard", Origin: resolve.OriginSCIM},
			{ID: "m2", Org: "o1", Email: "bo@example.gov", Role: resolve.RoleMember, SeatTier: "standard", Origin: resolve.OriginJIT},
			{ID: "m3", Org: "o1", Email: "cy@example.gov", Role: resolve.RoleOwner, SeatTier: "premium", Origin: resolve.OriginSCIM},
			{ID: "m4", Org: "o3", Email: "dee@example.gov", Role: resolve.RoleMember, SeatTier: "standard", Origin: resolve.OriginJIT},
		},
	}
}

// inSync is a plan with nothing to do; hq is not ready for full.
func inSync() *diff.Plan {
	return &diff.Plan{
		FormatVersion: diff.FormatVersion,
		Parent:        diff.OrgRef{ID: "p", Name: "example-agency"},
		Mode:          diff.ModeChange{Before: "staged", After: "staged"},
		Readiness: []diff.Readiness{
			{Org: "hq", Members: 3, ScimBacked: 2, WouldRemove: []diff.Removal{{Email: "bo@example.gov", Reason: string(resolve.ReasonNotProvisioned)}}},
			{Org: "regional-west", Members: 0, ScimBacked: 0},
		},
		Seats: []diff.SeatUsage{
			{Org: "hq", Tier: "premium", Purchased: 2, Now: 1, After: 1},
			{Org: "hq", Tier: "standard", Purchased: 10, Now: 2, After: 2},
			{Org: "regional-west", Tier: "standard", Purchased: 5},
		},
	}
}

// withAdds is inSync plus members added to hq.
func withAdds(emails ...string) *diff.Plan {
	p := inSync()
	for _, e := range emails {
		p.Members = append(p.Members, diff.MemberChange{Org: "hq", Email: e, Action: diff.ActionAdd,
			After: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "scim"}})
		p.Summary.Add++
	}
	return p
}

// withRemoval is inSync plus one removal in regional-west.
func withRemoval() *diff.Plan {
	p := inSync()
	p.Members = append(p.Members, diff.MemberChange{Org: "regional-west", Email: "gone@example.gov", Action: diff.ActionRemove,
		Before: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "scim"}, Reason: string(resolve.ReasonInactive)})
	p.Summary.Remove++
	return p
}

// fakePlanner hands out the plan the test last set.
type fakePlanner struct {
	mu    sync.Mutex
	plan  *diff.Plan
	err   error
	calls int
	block chan struct{} // when set, Plan waits for it or for ctx
	ctxOK bool          // whether the last call's ctx was still live when it returned
}

func (f *fakePlanner) set(p *diff.Plan, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plan, f.err = p, err
}

func (f *fakePlanner) Plan(ctx context.Context, s *spec.Spec) (*Outcome, error) {
	f.mu.Lock()
	f.calls++
	block := f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxOK = ctx.Err() == nil
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	if s.Parent.Name != "example-agency" {
		return nil, fmt.Errorf("unexpected spec %q", s.Parent.Name)
	}
	// A copy, as a real planner returns a fresh plan each time.
	b, _ := json.Marshal(f.plan)
	var p diff.Plan
	_ = json.Unmarshal(b, &p)
	return &Outcome{Plan: &p, Tenant: observed()}, nil
}

func (f *fakePlanner) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// receiver is an httptest webhook that records every event.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	// fail answers this many requests with 503 first.
	fail int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if req.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		r.bodies = append(r.bodies, body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// URL is the webhook URL, with a secret path as Slack's have.
func (r *receiver) URL() string { return r.srv.URL + "/services/T000/B000/SECRETxyz" }

func (r *receiver) events(t *testing.T) []Event {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, b := range r.bodies {
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("webhook body %s: %v", b, err)
		}
		out = append(out, e)
	}
	return out
}

func kinds(evs []Event) []EventKind {
	var out []EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	agent   *Agent
	planner *fakePlanner
	hook    *receiver
	logs    *syncBuffer
	spec    string
	clock   *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newFixture builds an agent around a fake planner and a webhook receiver.
// With fake set, the agent's clocks (Now and Clock) are one manual clock.
func newFixture(t *testing.T, fake bool, mod func(*Config)) *fixture {
	t.Helper()
	f := &fixture{planner: &fakePlanner{plan: inSync()}, hook: newReceiver(t), logs: &syncBuffer{}}
	f.spec = writeSpec(t, t.TempDir(), validSpec)
	cfg := Config{
		SpecPaths:       []string{f.spec},
		Schedule:        "@every 1s",
		Plan:            f.planner.Plan,
		Addr:            "127.0.0.1:0",
		Grace:           2 * time.Second,
		WebhookURL:      f.hook.URL(),
		WebhookFormat:   FormatJSON,
		WebhookAttempts: 3,
		WebhookBackoff:  10 * time.Millisecond,
		Logger:          slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if fake {
		f.clock = &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
		cfg.Now = f.clock.Now
		cfg.Clock = f.clock.Now
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.agent = a
	return f
}

// get fetches path from h and returns the status code and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func status(t *testing.T, h http.Handler) Status {
	t.Helper()
	code, body := get(t, h, "/status")
	if code != http.StatusOK {
		t.Fatalf("/status: %d %s", code, body)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status: %v\n%s", err, body)
	}
	return st
}

func TestDriftLifecycleNotifiesOncePerChange(t *testing.T) {
	f := newFixture(t, true, nil)
	a, ctx := f.agent, context.Background()
	steps := []struct {
		name   string
		plan   *diff.Plan
		want   Result
		events []EventKind
	}{
		{"in sync at start: nothing to say", inSync(), ResultInSync, nil},
		{"drift appears", withAdds("new@example.gov"), ResultDrift, []EventKind{EventDrift}},
		{"same drift next tick: silent", withAdds("new@example.gov"), ResultDrift, nil},
		{"drift changes", withAdds("new@example.gov", "two@example.gov"), ResultDrift, []EventKind{EventDriftChanged}},
		{"unchanged again: silent", withAdds("new@example.gov", "two@example.gov"), ResultDrift, nil},
		{"cleared", inSync(), ResultInSync, []EventKind{EventResolved}},
		{"still clear: silent", inSync(), ResultInSync, nil},
	}
	for _, s := range steps {
		before := len(f.hook.events(t))
		f.planner.set(s.plan, nil)
		a.runOnce(ctx)
		f.clock.Advance(time.Second)
		st := status(t, a.Handler())
		if st.LastRun == nil || st.LastRun.Result != s.want {
			t.Fatalf("%s: last run %+v, want result %s", s.name, st.LastRun, s.want)
		}
		got := kinds(f.hook.events(t)[before:])
		if diff := cmp.Diff(s.events, got); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", s.name, diff)
		}
	}
	evs := f.hook.events(t)
	drift := evs[0]
	if drift.Tenant != "example-agency" || drift.Summary == nil || drift.Summary.Add != 1 {
		t.Errorf("drift event = %+v", drift)
	}
	if want := []OrgDrift{{Org: "hq", Kinds: map[string]int{KindAdd: 1}}}; !cmp.Equal(want, drift.Orgs) {
		t.Errorf("drift event orgs: %s", cmp.Diff(want, drift.Orgs))
	}
	if !strings.Contains(drift.Text, "Plan: 1 to add, 0 to change, 0 to remove.") {
		t.Errorf("drift text = %q", drift.Text)
	}
}

func TestScheduledDriftShowsInStatusAndMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.agent.cfg.Listener = ln
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.agent.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	fetch := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := fetch("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	// The first run is immediate.
	waitFor(t, time.Second, "first run", func() bool {
		code, _ := fetch("/readyz")
		return code == http.StatusOK
	})
	if _, m := fetch("/metrics"); !strings.Contains(m, `scimsync_drift{kind="add",org="hq"} 0`) {
		t.Fatalf("/metrics before drift lacks the zero drift gauge:\n%s", grep(m, "scimsync_drift"))
	}

	f.planner.set(withAdds("new@example.gov"), nil)
	introduced := time.Now()
	waitFor(t, 2500*time.Millisecond, "drift in /status", func() bool {
		_, body := fetch("/status")
		var st Status
		return json.Unmarshal([]byte(body), &st) == nil && st.Drift != nil && *st.Drift
	})
	t.Logf("drift visible after %v", time.Since(introduced).Round(time.Millisecond))
	_, m := fetch("/metrics")
	for _, want := range []string{
		`scimsync_drift{kind="add",org="hq"} 1`,
		`scimsync_drift{kind="remove",org="hq"} 0`,
		`scimsync_would_remove{org="hq"} 1`,
		`scimsync_members{org="hq",role="owner",tier="premium"} 1`,
		`scimsync_members{org="hq",role="member",tier="standard"} 2`,
		`scimsync_seats_used{org="hq",tier="standard"} 2`,
		`scimsync_seats_purchased{org="hq",tier="standard"} 10`,
		`scimsync_runs_total{result="drift"}`,
		`scimsync_run_duration_seconds_count`,
		`scimsync_last_success_timestamp_seconds`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, `org="unmanaged"`) {
		t.Errorf("/metrics reports an org the spec does not manage")
	}
	// Another tick at least, and still exactly one webhook.
	time.Sleep(1200 * time.Millisecond)
	if got := kinds(f.hook.events(t)); !cmp.Equal(got, []EventKind{EventDrift}) {
		t.Fatalf("webhooks after drift = %v, want exactly one drift", got)
	}

	f.planner.set(inSync(), nil)
	waitFor(t, 2500*time.Millisecond, "resolved webhook", func() bool { return len(f.hook.events(t)) == 2 })
	time.Sleep(1200 * time.Millisecond)
	if got := kinds(f.hook.events(t)); !cmp.Equal(got, []EventKind{EventDrift, EventResolved}) {
		t.Fatalf("webhooks = %v, want drift then exactly one resolved", got)
	}
	if _, m := fetch("/metrics"); !strings.Contains(m, `scimsync_drift{kind="add",org="hq"} 0`) {
		t.Errorf("/metrics after resolution:\n%s", grep(m, "scimsync_drift"))
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetricsForgetVanishedOrgs(t *testing.T) {
	f := newFixture(t, true, nil)
	f.planner.set(withAdds("x@example.gov"), nil)
	f.agent.runOnce(context.Background())
	_, m := get(t, f.agent.Handler(), "/metrics")
	if !strings.Contains(m, `scimsync_seats_purchased{org="regional-west",tier="standard"} 5`) {
		t.Fatalf("regional-west missing:\n%s", grep(m, "regional-west"))
	}
	p := inSync()
	p.Readiness = p.Readiness[:1]
	p.Seats = p.Seats[:2]
	f.planner.set(p, nil)
	f.agent.runOnce(context.Background())
	_, m = get(t, f.agent.Handler(), "/metrics")
	if strings.Contains(m, "regional-west") {
		t.Errorf("regional-west lingers after leaving the plan:\n%s", grep(m, "regional-west"))
	}
}

func TestAutoApplyNeverAppliesRemovals(t *testing.T) {
	var applied []*diff.Plan
	var f *fixture
	f = newFixture(t, true, func(c *Config) {
		c.Apply = func(ctx context.Context, s *spec.Spec, o *Outcome) error {
			applied = append(applied, o.Plan)
			// The server converges: the next plan is clean.
			f.planner.set(inSync(), nil)
			return nil
		}
	})
	ctx := context.Background()

	// Removals: never applied, however often the agent looks.
	f.planner.set(withRemoval(), nil)
	for range 3 {
		f.agent.runOnce(ctx)
	}
	if len(applied) != 0 {
		t.Fatalf("a plan with removals was applied")
	}
	st := status(t, f.agent.Handler())
	if st.LastRun.Result != ResultAwaitingApproval || !strings.Contains(st.LastRun.AwaitingApproval, "removes 1 member") {
		t.Errorf("last run = %+v", st.LastRun)
	}
	evs := f.hook.events(t)
	if len(evs) != 1 || evs[0].Kind != EventDrift || !evs[0].AwaitingApproval {
		t.Fatalf("events = %+v, want one drift awaiting approval", evs)
	}

	// An error-level finding also waits, even without removals.
	p := withAdds("a@example.gov")
	p.Findings = []diff.Finding{{Severity: diff.SeverityError, Kind: diff.FindingOvercommit, Org: "hq", Message: "hq: standard overcommitted"}}
	f.planner.set(p, nil)
	f.agent.runOnce(ctx)
	if len(applied) != 0 {
		t.Fatalf("a plan with an error finding was applied")
	}

	// Additions only: applied, then re-planned clean.
	f.planner.set(withAdds("a@example.gov"), nil)
	f.agent.runOnce(ctx)
	if len(applied) != 1 || applied[0].Summary.Remove != 0 {
		t.Fatalf("applied = %v, want the additions-only plan once", len(applied))
	}
	st = status(t, f.agent.Handler())
	if st.LastRun.Result != ResultApplied || st.LastRun.Applied == nil || st.LastRun.Applied.Add != 1 {
		t.Errorf("last run = %+v", st.LastRun)
	}
	if st.Drift == nil || *st.Drift {
		t.Errorf("drift after apply = %v, want false (re-planned)", st.Drift)
	}
	got := kinds(f.hook.events(t))
	want := []EventKind{EventDrift, EventDriftChanged, EventApplied, EventResolved}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestAutoApplyDoesNotRepeatAnApplyThatDidNotConverge(t *testing.T) {
	calls := 0
	f := newFixture(t, true, func(c *Config) {
		c.Apply = func(ctx context.Context, s *spec.Spec, o *Outcome) error { calls++; return nil }
	})
	f.planner.set(withAdds("a@example.gov"), nil) // the server ignores the apply
	for range 3 {
		f.agent.runOnce(context.Background())
	}
	if calls != 1 {
		t.Fatalf("apply called %d times, want 1", calls)
	}
	if st := status(t, f.agent.Handler()); st.LastRun.Result != ResultAwaitingApproval {
		t.Errorf("last run = %+v", st.LastRun)
	}
}

func TestAutoApplyFailureFailsTheRun(t *testing.T) {
	f := newFixture(t, true, func(c *Config) {
		c.Apply = func(ctx context.Context, s *spec.Spec, o *Outcome) error {
			return errors.New("plan is stale: the tenant changed since it was computed")
		}
	})
	f.planner.set(withAdds("a@example.gov"), nil)
	f.agent.runOnce(context.Background())
	st := status(t, f.agent.Handler())
	if st.LastRun.Result != ResultFailed || !strings.Contains(st.LastRun.Error, "auto-apply: plan is stale") {
		t.Errorf("last run = %+v", st.LastRun)
	}
}

func TestInvalidSpecReportedOncePerContent(t *testing.T) {
	f := newFixture(t, true, nil)
	ctx := context.Background()
	bad := strings.Replace(validSpec, "version: 1", "version: 1\nbogus: [", 1)
	writeSpec(t, filepath.Dir(f.spec), bad)
	for range 3 {
		f.agent.runOnce(ctx)
	}
	if n := f.planner.Calls(); n != 0 {
		t.Fatalf("planned %d times with an invalid spec", n)
	}
	if got := kinds(f.hook.events(t)); !cmp.Equal(got, []EventKind{EventInvalidSpec}) {
		t.Fatalf("events = %v, want one invalid_spec", got)
	}
	if n := strings.Count(f.logs.String(), "invalid spec; not planning"); n != 1 {
		t.Errorf("invalid spec logged at error %d times, want 1", n)
	}
	st := status(t, f.agent.Handler())
	if st.LastRun.Result != ResultInvalidSpec || !strings.Contains(st.LastRun.Error, "agency.yaml") {
		t.Errorf("last run = %+v", st.LastRun)
	}
	if st.ConsecutiveFailures != 0 {
		t.Errorf("invalid spec counted as %d failures", st.ConsecutiveFailures)
	}

	// Another invalid content: reported again, once.
	writeSpec(t, filepath.Dir(f.spec), bad+"\n# edited\n")
	f.agent.runOnce(ctx)
	f.agent.runOnce(ctx)
	if got := kinds(f.hook.events(t)); len(got) != 2 || got[1] != EventInvalidSpec {
		t.Fatalf("events = %v, want a second invalid_spec", got)
	}

	// Fixed: plans again.
	writeSpec(t, filepath.Dir(f.spec), validSpec)
	f.agent.runOnce(ctx)
	if n := f.planner.Calls(); n != 1 {
		t.Fatalf("planned %d times after the fix, want 1", n)
	}
	if st := status(t, f.agent.Handler()); st.LastRun.Result != ResultInSync {
		t.Errorf("last run = %+v", st.LastRun)
	}
}

func TestRepeatedFailureNotifiesOnce(t *testing.T) {
	f := newFixture(t, true, nil)
	ctx := context.Background()
	f.planner.set(nil, errors.New("listing users: GET /Users: 503 service unavailable"))
	for range 6 {
		f.agent.runOnce(ctx)
	}
	evs := f.hook.events(t)
	if got := kinds(evs); !cmp.Equal(got, []EventKind{EventFailing}) {
		t.Fatalf("events = %v, want one failing", got)
	}
	if evs[0].Failures != DefaultFailureThreshold || !strings.Contains(evs[0].Error, "503") {
		t.Errorf("failing event = %+v", evs[0])
	}
	f.planner.set(inSync(), nil)
	f.agent.runOnce(ctx)
	f.agent.runOnce(ctx)
	if got := kinds(f.hook.events(t)); !cmp.Equal(got, []EventKind{EventFailing, EventRecovered}) {
		t.Fatalf("events = %v, want failing then recovered", got)
	}
}

func TestReadyz(t *testing.T) {
	f := newFixture(t, true, func(c *Config) { c.Schedule = "@every 10s" })
	h := f.agent.Handler()
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before any run: %d %s", code, body)
	}
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	f.planner.set(nil, errors.New("connection refused"))
	f.agent.runOnce(context.Background())
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "failed") {
		t.Fatalf("/readyz after a failed first run: %d %s", code, body)
	}

	f.planner.set(inSync(), nil)
	f.agent.runOnce(context.Background())
	if code, body := get(t, h, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz after success: %d %s", code, body)
	}
	// One failure later, still within two intervals: ready.
	f.clock.Advance(10 * time.Second)
	f.planner.set(nil, errors.New("connection refused"))
	f.agent.runOnce(context.Background())
	if code, body := get(t, h, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz one interval after success: %d %s", code, body)
	}
	// Past two intervals without success: not ready.
	f.clock.Advance(10*time.Second + time.Millisecond)
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz two intervals after success: %d %s", code, body)
	}
	if st := status(t, h); st.Ready {
		t.Errorf("/status says ready when /readyz does not")
	}
}

func TestWebhookURLNeverLeaks(t *testing.T) {
	// A receiver that always fails, and one that does not exist.
	for _, tc := range []struct {
		name string
		url  func(r *receiver) string
	}{
		{"5xx", func(r *receiver) string { r.fail = 1 << 30; return r.URL() }},
		{"unreachable", func(r *receiver) string {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			addr := ln.Addr().String()
			ln.Close()
			return "http://" + addr + "/services/T000/B000/SECRETxyz"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t)
			url := tc.url(r)
			f := newFixture(t, true, func(c *Config) { c.WebhookURL = url })
			f.planner.set(withAdds("a@example.gov"), nil)
			f.agent.runOnce(context.Background())
			f.planner.set(nil, fmt.Errorf("reading tenant: %w", errors.New("boom")))
			for range 3 {
				f.agent.runOnce(context.Background())
			}
			logs := f.logs.String()
			if !strings.Contains(logs, "webhook delivery failed") {
				t.Fatalf("no delivery failure logged:\n%s", logs)
			}
			_, st := get(t, f.agent.Handler(), "/status")
			_, m := get(t, f.agent.Handler(), "/metrics")
			for what, s := range map[string]string{"logs": logs, "status": st, "metrics": m} {
				if strings.Contains(s, "SECRETxyz") || strings.Contains(s, "/services/") {
					t.Errorf("webhook URL in %s:\n%s", what, s)
				}
			}
		})
	}
}

func TestWebhookRetriesAndSlackFormat(t *testing.T) {
	f := newFixture(t, true, func(c *Config) { c.WebhookFormat = "" })
	f.hook.fail = 2 // two 503s, then success
	f.planner.set(withAdds("a@example.gov"), nil)
	f.agent.runOnce(context.Background())
	f.hook.mu.Lock()
	defer f.hook.mu.Unlock()
	if len(f.hook.bodies) != 1 {
		t.Fatalf("delivered %d bodies, want 1", len(f.hook.bodies))
	}
	var body map[string]any
	if err := json.Unmarshal(f.hook.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	text, ok := body["text"].(string)
	if len(body) != 1 || !ok || !strings.Contains(text, "example-agency has drifted") {
		t.Errorf("slack body = %s", f.hook.bodies[0])
	}
}

func TestGitPull(t *testing.T) {
	var gotDir string
	var gotArgs []string
	fail := false
	f := newFixture(t, true, func(c *Config) {
		c.GitPull = true
		c.Git = func(ctx context.Context, dir string, args ...string) ([]byte, error) {
			gotDir, gotArgs = dir, args
			if fail {
				return []byte("fatal: unable to access 'https://bot:ghp_secret@git.example/agency.git/': Could not resolve host"), errors.New("exit status 128")
			}
			return []byte("Already up to date.\n"), nil
		}
	})
	f.agent.runOnce(context.Background())
	if gotDir != filepath.Dir(f.spec) || !cmp.Equal(gotArgs, []string{"pull", "--ff-only"}) {
		t.Fatalf("git ran in %q with %q", gotDir, gotArgs)
	}
	if st := status(t, f.agent.Handler()); st.LastRun.Result != ResultInSync {
		t.Fatalf("last run = %+v", st.LastRun)
	}
	fail = true
	f.agent.runOnce(context.Background())
	st := status(t, f.agent.Handler())
	if st.LastRun.Result != ResultFailed || !strings.Contains(st.LastRun.Error, "git pull --ff-only") {
		t.Fatalf("last run = %+v", st.LastRun)
	}
	if strings.Contains(st.LastRun.Error, "ghp_secret") || !strings.Contains(st.LastRun.Error, "https://REDACTED@git.example") {
		t.Errorf("git error not redacted: %s", st.LastRun.Error)
	}
	if n := f.planner.Calls(); n != 1 {
		t.Errorf("planned %d times, want 1 (not after a failed pull)", n)
	}
}

func TestGitPullRealRepo(t *testing.T) {
	testtool.Find(t, "", "apt-get install git", "git")
	root := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.gov", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	remote, work, checkout := filepath.Join(root, "remote.git"), filepath.Join(root, "work"), filepath.Join(root, "agent")
	git(root, "init", "--bare", remote)
	git(root, "clone", remote, work)
	writeSpec(t, work, validSpec)
	git(work, "add", "agency.yaml")
	git(work, "commit", "-m", "spec")
	git(work, "push", "origin", "HEAD")
	git(root, "clone", remote, checkout)

	f := newFixture(t, true, func(c *Config) {
		c.SpecPaths = []string{filepath.Join(checkout, "agency.yaml")}
		c.GitPull = true
	})
	result := func() Result { return f.agent.Status().LastRun.Result }
	f.agent.runOnce(context.Background())
	if r := result(); r != ResultInSync {
		t.Fatalf("first run: %s", r)
	}
	// A broken spec is pushed: the agent pulls it before planning.
	writeSpec(t, work, strings.Replace(validSpec, "version: 1", "version: 7", 1))
	git(work, "commit", "-am", "break")
	git(work, "push", "origin", "HEAD")
	f.agent.runOnce(context.Background())
	if r := result(); r != ResultInvalidSpec {
		t.Fatalf("after pushing an invalid spec: %s (%s)", r, f.agent.Status().LastRun.Error)
	}
	// The fix is pushed and pulled.
	writeSpec(t, work, validSpec)
	git(work, "commit", "-am", "fix")
	git(work, "push", "origin", "HEAD")
	f.agent.runOnce(context.Background())
	if r := result(); r != ResultInSync {
		t.Fatalf("after pushing the fix: %s", r)
	}
	if got := kinds(f.hook.events(t)); !cmp.Equal(got, []EventKind{EventInvalidSpec}) {
		t.Errorf("events = %v", got)
	}

	// Outside a repository, the pull and so the run fails.
	f2 := newFixture(t, true, func(c *Config) { c.GitPull = true })
	f2.agent.runOnce(context.Background())
	st := f2.agent.Status()
	if st.LastRun.Result != ResultFailed || !strings.Contains(st.LastRun.Error, "not a git repository") {
		t.Fatalf("last run = %+v", st.LastRun)
	}
}

func TestStatusDocument(t *testing.T) {
	f := newFixture(t, true, nil)
	p := withAdds("a@example.gov")
	p.Mode = diff.ModeChange{Before: "jit", After: "staged"}
	p.ConfigChanges = []diff.ConfigChange{{Org: "example-agency", Field: diff.FieldMode, Before: "jit", After: "staged"}}
	f.planner.set(p, nil)
	f.agent.runOnce(context.Background())
	st := status(t, f.agent.Handler())
	if st.Tenant != "example-agency" || st.Drift == nil || !*st.Drift || st.Summary.Add != 1 || !st.Webhook {
		t.Errorf("status = %+v", st)
	}
	no, yes := false, true
	want := []OrgStatus{
		{Org: "example-agency", Changes: map[string]int{"add": 0, "change": 0, "config": 1, "flag": 0, "policy": 0, "remove": 0}},
		{Org: "hq", Changes: map[string]int{"add": 1, "change": 0, "config": 0, "flag": 0, "policy": 0, "remove": 0},
			Members: 3, SCIMBacked: 2, ReadyForFull: &no,
			WouldRemove: []WouldRemove{{Email: "bo@example.gov", Reason: string(resolve.ReasonNotProvisioned)}}},
		{Org: "regional-west", Changes: map[string]int{"add": 0, "change": 0, "config": 0, "flag": 0, "policy": 0, "remove": 0},
			ReadyForFull: &yes},
	}
	if diff := cmp.Diff(want, st.Orgs); diff != "" {
		t.Errorf("orgs (-want +got):\n%s", diff)
	}
	var plan diff.Plan
	if err := json.Unmarshal(st.Plan, &plan); err != nil || plan.Summary.Add != 1 {
		t.Errorf("status plan = %s (%v)", st.Plan, err)
	}
	if st.LastRun.DurationSeconds < 0 || st.LastRun.SpecHash == "" {
		t.Errorf("last run = %+v", st.LastRun)
	}
}

func TestShutdownLetsRunFinish(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false, func(c *Config) { c.Grace = 2 * time.Second })
	release := make(chan struct{})
	f.planner.block = release
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.agent.Run(ctx) }()
	waitFor(t, time.Second, "run in flight", func() bool { return f.planner.Calls() == 1 })
	cancel()
	time.AfterFunc(100*time.Millisecond, func() { close(release) })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return")
	}
	f.planner.mu.Lock()
	ok := f.planner.ctxOK
	f.planner.mu.Unlock()
	if !ok {
		t.Errorf("the run in flight was cancelled although it finished within the grace period")
	}
	if st := f.agent.Status(); st.LastRun == nil || st.LastRun.Result != ResultInSync {
		t.Errorf("last run = %+v", st.LastRun)
	}
}

func TestShutdownCancelsRunAfterGrace(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false, func(c *Config) { c.Grace = 150 * time.Millisecond })
	f.planner.block = make(chan struct{}) // never released
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.agent.Run(ctx) }()
	waitFor(t, time.Second, "run in flight", func() bool { return f.planner.Calls() == 1 })
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return")
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("Run returned after %v, want about the grace period", d)
	}
	if st := f.agent.Status(); st.LastRun == nil || st.LastRun.Result != ResultFailed {
		t.Errorf("the cancelled run was not recorded as failed: %+v", st.LastRun)
	}
}

func TestSkipIfStillRunning(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false, nil)
	release := make(chan struct{})
	f.planner.block = release
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.agent.Run(ctx) }()
	// Ticks at 1s and 2s arrive while the first run is blocked.
	time.Sleep(2200 * time.Millisecond)
	if n := f.planner.Calls(); n != 1 {
		t.Errorf("%d runs started while the first was in flight, want 1", n)
	}
	if !strings.Contains(f.logs.String(), "previous run still in flight") {
		t.Errorf("skipped tick not logged")
	}
	close(release)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		asked []int64
		// runsBefore[i] is how many runs had been made when the i-th
		// jitter was asked for: the first run asks for none, and the
		// agent may ask for the next one's as soon as it is done.
		runsBefore []int
		f          *fixture
	)
	f = newFixture(t, false, func(c *Config) {
		c.Jitter = 300 * time.Millisecond
		c.RandInt63n = func(n int64) int64 {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, n)
			runsBefore = append(runsBefore, f.planner.Calls())
			return n - 1
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.agent.Run(ctx) }()
	waitFor(t, 500*time.Millisecond, "immediate first run", func() bool { return f.planner.Calls() == 1 })
	mu.Lock()
	if len(runsBefore) > 0 && runsBefore[0] == 0 {
		t.Errorf("the first run waited for jitter")
	}
	mu.Unlock()
	waitFor(t, 2*time.Second, "second run", func() bool { return f.planner.Calls() == 2 })
	second := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(asked) == 0 || asked[0] != int64(300*time.Millisecond) {
		t.Errorf("jitter asked for %v, want bound 300ms", asked)
	}
	// @every 1s ticks on whole seconds; the pinned jitter delays the run
	// by just under 300ms past one.
	if frac := time.Duration(second.Nanosecond()); frac < 290*time.Millisecond || frac > 700*time.Millisecond {
		t.Errorf("second run started %v past the second, want about 300ms of jitter", frac)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	plan := func(context.Context, *spec.Spec) (*Outcome, error) { return nil, nil }
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no spec", Config{Schedule: "@every 1m", Plan: plan}, "no spec path"},
		{"stdin", Config{SpecPaths: []string{"-"}, Schedule: "@every 1m", Plan: plan}, "not stdin"},
		{"bad schedule", Config{SpecPaths: []string{"a.yaml"}, Schedule: "every minute", Plan: plan}, `parsing schedule "every minute"`},
		{"never fires", Config{SpecPaths: []string{"a.yaml"}, Schedule: "0 0 30 2 *", Plan: plan}, "never fires"},
		{"bad zone", Config{SpecPaths: []string{"a.yaml"}, Schedule: "CRON_TZ=Mars/Olympus 0 * * * *", Plan: plan}, "parsing schedule"},
		{"webhook format", Config{SpecPaths: []string{"a.yaml"}, Schedule: "@hourly", Plan: plan, WebhookURL: "https://h.example/x", WebhookFormat: "xml"}, "webhook format"},
		{"webhook scheme", Config{SpecPaths: []string{"a.yaml"}, Schedule: "@hourly", Plan: plan, WebhookURL: "ftp://h.example/SECRET"}, "http or https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks the webhook URL: %v", err)
			}
		})
	}
	if _, err := New(Config{SpecPaths: []string{"a.yaml"}, Schedule: "CRON_TZ=America/New_York */15 * * * *", Plan: plan}); err != nil {
		t.Errorf("CRON_TZ schedule: %v", err)
	}
}

func TestTimedOutRunsStillNotify(t *testing.T) {
	f := newFixture(t, true, func(c *Config) { c.RunTimeout = 30 * time.Millisecond })
	f.planner.block = make(chan struct{}) // every plan hangs until its deadline
	for range DefaultFailureThreshold {
		f.agent.runOnce(context.Background())
	}
	evs := f.hook.events(t)
	if len(evs) != 1 || evs[0].Kind != EventFailing || !strings.Contains(evs[0].Error, "deadline exceeded") {
		t.Fatalf("events = %+v, want one failing with the deadline", evs)
	}
}

// blockingOnly is inSync with an error-level finding and nothing to write:
// examples/multi-org applied, then u-hq-000 added to g-west-users under
// policy.exclusiveOrgs (issue 13).
func blockingOnly() *diff.Plan {
	p := inSync()
	p.Members = append(p.Members,
		diff.MemberChange{Org: "hq", Email: "alice.abbott@example.gov", Action: diff.ActionFlag, Reason: "entitled in hq, regional-west under policy.exclusiveOrgs"},
		diff.MemberChange{Org: "regional-west", Email: "alice.abbott@example.gov", Action: diff.ActionFlag, Reason: "entitled in hq, regional-west under policy.exclusiveOrgs"})
	p.Findings = []diff.Finding{{Severity: diff.SeverityError, Kind: diff.FindingExclusiveOrgs, Orgs: []string{"hq", "regional-west"},
		Subject: "alice.abbott@example.gov", Email: "alice.abbott@example.gov",
		Message: "alice.abbott@example.gov is entitled in 2 child orgs (hq, regional-west); policy.exclusiveOrgs allows one"}}
	return p
}

// A policy break with nothing to write is drift of kind policy: /status
// says drift, scimsync_drift_detected is 1, the webhook fires once, and
// auto-apply waits for a person.
func TestBlockingFindingIsDrift(t *testing.T) {
	f := newFixture(t, true, nil)
	a, ctx := f.agent, context.Background()
	for i := range 2 {
		f.planner.set(blockingOnly(), nil)
		a.runOnce(ctx)
		f.clock.Advance(time.Second)
		st := status(t, a.Handler())
		if st.LastRun == nil || st.LastRun.Result == ResultInSync {
			t.Fatalf("run %d: last run %+v, want drift", i, st.LastRun)
		}
		if st.Drift == nil || !*st.Drift {
			t.Errorf("run %d: /status drift = %v, want true", i, st.Drift)
		}
		if !strings.Contains(st.SummaryLine, "No changes to write; 1 blocking finding (exclusiveOrgs: hq, regional-west).") {
			t.Errorf("run %d: summary line %q", i, st.SummaryLine)
		}
	}
	if _, m := get(t, a.Handler(), "/metrics"); !strings.Contains(m, "scimsync_drift_detected 1") ||
		!strings.Contains(m, `scimsync_drift{kind="policy",org="hq"} 1`) {
		t.Errorf("/metrics:\n%s", grep(m, "scimsync_drift"))
	}
	if got := kinds(f.hook.events(t)); !cmp.Equal(got, []EventKind{EventDrift}) {
		t.Errorf("events %v, want one drift event", got)
	}
}
