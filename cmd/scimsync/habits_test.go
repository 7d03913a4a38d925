package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestUseColor(t *testing.T) {
	for _, tc := range []struct {
		tty           bool
		noColor, term string
		want          bool
	}{
		{tty: true, want: true},
		{tty: true, term: "xterm-256color", want: true},
		{tty: false, want: false},
		{tty: true, noColor: "1", want: false},
		{tty: true, term: "dumb", want: false},
	} {
		env := &cmdEnv{
			IsTTY: func(any) bool { return tc.tty },
			Getenv: func(k string) string {
				switch k {
				case "NO_COLOR":
					return tc.noColor
				case "TERM":
					return tc.term
				}
				return ""
			},
		}
		if got := useColor(env, os.Stdout); got != tc.want {
			t.Errorf("useColor(tty=%v NO_COLOR=%q TERM=%q) = %v, want %v", tc.tty, tc.noColor, tc.term, got, tc.want)
		}
	}
}

// TestHelpListsEveryEnvVar reads every Go file of the module outside tests
// and checks that each environment variable read by name is listed by
// `scimsync help`.
func TestHelpListsEveryEnvVar(t *testing.T) {
	listed := map[string]bool{}
	for _, v := range envVars {
		listed[v.name] = true
	}
	re := regexp.MustCompile(`Getenv\("([A-Z_][A-Z0-9_]*)"\)`)
	var read []string
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		// The benchmark harness and the deploy examples set variables for
		// the processes they start, and internal/testtool serves tests
		// only; they are not scimsync's.
		if strings.Contains(filepath.ToSlash(p), "/bench/") || strings.Contains(filepath.ToSlash(p), "/internal/testtool/") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(read, m[1]) {
				read = append(read, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range read {
		if !listed[name] {
			t.Errorf("scimsync reads $%s, but `scimsync help` does not list it", name)
		}
	}
	for _, name := range []string{"SCIMSYNC_TOKEN", "NO_COLOR", "SCIMSYNC_NOW", "SCIMSYNC_CPUPROFILE", "SCIMSYNC_WEBHOOK_URL"} {
		if !listed[name] {
			t.Errorf("`scimsync help` does not list $%s", name)
		}
	}
}

// The progress line clears itself with the erase-line sequence, or with
// spaces where TERM=dumb says the terminal has no such sequences.
func TestProgressLineOnADumbTerminal(t *testing.T) {
	for _, tc := range []struct {
		term string
		want string
	}{
		{"xterm", "\r\x1b[Kreading users: 1/2\r\x1b[K"},
		{"dumb", "\r" + strings.Repeat(" ", 79) + "\rreading users: 1/2\r" + strings.Repeat(" ", 79) + "\r"},
	} {
		var b strings.Builder
		env := &cmdEnv{Stderr: &b, Getenv: func(k string) string {
			if k == "TERM" {
				return tc.term
			}
			return ""
		}}
		p := newProgressLine(env)
		p.update("users", 1, 2)
		p.done()
		if b.String() != tc.want {
			t.Errorf("TERM=%s: %q, want %q", tc.term, b.String(), tc.want)
		}
	}
}
