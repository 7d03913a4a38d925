package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/scimsync/scimsync/spec"
)

func init() {
	register(&command{
		name:    "validate",
		summary: "check a spec offline: YAML, schema, semantics and policy",
		usage:   validateUsage,
		run:     runValidate,
	})
}

const validateUsage = `Usage: scimsync validate [-f PATH]... [--format text|json]

Validate a spec offline, in three layers reported together: YAML syntax and
the JSON Schema (schemas/scimsync.schema.json), semantics, and policy lint.
Every finding names file:line:col and the field path. validate never opens a
network connection and does not need target.file to exist.

Flags:
  -f PATH               a spec file, a directory of *.yaml files (merged by
                        organization name), or - for stdin; repeat to merge
                        several (default scimsync.yaml)
  --format text|json    output format (default text)
  -h                    show this help

Environment:
  SCIMSYNC_NOW          the date exceptions are judged against, YYYY-MM-DD or
                        RFC 3339 (default: now)

Exit codes:
  0  the spec is valid (warnings allowed)
  1  the spec is invalid, or it could not be read
`

// validateOptions are the parsed flags of validate.
type validateOptions struct {
	files  []string
	format string
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// parseValidateArgs parses validate's command line into options.
func parseValidateArgs(fs *flag.FlagSet, args []string) (validateOptions, error) {
	var files stringList
	opts := validateOptions{}
	fs.Var(&files, "f", "spec file, directory or - for stdin (repeatable)")
	fs.StringVar(&opts.format, "format", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	var err error
	if opts.files, err = checkSpecFiles(fs, files, ""); err != nil {
		return opts, err
	}
	if opts.format != "text" && opts.format != "json" {
		return opts, fmt.Errorf("flag --format: %q is not text or json", opts.format)
	}
	return opts, nil
}

func runValidate(env *cmdEnv, args []string) int {
	opts, code, done := parseFlags(env, "validate", validateUsage, args, parseValidateArgs)
	if done {
		return code
	}

	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: env.Now(), Stdin: env.Stdin}, opts.files...)
	if err != nil {
		recordLoadError(env, opts.files, err)
		fmt.Fprintf(env.Stderr, "scimsync validate: %v\n", err)
		return exitError
	}
	names := make([]string, len(opts.files))
	for i, f := range opts.files {
		names[i] = f
		if f == "-" {
			names[i] = "<stdin>"
		}
	}
	label := strings.Join(names, ", ")
	if opts.format == "json" {
		err = writeValidateJSON(env.Stdout, s, diags)
	} else {
		err = writeValidateText(env.Stdout, label, diags)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync validate: writing output: %v\n", err)
		return exitError
	}
	if diags.HasErrors() {
		return exitError
	}
	return exitOK
}

// writeValidateText prints one diagnostic per line, in file:line:col order,
// then a summary line.
func writeValidateText(w io.Writer, label string, diags spec.Diagnostics) error {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	nerr, nwarn := len(diags.Errors()), len(diags.Warnings())
	switch {
	case nerr > 0:
		fmt.Fprintf(&b, "%s: %s, %s\n", label, plural(nerr, "error"), plural(nwarn, "warning"))
	case nwarn > 0:
		fmt.Fprintf(&b, "%s: valid (%s)\n", label, plural(nwarn, "warning"))
	default:
		fmt.Fprintf(&b, "%s: valid\n", label)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// validateJSON is the --format json output, format_version 1.
type validateJSON struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	Errors        int              `json:"errors"`
	Warnings      int              `json:"warnings"`
	SpecHash      string           `json:"spec_hash,omitempty"` // only when valid
	Diagnostics   []diagnosticJSON `json:"diagnostics"`
}

type diagnosticJSON struct {
	Severity string `json:"severity"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Path     string `json:"path"`
	Summary  string `json:"summary"`
	Fix      string `json:"fix,omitempty"`
}

func writeValidateJSON(w io.Writer, s *spec.Spec, diags spec.Diagnostics) error {
	out := validateJSON{
		FormatVersion: "1",
		Valid:         !diags.HasErrors(),
		Errors:        len(diags.Errors()),
		Warnings:      len(diags.Warnings()),
		Diagnostics:   []diagnosticJSON{},
	}
	if out.Valid && s != nil {
		out.SpecHash = s.Hash()
	}
	for _, d := range diags {
		out.Diagnostics = append(out.Diagnostics, diagnosticJSON{
			Severity: string(d.Severity), File: d.Pos.File, Line: d.Pos.Line, Col: d.Pos.Col,
			Path: d.Path, Summary: d.Summary, Fix: d.Fix,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
