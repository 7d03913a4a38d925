package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

func init() {
	register(&command{
		name:    "apply",
		summary: "apply a saved plan, or plan and apply after confirmation",
		usage:   applyUsage,
		run:     runApply,
	})
}

const applyUsage = `Usage: scimsync apply [PLAN] [-f PATH]... [--yes] [--allow-removals=N]
                      [--allow-empty-groups] [--journal FILE] [--audit-log FILE]
                      [--insecure-skip-tls-verify]

Apply a plan to the tenant the spec targets. With PLAN (a file written by
scimsync plan -o), apply exactly that plan; without it, compute a plan, print
it and apply it. Either way apply asks for confirmation first: on a terminal
it prompts, and only 'yes' is accepted; without a terminal it needs --yes.

The spec names the target and holds the policy, and its hash must still be
the one the plan was computed from. With PLAN and no -f, apply reads the
spec the plan recorded when it was saved (its absolute path, or the same
path relative to the plan when the two moved together), from any
directory; -f overrides it. A narrowed plan (plan --org) writes only its
orgs.

Before the first write apply re-reads the tenant and refuses, writing
nothing, when:
  - the plan is stale: anything it was computed from changed since;
  - the spec changed since the plan;
  - the plan removes more members than policy.maxRemovals, or more than
    policy.maxRemovalPercent of one organization's members, unless
    --allow-removals gives the plan's exact removal count;
  - it removes a member listed in policy.protectedUsers (never overridable);
  - a mapped group holds no active user, or less than half the users it held
    when planned, unless --allow-empty-groups;
  - seats are overcommitted, or the plan breaks policy (an error finding);
  - the target cannot be written (a members export).

Writes go in a fixed order: mappings, seats and exceptions before a switch
to full; a switch away from full before them. Each PATCH carries If-Match.
After the last one apply reads the members again and checks them against the
plan's prediction.

Journal: every step is recorded, fsync'd, as a JSON line in the journal
(PLAN.journal next to a saved plan, scimsync-apply.journal in the current
directory otherwise). If an apply fails part-way, apply says which steps
were done; running the same command again resumes: steps already done are
skipped when the organizations are still at the versions they left.

Audit log: every apply appends one JSON line (time, operator from $USER or
the CI's GITHUB_ACTOR, GITLAB_USER_LOGIN…, plan and spec hashes, steps,
result) to the audit log. The token is never written anywhere.

Locking: on one machine, a lock file holding apply's PID (in the journal's
directory, one per target) keeps two applies to the same tenant apart; a lock
left by a process that is no longer running is taken over. Across machines,
If-Match is the guard: a second apply finds the organizations changed
(412) or the plan stale, and stops.

Flags:
  -f PATH                     a spec file, a directory of *.yaml files, or -
                              for stdin; repeat to merge several (default
                              scimsync.yaml)
  --yes                       apply without prompting (CI)
  --allow-removals=N          approve the plan's removals beyond the policy's
                              limits; N must equal the plan's removal count
  --allow-empty-groups        apply although a mapped group is empty or shrank
  --journal FILE              the journal (default: see above)
  --audit-log FILE            the audit log (default scimsync-audit.jsonl)
  --insecure-skip-tls-verify  do not verify the server's TLS certificate
                              (testing only)
  -h                          show this help

Environment:
  NO_COLOR                    set to disable colour
  SCIMSYNC_NOW                the instant exceptions are judged against,
                              YYYY-MM-DD or RFC 3339 (default: now)

Exit codes:
  0  applied and verified, or nothing to apply
  1  error: refused (stale plan, changed spec, overcommit, read-only target),
     not confirmed, a failed write, or members that differ from the plan
  3  refused by a removal or policy gate: too many removals, a protected
     user, an empty group, a policy finding
`

// applyOptions are the parsed flags of apply.
type applyOptions struct {
	planFile string
	files    []string
	// specGiven is set when -f was given; otherwise a saved plan's
	// recorded spec paths are used.
	specGiven        bool
	yes              bool
	allowRemovals    *int
	allowEmptyGroups bool
	journal          string
	auditLog         string
	insecure         bool
	// warned is set once the target's warnings were printed (when apply
	// planned), so that they are not printed twice.
	warned bool
}

// parseApplyArgs parses apply's command line. The plan file may come before,
// between or after the flags.
func parseApplyArgs(fs *flag.FlagSet, args []string) (applyOptions, error) {
	var files stringList
	opts := applyOptions{}
	fs.Var(&files, "f", "spec file, directory or - for stdin (repeatable)")
	fs.BoolVar(&opts.yes, "yes", false, "apply without prompting")
	fs.Func("allow-removals", "approve exactly N removals", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a count", v)
		}
		opts.allowRemovals = &n
		return nil
	})
	fs.BoolVar(&opts.allowEmptyGroups, "allow-empty-groups", false, "apply although a mapped group is empty or shrank")
	fs.StringVar(&opts.journal, "journal", "", "journal file")
	fs.StringVar(&opts.auditLog, "audit-log", apply.DefaultAuditLog, "audit log file")
	fs.BoolVar(&opts.insecure, "insecure-skip-tls-verify", false, "do not verify the server's TLS certificate")
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return opts, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(positional) {
	case 0:
	case 1:
		opts.planFile = positional[0]
	default:
		return opts, fmt.Errorf("unexpected argument %q: apply takes one plan file", positional[1])
	}
	var err error
	if opts.files, err = checkSpecFiles(fs, files, ""); err != nil {
		return opts, err
	}
	opts.specGiven = len(files) > 0
	if flagSet(fs, "journal") && opts.journal == "" {
		return opts, errors.New("flag --journal: empty path")
	}
	if opts.auditLog == "" {
		return opts, errors.New("flag --audit-log: empty path")
	}
	return opts, nil
}

// journalPath is the journal's path: --journal, or next to the saved plan,
// or in the working directory.
func (o applyOptions) journalPath() string {
	switch {
	case o.journal != "":
		return o.journal
	case o.planFile != "":
		return o.planFile + ".journal"
	}
	return "scimsync-apply.journal"
}

func runApply(env *cmdEnv, args []string) int {
	opts, code, done := parseFlags(env, "apply", applyUsage, args, parseApplyArgs)
	if done {
		return code
	}
	var (
		p   *diff.Plan
		err error
	)
	// The plan named is read first: a wrong argument (no such file, a
	// directory, a spec) is reported as such, before any question of
	// confirming.
	if opts.planFile != "" {
		if p, err = diff.ReadPlanFile(opts.planFile); err != nil {
			fmt.Fprintf(env.Stderr, "scimsync apply: %v\n", err)
			return exitError
		}
		if !opts.specGiven && len(p.SpecPaths) > 0 {
			if opts.files, err = recordedSpec(p, opts.planFile); err != nil {
				fmt.Fprintf(env.Stderr, "scimsync apply: %v; pass the spec with -f. Nothing was read or written.\n", err)
				return exitError
			}
		}
	}
	interactive := env.IsTTY(env.Stdin)
	if !opts.yes && !interactive {
		fmt.Fprintln(env.Stderr, "scimsync apply: not confirmed: standard input is not a terminal, so apply cannot ask; pass --yes to apply without a prompt")
		return exitError
	}
	s, ok := loadSpecFor(env, "apply", opts.files, "nothing was read or written")
	if !ok {
		return exitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if opts.planFile == "" {
		warn := func(w string) { fmt.Fprintf(env.Stderr, "scimsync apply: warning: %s\n", w) }
		opts.warned = true
		if p, _, err = readAndPlan(ctx, env, s, planReadOptions{insecure: opts.insecure, progress: env.IsTTY(env.Stderr), warn: warn}); err != nil {
			fmt.Fprintf(env.Stderr, "scimsync apply: %v\n", err)
			return exitError
		}
	}
	if opts.planFile == "" || !opts.yes {
		color := useColor(env, env.Stdout)
		if err := diff.RenderText(env.Stdout, p, diff.TextOptions{Color: color}); err != nil {
			fmt.Fprintf(env.Stderr, "scimsync apply: %v\n", err)
			return exitError
		}
	} else {
		fmt.Fprintln(env.Stdout, diff.SummaryLine(p))
	}
	if len(p.Writes) == 0 {
		// Nothing to write, but a blocking finding is still a pending
		// problem: the apply ends as the plan does (DESIGN §6). Either
		// way the apply leaves its line in the audit log (§7).
		if n := len(p.Blocking()); n > 0 {
			if err := auditNothing(env, s, p, opts, apply.ResultRefused, []string{diff.FormatCount(n, "blocking finding")}); err != nil {
				fmt.Fprintf(env.Stderr, "scimsync apply: %v\n", err)
				return exitError
			}
			fmt.Fprintf(env.Stdout, "Nothing to apply, but the plan holds %s: fix the spec or the tenant, and plan again.\n", diff.FormatCount(n, "blocking finding"))
			return exitDangerous
		}
		if err := auditNothing(env, s, p, opts, apply.ResultUnchanged, nil); err != nil {
			fmt.Fprintf(env.Stderr, "scimsync apply: %v\n", err)
			return exitError
		}
		fmt.Fprintln(env.Stdout, "Nothing to apply.")
		return exitOK
	}
	if !opts.yes {
		fmt.Fprint(env.Stderr, "\nApply these changes? Only 'yes' is accepted: ")
		line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			fmt.Fprintln(env.Stderr, "Apply cancelled: nothing was written.")
			return exitError
		}
	}

	rep, err := applyPlan(ctx, env, s, p, opts)
	return reportApply(env, rep, err, opts.planFile != "")
}

// recordedSpec returns the spec paths saved plan p (read from planFile)
// recorded, each where it is found now.
func recordedSpec(p *diff.Plan, planFile string) ([]string, error) {
	var files []string
	for _, sp := range p.SpecPaths {
		f, err := sp.Resolve(planFile)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// applyPlan opens the spec's target and runs apply.Run on p, confirmed: the
// caller has asked. The agent's --auto-apply can call it too.
func applyPlan(ctx context.Context, env *cmdEnv, s *spec.Spec, p *diff.Plan, opts applyOptions) (*apply.Report, error) {
	src, w, warnings, err := tenant.OpenSpec(ctx, s, tenant.OpenOptions{Getenv: env.Getenv, Insecure: opts.insecure, Now: env.Now})
	for _, warning := range warnings {
		if !opts.warned {
			fmt.Fprintf(env.Stderr, "scimsync apply: warning: %s\n", warning)
		}
	}
	if err != nil {
		return &apply.Report{}, err
	}
	target, err := applyTarget(s)
	if err != nil {
		return &apply.Report{}, err
	}
	journal := opts.journalPath()
	operator, source := apply.Operator(env.Getenv)
	return apply.Run(ctx, p, apply.Options{
		Source:           src,
		Writer:           w,
		Spec:             s,
		SpecHash:         s.Hash(),
		Confirmed:        true,
		AllowRemovals:    opts.allowRemovals,
		AllowEmptyGroups: opts.allowEmptyGroups,
		Journal:          journal,
		AuditLog:         opts.auditLog,
		LockPath:         apply.LockPath(filepath.Dir(journal), target),
		Target:           target,
		Operator:         operator,
		OperatorSource:   source,
		Now:              env.Now,
	})
}

// applyTarget is the tenant's identity for the lock and the audit log: the
// URL, or the snapshot's absolute path, resolved as OpenSpec resolves it.
func applyTarget(s *spec.Spec) (string, error) {
	if s.Target.URL != "" {
		return s.Target.URL, nil
	}
	return filepath.Abs(tenant.SpecTarget(s).File)
}

// auditNothing appends the audit record of an apply with nothing to write
// (apply.AuditNothingToApply).
func auditNothing(env *cmdEnv, s *spec.Spec, p *diff.Plan, opts applyOptions, result string, refusals []string) error {
	target, err := applyTarget(s)
	if err != nil {
		return err
	}
	operator, source := apply.Operator(env.Getenv)
	return apply.AuditNothingToApply(p, apply.Options{AuditLog: opts.auditLog, Target: target, Operator: operator, OperatorSource: source, Now: env.Now}, result, refusals)
}

// reportApply prints what Run did and returns the exit code.
func reportApply(env *cmdEnv, rep *apply.Report, err error, saved bool) int {
	if rep.StaleLock != nil {
		fmt.Fprintf(env.Stderr, "warning: took over a stale lock left by %s, which is no longer running\n", rep.StaleLock)
	}
	var refused *apply.RefusedError
	if errors.As(err, &refused) {
		for _, r := range refused.Refusals {
			fmt.Fprintf(env.Stderr, "\nError: %s\n\n%s\n", r.Summary(), r.Detail())
		}
		fmt.Fprintln(env.Stderr, "\nNothing was written.")
		if refused.Gate() {
			return exitDangerous
		}
		return exitError
	}
	var locked *apply.LockedError
	if errors.As(err, &locked) {
		fmt.Fprintf(env.Stderr, "scimsync apply: %v\nAnother apply to this tenant is running; wait for it to finish, then plan again. Nothing was written.\n", err)
		return exitError
	}

	if len(rep.Steps) > 0 && rep.Result != "" {
		fmt.Fprintf(env.Stdout, "\nApplying plan %.12s:\n", rep.PlanHash)
		printSteps(env.Stdout, rep.Steps)
	}
	var werr *apply.WriteError
	if errors.As(err, &werr) {
		fmt.Fprintf(env.Stderr, "\nError: apply failed at step %d of %d (%s)\n\n%v\n", werr.Step.Step, len(rep.Steps), werr.Step.Org, werr.Err)
		var done, unknown, notDone []apply.StepResult
		for _, st := range rep.Steps {
			switch st.Status {
			case apply.StatusDone, apply.StatusSkipped:
				done = append(done, st)
			case apply.StatusUnknown:
				unknown = append(unknown, st)
			default:
				notDone = append(notDone, st)
			}
		}
		fmt.Fprintf(env.Stderr, "\nDone (%d):\n", len(done))
		printSteps(env.Stderr, done)
		if len(unknown) > 0 {
			fmt.Fprintf(env.Stderr, "Unknown: sent, but the answer was lost; it may have been applied (%d):\n", len(unknown))
			printSteps(env.Stderr, unknown)
		}
		fmt.Fprintf(env.Stderr, "Not done (%d):\n", len(notDone))
		printSteps(env.Stderr, notDone)
		switch {
		case errors.Is(err, scim.ErrPrecondition):
			fmt.Fprintln(env.Stderr, "\nThe organization changed on the server after the plan (412): another apply or an administrator wrote it. Run scimsync plan again and review the new plan.")
		case len(unknown) > 0:
			fmt.Fprintln(env.Stderr, "\nRun the same command again: if the unknown write landed, the plan is refused as stale and nothing more is written; then run scimsync plan again and review the new plan.")
		case saved:
			fmt.Fprintln(env.Stderr, "\nRun the same command again to resume: the steps done are skipped.")
		default:
			fmt.Fprintln(env.Stderr, "\nRun the same command again to continue: it plans from the tenant as it now is.")
		}
		return exitError
	}
	var verr *apply.VerifyError
	if errors.As(err, &verr) {
		fmt.Fprintf(env.Stderr, "\nError: %s\n", verr.Verification)
		for _, d := range verr.Verification.Differences {
			fmt.Fprintf(env.Stderr, "  - %s\n", d)
		}
		fmt.Fprintln(env.Stderr, "\nEvery write succeeded, but the server's members are not what the plan predicted. Run scimsync plan to see what remains.")
		return exitError
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync apply: %v\n", err)
		return exitError
	}
	if rep.Verification != nil {
		fmt.Fprintln(env.Stdout, rep.Verification)
	}
	written := 0
	for _, st := range rep.Steps {
		if st.Status == apply.StatusDone {
			written++
		}
	}
	switch {
	case rep.Resumed && written == 0:
		fmt.Fprintln(env.Stdout, "Apply complete: every step was done by an earlier run of this plan.")
	case rep.Resumed:
		fmt.Fprintf(env.Stdout, "Apply complete: %s, after %s done by an earlier run.\n", plural(written, "write"), plural(len(rep.Steps)-written, "step"))
	default:
		fmt.Fprintf(env.Stdout, "Apply complete: %s.\n", plural(written, "write"))
	}
	return exitOK
}

// printSteps prints steps as an aligned table.
func printSteps(w io.Writer, steps []apply.StepResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, st := range steps {
		versions := st.IfMatch
		if st.Version != "" {
			versions += " → " + st.Version
		}
		fmt.Fprintf(tw, "  step %d\t%s\t%s\t%s\t%s\n", st.Step, st.Org, strings.Join(st.Fields, ", "), versions, st.Status)
	}
	tw.Flush()
}
