package main

import (
	"flag"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// exactErr and strings.Contains are the two ways checkParse matches an
// error against the one a case expects.
func exactErr(got, want string) bool { return got == want }

// checkParse parses args with a command's parse function, on a FlagSet set
// up as parseFlags sets it up, and checks the outcome: when wantErr is set,
// an error that matches it; otherwise no error and options equal to want.
// It returns the error, for checks of the caller's own.
func checkParse[T any](t *testing.T, parse func(*flag.FlagSet, []string) (T, error), args []string, want T, wantErr string, matches func(got, want string) bool) error {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	got, err := parse(fs, args)
	if wantErr != "" {
		if err == nil || !matches(err.Error(), wantErr) {
			t.Fatalf("parsing %q: err = %v, want %q", args, err, wantErr)
		}
		return err
	}
	if err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	var zero T
	if d := cmp.Diff(want, got, cmp.AllowUnexported(zero)); d != "" {
		t.Errorf("parsing %q: options (-want +got):\n%s", args, d)
	}
	return nil
}
