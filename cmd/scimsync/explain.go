package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/explain"
	"github.com/scimsync/scimsync/tenant"
)

func init() {
	register(&command{
		name:    "explain",
		summary: "show what one person gets in each child org, and why",
		usage:   explainUsage,
		run:     runExplain,
	})
}

const explainUsage = `Usage: scimsync explain [-f PATH]... [--format text|json] [-v]
                        [--insecure-skip-tls-verify] EMAIL...

For each EMAIL, trace the person through the tenant and the plan: which SCIM
users match and how (userName, emails[], or a member's userId link), whether
each is active, every group membership path through nesting, and per child
organization the mappings that match, the role and tier they resolve to and
the deciding mapping, the current member record and its origin, any
exception and whether it has lapsed, whether the person is protected,
whether exclusiveOrgs is in play, what this plan does to them and what full
enablement would do, with the reason. An email that matches nothing says so
and suggests the closest addresses.

The tenant is read once (a snapshot file, a SCIM server or a members export,
as plan reads it, but with every group's members, for the group paths), and
only the people asked about, with those who share an address or a link with
them, are planned: what each is told is what the whole plan says of them.
Findings that count over the whole tenant (seat overcommit, maxRemovals,
maxRemovalPercent, empty groups, ownerGroups, look-alike addresses) are left
to plan. explain never writes.

Flags:
  -f PATH                     a spec file, a directory of *.yaml files, or -
                              for stdin; repeat to merge several (default
                              scimsync.yaml)
  --format text|json          output format (default text)
  -v                          print how long the read, the plan and the
                              trace took, on stderr
  --insecure-skip-tls-verify  do not verify the server's TLS certificate
                              (testing only)
  -h                          show this help

Environment:
  SCIMSYNC_TOKEN              the bearer token, unless target.tokenEnv names
                              another variable or target.tokenFile a file
  SCIMSYNC_NOW                the instant exceptions are judged against

Exit codes:
  0  every email was explained (one that matches nothing included)
  1  an error: an invalid spec, an unreadable tenant
`

// explainOptions are the parsed flags of explain.
type explainOptions struct {
	files    []string
	emails   []string
	format   string
	verbose  bool
	insecure bool
}

// parseExplainArgs parses explain's command line: flags and emails in any
// order.
func parseExplainArgs(fs *flag.FlagSet, args []string) (explainOptions, error) {
	var files stringList
	var opts explainOptions
	fs.Var(&files, "f", "spec file, directory or - for stdin (repeatable)")
	fs.StringVar(&opts.format, "format", "text", "output format: text or json")
	fs.BoolVar(&opts.verbose, "v", false, "print timings on stderr")
	fs.BoolVar(&opts.insecure, "insecure-skip-tls-verify", false, "do not verify the server's TLS certificate")
	for {
		if err := fs.Parse(args); err != nil {
			return opts, err
		}
		if fs.NArg() == 0 {
			break
		}
		opts.emails = append(opts.emails, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(opts.emails) == 0 {
		return opts, errors.New("missing EMAIL: name one or more people by email after the flags")
	}
	for _, f := range files {
		if f == "" {
			return opts, errors.New("flag -f: empty path")
		}
	}
	opts.files = files
	if len(opts.files) == 0 {
		opts.files = []string{"scimsync.yaml"}
	}
	switch opts.format {
	case "text", "json":
	default:
		return opts, fmt.Errorf("flag --format: %q is not text or json", opts.format)
	}
	return opts, nil
}

func runExplain(env *cmdEnv, args []string) int {
	opts, code, done := parseFlags(env, "explain", explainUsage, args, parseExplainArgs)
	if done {
		return code
	}
	s, ok := loadSpecFor(env, "explain", opts.files, "nothing was read")
	if !ok {
		return exitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	warn := func(w string) { fmt.Fprintf(env.Stderr, "scimsync explain: warning: %s\n", w) }
	src, err := openSource(ctx, env, s, planReadOptions{insecure: opts.insecure, warn: warn})
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync explain: %v\n", err)
		return exitError
	}
	start := time.Now()
	// Every group's members, so that the group paths are complete on a
	// server too (a plan reads only the mapped groups').
	req := tenant.RequestFor(s)
	req.AllGroupMembers = true
	var prog *progressLine
	if env.IsTTY(env.Stderr) {
		prog = newProgressLine(env)
		req.Progress = prog.update
	}
	// Only the people asked about, and those they depend on, are planned
	// (tenant.Restrict); a snapshot file is read for them alone.
	var foc *tenant.Focused
	if ss, ok := src.(*tenant.SnapshotSource); ok {
		foc, err = ss.ReadFocused(ctx, req, opts.emails)
	} else {
		var t *tenant.Tenant
		if t, err = src.Read(ctx, req); err == nil {
			foc = tenant.Focus(t, opts.emails)
		}
	}
	prog.done()
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync explain: reading the tenant: %v\n", err)
		return exitError
	}
	read := time.Now()
	p, err := diff.Compute(s, foc.Tenant, env.Now())
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync explain: %v\n", err)
		return exitError
	}
	planned := time.Now()
	reports, err := explain.Explain(explain.Input{Spec: s, Tenant: foc.Tenant, Plan: p, Now: env.Now(), Addresses: foc.Addresses}, opts.emails)
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync explain: %v\n", err)
		return exitError
	}
	traced := time.Now()
	if opts.verbose {
		fmt.Fprintf(env.Stderr, "scimsync explain: read %s, plan %s, trace %s; planned %d of %d users, %d of %d members\n",
			read.Sub(start).Round(time.Millisecond), planned.Sub(read).Round(time.Millisecond), traced.Sub(planned).Round(time.Microsecond),
			len(foc.Tenant.Users), foc.Users, len(foc.Tenant.Members), foc.Members)
	}
	if opts.format == "json" {
		err = explain.RenderJSON(env.Stdout, reports)
	} else {
		err = explain.RenderText(env.Stdout, reports)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync explain: %v\n", err)
		return exitError
	}
	return exitOK
}
