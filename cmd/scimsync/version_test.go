package main

import (
	"runtime"
	"testing"
)

func TestVersionPrefersTheReleaseStamps(t *testing.T) {
	saved := [3]string{buildVersion, buildCommit, buildDate}
	t.Cleanup(func() { buildVersion, buildCommit, buildDate = saved[0], saved[1], saved[2] })
	buildVersion, buildCommit, buildDate = "v1.4.0", "0123456789abcdef0123", "2026-12-01T10:00:00Z"
	v := readVersion()
	if v.Version != "v1.4.0" || v.Commit != "0123456789abcdef0123" || v.Date != "2026-12-01T10:00:00Z" ||
		v.OS != runtime.GOOS || v.Arch != runtime.GOARCH || v.Go == "" || v.Modified {
		t.Fatalf("readVersion = %+v", v)
	}
	want := "scimsync v1.4.0 (commit 0123456789ab, 2026-12-01T10:00:00Z) " + v.Go + " " + runtime.GOOS + "/" + runtime.GOARCH
	if got := v.String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestVersionWithoutStamps(t *testing.T) {
	v := versionInfo{Version: "(devel)", Go: "go1.26.0", OS: "linux", Arch: "arm64"}
	if got := v.String(); got != "scimsync (devel) go1.26.0 linux/arm64" {
		t.Errorf("String = %q", got)
	}
}

// Every registered command's flags reach the completion scripts.
func TestCompletionReadsEveryCommandsFlags(t *testing.T) {
	model := completionModel()
	byName := map[string]complCommand{}
	for _, c := range model {
		byName[c.name] = c
	}
	for name := range commands {
		if _, ok := byName[name]; !ok {
			t.Errorf("completion lacks command %s", name)
		}
	}
	has := func(cmd, flag string, value, file bool) {
		t.Helper()
		for _, f := range byName[cmd].flags {
			if f.name == flag {
				if f.takesValue != value || f.file != file {
					t.Errorf("%s -%s: takesValue %v file %v, want %v %v", cmd, flag, f.takesValue, f.file, value, file)
				}
				return
			}
		}
		t.Errorf("completion lacks %s -%s", cmd, flag)
	}
	has("plan", "f", true, true)
	has("plan", "o", true, true)
	has("plan", "format", true, false)
	has("apply", "yes", false, false)
	has("agent", "auto-apply", false, false)
	has("agent", "webhook-url-file", true, true)
	has("serve", "state", true, true)
	has("version", "json", false, false)
}
