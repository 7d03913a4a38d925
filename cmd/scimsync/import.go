package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/scimsync/scimsync/importer"
	"github.com/scimsync/scimsync/internal/termsafe"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

func init() {
	register(&command{
		name:    "import",
		summary: "write the spec of the tenant as it is, from a spec holding only its target",
		usage:   importUsage,
		run:     runImport,
	})
}

const importUsage = `Usage: scimsync import [-f PATH]... [-o FILE [--force]] [--insecure-skip-tls-verify]

Read the tenant a spec targets and write the spec of the tenant as it is: the
parent (login domains, seat tiers, mode), every child organization by name
with its seats and mappings (groups by displayName, or by groupId where two
groups share a name), the exceptions the server holds as policy.exceptions,
and a policy block with the default limits and commented examples. plan on
the written spec changes no configuration, but for what import notes it
cannot keep: a mapping to a group the server no longer has, an exception
that has lapsed (both commented in the spec, and noted on stderr).

The spec read needs only version and target:

  version: 1
  target:
    url: https://claude.fedstart.com/v1/scim/v2   # or file: tenant.json

The target is written as given (relative paths rebased to FILE's directory).
A members export (target.membersCsv) holds no configuration: import writes
the organizations and seat tiers the CSV names, a current: block to match,
and says, in comments and on stderr, what it cannot know (mappings, seats,
exceptions, mode, the parent's name).

The output is the same bytes for the same tenant. The written spec is
validated at once; its diagnostics, if any, are printed.

Flags:
  -f PATH                     the spec holding the target: a file, a
                              directory of *.yaml files, or - for stdin
                              (default scimsync.yaml)
  -o FILE                     write the spec to FILE instead of stdout; an
                              existing FILE is refused
  --force                     with -o, replace an existing FILE
  --insecure-skip-tls-verify  do not verify the server's TLS certificate
                              (testing only)
  -h                          show this help

Environment:
  SCIMSYNC_TOKEN              the bearer token, unless target.tokenEnv names
                              another variable or target.tokenFile a file
  SCIMSYNC_NOW                the date lapsed exceptions are judged against

Exit codes:
  0  the spec was written
  1  an error: nothing was written; or the written spec has an error, which
     is printed
`

// importOptions are the parsed flags of import.
type importOptions struct {
	files    []string
	out      string
	force    bool
	insecure bool
}

// parseImportArgs parses import's command line into options.
func parseImportArgs(fs *flag.FlagSet, args []string) (importOptions, error) {
	var files stringList
	var opts importOptions
	fs.Var(&files, "f", "spec file, directory or - for stdin (repeatable)")
	fs.StringVar(&opts.out, "o", "", "write the spec to this file")
	fs.BoolVar(&opts.force, "force", false, "replace an existing -o file")
	fs.BoolVar(&opts.insecure, "insecure-skip-tls-verify", false, "do not verify the server's TLS certificate")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	var err error
	if opts.files, err = checkSpecFiles(fs, files, ""); err != nil {
		return opts, err
	}
	if opts.out == "" && flagSet(fs, "o") {
		return opts, errors.New("flag -o: empty path")
	}
	if opts.force && opts.out == "" {
		return opts, errors.New("flag --force: goes with -o FILE")
	}
	return opts, nil
}

// beyondTarget names what a spec given to import holds besides version
// and target that the written spec does not take from it: "organizations",
// "policy", or both; "" when neither.
func beyondTarget(s *spec.Spec) string {
	var parts []string
	if len(s.Organizations) > 0 {
		parts = append(parts, "organizations")
	}
	// Load fills the limits' defaults in: only a limit set otherwise is
	// the spec's own.
	p := s.Policy
	differs := func(v *int, def int) bool { return v != nil && *v != def }
	if differs(p.MaxRemovals, spec.DefaultMaxRemovals) || differs(p.ExceptionNoticeDays, spec.DefaultExceptionNoticeDays) ||
		(p.MaxRemovalPercent != nil && *p.MaxRemovalPercent != spec.DefaultMaxRemovalPercent) ||
		len(p.OwnerGroups) > 0 || p.ExclusiveOrgs || len(p.ProtectedUsers) > 0 || len(p.Exceptions) > 0 {
		parts = append(parts, "a policy")
	}
	return strings.Join(parts, " and ")
}

// importReads reports whether out names a file import reads for s, and
// which: a file of the spec, or one its target names.
func importReads(s *spec.Spec, out string) (string, bool) {
	t := tenant.SpecTarget(s)
	for _, c := range []struct{ what, path string }{
		{"target.file", t.File}, {"target.membersCsv", t.MembersCSV}, {"target.tokenFile", t.TokenFile}, {"target.caFile", t.CAFile},
	} {
		if c.path != "" && sameFile(c.path, out) {
			return c.what, true
		}
	}
	for _, f := range strings.Split(s.Source, ",") {
		if f != "" && f != "-" && sameFile(f, out) {
			return "the spec given with -f", true
		}
	}
	return "", false
}

// sameFile reports whether a and b name one file: the same file when both
// exist (through links too), else the same absolute path.
func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

func runImport(env *cmdEnv, args []string) int {
	opts, code, done := parseFlags(env, "import", importUsage, args, parseImportArgs)
	if done {
		return code
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(env.Stderr, "scimsync import: "+format+"\n", args...)
		return exitError
	}
	if opts.out != "" && !opts.force {
		if _, err := os.Lstat(opts.out); err == nil {
			return fail("%s exists; nothing was read or written (pass --force to replace it)", opts.out)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fail("%v", err)
		}
	}
	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: env.Now(), Stdin: env.Stdin, TargetOnly: true}, opts.files...)
	if err != nil {
		return fail("%v", err)
	}
	diags = dropCurrentRequired(s, diags)
	for _, d := range diags {
		fmt.Fprintln(env.Stderr, d.String())
	}
	if diags.HasErrors() || s == nil {
		return fail("the spec is invalid (%s); nothing was read", plural(len(diags.Errors()), "error"))
	}
	if opts.out != "" {
		// Not even --force replaces what import reads: its own spec, the
		// snapshot or export it imports, the token or CA file.
		if what, ok := importReads(s, opts.out); ok {
			return fail("-o %s is %s, which import reads; nothing was read or written (write the spec to another file)", opts.out, what)
		}
	}

	inDir := tenant.SpecDir(s.Source)
	outDir := inDir
	if opts.out != "" {
		outDir = filepath.Dir(opts.out)
	}
	iopts := importer.Options{
		Target:     rebaseTarget(s, outDir),
		Schema:     modelineSchema(opts.files, inDir, outDir),
		Now:        env.Now(),
		ParentName: s.Parent.Name,
	}

	var res *importer.Result
	if s.Target.MembersCSV != "" {
		path := tenant.SpecTarget(s).MembersCSV
		f, err := os.Open(path)
		if err != nil {
			return fail("reading members export: %v; nothing was written", err)
		}
		rows, err := tenant.ParseMembersCSV(f)
		f.Close()
		if err != nil {
			return fail("%s: %v; nothing was written", path, err)
		}
		if res, err = importer.MembersExport(rows, iopts); err != nil {
			return fail("%v", err)
		}
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		warn := func(w string) { fmt.Fprintf(env.Stderr, "scimsync import: warning: %s\n", w) }
		src, err := openSource(ctx, env, s, planReadOptions{insecure: opts.insecure, warn: warn})
		if err != nil {
			return fail("%v", err)
		}
		req := tenant.ReadRequest{}
		var prog *progressLine
		if env.IsTTY(env.Stderr) {
			prog = newProgressLine(env)
			req.Progress = prog.update
		}
		t, err := src.Read(ctx, req)
		prog.done()
		if err != nil {
			return fail("reading the tenant: %v; nothing was written", err)
		}
		if res, err = importer.Spec(t, iopts); err != nil {
			return fail("%v", err)
		}
	}
	if s.Target.URL != "" {
		oo := tenant.OpenOptions{Getenv: env.Getenv}
		if token, _, err := tenant.ReadToken(tenant.SpecTarget(s), oo); err == nil && token != "" && bytes.Contains(res.YAML, []byte(token)) {
			return fail("the server's data holds the bearer token; refusing to write it anywhere")
		}
	}
	if given := beyondTarget(s); given != "" {
		fmt.Fprintf(env.Stderr, "scimsync import: note: the spec given also holds %s, which import does not carry over: "+
			"it writes the tenant as it is, with the default policy; copy what you need from the spec given\n", given)
	}
	for _, n := range res.Notes {
		// Notes name the server's groups and orgs: shown as the plan
		// shows them.
		fmt.Fprintf(env.Stderr, "scimsync import: note: %s\n", termsafe.Clean(n))
	}

	where := "stdout"
	if opts.out == "" {
		if _, err := env.Stdout.Write(res.YAML); err != nil {
			return fail("writing the spec: %v", err)
		}
	} else {
		if err := tenant.WriteFileAtomic(opts.out, res.YAML); err != nil {
			return fail("%v", err)
		}
		where = opts.out
	}
	// Check what was written as validate and plan will.
	name := cmpOr(opts.out, "<import>")
	_, wdiags, err := spec.LoadBytesWith(spec.LoadOptions{Now: env.Now()}, name, res.YAML)
	if err == nil && wdiags.HasErrors() {
		for _, d := range wdiags.Errors() {
			fmt.Fprintln(env.Stderr, d.String())
		}
		return fail("wrote %s, but it has %s to fix before plan", where, plural(len(wdiags.Errors()), "error"))
	}
	if opts.out != "" {
		fmt.Fprintf(env.Stderr, "Wrote %s. Next: scimsync validate -f %s, then scimsync plan -f %s\n", opts.out, opts.out, opts.out)
	}
	return exitOK
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// rebaseTarget returns the spec's target with its relative paths rewritten
// to hold from dir, where the imported spec is written.
func rebaseTarget(s *spec.Spec, dir string) spec.Target {
	t := s.Target
	resolved := tenant.SpecTarget(s)
	rebase := func(orig, abs string) string {
		if orig == "" || filepath.IsAbs(orig) {
			return orig
		}
		from, err1 := filepath.Abs(cmpOr(dir, "."))
		to, err2 := filepath.Abs(abs)
		if err1 != nil || err2 != nil {
			return orig
		}
		if rel, err := filepath.Rel(from, to); err == nil {
			return filepath.ToSlash(rel)
		}
		return orig
	}
	t.File = rebase(t.File, resolved.File)
	t.TokenFile = rebase(t.TokenFile, resolved.TokenFile)
	t.CAFile = rebase(t.CAFile, resolved.CAFile)
	t.MembersCSV = rebase(t.MembersCSV, resolved.MembersCSV)
	return t
}

// modelineSchema is the $schema of the first spec file's
// yaml-language-server modeline, rebased from inDir to outDir when it is a
// relative path; "" (importer.DefaultSchema) when the file has none.
func modelineSchema(files []string, inDir, outDir string) string {
	if len(files) == 0 || files[0] == "-" {
		return ""
	}
	f, err := os.Open(files[0])
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	_, schema, ok := strings.Cut(strings.TrimSpace(line), "yaml-language-server: $schema=")
	if !ok || schema == "" {
		return ""
	}
	if strings.Contains(schema, "://") || filepath.IsAbs(schema) {
		return schema
	}
	from, err1 := filepath.Abs(cmpOr(outDir, "."))
	to, err2 := filepath.Abs(filepath.Join(cmpOr(inDir, "."), schema))
	if err1 != nil || err2 != nil {
		return schema
	}
	if rel, err := filepath.Rel(from, to); err == nil {
		return filepath.ToSlash(rel)
	}
	return schema
}

// dropCurrentRequired drops the diagnostic that a members-export target
// lacks its current: block: import is what writes that block. (spec's
// TargetOnly still asks for it.)
func dropCurrentRequired(s *spec.Spec, diags spec.Diagnostics) spec.Diagnostics {
	if s == nil || s.Current != nil || s.Target.MembersCSV == "" {
		return diags
	}
	out := diags[:0:0]
	for _, d := range diags {
		if d.Severity == spec.Error && d.Path == "target.membersCsv" && strings.Contains(d.Summary, "current:") {
			continue
		}
		out = append(out, d)
	}
	return out
}
