package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/tools/txtar"

	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/scim"
)

func init() {
	if _, dup := scriptCmds["replace"]; dup {
		panic("script command replace registered twice")
	}
	scriptCmds["replace"] = cmdReplace
}

// cmdReplace edits a file in a script, as an operator would:
//
//	replace FILE OLD NEW
//
// OLD must occur in FILE; every occurrence becomes NEW. Both are unquoted
// like Go strings, so \n works.
func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: replace FILE OLD NEW")
	}
	unquote := func(s string) string {
		u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
		ts.Check(err)
		return u
	}
	name := ts.MkAbs(args[0])
	b, err := os.ReadFile(name)
	ts.Check(err)
	old, repl := unquote(args[1]), unquote(args[2])
	if !strings.Contains(string(b), old) {
		ts.Fatalf("replace: %s does not contain %q", args[0], old)
	}
	ts.Check(os.WriteFile(name, []byte(strings.ReplaceAll(string(b), old, repl)), 0o644))
}

func TestParseApplyArgs(t *testing.T) {
	n := func(i int) *int { return &i }
	def := applyOptions{files: []string{"scimsync.yaml"}, auditLog: apply.DefaultAuditLog}
	with := func(f func(o *applyOptions)) applyOptions { o := def; f(&o); return o }
	tests := []struct {
		name    string
		args    []string
		want    applyOptions
		wantErr string
	}{
		{"plan and spec", nil, def, ""},
		{"plan file before flags", []string{"p.json", "--yes", "-f", "s.yaml"},
			with(func(o *applyOptions) {
				o.planFile, o.yes, o.files, o.specGiven = "p.json", true, []string{"s.yaml"}, true
			}), ""},
		{"plan file after flags", []string{"--yes", "p.json"},
			with(func(o *applyOptions) { o.planFile, o.yes = "p.json", true }), ""},
		{"allowances", []string{"--allow-removals=4", "--allow-empty-groups", "p.json"},
			with(func(o *applyOptions) { o.planFile, o.allowRemovals, o.allowEmptyGroups = "p.json", n(4), true }), ""},
		{"zero removals approved", []string{"--allow-removals", "0"},
			with(func(o *applyOptions) { o.allowRemovals = n(0) }), ""},
		{"files", []string{"--journal", "j", "--audit-log", "a", "--insecure-skip-tls-verify"},
			with(func(o *applyOptions) { o.journal, o.auditLog, o.insecure = "j", "a", true }), ""},
		{"negative count", []string{"--allow-removals=-1"}, def, `invalid value "-1" for flag -allow-removals: "-1" is not a count`},
		{"not a count", []string{"--allow-removals=all"}, def, `invalid value "all" for flag -allow-removals: "all" is not a count`},
		{"two plans", []string{"a.json", "b.json"}, def, `unexpected argument "b.json": apply takes one plan file`},
		{"empty spec path", []string{"-f", ""}, def, "flag -f: empty path"},
		{"empty audit log", []string{"--audit-log="}, def, "flag --audit-log: empty path"},
		{"empty journal", []string{"--journal="}, def, "flag --journal: empty path"},
		{"unknown flag", []string{"--force"}, def, "flag provided but not defined: -force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkParse(t, parseApplyArgs, tt.args, tt.want, tt.wantErr, exactErr)
		})
	}
}

func TestApplyJournalPath(t *testing.T) {
	for _, tt := range []struct {
		o    applyOptions
		want string
	}{
		{applyOptions{planFile: "ci/p.json"}, "ci/p.json.journal"},
		{applyOptions{planFile: "p.json", journal: "j"}, "j"},
		{applyOptions{}, "scimsync-apply.journal"},
	} {
		if got := tt.o.journalPath(); got != tt.want {
			t.Errorf("%+v: journal %q, want %q", tt.o, got, tt.want)
		}
	}
}

// confirmFixture extracts the spec and tenant of the apply_confirm script
// into a temporary directory and returns the spec's path.
func confirmFixture(t *testing.T) string {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", "script", "apply_confirm.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range ar.Files {
		if f.Name == "scimsync.yaml" || f.Name == "tenant.json" {
			if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(dir, "scimsync.yaml")
}

func TestApplyPromptsOnATerminal(t *testing.T) {
	tests := []struct {
		answer    string
		wantCode  int
		wantWrite bool
	}{
		{"yes\n", exitOK, true},
		{"y\n", exitError, false},
		{"YES\n", exitError, false},
		{"", exitError, false},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.answer), func(t *testing.T) {
			specPath := confirmFixture(t)
			dir := filepath.Dir(specPath)
			tenantPath := filepath.Join(dir, "tenant.json")
			before, _ := os.ReadFile(tenantPath)
			var stdout, stderr bytes.Buffer
			env := &cmdEnv{
				Stdin: strings.NewReader(tt.answer), Stdout: &stdout, Stderr: &stderr,
				Getenv: func(k string) string { return map[string]string{"USER": "alice"}[k] },
				Now:    func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) },
				IsTTY:  func(any) bool { return true },
			}
			code := runApply(env, []string{"-f", specPath, "--journal", filepath.Join(dir, "j"), "--audit-log", filepath.Join(dir, "audit.jsonl")})
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), "Apply these changes? Only 'yes' is accepted: ") {
				t.Errorf("no prompt on stderr:\n%s", stderr.String())
			}
			if !strings.Contains(stdout.String(), "Plan: 1 to add, 0 to change, 1 to remove (hq 1)") {
				t.Errorf("the plan was not shown before the prompt:\n%s", stdout.String())
			}
			after, _ := os.ReadFile(tenantPath)
			if wrote := !bytes.Equal(before, after); wrote != tt.wantWrite {
				t.Errorf("tenant written: %v, want %v", wrote, tt.wantWrite)
			}
			if !tt.wantWrite && !strings.Contains(stderr.String(), "Apply cancelled: nothing was written.") {
				t.Errorf("stderr:\n%s", stderr.String())
			}
		})
	}
}

func TestReportApplyFailure(t *testing.T) {
	steps := []apply.StepResult{
		{Step: 1, Org: "hq", Fields: []string{"mappings"}, IfMatch: `W/"1"`, Version: `W/"2"`, Status: apply.StatusDone},
		{Step: 2, Org: "west", Fields: []string{"seats"}, IfMatch: `W/"1"`, Status: apply.StatusFailed, Error: "boom"},
		{Step: 3, Org: "agency", Fields: []string{"mode"}, Status: apply.StatusNotRun},
	}
	unavailable := &scim.Error{Method: "PATCH", URL: "/Organizations/o-west", Status: 503, Detail: "try later"}
	conflict := &scim.Error{Method: "PATCH", URL: "/Organizations/o-west", Status: 412}
	tests := []struct {
		name  string
		err   error
		saved bool
		want  string
	}{
		{"saved plan resumes", unavailable, true, "Run the same command again to resume: the steps done are skipped."},
		{"spec replans", unavailable, false, "Run the same command again to continue: it plans from the tenant as it now is."},
		{"412 replans", conflict, true, "The organization changed on the server after the plan (412)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env := &cmdEnv{Stdout: &stdout, Stderr: &stderr}
			rep := &apply.Report{PlanHash: "0123456789abcdef", Result: apply.ResultFailed, Steps: steps}
			err := &apply.WriteError{Step: steps[1], Err: tt.err}
			if code := reportApply(env, rep, err, tt.saved); code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			for _, want := range []string{
				"Error: apply failed at step 2 of 3 (west)\n\n" + tt.err.Error() + "\n",
				"Done (1):\n  step 1  hq  mappings  W/\"1\" → W/\"2\"  done\n",
				"Not done (2):\n  step 2  west    seats  W/\"1\"  failed\n  step 3  agency  mode          not-run\n",
				tt.want,
			} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}
