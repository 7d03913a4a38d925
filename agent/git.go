package agent

import (
	"context"
	"os"
	"os/exec"
	"regexp"
)

// execGit runs git in dir, never prompting for credentials.
func execGit(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	return cmd.CombinedOutput()
}

// userinfoRE matches the user:password@ part of a URL.
var userinfoRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)

// redactGitOutput hides credentials embedded in remote URLs.
func redactGitOutput(s string) string {
	return userinfoRE.ReplaceAllString(s, "${1}REDACTED@")
}
