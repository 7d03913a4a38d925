package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scimsync/scimsync/internal/golden"

	"github.com/rogpeppe/go-internal/testscript"
)

// The CLI is tested by the testscript files in testdata/script: each runs
// scimsync (the real main1, in-process re-exec) and compares its output with
// golden files held in the same archive. go test -update rewrites those
// goldens from the actual output.
//
// Every script starts in a fresh $WORK holding a copy of the repository's
// examples/ directory, with SCIMSYNC_NOW pinned and NO_COLOR set. Other
// test files may add commands to scriptCmds and setup steps to scriptSetups
// from an init function.

// scriptNow is the pinned clock of every script.
const scriptNow = "2026-11-27"

var (
	scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"mkfile": cmdMkfile,
	}
	scriptSetups []func(env *testscript.Env) error
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"scimsync": func() { os.Exit(main1()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       golden.Update(),
		RequireExplicitExec: true,
		Cmds:                scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("SCIMSYNC_NOW", scriptNow)
			env.Setenv("NO_COLOR", "1")
			if err := copyDir(filepath.Join("..", "..", "examples"), filepath.Join(env.WorkDir, "examples")); err != nil {
				return fmt.Errorf("copying examples: %w", err)
			}
			for _, s := range scriptSetups {
				if err := s(env); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// cmdMkfile writes a file the archive cannot hold as text:
//
//	mkfile NAME TEXT [COUNT]
//
// TEXT is unquoted like a Go string, so \n, \t and \xe9 work, and written
// COUNT times (default 1).
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! mkfile")
	}
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: mkfile NAME TEXT [COUNT]")
	}
	text, err := strconv.Unquote(`"` + strings.ReplaceAll(args[1], `"`, `\"`) + `"`)
	ts.Check(err)
	count := 1
	if len(args) == 3 {
		count, err = strconv.Atoi(args[2])
		ts.Check(err)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Repeat(text, count)), 0o644))
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
