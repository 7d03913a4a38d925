package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// fakeT records how a test ended.
type fakeT struct {
	testing.TB
	fatal, skipped bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Fatalf(string, ...any) { f.fatal = true }
func (f *fakeT) Skip(...any)           { f.skipped = true }

func TestMissingFailsInCIAndSkipsElsewhere(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", "true")
	f := &fakeT{TB: t}
	if p := Find(f, "", "apt-get install nothing", "no-such-tool-x"); p != "" || !f.fatal || f.skipped {
		t.Errorf("in CI: path %q, fatal %v, skipped %v; want a failure", p, f.fatal, f.skipped)
	}
	t.Setenv("CI", "")
	f = &fakeT{TB: t}
	if Find(f, "", "apt-get install nothing", "no-such-tool-x"); f.fatal || !f.skipped {
		t.Errorf("outside CI: fatal %v, skipped %v; want a skip", f.fatal, f.skipped)
	}
}

func TestFindPrefersTheEnvironmentThenPATH(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("an executable file on PATH is a .exe here")
	}
	dir := t.TempDir()
	tool := filepath.Join(dir, "sometool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Setenv("SOMETOOL", "")
	if p := Find(t, "SOMETOOL", "", "sometool"); p != tool {
		t.Errorf("from PATH: %q, want %q", p, tool)
	}
	t.Setenv("SOMETOOL", "/opt/sometool")
	if p := Find(t, "SOMETOOL", "", "sometool"); p != "/opt/sometool" {
		t.Errorf("from $SOMETOOL: %q", p)
	}
	if _, err := exec.LookPath("sometool"); err != nil {
		t.Fatal(err)
	}
}
