package scim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// TokenFromEnv returns the token held by environment variable name,
// trimmed of surrounding whitespace.
func TokenFromEnv(name string) (string, error) {
	if name == "" {
		return "", errors.New("reading token: no environment variable named")
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("reading token: environment variable %s is not set", name)
	}
	t := strings.TrimSpace(v)
	if t == "" {
		return "", fmt.Errorf("reading token: environment variable %s is empty", name)
	}
	if !validToken(t) {
		return "", fmt.Errorf("reading token: environment variable %s holds whitespace or control characters", name)
	}
	return t, nil
}

const maxTokenFile = 64 << 10

// TokenFromFile returns the token held by the file at path, trimmed of
// surrounding whitespace (a trailing newline is fine). warning is set, and
// err nil, when the file is readable by its group or by others: the caller
// should show it.
func TokenFromFile(path string) (token, warning string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("reading token: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", "", fmt.Errorf("reading token: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", "", fmt.Errorf("reading token: %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", "", fmt.Errorf("reading token: %w", err)
	}
	if len(data) > maxTokenFile {
		return "", "", fmt.Errorf("reading token: %s is larger than %d bytes", path, maxTokenFile)
	}
	t := strings.TrimSpace(string(data))
	switch {
	case t == "":
		return "", "", fmt.Errorf("reading token: %s is empty", path)
	case !validToken(t):
		return "", "", fmt.Errorf("reading token: %s must hold the token alone on one line", path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o044 != 0 {
		warning = fmt.Sprintf("token file %s is readable by its group or others (mode %04o); run chmod 600 %s", path, perm, path)
	}
	return t, warning, nil
}
