package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

func init() {
	register(&command{
		name:    "plan",
		summary: "show, user by user, what the spec would change in the tenant",
		usage:   planUsage,
		run:     runPlan,
	})
}

const planUsage = `Usage: scimsync plan [-f PATH]... [-o FILE] [--format text|json|markdown]
                     [--org NAME]... [--summary] [--detailed-exitcode]
                     [--insecure-skip-tls-verify]

Read the tenant the spec targets (a SCIM server, or the snapshot file named
by target.file) and show what applying the spec would change: configuration
changes, then every member added, re-roled or removed and why, who would be
removed if full provisioning were switched on now, seat usage and policy
findings. plan never writes to the tenant.

Flags:
  -f PATH                     a spec file, a directory of *.yaml files, or -
                              for stdin; repeat to merge several (default
                              scimsync.yaml)
  -o FILE                     also save the plan to FILE for scimsync apply:
                              the JSON form plus the spec's hash, the spec's
                              path and a hash of its own content, so a
                              modified file is refused; a FILE that exists
                              and is not a saved plan is never overwritten
  --org NAME                  narrow the plan to this child org: only its
                              changes are shown, saved and applied; repeat
                              for several. Refused when the plan changes the
                              parent organization (mode, loginDomains,
                              seatTiers)
  --summary                   show only the changes counted per org, the
                              findings, the exceptions about to lapse and
                              the summary line (text and markdown; not with
                              --format json)
  --format text|json|markdown output format (default text): text for people,
                              json for scripts (format_version "1"), markdown
                              for a pull-request comment
  --detailed-exitcode         accepted for Terraform habits; plan's exit
                              codes are always the detailed ones below
  --insecure-skip-tls-verify  do not verify the server's TLS certificate
                              (testing only)
  -h                          show this help

Environment:
  NO_COLOR                    set to disable colour (colour is used only when
                              stdout is a terminal)
  SCIMSYNC_NOW                the instant exceptions are judged against,
                              YYYY-MM-DD or RFC 3339 (default: now)

Exit codes (always, with or without --detailed-exitcode):
  0  no changes: the tenant matches the spec
  1  error: an invalid spec, an unreadable tenant, a spec that names what the
     server lacks
  2  changes pending
  3  changes that include removals or break policy (an error-level finding)
`

// planOptions are the parsed flags of plan.
type planOptions struct {
	files    []string
	out      string
	format   string
	orgs     []string
	summary  bool
	detailed bool
	insecure bool
}

// parsePlanArgs parses plan's command line into options.
func parsePlanArgs(fs *flag.FlagSet, args []string) (planOptions, error) {
	var files, orgs stringList
	opts := planOptions{}
	fs.Var(&files, "f", "spec file, directory or - for stdin (repeatable)")
	fs.StringVar(&opts.out, "o", "", "save the plan to this file")
	fs.StringVar(&opts.format, "format", "text", "output format: text, json or markdown")
	fs.Var(&orgs, "org", "narrow the plan to this child org (repeatable)")
	fs.BoolVar(&opts.summary, "summary", false, "show only per-org counts, findings and the summary line")
	fs.BoolVar(&opts.detailed, "detailed-exitcode", false, "accepted; exit codes are always detailed")
	fs.BoolVar(&opts.insecure, "insecure-skip-tls-verify", false, "do not verify the server's TLS certificate")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	var err error
	if opts.files, err = checkSpecFiles(fs, files, ""); err != nil {
		return opts, err
	}
	switch opts.format {
	case "text", "json", "markdown":
	default:
		return opts, fmt.Errorf("flag --format: %q is not text, json or markdown", opts.format)
	}
	if opts.out == "" && flagSet(fs, "o") {
		return opts, fmt.Errorf("flag -o: empty path")
	}
	for _, o := range orgs {
		if strings.TrimSpace(o) == "" {
			return opts, fmt.Errorf("flag --org: empty name")
		}
	}
	opts.orgs = orgs
	if opts.summary && opts.format == "json" {
		return opts, fmt.Errorf("flag --summary: not with --format json, whose members list is the contract scripts read; select the fields instead, e.g. jq '{summary, findings}'")
	}
	return opts, nil
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func runPlan(env *cmdEnv, args []string) int {
	opts, code, done := parseFlags(env, "plan", planUsage, args, parsePlanArgs)
	if done {
		return code
	}

	s, ok := loadSpecFor(env, "plan", opts.files, "nothing was read or planned")
	if !ok {
		return exitError
	}

	// A path plan -o must not overwrite is refused before the tenant is
	// read; WritePlanFile checks again.
	if opts.out != "" {
		if err := diff.CheckOverwrite(opts.out); err != nil {
			env.recordError(cliError{Kind: errKindIO, Message: err.Error(), File: opts.out})
			fmt.Fprintf(env.Stderr, "scimsync plan: %v\n", err)
			return exitError
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	warn := func(w string) { fmt.Fprintf(env.Stderr, "scimsync plan: warning: %s\n", w) }
	p, _, err := readAndPlan(ctx, env, s, planReadOptions{insecure: opts.insecure, progress: env.IsTTY(env.Stderr), warn: warn, orgs: opts.orgs})
	if err != nil {
		return planError(env, s, err)
	}

	if opts.out != "" {
		saved := *p
		if saved.SpecPaths, err = diff.SpecPathsFor(opts.out, opts.files); err == nil {
			err = diff.WritePlanFile(opts.out, &saved)
		}
		if err != nil {
			env.recordError(cliError{Kind: errKindIO, Message: err.Error(), File: opts.out})
			fmt.Fprintf(env.Stderr, "scimsync plan: %v\n", err)
			return exitError
		}
	}
	switch opts.format {
	case "json":
		err = diff.RenderJSON(env.Stdout, p)
	case "markdown":
		err = diff.RenderMarkdownWith(env.Stdout, p, diff.MarkdownOptions{Summary: opts.summary})
	default:
		color := useColor(env, env.Stdout)
		err = diff.RenderText(env.Stdout, p, diff.TextOptions{Color: color, Summary: opts.summary})
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync plan: %v\n", err)
		return exitError
	}
	if opts.out != "" {
		fmt.Fprintf(env.Stderr, "Saved the plan to %s. Apply exactly this plan with: %s\n", opts.out, applyHint(opts.out, opts.files))
	}
	return verdictExit(p.Verdict())
}

// planError reports a plan that could not be computed: a narrowing that
// cannot be done (--org), or a tenant that could not be read or does not
// match the spec.
func planError(env *cmdEnv, s *spec.Spec, err error) int {
	var unknown *diff.UnknownOrgError
	var parent *diff.ParentChangeError
	var outside *diff.NarrowOutsideError
	var mismatch *diff.MismatchError
	switch {
	case errors.As(err, &mismatch) && len(mismatch.Problems) > 0:
		// The spec does not match the server: a spec error, at the first
		// problem's place, which the message lists with the others.
		pos := mismatch.Problems[0].Pos
		env.recordError(cliError{Kind: errKindSpec, Message: err.Error(), File: pos.File, Line: pos.Line, Col: pos.Col})
		fmt.Fprintf(env.Stderr, "scimsync plan: %v\n", err)
	case errors.As(err, &unknown):
		env.recordError(cliError{Kind: errKindUsage, Message: "flag --org: " + err.Error()})
		fmt.Fprintf(env.Stderr, "scimsync plan: flag --org: %v\n", err)
	case errors.As(err, &parent):
		env.recordError(cliError{Kind: errKindUsage, Message: "flag --org: " + err.Error()})
		fmt.Fprintf(env.Stderr, "scimsync plan: flag --org: %v\n", err)
		fmt.Fprintln(env.Stderr, "A change of the parent organization applies to every child org at once, so it cannot be narrowed to some of them.")
		fmt.Fprintln(env.Stderr, "Run scimsync plan without --org to review (and apply) the whole plan, the parent change included.")
	case errors.As(err, &outside):
		env.recordError(cliError{Kind: errKindUsage, Message: "flag --org: " + err.Error()})
		fmt.Fprintf(env.Stderr, "scimsync plan: flag --org: %v\n", err)
		fmt.Fprintln(env.Stderr, "Run scimsync plan without --org, or with those orgs added, to review what the writes do to every org they change.")
	default:
		recordReadError(env, s, err)
		fmt.Fprintf(env.Stderr, "scimsync plan: %v\n", err)
	}
	return exitError
}

// applyHint is the command that applies the plan saved at out, from any
// directory: the plan's absolute path, and -f only when the spec came from
// stdin (the plan then records no spec path).
func applyHint(out string, files []string) string {
	path := out
	if abs, err := filepath.Abs(out); err == nil {
		path = abs
	}
	hint := "scimsync apply " + shellQuote(path)
	if slices.Contains(files, "-") {
		hint += " -f SPEC"
	}
	return hint
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and ./_-+:@%,= characters.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("./_-+:@%,=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// planReadOptions tune readAndPlan.
type planReadOptions struct {
	// insecure skips TLS verification of a SCIM target.
	insecure bool
	// progress prints a progress line on stderr while the tenant is read.
	progress bool
	// warn receives the target's warnings (a token file others can read,
	// TLS verification off); they are printed on stderr when nil.
	warn func(string)
	// orgs narrows the plan to these child orgs (plan --org).
	orgs []string
}

// readAndPlan opens the target of a loaded, valid spec, reads the tenant
// (the members of every group the spec maps included) and computes the
// plan at env.Now(). plan uses it; so can the agent and apply.
func readAndPlan(ctx context.Context, env *cmdEnv, s *spec.Spec, opts planReadOptions) (*diff.Plan, *tenant.Tenant, error) {
	src, err := openSource(ctx, env, s, opts)
	if err != nil {
		return nil, nil, err
	}
	req := tenant.RequestFor(s)
	var prog *progressLine
	if opts.progress {
		prog = newProgressLine(env)
		req.Progress = prog.update
	}
	t, err := src.Read(ctx, req)
	prog.done()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the tenant: %w", targetError(s, err))
	}
	p, err := diff.ComputeWith(s, t, env.Now(), diff.Options{Orgs: opts.orgs})
	if err != nil {
		return nil, nil, err
	}
	return p, t, nil
}

// openSource opens the spec's target with tenant.OpenSpec: a snapshot file
// (target.file, relative to the spec file that names it), a SCIM server
// (target.url) or a members export (target.membersCsv). Its warnings go to
// opts.warn.
func openSource(ctx context.Context, env *cmdEnv, s *spec.Spec, opts planReadOptions) (tenant.Source, error) {
	src, _, warnings, err := tenant.OpenSpec(ctx, s, tenant.OpenOptions{Getenv: env.Getenv, Insecure: opts.insecure, Now: env.Now, Client: targetClient(env, s)})
	if err != nil {
		return nil, targetError(s, err)
	}
	for _, w := range warnings {
		if opts.warn != nil {
			opts.warn(w)
		} else {
			fmt.Fprintf(env.Stderr, "warning: %s\n", w)
		}
	}
	return src, nil
}

// progressLine shows read progress on one terminal line, rewritten in place
// and cleared when done.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	clear string // clearLine's
	shown bool
}

func (p *progressLine) update(kind string, done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if total >= 0 {
		fmt.Fprintf(p.w, "%sreading %s: %d/%d", p.clear, kind, done, total)
	} else {
		fmt.Fprintf(p.w, "%sreading %s: %d", p.clear, kind, done)
	}
	p.shown = true
}

// newProgressLine is a progress line on env's stderr, a terminal.
func newProgressLine(env *cmdEnv) *progressLine {
	return &progressLine{w: env.Stderr, clear: clearLine(env)}
}

// clearLine is what returns to the start of a terminal line and blanks it:
// the erase-line sequence, or spaces on a terminal that says it has no
// such sequences (TERM=dumb), which progress lines never outgrow.
func clearLine(env *cmdEnv) string {
	if env.Getenv("TERM") == "dumb" {
		return "\r" + strings.Repeat(" ", 79) + "\r"
	}
	return "\r\x1b[K"
}

func (p *progressLine) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, p.clear)
	}
}
