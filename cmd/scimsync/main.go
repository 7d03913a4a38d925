// Command scimsync keeps an organization's identity configuration in git and
// reconciles it, safely, against a live SCIM 2.0 server.
//
// main is thin: it parses the command line, wires packages together, prints,
// and turns outcomes into exit codes. Every command lives in its own file and
// registers itself with register.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/spec"
)

// Exit codes shared by plan, apply and the other diff-like commands
// (DESIGN §6).
const (
	exitOK        = 0 // no changes, or success
	exitError     = 1 // an error, or an invalid spec
	exitChanges   = 2 // changes pending
	exitDangerous = 3 // removals, or a finding that breaks policy (even with nothing to write)
)

// verdictExit maps a plan's verdict to its exit code.
func verdictExit(v diff.Verdict) int {
	switch v {
	case diff.VerdictNoChanges:
		return exitOK
	case diff.VerdictChanges:
		return exitChanges
	}
	return exitDangerous
}

// cmdEnv is what a command may touch of the outside world. Tests replace it.
type cmdEnv struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Now    func() time.Time
	// IsTTY reports whether the given stream is a terminal.
	IsTTY func(f any) bool
	// errs records the command's error for --format json; nil when JSON
	// errors are off (see errjson.go).
	errs *errorRecord
	// flagProbe, when set, receives each command's parsed FlagSet in
	// parseFlags, and the command returns at once (completion.go).
	flagProbe func(*flag.FlagSet)
}

// command is one subcommand.
type command struct {
	name    string
	summary string // one line, for `scimsync help`
	usage   string // full usage text, printed by -h
	run     func(env *cmdEnv, args []string) int
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("scimsync: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() { os.Exit(main1()) }

// main1 runs scimsync with os.Args and returns the exit code. testscript
// calls it too.
func main1() int {
	env := &cmdEnv{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		IsTTY:  isTerminal,
	}
	now, err := nowFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "scimsync: %v\n", err)
		return exitError
	}
	env.Now = now
	if path := os.Getenv("SCIMSYNC_CPUPROFILE"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "scimsync: SCIMSYNC_CPUPROFILE: %v\n", err)
			return exitError
		}
		defer stop()
	}
	return runArgs(env, os.Args[1:])
}

// startCPUProfile writes a CPU profile of the run to path, for `go tool
// pprof` (BENCHMARKS.md shows where plan's time goes with it). The returned
// function ends the profile.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "scimsync: SCIMSYNC_CPUPROFILE: %v\n", err)
		}
	}, nil
}

// nowFromEnv returns the clock. SCIMSYNC_NOW (RFC 3339 or YYYY-MM-DD) pins it,
// so golden tests and reviews of a past plan are reproducible. A value that
// is not a valid instant is an error, never silently replaced by the wall
// clock: exceptions are judged by that date (DESIGN §5).
func nowFromEnv(getenv func(string) string) (func() time.Time, error) {
	v := getenv("SCIMSYNC_NOW")
	if v == "" {
		return time.Now, nil
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return func() time.Time { return t }, nil
		}
	}
	return nil, fmt.Errorf("SCIMSYNC_NOW=%q is not a valid date: write YYYY-MM-DD or RFC 3339 (2027-04-01 or 2027-04-01T09:00:00Z), or unset it to use the clock", v)
}

func runArgs(env *cmdEnv, args []string) int {
	if len(args) == 0 {
		printHelp(env.Stderr)
		return exitError
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fmt.Fprint(env.Stdout, c.usage)
				return exitOK
			}
			if args[1] == "help" {
				fmt.Fprintf(env.Stdout, "Usage: scimsync %s\n\n%s.\n", args[1], builtinSummary[args[1]])
				return exitOK
			}
			fmt.Fprintf(env.Stderr, "scimsync help: unknown command %q%s\n", args[1], didYouMean(args[1], commandNames()))
			return exitError
		}
		printHelp(env.Stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "scimsync: unknown command %q%s\nRun 'scimsync help' for the list of commands.\n", name, didYouMean(name, commandNames()))
		return exitError
	}
	if jsonErrorCommands[name] && wantsJSON(args[1:]) {
		return runJSONErrors(env, c, args[1:])
	}
	return c.run(env, args[1:])
}

// parseFlags parses a command's arguments with parse, on a FlagSet of the
// command's name. On -h it prints usage; on a flag error it says so and how
// to get help. done tells the command to return code at once.
func parseFlags[T any](env *cmdEnv, name, usage string, args []string, parse func(*flag.FlagSet, []string) (T, error)) (opts T, code int, done bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts, err := parse(fs, args)
	if env.flagProbe != nil {
		env.flagProbe(fs)
		return opts, exitOK, true
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(env.Stdout, usage)
		return opts, exitOK, true
	}
	if err != nil {
		env.recordError(cliError{Kind: errKindUsage, Message: err.Error() + flagHint(fs, err)})
		fmt.Fprintf(env.Stderr, "scimsync %s: %v%s\nRun 'scimsync %s -h' for usage.\n", name, err, flagHint(fs, err), name)
		return opts, exitError, true
	}
	return opts, exitOK, false
}

// checkSpecFiles checks the paths a command read with -f, once fs is
// parsed, and returns them, or scimsync.yaml when there are none. It
// refuses a positional argument (spec paths go with -f; a command that
// takes positional arguments, or words the refusal its own way, consumes
// them first), an empty path and, when noStdin gives the reason, - (stdin).
func checkSpecFiles(fs *flag.FlagSet, files []string, noStdin string) ([]string, error) {
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: pass spec paths with -f", fs.Arg(0))
	}
	for _, f := range files {
		if f == "" {
			return nil, errors.New("flag -f: empty path")
		}
		if f == "-" && noStdin != "" {
			return nil, errors.New("flag -f: " + noStdin)
		}
	}
	if len(files) == 0 {
		return []string{"scimsync.yaml"}, nil
	}
	return files, nil
}

// loadSpecFor loads and validates the spec for command name, printing its
// diagnostics on stderr; ok is false when it is unusable, and the refusal
// ends with nothing, what the command did not do ("nothing was read or
// written").
func loadSpecFor(env *cmdEnv, name string, files []string, nothing string) (*spec.Spec, bool) {
	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: env.Now(), Stdin: env.Stdin}, files...)
	if err != nil {
		recordLoadError(env, files, err)
		fmt.Fprintf(env.Stderr, "scimsync %s: %v\n", name, err)
		return nil, false
	}
	for _, d := range diags {
		fmt.Fprintln(env.Stderr, d.String())
	}
	if errs := diags.Errors(); len(errs) > 0 {
		d := errs[0]
		env.recordError(cliError{Kind: errKindSpec, Message: d.String(), File: d.Pos.File, Line: d.Pos.Line, Col: d.Pos.Col})
	}
	if diags.HasErrors() || s == nil {
		fmt.Fprintf(env.Stderr, "scimsync %s: the spec is invalid (%s); %s\n", name, plural(len(diags.Errors()), "error"), nothing)
		return nil, false
	}
	return s, true
}

// builtinSummary describes the commands runArgs handles itself.
var builtinSummary = map[string]string{
	"help": "show this help, or a command's: scimsync help <command>",
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `scimsync keeps an organization's identity configuration in git and
reconciles it, safely, against a live SCIM 2.0 server.

Usage:
  scimsync <command> [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	width := 0
	for n := range commands {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, "help", builtinSummary["help"])
	fmt.Fprint(w, `
Exit codes (plan, apply and other diff-like commands):
  0  no changes (or success)
  1  error, or an invalid spec
  2  changes pending
  3  changes that include removals or break policy

Environment:
`)
	ew := 0
	for _, v := range envVars {
		ew = max(ew, len(v.name))
	}
	for _, v := range envVars {
		indent := "\n" + strings.Repeat(" ", ew+4)
		fmt.Fprintf(w, "  %-*s  %s\n", ew, v.name, strings.ReplaceAll(v.what, "\n", indent))
	}
	fmt.Fprint(w, `
Every command takes -h for its own flags.
`)
}

// isTerminal reports whether f is a terminal. A character device that is
// not one, such as /dev/null, is not.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}
