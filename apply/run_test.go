package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

var testNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// baseSpec moves the fixture tenant from staged to full, adds an owner
// mapping to hq and buys west more seats: three steps (hq, west, then the
// mode switch), two JIT members of hq removed, one owner added.
const baseSpec = `version: 1
target: {file: tenant.json}
parent:
  name: agency
  loginDomains: [x.gov]
  seatTiers: [standard, premium]
  mode: full
organizations:
  - name: hq
    seats: {standard: 100, premium: 10}
    mappings:
      - {group: users, role: member, seatTier: standard}
      - {group: admins, role: owner, seatTier: premium}
  - name: west
    seats: {standard: 60}
    mappings:
      - {group: west, role: member, seatTier: standard}
policy:
  maxRemovals: 5
  maxRemovalPercent: 50
  ownerGroups: [admins]
  protectedUsers: [breakglass@x.gov]
`

func user(id string) scim.User {
	return scim.User{ID: id, UserName: id + "@x.gov", Active: true, Emails: []scim.Email{{Value: id + "@x.gov", Primary: true}}}
}

func group(id, name string, users ...string) scim.Group {
	g := scim.Group{ID: id, DisplayName: name}
	for _, u := range users {
		g.Members = append(g.Members, scim.GroupMember{Value: u, Type: "User"})
	}
	return g
}

// fixtureSnapshot is a staged tenant: hq maps users (u01…u10), west maps
// west (w1…w3); hq also has the JIT members j1 and j2. edits change it
// before the server semantics settle its members.
func fixtureSnapshot(t *testing.T, edits ...func(*tenant.Snapshot)) *tenant.Snapshot {
	t.Helper()
	s := &tenant.Snapshot{
		Organizations: []scim.Organization{
			{ID: "p1", Name: "agency", Mode: "staged", LoginDomains: []string{"x.gov"}, SeatTiers: []string{"standard", "premium"}, Meta: scim.Meta{Version: `W/"1"`}},
			{ID: "o-hq", Name: "hq", Parent: "p1", Mappings: []scim.Mapping{{Group: "g-users", Role: "member", SeatTier: "standard"}},
				Seats: map[string]int{"standard": 100, "premium": 10}, Meta: scim.Meta{Version: `W/"1"`}},
			{ID: "o-west", Name: "west", Parent: "p1", Mappings: []scim.Mapping{{Group: "g-west", Role: "member", SeatTier: "standard"}},
				Seats: map[string]int{"standard": 50}, Meta: scim.Meta{Version: `W/"1"`}},
		},
	}
	var hq []string
	for i := 1; i <= 10; i++ {
		id := fmt.Sprintf("u%02d", i)
		hq = append(hq, id)
		s.Users = append(s.Users, user(id))
	}
	for _, id := range []string{"w1", "w2", "w3", "a1"} {
		s.Users = append(s.Users, user(id))
	}
	s.Groups = []scim.Group{
		group("g-users", "users", hq...),
		group("g-west", "west", "w1", "w2", "w3"),
		group("g-admins", "admins", "a1"),
		group("g-empty", "empty"),
	}
	for _, e := range []string{"j1", "j2"} {
		addJIT(s, e)
	}
	for _, edit := range edits {
		edit(s)
	}
	if _, err := tenant.Recompute(s, testNow); err != nil {
		t.Fatal(err)
	}
	return s
}

func addJIT(s *tenant.Snapshot, name string) {
	s.Members = append(s.Members, scim.Member{ID: "m-" + name, Organization: "o-hq", Email: name + "@x.gov", Role: "member", SeatTier: "standard", Origin: "jit"})
}

type fixture struct {
	t        *testing.T
	dir      string
	snapPath string
	src      *tenant.SnapshotSource
	spec     *spec.Spec
	planPath string
}

func newFixture(t *testing.T, specYAML string, snap *tenant.Snapshot) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, snapPath: filepath.Join(dir, "tenant.json"), planPath: filepath.Join(dir, "plan.json")}
	if err := tenant.WriteSnapshot(f.snapPath, snap); err != nil {
		t.Fatal(err)
	}
	f.src = &tenant.SnapshotSource{Path: f.snapPath, Now: func() time.Time { return testNow }}
	f.setSpec(specYAML)
	return f
}

func (f *fixture) setSpec(specYAML string) {
	f.t.Helper()
	s, diags, err := spec.LoadBytesWith(spec.LoadOptions{Now: testNow}, "scimsync.yaml", []byte(specYAML))
	if err != nil || diags.HasErrors() {
		f.t.Fatalf("loading spec: %v %v", err, diags)
	}
	f.spec = s
}

// plan computes a plan from the tenant as it is, saves it and reads it
// back, as `scimsync plan -o` and `scimsync apply` do.
func (f *fixture) plan() *diff.Plan {
	f.t.Helper()
	tn, err := f.src.Read(context.Background(), tenant.ReadRequest{})
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := diff.Compute(f.spec, tn, testNow)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := diff.WritePlanFile(f.planPath, p); err != nil {
		f.t.Fatal(err)
	}
	saved, err := diff.ReadPlanFile(f.planPath)
	if err != nil {
		f.t.Fatal(err)
	}
	return saved
}

func (f *fixture) opts() Options {
	return Options{
		Source:    f.src,
		Writer:    f.src,
		Spec:      f.spec,
		SpecHash:  f.spec.Hash(),
		Confirmed: true,
		Journal:   f.planPath + ".journal",
		AuditLog:  filepath.Join(f.dir, "audit.jsonl"),
		LockPath:  LockPath(f.dir, f.snapPath),
		Target:    f.snapPath,
		Operator:  "tester", OperatorSource: "USER",
		Now: func() time.Time { return testNow },
	}
}

func (f *fixture) snapshotBytes() []byte {
	f.t.Helper()
	b, err := os.ReadFile(f.snapPath)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// converged checks that a fresh plan has nothing left to do.
func (f *fixture) converged() {
	f.t.Helper()
	if p := f.plan(); p.HasChanges() {
		f.t.Errorf("a fresh plan still has changes: %+v %+v", p.ConfigChanges, p.Summary)
	}
}

// audit is the audit log's result records (one per run), without the
// started records written before a run's first write (auditAll has them).
func (f *fixture) audit() []AuditRecord {
	f.t.Helper()
	var out []AuditRecord
	for _, r := range f.auditAll() {
		if r.Result != ResultStarted {
			out = append(out, r)
		}
	}
	return out
}

func (f *fixture) auditAll() []AuditRecord {
	f.t.Helper()
	b, err := os.ReadFile(f.opts().AuditLog)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []AuditRecord
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			f.t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func statuses(rep *Report) string {
	var s []string
	for _, st := range rep.Steps {
		s = append(s, fmt.Sprintf("%s:%s", st.Org, st.Status))
	}
	return strings.Join(s, " ")
}

func TestRunAppliesVerifiesAndConverges(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	if p.Summary.Remove != 2 || p.Summary.Add != 1 {
		t.Fatalf("fixture plan: %+v, want 2 removals and 1 addition", p.Summary)
	}
	rep, err := Run(context.Background(), p, f.opts())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got, want := statuses(rep), "hq:done west:done agency:done"; got != want {
		t.Errorf("steps %q, want %q (children before the switch to full)", got, want)
	}
	if rep.Result != ResultApplied || rep.Verification == nil || !rep.Verification.OK() {
		t.Fatalf("result %q, verification %+v", rep.Result, rep.Verification)
	}
	if got, want := rep.Verification.String(), "verified: 1 added, 2 removed, as planned"; got != want {
		t.Errorf("verification %q, want %q", got, want)
	}
	// If-Match: the plan's version for each org's first write.
	for _, st := range rep.Steps {
		if st.IfMatch != `W/"1"` || st.Version != `W/"2"` {
			t.Errorf("step %d: If-Match %s → %s, want W/\"1\" → W/\"2\"", st.Step, st.IfMatch, st.Version)
		}
	}
	f.converged()

	// The journal: begin, started/done per step, end.
	entries, err := ReadJournal(f.opts().Journal)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.PlanHash != p.PlanHash {
			t.Errorf("journal entry for plan %q, want %q", e.PlanHash, p.PlanHash)
		}
		got = append(got, strings.TrimSpace(fmt.Sprintf("%s %d %s %s %s", e.Event, e.Step, e.Org, e.Status, e.Result)))
	}
	want := []string{
		"begin 0",
		"step 1 hq started", "step 1 hq done",
		"step 2 west started", "step 2 west done",
		"step 3 agency started", "step 3 agency done",
		"end 0   applied",
	}
	if !slices.Equal(got, want) {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if entries[2].Version != `W/"2"` || entries[2].IfMatch != `W/"1"` || entries[2].OpsHash == "" {
		t.Errorf("done entry lacks versions or ops hash: %+v", entries[2])
	}

	// The audit log: one record.
	recs := f.audit()
	if len(recs) != 1 {
		t.Fatalf("%d audit records, want 1", len(recs))
	}
	r := recs[0]
	if r.Operator != "tester" || r.PlanHash != p.PlanHash || r.SpecHash != f.spec.Hash() || r.Result != ResultApplied ||
		len(r.Steps) != 3 || r.Planned != (Counts{Add: 1, Remove: 2}) || !r.Time.Equal(testNow) || r.Target != f.snapPath {
		t.Errorf("audit record %+v", r)
	}
	if _, err := os.Stat(f.opts().LockPath); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
	// Before it, the started record (issue 14, #9).
	if all := f.auditAll(); len(all) != 2 || all[0].Result != ResultStarted || all[0].PlanHash != p.PlanHash ||
		all[0].Operator != "tester" || all[0].Target != f.snapPath || all[1].Result != ResultApplied {
		t.Errorf("audit log %+v, want a started record, then the result", all)
	}

	// Applying the same plan again finds every step done: a no-op that
	// still verifies.
	rep, err = Run(context.Background(), p, f.opts())
	if err != nil || statuses(rep) != "hq:skipped west:skipped agency:skipped" || !rep.Verification.OK() {
		t.Errorf("second run: %v, %s", err, statuses(rep))
	}
}

func TestRunUnconfirmedWritesNothing(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	before := f.snapshotBytes()
	o := f.opts()
	o.Confirmed = false
	o.Writer = failWriter{t}
	rep, err := Run(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(rep), "hq:dry-run west:dry-run agency:dry-run"; got != want || rep.Result != ResultDryRun {
		t.Errorf("steps %q (%s), want %q (dry-run)", got, rep.Result, want)
	}
	if !bytes.Equal(before, f.snapshotBytes()) {
		t.Error("an unconfirmed apply changed the tenant")
	}
	if _, err := os.Stat(o.Journal); !os.IsNotExist(err) {
		t.Errorf("an unconfirmed apply wrote a journal: %v", err)
	}
}

func TestPreconditionsRefuse(t *testing.T) {
	ip := func(n int) *int { return &n }
	tests := []struct {
		name string
		// setup may change the fixture and the options after planning.
		spec     string
		edit     func(*tenant.Snapshot)
		setup    func(f *fixture, o *Options)
		wantType any
		wantText string
		gate     bool
	}{
		{name: "stale plan", spec: baseSpec, setup: func(f *fixture, o *Options) {
			snap, _ := tenant.ReadSnapshot(f.snapPath)
			snap.Users[3].Active = false
			tenant.WriteSnapshot(f.snapPath, snap)
		}, wantType: &StaleError{}, wantText: "saved plan is stale: the tenant changed since the plan was computed (users)"},
		{name: "spec changed", spec: baseSpec, setup: func(f *fixture, o *Options) {
			f.setSpec(strings.Replace(baseSpec, "standard: 60", "standard: 70", 1))
			o.SpecHash = f.spec.Hash()
		}, wantType: &SpecChangedError{}, wantText: "spec changed since the plan"},
		{name: "too many removals", spec: strings.Replace(baseSpec, "maxRemovals: 5", "maxRemovals: 1", 1),
			wantType: &TooManyRemovalsError{}, wantText: "too many removals: the plan removes 2 members (2 removals in all, policy.maxRemovals is 1)", gate: true},
		{name: "too large a share of one org", spec: strings.Replace(baseSpec, "maxRemovalPercent: 50", "maxRemovalPercent: 10", 1),
			wantType: &TooManyRemovalsError{}, wantText: "hq: 2 of 12 members (16.7%), policy.maxRemovalPercent is 10%", gate: true},
		{name: "approval that does not match", spec: baseSpec, setup: func(f *fixture, o *Options) { o.AllowRemovals = ip(3) },
			wantType: &TooManyRemovalsError{}, wantText: "--allow-removals=3 does not match the plan's 2 removals", gate: true},
		{name: "protected user, even approved", spec: baseSpec, edit: func(s *tenant.Snapshot) { addJIT(s, "breakglass") },
			setup:    func(f *fixture, o *Options) { o.AllowRemovals = ip(3) },
			wantType: &ProtectedUserError{}, wantText: "protected user in the removal set: hq: breakglass@x.gov", gate: true},
		{name: "empty mapped group", spec: strings.Replace(baseSpec, "{group: west, role", "{group: empty, role", 1),
			setup:    func(f *fixture, o *Options) { o.AllowRemovals = ip(5) },
			wantType: &EmptyGroupError{}, wantText: "mapped group empty or shrunk: empty: 0 users", gate: true},
		{name: "seat overcommit", spec: strings.Replace(baseSpec, "standard: 100", "standard: 5", 1),
			wantType: &SeatOvercommitError{}, wantText: "seat overcommit: hq standard: 10 entitled, 5 purchased"},
		{name: "user entitled in two orgs under exclusiveOrgs", spec: baseSpec + "  exclusiveOrgs: true\n",
			edit: func(s *tenant.Snapshot) {
				s.Groups[0].Members = append(s.Groups[0].Members, scim.GroupMember{Value: "w1", Type: "User"})
			},
			wantType: &PolicyError{}, wantText: "plan breaks policy: w1@x.gov is entitled in 2 child orgs (hq, west)", gate: true},
		{name: "read-only target", spec: baseSpec, setup: func(f *fixture, o *Options) { o.Writer = nil },
			wantType: &ReadOnlyError{}, wantText: "target is read-only: the target offers no way to write organizations"},
		{name: "members export", spec: baseSpec, setup: func(f *fixture, o *Options) { o.Source = membersExport{f.src} },
			wantType: &ReadOnlyError{}, wantText: "target is read-only: the target is a members export"},
	}
	summaries := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edits []func(*tenant.Snapshot)
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			f := newFixture(t, tt.spec, fixtureSnapshot(t, edits...))
			p := f.plan()
			o := f.opts()
			if tt.setup != nil {
				tt.setup(f, &o)
			}
			before := f.snapshotBytes()
			if o.Writer != nil {
				o.Writer = failWriter{t}
			}
			rep, err := Run(context.Background(), p, o)
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("err = %v, want a *RefusedError", err)
			}
			if len(refused.Refusals) != 1 {
				t.Fatalf("refusals %v, want exactly one", refused.Refusals)
			}
			r := refused.Refusals[0]
			if fmt.Sprintf("%T", r) != fmt.Sprintf("%T", tt.wantType) {
				t.Fatalf("refusal %T (%v), want %T", r, r, tt.wantType)
			}
			if !strings.Contains(r.Error(), tt.wantText) {
				t.Errorf("message %q lacks %q", r.Error(), tt.wantText)
			}
			if r.Gate() != tt.gate || refused.Gate() != tt.gate {
				t.Errorf("Gate() = %v, want %v", r.Gate(), tt.gate)
			}
			if r.Summary() == "" || !strings.HasSuffix(strings.SplitN(r.Detail(), "\n", 2)[0], ".") {
				t.Errorf("summary %q / detail %q: want a heading and full sentences", r.Summary(), r.Detail())
			}
			if prev, dup := summaries[r.Summary()]; dup && prev != fmt.Sprintf("%T", r) {
				t.Errorf("summary %q shared with %s", r.Summary(), prev)
			}
			summaries[r.Summary()] = fmt.Sprintf("%T", r)
			if rep.Result != ResultRefused || !strings.Contains(statuses(rep), "pending") {
				t.Errorf("result %q, steps %s", rep.Result, statuses(rep))
			}
			if !bytes.Equal(before, f.snapshotBytes()) {
				t.Error("the tenant changed")
			}
			if _, err := os.Stat(o.Journal); !os.IsNotExist(err) {
				t.Errorf("a refused apply wrote a journal: %v", err)
			}
			recs := f.audit()
			if len(recs) != 1 || recs[0].Result != ResultRefused || !slices.Contains(recs[0].Refusals, r.Summary()) {
				t.Errorf("audit %+v", recs)
			}
		})
	}
}

func TestStaleNamesWhatChanged(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	// An administrator edits west out of band.
	if _, err := f.src.PatchOrganization(context.Background(), "o-west", `W/"1"`, []scim.PatchOp{{Op: "replace", Path: "seats", Value: map[string]int{"standard": 55}}}); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), p, f.opts())
	var stale *StaleError
	if !errors.As(err, &stale) {
		t.Fatalf("err = %v, want stale", err)
	}
	want := []string{`organization west (version W/"2", planned W/"1")`}
	if !slices.Equal(stale.Changed, want) {
		t.Errorf("Changed = %q, want %q", stale.Changed, want)
	}
	if !strings.Contains(stale.Detail(), "Saved plan is stale") && stale.Summary() != "Saved plan is stale" {
		t.Errorf("summary %q", stale.Summary())
	}
}

func TestAllowancesLetThePlanThrough(t *testing.T) {
	spec := strings.Replace(baseSpec, "maxRemovals: 5", "maxRemovals: 1", 1)
	spec = strings.Replace(spec, "{group: west, role", "{group: empty, role", 1)
	f := newFixture(t, spec, fixtureSnapshot(t))
	p := f.plan()
	n := p.Summary.Remove
	o := f.opts()
	o.AllowRemovals = &n
	o.AllowEmptyGroups = true
	if _, err := Run(context.Background(), p, o); err != nil {
		t.Fatalf("approved apply: %v", err)
	}
	f.converged()
}

// faultWriter passes writes to w, except the failAt-th (1-based), which
// gets err; with landed, that write reaches w first (a reply lost after the
// server applied it).
type faultWriter struct {
	w      tenant.Writer
	failAt int
	err    error
	landed bool
	n      int
}

func (fw *faultWriter) PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (string, error) {
	fw.n++
	if fw.n == fw.failAt {
		if fw.landed {
			fw.w.PatchOrganization(ctx, id, version, ops)
		}
		return "", fw.err
	}
	return fw.w.PatchOrganization(ctx, id, version, ops)
}

func TestResumeAfterFailureConverges(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	o := f.opts()
	unavailable := &scim.Error{Method: "PATCH", URL: "/Organizations/o-west", Status: 503, Detail: "try later"}
	o.Writer = &faultWriter{w: f.src, failAt: 2, err: unavailable}
	rep, err := Run(context.Background(), p, o)
	var werr *WriteError
	if !errors.As(err, &werr) || werr.Step.Step != 2 || !errors.Is(err, unavailable) {
		t.Fatalf("err = %v, want a *WriteError at step 2 wrapping the 503", err)
	}
	if got, want := statuses(rep), "hq:done west:failed agency:not-run"; got != want || rep.Result != ResultFailed {
		t.Errorf("steps %q (%s), want %q (failed)", got, rep.Result, want)
	}
	snap, _ := tenant.ReadSnapshot(f.snapPath)
	for _, org := range snap.Organizations {
		if want := map[string]string{"p1": "staged", "o-hq": "", "o-west": ""}[org.ID]; org.Mode != want {
			t.Errorf("%s mode %q after the failure, want %q: the switch to full ran", org.ID, org.Mode, want)
		}
	}

	// The rerun skips hq and converges.
	rep, err = Run(context.Background(), p, f.opts())
	if err != nil {
		t.Fatalf("resumed run: %v", err)
	}
	if got, want := statuses(rep), "hq:skipped west:done agency:done"; got != want || !rep.Resumed {
		t.Errorf("resumed steps %q (resumed %v), want %q", got, rep.Resumed, want)
	}
	if st := rep.Steps[0]; st.IfMatch != `W/"1"` || st.Version != `W/"2"` {
		t.Errorf("skipped step shows %s → %s, want the journal's W/\"1\" → W/\"2\"", st.IfMatch, st.Version)
	}
	if !rep.Verification.OK() {
		t.Errorf("resumed run not verified: %v", rep.Verification.Differences)
	}
	f.converged()
	recs := f.audit()
	if len(recs) != 2 || recs[0].Result != ResultFailed || !strings.Contains(recs[0].Error, "503") || recs[1].Result != ResultApplied {
		t.Errorf("audit records %+v", recs)
	}
}

func TestResumeRefusesAWriteOfUnknownOutcome(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	o := f.opts()
	// Step 2's write lands, but its reply is lost.
	o.Writer = &faultWriter{w: f.src, failAt: 2, err: errors.New("connection reset"), landed: true}
	if _, err := Run(context.Background(), p, o); err == nil {
		t.Fatal("no error")
	}
	_, err := Run(context.Background(), p, f.opts())
	var stale *StaleError
	if !errors.As(err, &stale) {
		t.Fatalf("err = %v, want stale: west changed in a way the journal cannot account for", err)
	}
	if !slices.ContainsFunc(stale.Changed, func(s string) bool { return strings.HasPrefix(s, "organization west") }) {
		t.Errorf("Changed = %q, want west named", stale.Changed)
	}
}

func TestResumeRefusesOutOfBandChanges(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	o := f.opts()
	o.Writer = &faultWriter{w: f.src, failAt: 2, err: errors.New("boom")}
	Run(context.Background(), p, o)
	// Meanwhile a user leaves the IdP.
	snap, _ := tenant.ReadSnapshot(f.snapPath)
	snap.Users[0].Active = false
	tenant.WriteSnapshot(f.snapPath, snap)
	_, err := Run(context.Background(), p, f.opts())
	var stale *StaleError
	if !errors.As(err, &stale) || !slices.Contains(stale.Changed, "users") {
		t.Fatalf("err = %v, want stale naming users", err)
	}
}

// gateWriter holds each apply's first write until both applies reach it, so
// that both have passed their preconditions before either writes.
type gateWriter struct {
	w     tenant.Writer
	ready *sync.WaitGroup
	once  sync.Once
}

func (g *gateWriter) PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (string, error) {
	g.once.Do(func() { g.ready.Done(); g.ready.Wait() })
	return g.w.PatchOrganization(ctx, id, version, ops)
}

// raceTwoApplies runs p twice at once, as from two machines (separate
// journals, audit logs and locks in dir), each through w held at a gate
// until both are about to write, and checks the outcome: one applies and
// verifies, the other gets a 412 at its first write and writes nothing.
func raceTwoApplies(t *testing.T, p *diff.Plan, dir string, opts func() Options, w tenant.Writer) {
	t.Helper()
	var ready sync.WaitGroup
	ready.Add(2)
	reps := make([]*Report, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		o := opts()
		o.Journal = filepath.Join(dir, fmt.Sprintf("m%d.journal", i))
		o.AuditLog = filepath.Join(dir, fmt.Sprintf("m%d.audit", i))
		o.LockPath = filepath.Join(dir, fmt.Sprintf("m%d.lock", i))
		o.Writer = &gateWriter{w: w, ready: &ready}
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = Run(context.Background(), p, o)
		}()
	}
	wg.Wait()
	winner, loser := 0, 1
	if errs[0] != nil {
		winner, loser = 1, 0
	}
	if errs[winner] != nil || !errors.Is(errs[loser], scim.ErrPrecondition) {
		t.Fatalf("errors %v / %v: want one success and one 412", errs[winner], errs[loser])
	}
	if got, want := statuses(reps[loser]), "hq:failed west:not-run agency:not-run"; got != want {
		t.Errorf("loser's steps %q, want %q: nothing written", got, want)
	}
	if got, want := statuses(reps[winner]), "hq:done west:done agency:done"; got != want || !reps[winner].Verification.OK() {
		t.Errorf("winner's steps %q, want %q, verified (%v)", got, want, reps[winner].Verification.Differences)
	}
}

func TestConcurrentAppliesFromTwoMachines(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	raceTwoApplies(t, f.plan(), f.dir, f.opts, f.src)
	f.converged()
}

func TestConcurrentAppliesOnOneMachine(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	held, err := AcquireLock(f.opts().LockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	before := f.snapshotBytes()
	o := f.opts()
	o.Writer = failWriter{t}
	_, err = Run(context.Background(), p, o)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Holder.PID != os.Getpid() {
		t.Fatalf("err = %v, want the lock held by pid %d", err, os.Getpid())
	}
	if !bytes.Equal(before, f.snapshotBytes()) {
		t.Error("the tenant changed")
	}
}

func TestVerifyNamesTheDifferences(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	// A server that answers 200 but ignores the mode switch.
	o := f.opts()
	o.Writer = ignoreParent{f.src}
	rep, err := Run(context.Background(), p, o)
	var verr *VerifyError
	if !errors.As(err, &verr) || rep.Result != ResultMismatch {
		t.Fatalf("err = %v (%s), want a *VerifyError", err, rep.Result)
	}
	want := []string{
		// The configuration first (issue 14, #8): the mode it ignored.
		"agency: mode: planned full, is staged",
		"hq: j1@x.gov: planned removal, still a member (member/standard)",
		"hq: j2@x.gov: planned removal, still a member (member/standard)",
	}
	if !slices.Equal(verr.Verification.Differences, want) {
		t.Errorf("differences:\n%s\nwant:\n%s", strings.Join(verr.Verification.Differences, "\n"), strings.Join(want, "\n"))
	}
}

// ignoreParent accepts writes to the parent without applying them.
type ignoreParent struct{ w tenant.Writer }

func (ip ignoreParent) PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (string, error) {
	if id == "p1" {
		return tenant.NextVersion(version), nil
	}
	return ip.w.PatchOrganization(ctx, id, version, ops)
}

// membersExport reads like the members-export source: read-only.
type membersExport struct{ src tenant.Source }

func (m membersExport) Read(ctx context.Context, req tenant.ReadRequest) (*tenant.Tenant, error) {
	t, err := m.src.Read(ctx, req)
	if err == nil {
		t.Kind, t.ReadOnly = tenant.KindMembersExport, true
	}
	return t, err
}

// lockThief removes the lock file while the apply holds it, as a careless
// operator might.
type lockThief struct {
	tenant.Source
	path string
}

func (l lockThief) Read(ctx context.Context, req tenant.ReadRequest) (*tenant.Tenant, error) {
	os.Remove(l.path)
	return l.Source.Read(ctx, req)
}

func TestRunReportsALockRemovedUnderIt(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	o := f.opts()
	o.Source = lockThief{f.src, o.LockPath}
	rep, err := Run(context.Background(), p, o)
	if err == nil || !strings.Contains(err.Error(), "releasing lock") {
		t.Fatalf("err = %v, want the lost lock reported", err)
	}
	if rep.Result != ResultApplied {
		t.Errorf("result %q: the apply itself went through", rep.Result)
	}
}

// A saved plan edited and re-hashed (issue 14 #4) applies nothing: apply
// computes the plan again from the spec and the tenant, at the plan's own
// instant, and refuses any difference before the first write.
func TestRunRefusesAForgedPlan(t *testing.T) {
	forge := map[string]func(p *diff.Plan){
		"seats 5000": func(p *diff.Plan) {
			for i := range p.Writes {
				for j, op := range p.Writes[i].Ops {
					if op.Path == "seats" {
						p.Writes[i].Ops[j].Value = map[string]any{"standard": 5000}
					}
				}
			}
			// The steps too, as apply executes them (issue 13): a file
			// whose steps are not its writes is refused when read.
			for i := range p.Steps {
				for j, op := range p.Steps[i].Ops {
					if op.Path == "seats" {
						p.Steps[i].Ops[j].Value = map[string]any{"standard": 5000}
					}
				}
				p.Steps[i].OpsHash = diff.OpsHash(p.Steps[i].Ops)
			}
		},
		"the switch to full run first": func(p *diff.Plan) {
			// Steps in the order of a plan that leaves full, with the mode
			// it would come from: consistent, and not what the spec plans.
			var mode diff.Step
			var rest []diff.Step
			for _, st := range p.Steps {
				if st.Parent {
					mode = st
				} else {
					rest = append(rest, st)
				}
			}
			mode.Order, mode.Why = diff.OrderModeFirst, diff.OrderModeFirst.Why()
			p.Steps = append([]diff.Step{mode}, rest...)
			for i := range p.Steps {
				p.Steps[i].Num = i + 1
			}
			p.Mode.Before = "full"
		},
		// Announced in every rendering of the plan (DESIGN §5), so part of
		// what the spec decides (helper review, 2026-12-07).
		"an exception about to lapse made up": func(p *diff.Plan) {
			p.Expiring = append(p.Expiring, diff.Expiring{Org: "hq", Email: "ceo@x.gov", Until: "2026-11-02", DaysLeft: 1, Reason: "forged"})
		},
		"a prediction changed": func(p *diff.Plan) {
			p.Predicted[0].Members++
		},
	}
	for name, edit := range forge {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, baseSpec, fixtureSnapshot(t))
			p := f.plan()
			edit(p)
			// Re-hash, as a forger with the file would.
			p.PlanHash = ""
			data, err := diff.MarshalPlanFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if p, err = diff.UnmarshalPlanFile(data); err != nil {
				t.Fatal(err)
			}
			before := f.snapshotBytes()
			o := f.opts()
			o.AllowRemovals = &p.Summary.Remove
			_, err = Run(context.Background(), p, o)
			var forged *ForgedPlanError
			if !errors.As(err, &forged) {
				t.Fatalf("err = %v, want a ForgedPlanError", err)
			}
			if !bytes.Equal(before, f.snapshotBytes()) {
				t.Error("a forged plan changed the tenant")
			}
		})
	}
}

// A plan made the day an exception ends, applied the day after it lapsed,
// would remove the member the exception kept, which the plan does not say
// (helper review, 2026-12-07): the spec is planned again on the apply's
// date, and a plan it contradicts is stale.
func TestRunRefusesAPlanAnExceptionLapsedUnder(t *testing.T) {
	specYAML := strings.Replace(baseSpec, "  protectedUsers: [breakglass@x.gov]\n",
		"  protectedUsers: [breakglass@x.gov]\n  exceptions:\n    - {email: j1@x.gov, org: hq, until: 2026-11-01, reason: contractor}\n", 1)
	f := newFixture(t, specYAML, fixtureSnapshot(t))
	p := f.plan()
	before := f.snapshotBytes()
	o := f.opts()
	o.AllowRemovals = &p.Summary.Remove
	o.Now = func() time.Time { return testNow.Add(24 * time.Hour) }
	_, err := Run(context.Background(), p, o)
	var stale *StaleError
	if !errors.As(err, &stale) {
		t.Fatalf("err = %v, want a StaleError", err)
	}
	if !strings.Contains(err.Error(), "planned on 2026-11-01, applied on 2026-11-02") {
		t.Errorf("err = %v, want it to name both dates", err)
	}
	if !bytes.Equal(before, f.snapshotBytes()) {
		t.Error("the refused plan wrote to the tenant")
	}
	// The same plan the same day applies.
	o.Now = func() time.Time { return testNow.Add(time.Hour) }
	if _, err := Run(context.Background(), p, o); err != nil {
		t.Fatalf("the same day: %v", err)
	}
}

// rehash re-hashes an edited plan, as a forger with the file would.
func rehash(t *testing.T, p *diff.Plan) *diff.Plan {
	t.Helper()
	p.PlanHash = ""
	data, err := diff.MarshalPlanFile(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := diff.UnmarshalPlanFile(data)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// emptyMappings makes the plan's first step on a child org after step 1,
// and its write, empty that org's mappings: a forged step that removes
// everyone the org maps.
func emptyMappings(p *diff.Plan) {
	i := slices.IndexFunc(p.Steps, func(s diff.Step) bool { return !s.Parent && s.Num > 1 })
	if i < 0 {
		panic("no child step after the first")
	}
	last := &p.Steps[i]
	last.Ops = []scim.PatchOp{{Op: "replace", Path: "mappings", Value: []any{}}}
	last.OpsHash = diff.OpsHash(last.Ops)
	for i := range p.Writes {
		if p.Writes[i].OrgID == last.OrgID {
			p.Writes[i].Ops = last.Ops
		}
	}
}

// A plan file and its journal edited together (helper review, 2026-12-07):
// the journal claims a step done, so that the apply resumes, where it used
// to skip planning the spec again, and the steps left write what the spec
// does not ask for.
func TestResumeRefusesAForgedPlanAndJournal(t *testing.T) {
	t.Run("a genuine first step, a forged rest", func(t *testing.T) {
		f := newFixture(t, baseSpec, fixtureSnapshot(t))
		p := f.plan()
		if len(p.Steps) < 2 {
			t.Fatalf("the fixture's plan has %d steps, want at least 2", len(p.Steps))
		}
		o := f.opts()
		o.AllowRemovals = &p.Summary.Remove
		o.Writer = &faultWriter{w: f.src, failAt: 2, err: errors.New("boom")}
		if _, err := Run(context.Background(), p, o); err == nil {
			t.Fatal("the first apply did not fail at step 2")
		}
		journal, err := os.ReadFile(o.Journal)
		if err != nil {
			t.Fatal(err)
		}
		old := p.PlanHash
		emptyMappings(p)
		p = rehash(t, p)
		if err := os.WriteFile(o.Journal, bytes.ReplaceAll(journal, []byte(old), []byte(p.PlanHash)), 0o600); err != nil {
			t.Fatal(err)
		}
		before := f.snapshotBytes()
		o = f.opts()
		o.AllowRemovals = &p.Summary.Remove
		_, err = Run(context.Background(), p, o)
		var forged *ForgedPlanError
		if !errors.As(err, &forged) || !strings.Contains(err.Error(), "steps:") {
			t.Fatalf("err = %v, want a ForgedPlanError naming the steps", err)
		}
		if !bytes.Equal(before, f.snapshotBytes()) {
			t.Error("the forged plan wrote to the tenant")
		}
	})
	t.Run("a step claimed done that moved no version", func(t *testing.T) {
		f := newFixture(t, baseSpec, fixtureSnapshot(t))
		p := f.plan()
		emptyMappings(p)
		p.Fingerprint.Hash = strings.Repeat("0", 64) // not the tenant's: a resume
		p = rehash(t, p)
		s := p.Steps[0]
		line, _ := json.Marshal(map[string]any{"time": testNow, "event": "step", "plan_hash": p.PlanHash, "step": s.Num,
			"org_id": s.OrgID, "org": s.Org, "ops_hash": s.OpsHash, "status": "done", "if_match": s.Version, "version": s.Version})
		o := f.opts()
		o.AllowRemovals = &p.Summary.Remove
		if err := os.WriteFile(o.Journal, append(line, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
		before := f.snapshotBytes()
		_, err := Run(context.Background(), p, o)
		// The entry is no account of a write: the apply starts afresh,
		// and planning the spec again finds the fingerprint and the
		// writes forged.
		var forged *ForgedPlanError
		if !errors.As(err, &forged) || !slices.Contains(forged.Differ, "fingerprint") || !slices.Contains(forged.Differ, "writes") {
			t.Fatalf("err = %v, want a ForgedPlanError naming the fingerprint and the writes", err)
		}
		if !bytes.Equal(before, f.snapshotBytes()) {
			t.Error("the forged plan wrote to the tenant")
		}
	})
}

// A snapshot target that is a symbolic link is refused before any step,
// not at its first write with advice to run again, which fails the same
// way every time (helper review, 2026-12-07).
func TestRunRefusesASymlinkedTargetBeforeAnyWrite(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	real := filepath.Join(f.dir, "real.json")
	if err := os.Rename(f.snapPath, real); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.json", f.snapPath); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(real)
	o := f.opts()
	o.AllowRemovals = &p.Summary.Remove
	rep, err := Run(context.Background(), p, o)
	var unwritable *UnwritableTargetError
	if !errors.As(err, &unwritable) || !strings.Contains(err.Error(), "is a symbolic link (to real.json)") {
		t.Fatalf("err = %v, want an UnwritableTargetError naming the link", err)
	}
	for _, st := range rep.Steps {
		if st.Status != "pending" {
			t.Errorf("step %d is %s, want pending", st.Step, st.Status)
		}
	}
	if after, _ := os.ReadFile(real); !bytes.Equal(before, after) {
		t.Error("the file behind the link changed")
	}
	if _, err := os.Stat(o.Journal); err == nil {
		t.Error("a journal was started")
	}
}

// A resume on a later day plans the steps that remain on that day too: an
// exception that lapsed since the interrupted run is a removal the plan
// never showed, so the resume is refused as stale and writes nothing.
func TestResumeOnALaterDayRefusesAPlanAnExceptionLapsedUnder(t *testing.T) {
	specYAML := strings.Replace(baseSpec, "  protectedUsers: [breakglass@x.gov]\n",
		"  protectedUsers: [breakglass@x.gov]\n  exceptions:\n    - {email: j1@x.gov, org: hq, until: 2026-11-01, reason: contractor}\n", 1)
	f := newFixture(t, specYAML, fixtureSnapshot(t))
	p := f.plan()
	o := f.opts()
	o.AllowRemovals = &p.Summary.Remove
	unavailable := &scim.Error{Method: "PATCH", URL: "/Organizations/o-west", Status: 503, Detail: "try later"}
	o.Writer = &faultWriter{w: f.src, failAt: 2, err: unavailable}
	if _, err := Run(context.Background(), p, o); err == nil {
		t.Fatal("the first run did not fail at step 2")
	}
	before := f.snapshotBytes()
	o = f.opts()
	o.AllowRemovals = &p.Summary.Remove
	o.Now = func() time.Time { return testNow.Add(24 * time.Hour) }
	rep, err := Run(context.Background(), p, o)
	var stale *StaleError
	if !errors.As(err, &stale) || !strings.Contains(err.Error(), "planned on 2026-11-01, resumed on 2026-11-02") {
		t.Fatalf("resume the day after: err = %v (result %s), want a StaleError naming both dates", err, rep.Result)
	}
	if !bytes.Equal(before, f.snapshotBytes()) {
		t.Error("the refused resume wrote to the tenant")
	}
	// The same day, the resume goes on.
	o.Now = func() time.Time { return testNow.Add(time.Hour) }
	if rep, err := Run(context.Background(), p, o); err != nil || !rep.Resumed {
		t.Fatalf("resume the same day: %v (resumed %v)", err, rep.Resumed)
	}
}
