package scim_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

func TestTokenFromEnv(t *testing.T) {
	t.Setenv("SCIMSYNC_TEST_TOKEN", "  abc.def  \n")
	t.Setenv("SCIMSYNC_TEST_EMPTY", " ")
	t.Setenv("SCIMSYNC_TEST_BAD", "abc def")
	if got, err := scim.TokenFromEnv("SCIMSYNC_TEST_TOKEN"); err != nil || got != "abc.def" {
		t.Errorf("TokenFromEnv = %q, %v", got, err)
	}
	for name, want := range map[string]string{
		"SCIMSYNC_TEST_UNSET": "SCIMSYNC_TEST_UNSET is not set",
		"SCIMSYNC_TEST_EMPTY": "SCIMSYNC_TEST_EMPTY is empty",
		"SCIMSYNC_TEST_BAD":   "whitespace or control characters",
		"":                    "no environment variable named",
	} {
		_, err := scim.TokenFromEnv(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("TokenFromEnv(%q) error = %v, want %q", name, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "abc def") {
			t.Errorf("error %q shows the value", err)
		}
	}
}

func TestTokenFromFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
			t.Fatal(err)
		}
		return p
	}
	private := write("private", "s3cret-token\n", 0o600)
	tok, warn, err := scim.TokenFromFile(private)
	if err != nil || tok != "s3cret-token" || warn != "" {
		t.Errorf("TokenFromFile(0600) = %q, %q, %v", tok, warn, err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		p := write("shared", "s3cret-token\r\n", mode)
		tok, warn, err := scim.TokenFromFile(p)
		if err != nil || tok != "s3cret-token" || !strings.Contains(warn, "readable by its group or others") {
			t.Errorf("TokenFromFile(%04o) = %q, %q, %v; want the token and a warning", mode, tok, warn, err)
		}
		if strings.Contains(warn, "s3cret") {
			t.Errorf("warning %q shows the token", warn)
		}
	}
	for name, tc := range map[string]struct{ content, want string }{
		"empty":     {"\n \n", "is empty"},
		"two lines": {"s3cret-one\ns3cret-two\n", "alone on one line"},
	} {
		_, _, err := scim.TokenFromFile(write(name, tc.content, 0o600))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error = %v, want %q without the content", name, err, tc.want)
		}
	}
	if _, _, err := scim.TokenFromFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("TokenFromFile(missing) succeeded")
	}
	if _, _, err := scim.TokenFromFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("TokenFromFile(dir) error = %v", err)
	}
}
