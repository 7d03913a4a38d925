// Package agent is scimsync's drift detector (DESIGN §8). On a cron schedule
// it re-reads the spec from disk, plans against the live tenant and records
// the outcome: Prometheus metrics, /healthz, /readyz, a JSON /status holding
// the last plan, and a webhook when drift appears, changes or clears, or runs
// keep failing.
//
// The agent only schedules and reports. How a spec becomes a plan (opening
// the target, reading the tenant, diff.Compute) and how a plan is applied
// (package apply, every precondition checked) are given to it as PlanFunc
// and ApplyFunc; the agent decides only when to call them. It is
// detect-only unless Config.Apply is set, and even then it never applies a
// plan that removes anyone or carries an error-level finding: those wait for
// a person.
//
// Runs never overlap (cron.SkipIfStillRunning). The first run starts as soon
// as Run is called, without jitter; each scheduled run after it waits a
// random delay up to Config.Jitter first.
package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// Outcome is what planning produced: the plan and the observed tenant it was
// computed from (the agent keeps only counts of the latter).
type Outcome struct {
	Plan   *diff.Plan
	Tenant *tenant.Tenant
}

// PlanFunc computes a plan for a loaded, valid spec: it opens the spec's
// target, reads the tenant and calls diff.Compute.
type PlanFunc func(ctx context.Context, s *spec.Spec) (*Outcome, error)

// ApplyFunc applies o.Plan with every precondition apply checks (fresh read,
// fingerprint, removal limits, If-Match). The agent calls it only for plans
// that remove nobody and carry no error-level finding.
type ApplyFunc func(ctx context.Context, s *spec.Spec, o *Outcome) error

// Result is how a run ended: the result label of scimsync_runs_total.
type Result string

// Results.
const (
	ResultInSync           Result = "in_sync"           // the tenant matches the spec
	ResultDrift            Result = "drift"             // changes pending; detect-only
	ResultApplied          Result = "applied"           // --auto-apply applied the plan
	ResultAwaitingApproval Result = "awaiting_approval" // --auto-apply, but a person must apply this plan
	ResultInvalidSpec      Result = "invalid_spec"      // the spec on disk does not validate
	ResultFailed           Result = "failed"            // git pull, read, plan or apply failed
)

var allResults = []Result{ResultInSync, ResultDrift, ResultApplied, ResultAwaitingApproval, ResultInvalidSpec, ResultFailed}

// Succeeded reports whether a run with this result planned successfully.
func (r Result) Succeeded() bool {
	switch r {
	case ResultInSync, ResultDrift, ResultApplied, ResultAwaitingApproval:
		return true
	}
	return false
}

// DefaultFailureThreshold is Config.FailureThreshold when zero.
const DefaultFailureThreshold = 3

// Config configures an Agent. SpecPaths, Schedule and Plan are required.
type Config struct {
	// SpecPaths are the spec's files or directories, as spec.Load takes
	// them (not "-"). They are re-read on every run.
	SpecPaths []string
	// Schedule is a five-field cron expression ("*/15 * * * *"), optionally
	// prefixed with CRON_TZ=<IANA zone>, or a descriptor ("@every 10m",
	// "@hourly"). Five-field expressions use the local time zone unless
	// CRON_TZ says otherwise.
	Schedule string
	// Jitter bounds the random delay before each scheduled run (not the
	// first). Zero means none.
	Jitter time.Duration
	// RandInt63n returns a random number in [0, n); math/rand/v2 when nil.
	// Tests pin it.
	RandInt63n func(n int64) int64
	// GitPull runs "git pull --ff-only" in the spec's directory before each
	// run; a failure fails the run.
	GitPull bool
	// Plan computes a plan. Required.
	Plan PlanFunc
	// Apply, when set, enables --auto-apply.
	Apply ApplyFunc
	// RunTimeout bounds one run (pull, load, plan, apply). Zero: none.
	RunTimeout time.Duration

	// Addr is the HTTP listen address, e.g. 127.0.0.1:9464. Ignored when
	// Listener is set.
	Addr string
	// Listener, when set, is served instead of listening on Addr.
	Listener net.Listener
	// Grace is how long a run in flight may take to finish after the
	// context passed to Run ends, before it is cancelled. It also bounds
	// the HTTP server's shutdown.
	Grace time.Duration

	// WebhookURL is where notifications go; empty for none. It is a
	// secret: the agent never logs it, serves it or puts it in an error.
	WebhookURL string
	// WebhookFormat is FormatSlack (default) or FormatJSON.
	WebhookFormat string
	// WebhookClient sends notifications; a client with a 10s timeout when
	// nil.
	WebhookClient *http.Client
	// WebhookAttempts bounds delivery attempts (default 5); WebhookBackoff
	// is the first retry delay (default 1s), doubled each time up to 30s.
	WebhookAttempts int
	WebhookBackoff  time.Duration
	// FailureThreshold is how many consecutive failed runs fire one
	// "failing" notification. Default DefaultFailureThreshold.
	FailureThreshold int
	// NoticeState is a file in which the agent keeps the exceptions it
	// announced (EventExceptionExpiring), so that a restart does not
	// announce them again; "" keeps them in memory only, and a restarted
	// agent announces again every exception already in the notice window.
	NoticeState string

	// Logger receives the agent's logs; discarded when nil.
	Logger *slog.Logger
	// Now is the instant exceptions are judged against (the spec's
	// expired-exception check), which SCIMSYNC_NOW pins; time.Now when nil.
	Now func() time.Time
	// Clock is the wall clock: when the agent started, when each run
	// started and finished, /readyz staleness, event and page times;
	// time.Now when nil. A pinned Now never freezes these.
	Clock func() time.Time
	// Git runs git with args in dir and returns its combined output;
	// exec'ing git when nil. Tests replace it.
	Git func(ctx context.Context, dir string, args ...string) ([]byte, error)
}

// Agent runs the drift detector. Create it with New, serve with Run.
type Agent struct {
	cfg     Config
	sched   cron.Schedule
	log     *slog.Logger
	now     func() time.Time // judges exceptions (Config.Now)
	clock   func() time.Time // the wall clock (Config.Clock)
	metrics *metrics
	notify  *notifier // nil without a webhook

	mu         sync.Mutex
	last       *Run          // last finished run
	lastOK     *Run          // last successful run
	rep        *report       // report of the last successful plan
	tenant     string        // parent org name from the last loaded spec
	started    time.Time     // when Run started
	failures   int           // consecutive failed runs (invalid specs excluded)
	failNote   bool          // EventFailing was sent for the current streak
	invalid    string        // hash of the spec last reported invalid
	invalidMsg string        // its diagnostics
	warnedHash string        // hash of the spec whose warnings were logged
	driftKey   string        // changes key of the drift last notified; "" for none
	appliedKey string        // changes key auto-applied last; never applied twice
	history    runHistory    // recent runs, for the readiness page
	fights     fightDetector // another writer undoing --auto-apply's writes
	notices    notices       // exceptions announced as about to lapse

	runMu    sync.Mutex // guards stopping and inflight
	stopping bool
	inflight sync.WaitGroup
	stopCh   chan struct{}
}

// Run is the record of one run, as /status shows it.
type Run struct {
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Duration time.Duration `json:"-"`
	Result   Result        `json:"result"`
	// Error says why a failed or invalid_spec run failed. It never holds
	// a secret.
	Error string `json:"error,omitempty"`
	// SpecHash is the sha256 of the spec files' bytes.
	SpecHash string `json:"spec_hash,omitempty"`
	// Applied is set when --auto-apply applied a plan during the run.
	Applied *Summary `json:"applied,omitempty"`
	// AwaitingApproval says why --auto-apply left the plan to a person.
	AwaitingApproval string `json:"awaiting_approval,omitempty"`
}

// New checks cfg and returns an Agent. It opens nothing.
func New(cfg Config) (*Agent, error) {
	if len(cfg.SpecPaths) == 0 {
		return nil, errors.New("agent: no spec path")
	}
	for _, p := range cfg.SpecPaths {
		if p == "-" {
			return nil, errors.New("agent: the spec must be a file or directory, not stdin")
		}
	}
	if cfg.Plan == nil {
		return nil, errors.New("agent: no plan function")
	}
	sched, err := parseSchedule(cfg.Schedule)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if cfg.Jitter < 0 {
		return nil, errors.New("agent: negative jitter")
	}
	if cfg.Grace < 0 {
		return nil, errors.New("agent: negative grace period")
	}
	if cfg.RandInt63n == nil {
		cfg.RandInt63n = rand.Int64N
	}
	if cfg.FailureThreshold <= 0 {
		cfg.FailureThreshold = DefaultFailureThreshold
	}
	if cfg.Git == nil {
		cfg.Git = execGit
	}
	a := &Agent{
		cfg:     cfg,
		sched:   sched,
		log:     cfg.Logger,
		now:     cfg.Now,
		clock:   cfg.Clock,
		metrics: newMetrics(),
		stopCh:  make(chan struct{}),
		notices: notices{path: cfg.NoticeState},
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.clock == nil {
		a.clock = time.Now
	}
	if cfg.WebhookURL != "" {
		if err := checkWebhookURL(cfg.WebhookURL); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		format := cfg.WebhookFormat
		switch format {
		case "":
			format = FormatSlack
		case FormatSlack, FormatJSON:
		default:
			return nil, fmt.Errorf("agent: webhook format %q is not %s or %s", format, FormatSlack, FormatJSON)
		}
		client := cfg.WebhookClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		a.notify = &notifier{
			url:      cfg.WebhookURL,
			format:   format,
			client:   client,
			attempts: cmpOr(cfg.WebhookAttempts, 5),
			backoff:  cmpOr(cfg.WebhookBackoff, time.Second),
			maxDelay: 30 * time.Second,
		}
	}
	return a, nil
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Run serves HTTP and runs the schedule until ctx ends: one run at once,
// then one per scheduled tick. When ctx ends it stops scheduling, lets the
// run in flight finish for up to Config.Grace, cancels it after that, shuts
// the HTTP server down and returns nil. It returns an error only when the
// HTTP server cannot listen or fails.
func (a *Agent) Run(ctx context.Context) error {
	ln := a.cfg.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", a.cfg.Addr)
		if err != nil {
			return fmt.Errorf("agent: listening: %w", err)
		}
	}
	a.mu.Lock()
	a.started = a.clock()
	a.mu.Unlock()

	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	srvErr := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			srvErr <- err
		}
		close(srvErr)
	}()
	a.log.Info("agent started", "addr", ln.Addr().String(), "schedule", a.cfg.Schedule,
		"jitter", a.cfg.Jitter.String(), "auto_apply", a.cfg.Apply != nil,
		"webhook", a.notify != nil, "git_pull", a.cfg.GitPull)

	// Runs get their own context: the signal that ends ctx lets the run in
	// flight finish, and only the grace period's end cancels it.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()

	c := cron.New(
		cron.WithParser(scheduleParser),
		cron.WithLogger(cronLogger{a.log}),
		cron.WithChain(cron.Recover(cronLogger{a.log}), cron.SkipIfStillRunning(cronLogger{a.log})),
	)
	// Whichever run starts first (normally the immediate one below) skips
	// the jitter.
	var firstClaimed atomic.Bool
	id := c.Schedule(a.sched, cron.FuncJob(func() {
		a.tick(runCtx, firstClaimed.Swap(true))
	}))
	// The first run goes through the same wrapped job, so a tick arriving
	// while it runs is skipped too.
	wrapped := c.Entry(id).WrappedJob
	c.Start()
	go wrapped.Run()

	var err error
	select {
	case <-ctx.Done():
		a.log.Info("agent stopping", "grace", a.cfg.Grace.String())
	case err = <-srvErr:
		err = fmt.Errorf("agent: serving HTTP: %w", err)
		a.log.Error("HTTP server failed; stopping", "err", err)
	}

	c.Stop()
	a.runMu.Lock()
	a.stopping = true
	close(a.stopCh)
	a.runMu.Unlock()
	done := make(chan struct{})
	go func() { a.inflight.Wait(); close(done) }()
	grace := time.NewTimer(a.cfg.Grace)
	select {
	case <-done:
		grace.Stop()
	case <-grace.C:
		a.log.Warn("run still in flight after the grace period; cancelling it")
		cancelRuns()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			a.log.Error("run did not return after cancellation; exiting anyway")
		}
	}

	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(a.cfg.Grace, time.Second))
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil && err == nil {
		a.log.Warn("HTTP server shutdown", "err", serr)
		_ = srv.Close()
	}
	a.log.Info("agent stopped")
	return err
}

// tick is one run. With jitter set it first waits a random delay.
func (a *Agent) tick(ctx context.Context, jitter bool) {
	a.runMu.Lock()
	if a.stopping {
		a.runMu.Unlock()
		return
	}
	a.inflight.Add(1)
	a.runMu.Unlock()
	defer a.inflight.Done()

	if jitter && a.cfg.Jitter > 0 {
		d := time.Duration(a.cfg.RandInt63n(int64(a.cfg.Jitter)))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-a.stopCh:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	a.runOnce(ctx)
}

// runOnce performs one run and records it.
func (a *Agent) runOnce(ctx context.Context) {
	runCtx := ctx
	if a.cfg.RunTimeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, a.cfg.RunTimeout)
		defer cancel()
	}
	run := &Run{Started: a.clock()}
	a.log.Debug("run started")
	rep, unchanged := a.execute(runCtx, run)
	run.Finished = a.clock()
	run.Duration = run.Finished.Sub(run.Started)

	events := a.record(run, rep, unchanged)
	a.logRun(run, rep, unchanged)
	// Not under the run's timeout: a run that timed out must still be able
	// to say so.
	var announced []diff.Expiring
	for _, ev := range events {
		if a.send(ctx, ev) && ev.Exception != nil {
			announced = append(announced, *ev.Exception)
		}
	}
	if err := a.notices.announced(announced); err != nil {
		a.log.Error("exception notices sent but not recorded; a restart announces them again", "err", err)
	}
}

// execute does the work of one run and fills run.Result, Error and
// SpecHash. unchanged reports an invalid spec seen before.
func (a *Agent) execute(ctx context.Context, run *Run) (rep *report, unchanged bool) {
	fail := func(err error) (*report, bool) {
		run.Result = ResultFailed
		run.Error = err.Error()
		return rep, false
	}
	if a.cfg.GitPull {
		dir := specDir(a.cfg.SpecPaths[0])
		out, err := a.cfg.Git(ctx, dir, "pull", "--ff-only")
		if err != nil {
			msg := redactGitOutput(strings.TrimSpace(string(out)))
			if msg != "" {
				return fail(fmt.Errorf("git pull --ff-only in %s: %w: %s", dir, err, msg))
			}
			return fail(fmt.Errorf("git pull --ff-only in %s: %w", dir, err))
		}
	}
	hash, err := hashSpecFiles(a.cfg.SpecPaths)
	if err != nil {
		return fail(err)
	}
	run.SpecHash = hash

	a.mu.Lock()
	invalid, invalidMsg := a.invalid, a.invalidMsg
	a.mu.Unlock()
	if hash == invalid {
		// Reported when it was first seen; not revalidated until it
		// changes.
		run.Result = ResultInvalidSpec
		run.Error = invalidMsg
		return nil, true
	}

	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: a.now()}, a.cfg.SpecPaths...)
	if err != nil {
		return fail(err)
	}
	if diags.HasErrors() || s == nil {
		run.Result = ResultInvalidSpec
		run.Error = "invalid spec:\n" + diags.Errors().Error()
		return nil, false
	}
	a.mu.Lock()
	a.tenant = s.Parent.Name
	warnSpec := hash != a.warnedHash
	a.warnedHash = hash
	a.mu.Unlock()
	if warnSpec {
		for _, d := range diags.Warnings() {
			a.log.Warn("spec warning", "diagnostic", d.String())
		}
	}

	o, err := a.cfg.Plan(ctx, s)
	if err != nil {
		return fail(fmt.Errorf("planning: %w", err))
	}
	if o == nil || o.Plan == nil {
		return fail(errors.New("planning: no plan"))
	}
	rep, err = reportFromOutcome(o)
	if err != nil {
		return fail(err)
	}
	if o.Plan.Verdict() == diff.VerdictNoChanges {
		run.Result = ResultInSync
		return rep, false
	}
	if a.cfg.Apply == nil {
		run.Result = ResultDrift
		return rep, false
	}
	a.mu.Lock()
	appliedKey := a.appliedKey
	a.mu.Unlock()
	reason := approvalReason(o.Plan)
	if reason == "" && rep.ChangesKey == appliedKey {
		reason = "the same changes were applied before and the tenant still differs"
	}
	if reason == "" {
		reason = a.fightCheck(ctx, run, o.Plan)
	}
	if reason != "" {
		run.Result = ResultAwaitingApproval
		run.AwaitingApproval = reason
		return rep, false
	}
	if err := a.cfg.Apply(ctx, s, o); err != nil {
		return fail(fmt.Errorf("auto-apply: %w", err))
	}
	applied := rep.Summary
	run.Applied = &applied
	a.mu.Lock()
	a.appliedKey = rep.ChangesKey
	a.mu.Unlock()
	// Re-plan so that /status and /metrics show the tenant as it is now.
	after, err := a.cfg.Plan(ctx, s)
	if err != nil {
		return fail(fmt.Errorf("re-planning after apply: %w", err))
	}
	if after == nil || after.Plan == nil {
		return fail(errors.New("re-planning after apply: no plan"))
	}
	a.fights.wrote(o.Plan, after.Plan)
	if rep, err = reportFromOutcome(after); err != nil {
		return fail(err)
	}
	run.Result = ResultApplied
	return rep, false
}

// approvalReason says why p may not be applied unattended, or "" when it
// may. It reports the plan's verdict, never re-deriving a rule: a dangerous
// plan (removals, or an error-level finding) waits for a person. A switch
// to full that would remove anyone removes them in the plan itself.
func approvalReason(p *diff.Plan) string {
	if p.Verdict() != diff.VerdictDangerous {
		return ""
	}
	if p.Summary.Remove > 0 {
		return fmt.Sprintf("the plan removes %d member(s); removals are never applied automatically", p.Summary.Remove)
	}
	return "the plan has an error-level finding: " + p.Blocking()[0].Message
}

// record stores a finished run, updates the metrics and returns the
// notifications it calls for.
func (a *Agent) record(run *Run, rep *report, unchanged bool) []Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last = run
	a.metrics.observeRun(run)
	a.history.add(run, rep)
	if rep != nil {
		a.rep = rep
		a.metrics.setReport(rep)
	}
	ev := func(kind EventKind, text string) Event {
		return Event{Kind: kind, Tenant: a.tenant, Time: run.Finished, Text: text}
	}
	var events []Event
	switch {
	case run.Result.Succeeded():
		a.lastOK = run
		a.invalid, a.invalidMsg = "", ""
		if a.failNote {
			events = append(events, ev(EventRecovered, fmt.Sprintf("scimsync: runs for %s succeed again after %d failures.", a.tenantName(), a.failures)))
		}
		a.failures, a.failNote = 0, false
		if rep.ChangesKey == "" {
			a.appliedKey = ""
		}
		events = append(events, a.driftEvents(run, rep)...)
		events = append(events, a.expiringEvents(run, rep)...)
	case run.Result == ResultInvalidSpec:
		if !unchanged {
			a.invalid, a.invalidMsg = run.SpecHash, run.Error
			e := ev(EventInvalidSpec, fmt.Sprintf("scimsync: the spec for %s (%s) is invalid; the agent will not plan again until it changes.\n%s",
				a.tenantName(), strings.Join(a.cfg.SpecPaths, ", "), firstLines(run.Error, 10)))
			e.Error = run.Error
			events = append(events, e)
		}
	default:
		a.failures++
		if a.failures == a.cfg.FailureThreshold {
			a.failNote = true
			e := ev(EventFailing, fmt.Sprintf("scimsync: %d consecutive runs failed for %s. Last error: %s",
				a.failures, a.tenantName(), run.Error))
			e.Error, e.Failures = run.Error, a.failures
			events = append(events, e)
		}
	}
	return events
}

// driftEvents compares a successful run's drift with the drift notified
// last. a.mu is held.
func (a *Agent) driftEvents(run *Run, rep *report) []Event {
	prev := a.driftKey
	a.driftKey = rep.ChangesKey
	mk := func(kind EventKind, text string, r *report) Event {
		e := Event{Kind: kind, Tenant: a.tenant, Time: run.Finished, Text: text}
		sum := r.Summary
		e.Summary = &sum
		e.Orgs = r.orgDrift()
		return e
	}
	var events []Event
	if run.Applied != nil {
		applied := *run.Applied
		e := mk(EventApplied, fmt.Sprintf("scimsync: auto-applied changes to %s: %d to add, %d to change, %d to remove.",
			a.tenantName(), applied.Add, applied.Change, applied.Remove), rep)
		e.Summary = &applied
		events = append(events, e)
	}
	key := rep.ChangesKey
	switch {
	case key == prev:
		return events
	case prev == "":
		e := mk(EventDrift, fmt.Sprintf("scimsync: %s has drifted from the spec. %s%s%s", a.tenantName(), rep.Line, rep.orgLine(), rep.lapsedLine()), rep)
		if run.Result == ResultAwaitingApproval {
			e.AwaitingApproval = true
			e.Text += " Not applied automatically: " + run.AwaitingApproval + "."
		}
		events = append(events, e)
	case key == "":
		events = append(events, mk(EventResolved, fmt.Sprintf("scimsync: resolved: %s matches the spec again.", a.tenantName()), rep))
	default:
		e := mk(EventDriftChanged, fmt.Sprintf("scimsync: the drift of %s changed. %s%s%s", a.tenantName(), rep.Line, rep.orgLine(), rep.lapsedLine()), rep)
		if run.Result == ResultAwaitingApproval {
			e.AwaitingApproval = true
			e.Text += " Not applied automatically: " + run.AwaitingApproval + "."
		}
		events = append(events, e)
	}
	return events
}

// expiringEvents announces the exceptions of a successful run's notice
// list that entered it since the last announcement (notice.go). a.mu is
// held.
func (a *Agent) expiringEvents(run *Run, rep *report) []Event {
	if a.notify == nil {
		return nil
	}
	entering, errs := a.notices.entering(rep.Expiring)
	for _, err := range errs {
		a.log.Warn("exception notices", "err", err)
	}
	var events []Event
	for _, e := range entering {
		x := e
		events = append(events, Event{Kind: EventExceptionExpiring, Tenant: a.tenant, Time: run.Finished,
			Text: expiringText(a.tenantName(), x), Exception: &x})
	}
	return events
}

// tenantName names the tenant in messages. a.mu is held.
func (a *Agent) tenantName() string {
	if a.tenant != "" {
		return a.tenant
	}
	return "the tenant"
}

// logRun logs a finished run: errors once, unchanged invalid specs at debug.
func (a *Agent) logRun(run *Run, rep *report, unchanged bool) {
	attrs := []any{"result", string(run.Result), "duration", run.Duration.Round(time.Millisecond).String()}
	if rep != nil {
		attrs = append(attrs, "drift", rep.Drift(), "add", rep.Summary.Add, "change", rep.Summary.Change,
			"remove", rep.Summary.Remove, "config", rep.ConfigChanges)
	}
	switch {
	case run.Result == ResultInvalidSpec && unchanged:
		a.log.Debug("spec unchanged and still invalid; not planning", "spec_hash", run.SpecHash)
	case run.Result == ResultInvalidSpec:
		a.log.Error("invalid spec; not planning until it changes", append(attrs, "spec_hash", run.SpecHash, "err", run.Error)...)
	case run.Result == ResultFailed:
		a.log.Warn("run failed", append(attrs, "err", run.Error)...)
	case run.Result == ResultAwaitingApproval:
		a.log.Warn("run finished; plan awaits approval", append(attrs, "reason", run.AwaitingApproval)...)
	default:
		a.log.Info("run finished", attrs...)
	}
}

// send delivers ev, logging (never returning) a failure. It reports
// whether the webhook took it.
func (a *Agent) send(ctx context.Context, ev Event) bool {
	if a.notify == nil {
		return false
	}
	if err := a.notify.send(ctx, ev); err != nil {
		a.log.Error("webhook delivery failed", "event", string(ev.Kind), "err", err)
		return false
	}
	a.log.Info("webhook sent", "event", string(ev.Kind))
	return true
}

// firstLines returns at most n lines of s.
func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n… and %d more", len(lines)-n)
}

// specDir is the directory git runs in for a spec path.
func specDir(p string) string {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return p
	}
	return filepath.Dir(p)
}

// hashSpecFiles hashes the bytes of the files spec.Load would read for
// paths: each file, or each directory's *.yaml and *.yml files.
func hashSpecFiles(paths []string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("reading spec: %w", err)
		}
		files := []string{p}
		if fi.IsDir() {
			ents, err := os.ReadDir(p)
			if err != nil {
				return "", fmt.Errorf("reading spec: %w", err)
			}
			files = files[:0]
			for _, e := range ents {
				if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
			slices.Sort(files)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return "", fmt.Errorf("reading spec: %w", err)
			}
			fmt.Fprintf(h, "%d:%s\n%d:", len(f), f, len(data))
			h.Write(data)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
