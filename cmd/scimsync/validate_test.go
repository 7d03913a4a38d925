package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseValidateArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    validateOptions
		wantErr string
	}{
		{"defaults", nil, validateOptions{files: []string{"scimsync.yaml"}, format: "text"}, ""},
		{"repeated -f", []string{"-f", "a.yaml", "-f=dir", "--f", "-"}, validateOptions{files: []string{"a.yaml", "dir", "-"}, format: "text"}, ""},
		{"json", []string{"--format", "json", "-f", "a.yaml"}, validateOptions{files: []string{"a.yaml"}, format: "json"}, ""},
		{"single dash format", []string{"-format=text"}, validateOptions{files: []string{"scimsync.yaml"}, format: "text"}, ""},
		{"bad format", []string{"--format", "yaml"}, validateOptions{}, `flag --format: "yaml" is not text or json`},
		{"empty path", []string{"-f", ""}, validateOptions{}, "flag -f: empty path"},
		{"positional", []string{"a.yaml"}, validateOptions{}, `unexpected argument "a.yaml": pass spec paths with -f`},
		{"unknown flag", []string{"--file", "a.yaml"}, validateOptions{}, "flag provided but not defined: -file"},
		{"missing value", []string{"-f"}, validateOptions{}, "flag needs an argument: -f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkParse(t, parseValidateArgs, tt.args, tt.want, tt.wantErr, exactErr)
		})
	}
}

const okSpec = `version: 1
target: {file: tenant.json}
parent: {name: a, seatTiers: [standard], mode: staged}
organizations:
  - name: hq
    seats: {standard: 1}
    mappings: [{group: g, role: member, seatTier: standard}]
`

func TestRunValidateExitCodes(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  int
	}{
		{"valid", okSpec, nil, exitOK},
		{"valid with warnings", okSpec + "policy: {exceptions: [{email: a@b.gov, org: hq, until: 2020-01-01}]}\n", nil, exitOK},
		{"malformed", "version: [1\n", nil, exitError},
		{"tabs", "version: 1\ntarget:\n\tfile: x\n", nil, exitError},
		{"duplicate key", okSpec + "version: 1\n", nil, exitError},
		{"empty", "", nil, exitError},
		{"not utf-8", "version: 1\nparent: {name: \xff}\n", nil, exitError},
		{"unknown field", okSpec + "polcy: {}\n", nil, exitError},
		{"wrong type", strings.Replace(okSpec, "standard: 1", "standard: one", 1), nil, exitError},
		{"unknown mode", strings.Replace(okSpec, "staged", "stagd", 1), nil, exitError},
		{"inline token", strings.Replace(okSpec, "{file: tenant.json}", "{url: https://x.gov/v2, token: abc}", 1), nil, exitError},
		{"seat tier", strings.Replace(okSpec, "seatTier: standard", "seatTier: gold", 1), nil, exitError},
		{"primary-owner", strings.Replace(okSpec, "role: member", "role: primary-owner", 1), nil, exitError},
		{"duplicate org", okSpec + "  - name: hq\n", nil, exitError},
		{"maxRemovalPercent", okSpec + "policy: {maxRemovalPercent: -1}\n", nil, exitError},
		{"json invalid", "version: 2\n", []string{"--format", "json"}, exitError},
		{"help", "", []string{"-h"}, exitOK},
		{"bad flag", "", []string{"--nope"}, exitError},
		{"missing file", "", []string{"-f", "does-not-exist.yaml"}, exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if len(args) == 0 || args[0] == "--format" {
				args = append(args, "-f", "-")
			}
			var stdout, stderr bytes.Buffer
			env := &cmdEnv{
				Stdin: strings.NewReader(tt.stdin), Stdout: &stdout, Stderr: &stderr,
				Getenv: func(string) string { return "" },
				Now:    func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) },
			}
			if got := runValidate(env, args); got != tt.want {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tt.want, &stdout, &stderr)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	var stdout bytes.Buffer
	env := &cmdEnv{
		Stdin:  strings.NewReader(strings.Replace(okSpec, "seatTier: standard", "seatTier: gold", 1)),
		Stdout: &stdout, Stderr: io.Discard,
		Now: func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) },
	}
	if code := runValidate(env, []string{"--format", "json", "-f", "-"}); code != exitError {
		t.Fatalf("exit code %d, want %d", code, exitError)
	}
	var got validateJSON
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, &stdout)
	}
	want := validateJSON{FormatVersion: "1", Valid: false, Errors: 1, Warnings: 0, Diagnostics: []diagnosticJSON{{
		Severity: "error", File: "<stdin>", Line: 7, Col: 51, Path: "organizations[0].mappings[0].seatTier",
		Summary: `"gold" is not one of parent.seatTiers [standard]`, Fix: "use one of parent.seatTiers, or add the tier there",
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}
