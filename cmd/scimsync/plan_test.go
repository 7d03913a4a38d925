package main

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	if _, dup := scriptCmds["exitcode"]; dup {
		panic("script command exitcode registered twice")
	}
	scriptCmds["exitcode"] = cmdExitcode
}

// cmdExitcode runs a program like exec and checks its exit status:
//
//	exitcode N PROGRAM [ARGS...]
//
// Its stdout and stderr are kept for cmp, stdout and stderr as after exec.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

func TestParsePlanArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    planOptions
		wantErr string
	}{
		{args: nil, want: planOptions{files: []string{"scimsync.yaml"}, format: "text"}},
		{args: []string{"-f", "a.yaml", "-f", "dir", "-o", "plan.json", "--format", "markdown", "--detailed-exitcode", "--insecure-skip-tls-verify"},
			want: planOptions{files: []string{"a.yaml", "dir"}, out: "plan.json", format: "markdown", detailed: true, insecure: true}},
		{args: []string{"--format", "yaml"}, wantErr: `flag --format: "yaml" is not text, json or markdown`},
		{args: []string{"-f", ""}, wantErr: "flag -f: empty path"},
		{args: []string{"-o", ""}, wantErr: "flag -o: empty path"},
		{args: []string{"spec.yaml"}, wantErr: `unexpected argument "spec.yaml": pass spec paths with -f`},
		{args: []string{"--nope"}, wantErr: "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			checkParse(t, parsePlanArgs, tt.args, tt.want, tt.wantErr, exactErr)
		})
	}
}
