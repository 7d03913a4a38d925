package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

func init() {
	register(&command{
		name:    "snapshot",
		summary: "save the live tenant as a snapshot file for offline plans",
		usage:   snapshotUsage,
		run:     runSnapshot,
	})
}

const snapshotUsage = `Usage: scimsync snapshot [-f PATH]... -o FILE [--insecure-skip-tls-verify] [-v]

Read the whole tenant from the SCIM server the spec targets (target.url) and
save it as a snapshot: one JSON document holding the users, the groups with
their members, the organizations and the members, in the same form as the
server's list responses, sorted by id. A spec whose target.file names the
snapshot can then be planned offline, and scimsync serve --state can serve
it. The members of every group are read, so a snapshot stands in for the
server whatever the spec maps.

The file is written atomically (a temporary file in the same directory,
synced, then renamed), with mode 0600 when new: a snapshot lists people. It
never holds the bearer token; if the server's data held it, nothing is
written.

Flags:
  -f PATH                     a spec file, a directory of *.yaml files, or -
                              for stdin; repeat to merge several (default
                              scimsync.yaml)
  -o FILE                     where to write the snapshot; - for stdout
                              (required); a file that exists and is not a
                              snapshot is never overwritten
  --insecure-skip-tls-verify  do not verify the server's TLS certificate
                              (testing only; warns on every run)
  -v                          log each request (method, path, status) to
                              stderr
  -h                          show this help

Environment:
  SCIMSYNC_TOKEN              the bearer token, unless target.tokenEnv names
                              another variable or target.tokenFile a file

Exit codes:
  0  the snapshot was written
  1  an error: an invalid spec, a target that is not a SCIM server with the
     organization extension, an incomplete read; nothing was written
`

// snapshotOptions are the parsed flags of snapshot.
type snapshotOptions struct {
	files    []string
	out      string
	insecure bool
	verbose  bool
}

// parseSnapshotArgs parses snapshot's command line into options.
func parseSnapshotArgs(fs *flag.FlagSet, args []string) (snapshotOptions, error) {
	var files stringList
	var opts snapshotOptions
	fs.Var(&files, "f", "spec file, directory or - for stdin (repeatable)")
	fs.StringVar(&opts.out, "o", "", "where to write the snapshot, - for stdout")
	fs.BoolVar(&opts.insecure, "insecure-skip-tls-verify", false, "do not verify the server's TLS certificate")
	fs.BoolVar(&opts.verbose, "v", false, "log each request to stderr")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q: pass spec paths with -f and the output with -o", fs.Arg(0))
	}
	var err error
	if opts.files, err = checkSpecFiles(fs, files, ""); err != nil {
		return opts, err
	}
	if opts.out == "" {
		return opts, errors.New("flag -o: say where to write the snapshot (-o tenant.json, or -o - for stdout)")
	}
	if opts.out == "-" && len(opts.files) == 1 && opts.files[0] == "-" {
		return opts, errors.New("flag -o: the spec comes from stdin; write the snapshot to a file")
	}
	return opts, nil
}

// snapshotReader is what snapshot needs of a source: the live SCIM source
// reads the tenant as a stream of encoded resources, kept in a temporary
// file in dir rather than in memory.
type snapshotReader interface {
	ReadSnapshotStream(ctx context.Context, req tenant.ReadRequest, dir string) (*tenant.SnapshotStream, error)
}

// errTokenInData is the error of a snapshot whose content holds the bearer
// token.
var errTokenInData = errors.New("the server's data holds the bearer token; refusing to write it anywhere")

// tokenGuard passes writes on to w unless what was written, taken whole,
// would hold token: then it fails with errTokenInData, before the write
// that would complete it.
type tokenGuard struct {
	w     io.Writer
	token []byte
	tail  []byte // the last len(token)-1 bytes written
}

func (g *tokenGuard) Write(p []byte) (int, error) {
	if len(g.token) > 0 {
		head := p[:min(len(p), len(g.token)-1)]
		if bytes.Contains(p, g.token) || bytes.Contains(append(g.tail, head...), g.token) {
			return 0, errTokenInData
		}
		keep := len(g.token) - 1
		if len(p) >= keep {
			g.tail = append(g.tail[:0], p[len(p)-keep:]...)
		} else {
			g.tail = append(g.tail, p...)
			g.tail = g.tail[max(0, len(g.tail)-keep):]
		}
	}
	return g.w.Write(p)
}

func runSnapshot(env *cmdEnv, args []string) int {
	opts, code, done := parseFlags(env, "snapshot", snapshotUsage, args, parseSnapshotArgs)
	if done {
		return code
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(env.Stderr, "scimsync snapshot: "+format+"\n", args...)
		return exitError
	}

	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: env.Now(), Stdin: env.Stdin, TargetOnly: true}, opts.files...)
	if err != nil {
		return fail("%v", err)
	}
	if diags.HasErrors() || s == nil {
		for _, d := range diags.Errors() {
			fmt.Fprintln(env.Stderr, d.String())
		}
		return fail("the spec is invalid (%s); nothing was read", plural(len(diags.Errors()), "error"))
	}
	switch {
	case s.Target.File != "":
		return fail("target.file: the spec's target is a snapshot already (%s); snapshot reads a SCIM server, named by target.url", s.Target.File)
	case s.Target.MembersCSV != "":
		return fail("target.membersCsv: a server without the organization extension cannot be snapshotted; plan reads it through the members export directly")
	}

	// Never over a file that is not a snapshot (the spec itself, say):
	// checked before the read, which may take minutes.
	if opts.out != "-" {
		if err := tenant.CheckSnapshotOverwrite(opts.out); err != nil {
			return fail("%v", err)
		}
	}

	logger := slog.New(slog.DiscardHandler)
	if opts.verbose {
		logger = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	oo := tenant.OpenOptions{Getenv: env.Getenv, Insecure: opts.insecure, Logger: logger, Now: env.Now, Client: targetClient(env, s)}
	src, _, warnings, err := tenant.OpenSpec(ctx, s, oo)
	for _, w := range warnings {
		fmt.Fprintf(env.Stderr, "scimsync snapshot: warning: %s\n", w)
	}
	if err != nil {
		return fail("%v", targetError(s, err))
	}
	sr, ok := src.(snapshotReader)
	if !ok {
		return fail("target %s cannot be snapshotted", s.Target.URL)
	}

	req := tenant.RequestFor(s)
	req.AllGroupMembers = true
	var prog *progressLine
	if env.IsTTY(env.Stderr) {
		prog = newProgressLine(env)
		req.Progress = prog.update
	}
	// The resources are kept encoded, as they arrive, in a temporary file
	// beside the output (or in the temporary directory for stdout): a
	// large tenant is never held in memory.
	dir := ""
	if opts.out != "-" {
		dir = filepath.Dir(opts.out)
	}
	snap, err := sr.ReadSnapshotStream(ctx, req, dir)
	prog.done()
	if err != nil {
		return fail("reading the tenant: %v; nothing was written", targetError(s, err))
	}
	defer snap.Close()

	// The wire types have no place for a token, but a server could echo it
	// in any string.
	// The client redacts the token from what it returns: a snapshot of
	// altered data is refused all the same.
	if sc, ok := src.(*tenant.SCIMSource); ok {
		if rc, ok := sc.Client.(interface{ Redactions() int64 }); ok && rc.Redactions() > 0 {
			return fail("%v", errTokenInData)
		}
	}
	var token []byte
	if t, _, err := tenant.ReadToken(tenant.SpecTarget(s), oo); err == nil {
		token = []byte(t)
	}
	write := func(w io.Writer) error {
		_, err := snap.WriteTo(&tokenGuard{w: w, token: token})
		return err
	}
	if opts.out == "-" {
		// Checked whole before a byte goes out.
		if err := write(io.Discard); err != nil {
			return fail("%v", err)
		}
		if _, err := snap.WriteTo(env.Stdout); err != nil {
			return fail("writing the snapshot: %v", err)
		}
	} else if err := tenant.WriteFileAtomicFunc(opts.out, write); err != nil {
		if errors.Is(err, errTokenInData) {
			return fail("%v", errTokenInData)
		}
		return fail("%v", err)
	}
	where := opts.out
	if where == "-" {
		where = "stdout"
	}
	fmt.Fprintf(env.Stderr, "Wrote %s: %s, %s, %s, %s.\n", where,
		plural(snap.Users, "user"), plural(snap.Groups, "group"),
		plural(snap.ChildOrganizations, "child organization"), plural(snap.Members, "member"))
	return exitOK
}
