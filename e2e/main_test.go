package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if testing.Verbose() {
		fmt.Printf("e2e: %d faults injected by the reference server\n", faultsInjected.Load())
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// scimsyncBin builds the scimsync command once per test binary and
// returns its path.
func scimsyncBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "scimsync-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "scimsync")
		gobin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("building scimsync: %w", err)
			return
		}
		cmd := exec.Command(gobin, "build", "-o", binPath, "./cmd/scimsync")
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/scimsync: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// result is what one run of the command did.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("scimsync %s: exit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runCLI runs scimsync with args in dir, with the environment env (on top
// of a minimal one: PATH, HOME, the suite's clock and NO_COLOR), and
// returns what it did. It fails the test if the command cannot be run or
// takes more than a minute.
func runCLI(t testing.TB, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, scimsyncBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"SCIMSYNC_NOW=" + nowText,
		"NO_COLOR=1",
	}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running scimsync %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("scimsync %s did not finish within a minute", strings.Join(args, " "))
	}
	return r
}
