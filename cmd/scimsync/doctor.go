package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/scimsync/scimsync/doctor"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

func init() {
	register(&command{
		name:    "doctor",
		summary: "check that scimsync can work with the target's SCIM server",
		usage:   doctorUsage,
		run:     runDoctor,
	})
}

const doctorUsage = `Usage: scimsync doctor [-f PATH]... [--insecure-skip-tls-verify]

Check, before anything else, whether scimsync can work with the SCIM server
the spec targets (target.url); the spec needs only version and target. One
row per check: ✓ when it passes, ! for a warning, ✗ with the fix when it
fails, - when an earlier failure kept it from running:

  DNS, connection  the host resolves, and its port accepts connections
  TLS              the version, and the certificate verified (target.caFile)
  auth             the token is accepted; the row names where it came from
                   (target.tokenEnv or target.tokenFile), never the token
  discovery        /ServiceProviderConfig, /ResourceTypes and /Schemas
  organization     the organization extension (/Organizations), or the need
  extension        for a members export (target.membersCsv)
  page size        the page size the server allows (1000 are asked for)
  filters          the filters scimsync sends work (organization eq on
                   /Members, displayName eq on /Groups, userName eq)
  ETags            meta.version on every organization, and a read with
                   If-None-Match
  clock            the server's Date against this machine's clock:
                   exceptions are judged by date
  latency          the median and slowest request

Every request is a GET: doctor never writes.

Flags:
  -f PATH                     a spec file, a directory of *.yaml files, or -
                              for stdin; repeat to merge several (default
                              scimsync.yaml)
  --insecure-skip-tls-verify  do not verify the server's TLS certificate
                              (testing only; the TLS row warns)
  -h                          show this help

Environment:
  SCIMSYNC_TOKEN              the bearer token, unless target.tokenEnv names
                              another variable or target.tokenFile a file

Exit codes:
  0  every check passed (warnings allowed)
  1  a check failed, or the spec cannot be read
`

// doctorOptions are the parsed flags of doctor.
type doctorOptions struct {
	files    []string
	insecure bool
}

// parseDoctorArgs parses doctor's command line into options.
func parseDoctorArgs(fs *flag.FlagSet, args []string) (doctorOptions, error) {
	var files stringList
	var opts doctorOptions
	fs.Var(&files, "f", "spec file, directory or - for stdin (repeatable)")
	fs.BoolVar(&opts.insecure, "insecure-skip-tls-verify", false, "do not verify the server's TLS certificate")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	var err error
	opts.files, err = checkSpecFiles(fs, files, "")
	return opts, err
}

func runDoctor(env *cmdEnv, args []string) int {
	opts, code, done := parseFlags(env, "doctor", doctorUsage, args, parseDoctorArgs)
	if done {
		return code
	}
	s, ok := loadTargetSpec(env, "doctor", opts.files, "nothing was checked")
	if !ok {
		return exitError
	}
	if s.Target.URL == "" {
		fmt.Fprintf(env.Stderr, "scimsync doctor: target.file: the spec's target is a snapshot (%s); doctor checks a SCIM server, named by target.url\n", s.Target.File)
		return exitError
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client := targetClient(env, s)
	rep, err := doctor.Run(ctx, doctor.Options{
		Target:   tenant.SpecTarget(s),
		Getenv:   env.Getenv,
		Insecure: opts.insecure,
		Now:      time.Now, // the machine's clock, which the server's is compared with
		Client:   client,
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync doctor: %v\n", err)
		return exitError
	}
	renderDoctor(env.Stdout, s, rep)
	if !rep.OK() {
		return exitError
	}
	return exitOK
}

// loadTargetSpec is loadSpecFor for a command that needs only version and
// target in the spec (spec.LoadOptions.TargetOnly): parent, organizations
// and policy are checked when present.
func loadTargetSpec(env *cmdEnv, name string, files []string, nothing string) (*spec.Spec, bool) {
	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: env.Now(), Stdin: env.Stdin, TargetOnly: true}, files...)
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync %s: %v\n", name, err)
		return nil, false
	}
	// A members-export target needs current: to plan, not to be checked.
	diags = dropCurrentRequired(s, diags)
	for _, d := range diags {
		fmt.Fprintln(env.Stderr, d.String())
	}
	if diags.HasErrors() || s == nil {
		fmt.Fprintf(env.Stderr, "scimsync %s: the spec is invalid (%s); %s\n", name, plural(len(diags.Errors()), "error"), nothing)
		return nil, false
	}
	return s, true
}

// doctorSymbols are the marks of each status.
var doctorSymbols = map[doctor.Status]string{doctor.OK: "✓", doctor.Warn: "!", doctor.Fail: "✗", doctor.Skipped: "-"}

// renderDoctor prints a report: a heading naming the URL and the spec line
// that set it, one aligned row per check with its fix under a warning or a
// failure, and a summary line.
func renderDoctor(w io.Writer, s *spec.Spec, rep *doctor.Report) {
	fmt.Fprintf(w, "Checking %s (target.url, %s)\n\n", rep.URL, s.PosOf("target.url"))
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
	}
	indent := strings.Repeat(" ", width+4)
	for _, c := range rep.Checks {
		fmt.Fprintf(w, "%s %-*s  %s\n", doctorSymbols[c.Status], width, c.Name, oneLine(c.Detail))
		if c.Fix != "" && (c.Status == doctor.Warn || c.Status == doctor.Fail) {
			fmt.Fprintf(w, "%sfix: %s\n", indent, oneLine(c.Fix))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, doctorSummary(rep))
}

// doctorSummary is the last line: "12 checks passed, 1 warning." or
// "3 checks passed, 1 failed, 9 not run."
func doctorSummary(rep *doctor.Report) string {
	parts := []string{plural(rep.Count(doctor.OK), "check") + " passed"}
	if n := rep.Count(doctor.Warn); n > 0 {
		parts = append(parts, plural(n, "warning"))
	}
	if n := rep.Count(doctor.Fail); n > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", n))
	}
	if n := rep.Count(doctor.Skipped); n > 0 {
		parts = append(parts, fmt.Sprintf("%d not run", n))
	}
	return strings.Join(parts, ", ") + "."
}

// oneLine keeps a server-supplied text on its row.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
