// Package testtool finds the external programs some tests drive (a
// browser, promtool, systemd-analyze, git, bash).
//
// Outside CI a missing program skips the test. In CI (CI=true) .ci/run
// installs every program a test needs, so a missing one fails the test:
// a check that never ran must not pass.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Find returns the path of the program a test needs: $env when env is set
// and non-empty, else the first of names found on PATH (a name holding a
// slash is taken as a path). install says how to get it, for the message.
func Find(t testing.TB, env, install string, names ...string) string {
	t.Helper()
	if env != "" {
		if p := os.Getenv(env); p != "" {
			return p
		}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, names[0]+" is not installed ("+install+")")
	return ""
}

// Missing ends a test whose tool or fixture is missing: a failure in CI,
// a skip elsewhere.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s; CI (CI=true) runs this test, and .ci/run installs what it needs", why)
		return
	}
	t.Skip(why)
}

// InCI reports whether the tests run in CI (CI=true, as GitHub Actions,
// GitLab CI and .ci/run set it).
func InCI() bool { return os.Getenv("CI") == "true" }
