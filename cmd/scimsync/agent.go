package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/scimsync/scimsync/agent"
	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/spec"
)

func init() {
	register(&command{
		name:    "agent",
		summary: "watch the tenant for drift on a schedule: metrics, status, webhooks",
		usage:   agentUsage,
		run:     runAgent,
	})
}

const agentUsage = `Usage: scimsync agent [-f PATH]... [flags]

Run the drift detector. On a schedule, the agent re-reads the spec from disk,
reads the tenant, plans, and reports the outcome:

  /healthz   200 while the process is up
  /readyz    200 when a run succeeded within the last two scheduled intervals
  /status    JSON: the last run (time, duration, result), the summary counts,
             drift yes or no, readiness for full enablement per organization,
             the exceptions about to lapse, and the last plan
  /metrics   Prometheus: scimsync_runs_total{result},
             scimsync_run_duration_seconds, scimsync_drift{org,kind},
             scimsync_would_remove{org}, scimsync_members{org,role,tier},
             scimsync_seats_used{org,tier}, scimsync_seats_purchased{org,tier},
             scimsync_exceptions_expiring{org},
             scimsync_last_success_timestamp_seconds

The first run starts at once (without jitter); later runs follow the
schedule, each after a random delay up to --jitter. Runs never overlap: a
tick that arrives while a run is in flight is skipped. An invalid spec is
reported once and not planned again until its content changes.

The agent is detect-only. With --auto-apply it applies a plan through apply,
with every precondition apply checks, but only when the plan removes nobody
and has no error-level finding; any other plan waits for a person
(result awaiting_approval) and is never applied automatically.

A webhook (--webhook-url, --webhook-url-file or $SCIMSYNC_WEBHOOK_URL; the
URL is a secret and is never logged) receives one message when drift
appears, changes or clears, when --auto-apply applies a plan, when the spec
becomes invalid, and when --failure-threshold runs in a row fail (and when
they succeed again), never on every tick. Delivery is retried with backoff.
An exception within policy.exceptionNoticeDays of lapsing is announced once
(exception_expiring), when it enters that window or its until date changes;
the first run announces those already in it. --notice-state keeps the
announced ones in a file, so that a restart does not announce them again.

On SIGINT or SIGTERM the agent stops scheduling, lets the run in flight
finish for up to --grace (then cancels it), shuts the HTTP server down and
exits 0.

A single run instead of an agent: for cron or a systemd timer, run
  scimsync plan -f PATH --detailed-exitcode
which exits 0 when the tenant matches the spec, 2 when changes are pending,
3 when they include removals or break policy, and 1 on an error. See
examples/deploy/ for a CronJob, systemd units and CI pipelines.

Flags:
  -f PATH                   a spec file or a directory of *.yaml files;
                            repeat to merge several (default scimsync.yaml)
  --schedule SPEC           a cron expression, optionally prefixed with
                            CRON_TZ=<zone> ("CRON_TZ=Europe/Paris 0 * * * *"),
                            or a descriptor such as "@every 10m" or "@hourly"
                            (default "@every 15m"; five-field expressions use
                            the local time zone unless CRON_TZ says otherwise)
  --jitter DURATION         random delay, up to this bound, before each
                            scheduled run (default 0s)
  --addr HOST:PORT          HTTP listen address (default 127.0.0.1:9464)
  --auto-apply              apply plans that remove nobody (see above)
  --journal FILE            --auto-apply's journal (default
                            scimsync-agent.journal)
  --audit-log FILE          --auto-apply's audit log (default
                            scimsync-audit.jsonl)
  --git-pull                run "git pull --ff-only" in the spec's directory
                            before each run; a failure fails the run
  --timeout DURATION        bound on one run (default 10m)
  --grace DURATION          how long the run in flight may take to finish on
                            SIGINT/SIGTERM before it is cancelled (default 30s)
  --webhook-url URL         where notifications go (visible to ps: prefer
                            --webhook-url-file or $SCIMSYNC_WEBHOOK_URL)
  --webhook-url-file PATH   a file holding the webhook URL
  --webhook-format FORMAT   slack ({"text": ...}, also accepted by Mattermost
                            and others) or json (the full event) (default slack)
  --failure-threshold N     consecutive failed runs that fire one "failing"
                            notification (default 3)
  --notice-state FILE       keep the exceptions already announced in FILE
                            (default none: a restart announces them again)
  --log-level LEVEL         debug, info, warn or error (default info)
  --log-format FORMAT       text, json, or auto: text on a terminal, JSON
                            otherwise (default auto)
  --insecure-skip-tls-verify
                            do not verify the server's TLS certificate
                            (testing only)
  -h                        show this help

Environment:
  SCIMSYNC_WEBHOOK_URL      the webhook URL, when no flag gives one
  SCIMSYNC_TOKEN            the SCIM bearer token (or the spec's
                            target.tokenEnv / target.tokenFile)

Exit codes:
  0  stopped by SIGINT or SIGTERM
  1  bad flags, or the HTTP server could not listen
`

// agentOptions are the parsed flags of agent.
type agentOptions struct {
	files            []string
	schedule         string
	jitter           time.Duration
	addr             string
	autoApply        bool
	journal          string
	auditLog         string
	insecure         bool
	gitPull          bool
	timeout          time.Duration
	grace            time.Duration
	webhookURL       string
	webhookURLFile   string
	webhookFormat    string
	failureThreshold int
	noticeState      string
	logLevel         slog.Level
	logFormat        string
}

// parseAgentArgs parses agent's command line into options. The webhook URL
// is not resolved here (see webhookURL); errors never echo it.
func parseAgentArgs(fs *flag.FlagSet, args []string) (agentOptions, error) {
	var files stringList
	var level string
	opts := agentOptions{}
	fs.Var(&files, "f", "spec file or directory (repeatable)")
	fs.StringVar(&opts.schedule, "schedule", "@every 15m", "cron expression or descriptor")
	fs.DurationVar(&opts.jitter, "jitter", 0, "random delay before each scheduled run")
	fs.StringVar(&opts.addr, "addr", "127.0.0.1:9464", "HTTP listen address")
	fs.BoolVar(&opts.autoApply, "auto-apply", false, "apply plans that remove nobody")
	fs.StringVar(&opts.journal, "journal", "scimsync-agent.journal", "--auto-apply's journal")
	fs.StringVar(&opts.auditLog, "audit-log", apply.DefaultAuditLog, "--auto-apply's audit log")
	fs.BoolVar(&opts.insecure, "insecure-skip-tls-verify", false, "do not verify the server's TLS certificate")
	fs.BoolVar(&opts.gitPull, "git-pull", false, "git pull --ff-only before each run")
	fs.DurationVar(&opts.timeout, "timeout", 10*time.Minute, "bound on one run")
	fs.DurationVar(&opts.grace, "grace", 30*time.Second, "shutdown grace period")
	fs.StringVar(&opts.webhookURL, "webhook-url", "", "webhook URL")
	fs.StringVar(&opts.webhookURLFile, "webhook-url-file", "", "file holding the webhook URL")
	fs.StringVar(&opts.webhookFormat, "webhook-format", agent.FormatSlack, "slack or json")
	fs.IntVar(&opts.failureThreshold, "failure-threshold", agent.DefaultFailureThreshold, "failed runs before a notification")
	fs.StringVar(&opts.noticeState, "notice-state", "", "file keeping the exceptions already announced")
	fs.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&opts.logFormat, "log-format", "auto", "text, json or auto")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	var err error
	if opts.files, err = checkSpecFiles(fs, files, "the agent re-reads the spec on every run; give a file or directory, not stdin"); err != nil {
		return opts, err
	}
	if opts.jitter < 0 {
		return opts, errors.New("flag --jitter: must not be negative")
	}
	if opts.timeout < 0 {
		return opts, errors.New("flag --timeout: must not be negative")
	}
	if opts.grace < 0 {
		return opts, errors.New("flag --grace: must not be negative")
	}
	if opts.failureThreshold < 1 {
		return opts, errors.New("flag --failure-threshold: must be at least 1")
	}
	if opts.webhookFormat != agent.FormatSlack && opts.webhookFormat != agent.FormatJSON {
		return opts, fmt.Errorf("flag --webhook-format: %q is not slack or json", opts.webhookFormat)
	}
	if opts.journal == "" {
		return opts, errors.New("flag --journal: empty path")
	}
	if opts.auditLog == "" {
		return opts, errors.New("flag --audit-log: empty path")
	}
	if opts.webhookURL != "" && opts.webhookURLFile != "" {
		return opts, errors.New("flags --webhook-url and --webhook-url-file: give one, not both")
	}
	if err := opts.logLevel.UnmarshalText([]byte(level)); err != nil {
		return opts, fmt.Errorf("flag --log-level: %q is not debug, info, warn or error", level)
	}
	switch opts.logFormat {
	case "auto", "text", "json":
	default:
		return opts, fmt.Errorf("flag --log-format: %q is not text, json or auto", opts.logFormat)
	}
	return opts, nil
}

// webhookURL resolves the webhook URL: the flag, else the file, else
// $SCIMSYNC_WEBHOOK_URL. Errors name the source, never the URL.
func (o agentOptions) resolveWebhookURL(getenv func(string) string) (string, error) {
	switch {
	case o.webhookURL != "":
		return o.webhookURL, nil
	case o.webhookURLFile != "":
		b, err := os.ReadFile(o.webhookURLFile)
		if err != nil {
			return "", fmt.Errorf("flag --webhook-url-file: %w", err)
		}
		u := strings.TrimSpace(string(b))
		if u == "" {
			return "", fmt.Errorf("flag --webhook-url-file: %s is empty", o.webhookURLFile)
		}
		return u, nil
	}
	return strings.TrimSpace(getenv("SCIMSYNC_WEBHOOK_URL")), nil
}

// agentLogger is slog to w: text on a terminal, JSON otherwise, unless
// --log-format says.
func agentLogger(env *cmdEnv, w io.Writer, opts agentOptions) *slog.Logger {
	ho := &slog.HandlerOptions{Level: opts.logLevel}
	text := opts.logFormat == "text" || (opts.logFormat == "auto" && env.IsTTY(w))
	if text {
		return slog.New(slog.NewTextHandler(w, ho))
	}
	return slog.New(slog.NewJSONHandler(w, ho))
}

// agentSignals is the context a running agent stops on: SIGINT or SIGTERM.
// Tests replace it.
var agentSignals = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runAgent(env *cmdEnv, args []string) int {
	opts, code, done := parseFlags(env, "agent", agentUsage, args, parseAgentArgs)
	if done {
		return code
	}
	hook, err := opts.resolveWebhookURL(env.Getenv)
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync agent: %v\n", err)
		return exitError
	}
	log := agentLogger(env, env.Stderr, opts)

	cfg := agent.Config{
		SpecPaths:        opts.files,
		Schedule:         opts.schedule,
		Jitter:           opts.jitter,
		GitPull:          opts.gitPull,
		Plan:             agentPlanFunc(env, opts, log),
		RunTimeout:       opts.timeout,
		Addr:             opts.addr,
		Grace:            opts.grace,
		WebhookURL:       hook,
		WebhookFormat:    opts.webhookFormat,
		FailureThreshold: opts.failureThreshold,
		NoticeState:      opts.noticeState,
		Logger:           log,
		Now:              env.Now,
	}
	if opts.autoApply {
		cfg.Apply = agentApplyFunc(env, opts)
	}
	a, err := agent.New(cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync agent: %v\n", strings.TrimPrefix(err.Error(), "agent: "))
		return exitError
	}
	ctx, stop := agentSignals()
	defer stop()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintf(env.Stderr, "scimsync agent: %v\n", strings.TrimPrefix(err.Error(), "agent: "))
		return exitError
	}
	return exitOK
}

// agentPlanFunc plans as scimsync plan does: it opens the spec's target,
// reads the tenant and computes the plan. The target's warnings (a token
// file others can read, TLS verification off) are logged once each, not on
// every run.
func agentPlanFunc(env *cmdEnv, opts agentOptions, log *slog.Logger) agent.PlanFunc {
	var warned sync.Map
	warn := func(w string) {
		if _, seen := warned.LoadOrStore(w, true); !seen {
			log.Warn("target warning", "warning", w)
		}
	}
	return func(ctx context.Context, s *spec.Spec) (*agent.Outcome, error) {
		p, t, err := readAndPlan(ctx, env, s, planReadOptions{insecure: opts.insecure, warn: warn})
		if err != nil {
			return nil, err
		}
		return &agent.Outcome{Plan: p, Tenant: t}, nil
	}
}

// agentApplyFunc applies as scimsync apply --yes does, with every
// precondition, the journal and the audit log, and never --allow-removals
// or --allow-empty-groups. The agent calls it only for plans that remove
// nobody.
func agentApplyFunc(env *cmdEnv, opts agentOptions) agent.ApplyFunc {
	return func(ctx context.Context, s *spec.Spec, o *agent.Outcome) error {
		_, err := applyPlan(ctx, env, s, o.Plan, applyOptions{
			journal:  opts.journal,
			auditLog: opts.auditLog,
			insecure: opts.insecure,
		})
		return err
	}
}
