package main

import (
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
)

// With --format json, a command that fails prints one JSON object on stdout
// (and its usual words on stderr), so a script never has to parse stderr:
//
//	{"error": {"kind": "spec", "message": "…", "file": "scimsync.yaml", "line": 7, "col": 9}}
//
// Commands record a typed error where they know one (env.recordError); any
// other failure is described from the last line the command printed on
// stderr. jsonErrorCommands are the commands that take --format json.
var jsonErrorCommands = map[string]bool{"validate": true, "plan": true, "explain": true, "show": true}

// Error kinds of the JSON error object.
const (
	errKindUsage  = "usage"  // a flag or argument is wrong
	errKindSpec   = "spec"   // the spec is invalid, or does not match the server
	errKindTarget = "target" // the target could not be read
	errKindPlan   = "plan"   // a saved plan is unreadable, tampered or stale
	errKindIO     = "io"     // a file could not be read or written
	errKindError  = "error"  // anything else
)

// cliError is the JSON error object's content.
type cliError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	URL     string `json:"url,omitempty"`
}

// errorRecord holds the first error a command recorded.
type errorRecord struct {
	mu    sync.Mutex
	first *cliError
}

// recordError records e as the command's error, unless one is recorded
// already. It is a no-op unless JSON errors are on.
func (env *cmdEnv) recordError(e cliError) {
	if env.errs == nil {
		return
	}
	env.errs.mu.Lock()
	defer env.errs.mu.Unlock()
	if env.errs.first == nil {
		env.errs.first = &e
	}
}

// recordLoadError records a spec that could not be read at all.
func recordLoadError(env *cmdEnv, files []string, err error) {
	e := cliError{Kind: errKindIO, Message: err.Error()}
	if len(files) == 1 {
		e.File = files[0]
	}
	env.recordError(e)
}

// recordReadError records a tenant that could not be read: kind target,
// the URL asked for when the SCIM client says, and the spec field that set
// the target.
func recordReadError(env *cmdEnv, s *spec.Spec, err error) {
	e := cliError{Kind: errKindTarget, Message: err.Error()}
	var te *scim.TargetError
	if errors.As(err, &te) {
		e.URL = te.URL
	} else if s != nil {
		e.URL = s.Target.URL
	}
	field := "target.url"
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		field = fe.field
	case s != nil && s.Target.File != "":
		field = "target.file"
	}
	if s != nil {
		if pos := s.PosOf(field); pos.Line > 0 {
			e.File, e.Line, e.Col = pos.File, pos.Line, pos.Col
		}
	}
	env.recordError(e)
}

// wantsJSON reports whether args ask for --format json (or -format, and the
// =json forms).
func wantsJSON(args []string) bool {
	for i, a := range args {
		switch a {
		case "--format=json", "-format=json":
			return true
		case "--format", "-format":
			if i+1 < len(args) && args[i+1] == "json" {
				return true
			}
		case "--":
			return false
		}
	}
	return false
}

// runJSONErrors runs c with JSON errors on: when it exits 1 having printed
// nothing on stdout, it prints the error object.
func runJSONErrors(env *cmdEnv, c *command, args []string) int {
	out := &countingWriter{w: env.Stdout}
	errw := &lastLineWriter{w: env.Stderr}
	sub := *env
	sub.Stdout, sub.Stderr, sub.errs = out, errw, &errorRecord{}
	code := c.run(&sub, args)
	if code != exitError || out.n > 0 {
		return code
	}
	e := sub.errs.first
	if e == nil {
		e = errorFromLine(c.name, errw.last())
	}
	writeErrorJSON(env.Stdout, *e)
	return code
}

var (
	posPrefix = regexp.MustCompile(`^([^\s:]+):(\d+):(\d+): `)
	urlIn     = regexp.MustCompile(`https?://[^\s"'()]+`)
)

// errorFromLine describes a failure from the last line a command printed
// on stderr: "scimsync plan: reading the tenant: GET https://…: 503".
func errorFromLine(name, line string) *cliError {
	msg := strings.TrimPrefix(line, "scimsync "+name+": ")
	e := &cliError{Kind: errKindError, Message: msg}
	if m := posPrefix.FindStringSubmatch(msg); m != nil {
		e.File = m[1]
		e.Line, _ = strconv.Atoi(m[2])
		e.Col, _ = strconv.Atoi(m[3])
		e.Kind = errKindSpec
	}
	if u := urlIn.FindString(msg); u != "" {
		e.URL = strings.TrimRight(u, ".,;:")
		e.Kind = errKindTarget
	}
	if e.Message == "" {
		e.Message = "scimsync " + name + " failed"
	}
	return e
}

func writeErrorJSON(w io.Writer, e cliError) {
	b, err := json.MarshalIndent(struct {
		Error cliError `json:"error"`
	}{e}, "", "  ")
	if err != nil {
		return
	}
	w.Write(append(b, '\n'))
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// lastLineWriter passes writes through and keeps the last non-empty line
// that is not a warning or a hint.
type lastLineWriter struct {
	w       io.Writer
	mu      sync.Mutex
	partial strings.Builder
	line    string
}

func (l *lastLineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.partial.Write(p)
	s := l.partial.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		for _, ln := range strings.Split(s[:i], "\n") {
			ln = strings.TrimSpace(ln)
			if ln != "" && !strings.Contains(ln, "warning:") && !strings.HasPrefix(ln, "Run 'scimsync") {
				l.line = ln
			}
		}
		l.partial.Reset()
		l.partial.WriteString(s[i+1:])
	}
	l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lastLineWriter) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rest := strings.TrimSpace(l.partial.String()); rest != "" {
		return rest
	}
	return l.line
}
