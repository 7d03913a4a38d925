package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// targetClient returns what cmd adds to the SCIM client of a spec's target
// (tenant.OpenOptions.Client): where the token comes from, for the fix a
// 401 suggests, and a line on stderr for every retry, on a terminal or
// not (DESIGN §8a: transient failures are retried visibly, in CI too).
func targetClient(env *cmdEnv, s *spec.Spec) scim.Config {
	cfg := scim.Config{TokenSource: tokenSource(s)}
	tty := env.IsTTY(env.Stderr)
	var mu sync.Mutex
	cfg.OnRetry = func(e scim.RetryEvent) {
		mu.Lock()
		defer mu.Unlock()
		if tty {
			// Clear a progress line first; it is redrawn at the next page.
			fmt.Fprint(env.Stderr, clearLine(env))
		}
		fmt.Fprintf(env.Stderr, "scimsync: %s\n", e)
	}
	return cfg
}

// tokenSource says where a URL target's token comes from, never the token:
// "token file /etc/scimsync/token" or "environment variable SCIMSYNC_TOKEN".
func tokenSource(s *spec.Spec) string {
	if s.Target.TokenFile != "" {
		return "token file " + tenant.SpecTarget(s).TokenFile
	}
	return "environment variable " + cmp.Or(s.Target.TokenEnv, spec.DefaultTokenEnv)
}

// targetError names the spec field, and its file:line:col, after an error
// that calls for fixing the target: a server unreachable or misaddressed
// (a *scim.TargetError), a base URL the client refuses (scim.ErrBaseURL).
// For a 401 or 403 the field is the token's, when the spec sets it. Other
// errors pass unchanged.
//
//	GET https://…/Users: …; the fix; see target.url (scimsync.yaml:3:8)
func targetError(s *spec.Spec, err error) error {
	var te *scim.TargetError
	if err == nil || s == nil || (!errors.As(err, &te) && !errors.Is(err, scim.ErrBaseURL)) {
		return err
	}
	field := "target.url"
	var se *scim.Error
	if te != nil && errors.As(te.Err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden) {
		// A field the spec leaves out is located where target: is, as a
		// field no spec has is.
		absent := s.PosOf("target.-")
		for _, f := range []string{"target.tokenFile", "target.tokenEnv"} {
			if s.PosOf(f) != absent {
				field = f
				break
			}
		}
	}
	return &fieldError{field: field, pos: s.PosOf(field), err: err}
}

// fieldError is an error about the value of one spec field.
type fieldError struct {
	field string
	pos   spec.Pos
	err   error
}

func (e *fieldError) Error() string {
	if e.pos.File == "" && e.pos.Line == 0 {
		return e.err.Error() + "; see " + e.field
	}
	return e.err.Error() + "; see " + e.field + " (" + e.pos.String() + ")"
}

func (e *fieldError) Unwrap() error { return e.err }
