package apply

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// failWriter fails the test on any write: what the guard must never let
// through.
type failWriter struct{ t *testing.T }

func (w failWriter) PatchOrganization(context.Context, string, string, []scim.PatchOp) (string, error) {
	w.t.Fatal("a write reached the server through a disarmed guard")
	return "", nil
}

type okWriter struct{ calls int }

func (w *okWriter) PatchOrganization(_ context.Context, _, version string, _ []scim.PatchOp) (string, error) {
	w.calls++
	return version + "+", nil
}

func TestGuardRefusesUntilArmed(t *testing.T) {
	g := NewGuard(failWriter{t})
	ops := []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}}
	_, err := g.PatchOrganization(context.Background(), "o1", `W/"1"`, ops)
	if !errors.Is(err, ErrNotConfirmed) {
		t.Fatalf("disarmed guard: err = %v, want ErrNotConfirmed", err)
	}

	w := &okWriter{}
	g = NewGuard(w)
	g.Arm()
	v, err := g.PatchOrganization(context.Background(), "o1", "v1", ops)
	if err != nil || v != "v1+" || w.calls != 1 {
		t.Errorf("armed guard: got (%q, %v) after %d calls, want (v1+, nil) after 1", v, err, w.calls)
	}
}

func TestDecodeJournal(t *testing.T) {
	good := `{"event":"begin","plan_hash":"h"}` + "\n" + `{"event":"step","plan_hash":"h","step":1,"status":"started"}` + "\n"
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr bool
	}{
		{"complete", good, 2, false},
		// A torn line is an entry of unknown outcome (issue 14, #6), at the
		// end or, once a later apply started a fresh line, in the middle.
		{"torn last line is an unknown step", good + `{"event":"step","pla`, 3, false},
		{"blank lines", "\n" + good + "\n\n", 2, false},
		{"torn middle line is an unknown step", `{"event":` + "\n" + good, 3, false},
		{"corrupt middle line", `{"event":"begin"}}` + "\n" + good, 0, true},
		{"not a journal", "hello\n" + good, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeJournal("j", strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Errorf("got %d entries, want %d", len(got), tt.want)
			}
		})
	}
}

func TestJournalState(t *testing.T) {
	e := func(plan string, step int, status, version string) JournalEntry {
		return JournalEntry{Event: EventStep, PlanHash: plan, Step: step, OrgID: "o" + strconv.Itoa(step), Status: status, Version: version}
	}
	entries := []JournalEntry{
		{Event: EventBegin, PlanHash: "p"},
		e("p", 1, StepStarted, ""), e("p", 1, StepDone, "v2"),
		e("p", 2, StepStarted, ""), e("p", 2, StepFailed, ""),
		e("other", 3, StepStarted, ""), e("other", 3, StepDone, "x"),
		{Event: EventBegin, PlanHash: "p"},
		e("p", 2, StepStarted, ""), e("p", 2, StepDone, "v9"),
		e("p", 3, StepStarted, ""),
		// Step 4 done, then tried again by a later run that died.
		e("p", 4, StepStarted, ""), e("p", 4, StepDone, "v5"),
		e("p", 4, StepStarted, ""),
		// Step 5 done, then tried again and failed.
		e("p", 5, StepDone, "v6"), e("p", 5, StepStarted, ""), e("p", 5, StepFailed, ""),
	}
	st := stateFor(entries, "p")
	want := journalState{
		Done:        map[int]doneStep{1: {OrgID: "o1", Version: "v2"}, 2: {OrgID: "o2", Version: "v9"}},
		Interrupted: map[int]doneStep{3: {OrgID: "o3"}, 4: {OrgID: "o4"}},
	}
	if d := cmp.Diff(want, st); d != "" {
		t.Errorf("stateFor (-want +got):\n%s", d)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	path := LockPath(dir, "https://scim.example.gov/v2")
	if path == LockPath(dir, "https://other.example.gov/v2") {
		t.Fatal("two targets share a lock path")
	}
	l, err := AcquireLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Stale != nil {
		t.Errorf("fresh lock reports a stale holder %v", *l.Stale)
	}
	b, _ := os.ReadFile(path)
	if h, ok := parseHolder(b); !ok || h.PID != os.Getpid() {
		t.Errorf("lock file holds %q, want our pid %d", b, os.Getpid())
	}

	_, err = AcquireLock(path)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Holder.PID != os.Getpid() {
		t.Fatalf("second acquire: err = %v, want a *LockedError naming pid %d", err, os.Getpid())
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("error %q does not name the holder's pid", err)
	}

	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("lock file still there after Release: %v", err)
	}
	l2, err := AcquireLock(path)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	l2.Release()
}

func TestLockStale(t *testing.T) {
	// A process that has exited: its PID is in a lock file nobody holds.
	cmd := exec.Command("true")
	if _, err := exec.LookPath("true"); err != nil {
		cmd = exec.Command(os.Args[0], "-test.run=^$")
	}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	host, _ := os.Hostname()
	path := filepath.Join(t.TempDir(), "x.lock")
	if err := os.WriteFile(path, []byte(strconv.Itoa(dead)+" "+host+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := AcquireLock(path)
	if err != nil {
		t.Fatalf("stale lock not taken over: %v", err)
	}
	defer l.Release()
	if l.Stale == nil || l.Stale.PID != dead {
		t.Errorf("Stale = %v, want pid %d", l.Stale, dead)
	}
	b, _ := os.ReadFile(path)
	if h, _ := parseHolder(b); h.PID != os.Getpid() {
		t.Errorf("lock file holds %q after take-over, want our pid", b)
	}
}

func TestOperator(t *testing.T) {
	tests := []struct {
		env               map[string]string
		wantName, wantSrc string
	}{
		{map[string]string{"USER": "alice"}, "alice", "USER"},
		{map[string]string{"USER": "runner", "GITHUB_ACTOR": "bob"}, "bob", "GITHUB_ACTOR"},
		{map[string]string{"USER": "gitlab-runner", "GITLAB_USER_LOGIN": "carol"}, "carol", "GITLAB_USER_LOGIN"},
		{map[string]string{}, "", ""},
	}
	for _, tt := range tests {
		name, src := Operator(func(k string) string { return tt.env[k] })
		if name != tt.wantName || src != tt.wantSrc {
			t.Errorf("Operator(%v) = %q, %q; want %q, %q", tt.env, name, src, tt.wantName, tt.wantSrc)
		}
	}
}

// recordingWriter passes writes on to w and records each one.
type recordingWriter struct {
	w    tenant.Writer
	sent []diff.Step
}

func (rw *recordingWriter) PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (string, error) {
	rw.sent = append(rw.sent, diff.Step{OrgID: id, Version: version, Ops: ops})
	return rw.w.PatchOrganization(ctx, id, version, ops)
}

// TestRunExecutesThePlanSteps: apply sends exactly the plan's steps, in
// their order, each with the plan's operations and the If-Match of the
// organization's previous step; it orders nothing itself (issue 13).
func TestRunExecutesThePlanSteps(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	if len(p.Steps) != 3 {
		t.Fatalf("fixture plan has %d steps, want 3", len(p.Steps))
	}
	rw := &recordingWriter{w: f.src}
	opts := f.opts()
	opts.Writer = rw
	if _, err := Run(context.Background(), p, opts); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(rw.sent) != len(p.Steps) {
		t.Fatalf("sent %d PATCHes for %d steps", len(rw.sent), len(p.Steps))
	}
	for i, st := range p.Steps {
		got := rw.sent[i]
		if got.OrgID != st.OrgID || got.Version != st.Version || diff.OpsHash(got.Ops) != st.OpsHash {
			t.Errorf("PATCH %d: %s If-Match %s ops %s; the plan's step %d is %s, %s, %s",
				i+1, got.OrgID, got.Version, diff.OpsHash(got.Ops), st.Num, st.OrgID, st.Version, st.OpsHash)
		}
	}
}

// removalPlan removes 6 of hq's 100 members and 1 of west's 10, as diff
// computes its findings under a policy of 1 removal and 1%.
func removalPlan() *diff.Plan {
	fig := func(n, of int) *diff.Figures {
		return &diff.Figures{Count: n, Of: of, Percent: 100 * float64(n) / float64(of), Limit: 1}
	}
	return &diff.Plan{Summary: diff.Summary{Remove: 7, Add: 1}, Findings: []diff.Finding{
		{Severity: diff.SeverityError, Kind: diff.FindingMaxRemovals, Override: diff.AllowRemovals(7), Figures: &diff.Figures{Count: 7, Limit: 1}},
		{Severity: diff.SeverityError, Kind: diff.FindingMaxRemovalPercent, Org: "hq", Override: diff.AllowRemovals(7), Figures: fig(6, 100)},
		{Severity: diff.SeverityError, Kind: diff.FindingMaxRemovalPercent, Org: "west", Override: diff.AllowRemovals(7), Figures: fig(1, 10)},
	}}
}

// The removal limits are diff's findings (diff.TestRemovalFindings); apply
// lifts them only with --allow-removals equal to the plan's count, and
// refuses any other count even within limits.
func TestGatesRemovalOverride(t *testing.T) {
	ip := func(n int) *int { return &n }
	tests := []struct {
		name     string
		p        *diff.Plan
		allow    *int
		wantOver []string // nil: no refusal
		wantMsg  string
	}{
		{"within limits", &diff.Plan{Summary: diff.Summary{Remove: 7}}, nil, nil, ""},
		{"over the limits", removalPlan(), nil,
			[]string{"7 removals in all, policy.maxRemovals is 1", "hq: 6 of 100 members (6%), policy.maxRemovalPercent is 1%", "west: 1 of 10 members (10%), policy.maxRemovalPercent is 1%"}, "too many removals"},
		{"approved with the exact count", removalPlan(), ip(7), nil, ""},
		{"approval with another count", removalPlan(), ip(6), []string{}, "--allow-removals=6 does not match the plan's 7 removals"},
		{"a wrong count is refused even within limits", &diff.Plan{Summary: diff.Summary{Remove: 7}}, ip(8), []string{}, "--allow-removals=8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := gates(tt.p, nil, tt.allow, false)
			if tt.wantOver == nil {
				if len(rs) != 0 {
					t.Fatalf("refused: %v", rs)
				}
				return
			}
			if len(rs) != 1 {
				t.Fatalf("refusals %v, want one", rs)
			}
			e, ok := rs[0].(*TooManyRemovalsError)
			if !ok {
				t.Fatalf("refusal %T", rs[0])
			}
			if !strings.Contains(e.Error(), tt.wantMsg) {
				t.Errorf("error %q lacks %q", e.Error(), tt.wantMsg)
			}
			if d := cmp.Diff(tt.wantOver, e.Over, cmpEmpty); d != "" {
				t.Errorf("Over (-want +got):\n%s", d)
			}
			if !e.Gate() {
				t.Error("removal limit is not a gate")
			}
		})
	}
}

var cmpEmpty = cmp.Transformer("empty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// A protected user's finding is lifted by no flag.
func TestGatesProtectedUser(t *testing.T) {
	p := &diff.Plan{Summary: diff.Summary{Remove: 1}, Findings: []diff.Finding{{Severity: diff.SeverityError, Kind: diff.FindingProtectedUser, Org: "west", Email: "w@x.gov"}}}
	rs := gates(p, nil, func(n int) *int { return &n }(1), true)
	if len(rs) != 1 {
		t.Fatalf("refusals %v", rs)
	}
	if e, ok := rs[0].(*ProtectedUserError); !ok || !cmp.Equal(e.Users, []string{"west: w@x.gov"}) {
		t.Fatalf("got %v, want a refusal naming west: w@x.gov", rs[0])
	}
}

func TestVerificationString(t *testing.T) {
	tests := []struct {
		v    Verification
		want string
	}{
		{Verification{Planned: Counts{Remove: 4, Change: 12}}, "verified: 4 removed, 12 changed, as planned"},
		{Verification{Planned: Counts{Add: 1}}, "verified: 1 added, as planned"},
		{Verification{}, "verified: members as planned"},
		{Verification{Differences: []string{"a", "b"}}, "verification failed: the server differs from the plan in 2 places"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestAppendAuditSyncsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	for i := range 2 {
		rec := AuditRecord{Time: time.Unix(int64(i), 0).UTC(), Operator: "alice", PlanHash: "h", Result: ResultApplied}
		if err := AppendAudit(path, rec); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"operator":"alice"`) {
		t.Errorf("audit log:\n%s", b)
	}
}

// The read-only refusal is a heading and one sentence that says why and what
// to do instead, without saying the same thing twice.
func TestReadOnlyDetail(t *testing.T) {
	for _, tn := range []*tenant.Tenant{{Kind: tenant.KindMembersExport, ReadOnly: true}, {ReadOnly: true}} {
		e := &ReadOnlyError{Reason: readOnlyReason("", tn)}
		d := e.Detail()
		if strings.Count(d, ".") != 1 || !strings.HasSuffix(d, ".") {
			t.Errorf("detail %q: want one sentence", d)
		}
		if n := strings.Count(d, "organization configuration"); n > 1 {
			t.Errorf("detail %q says organization configuration %d times", d, n)
		}
		for _, w := range []string{"because " + e.Reason + ";", "admin console", "organization extension"} {
			if !strings.Contains(d, w) {
				t.Errorf("detail %q lacks %q", d, w)
			}
		}
	}
}
