package scim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/scimsync/scimsync/internal/retryafter"
)

// attemptState is the per-request state the retry policy keeps across
// attempts. It travels in the request's context.
type attemptState struct {
	method     string
	url        string        // the full URL, without the query
	budget     time.Duration // MaxRetryWait
	quick      int           // retries of an unreachable server
	waited     time.Duration // sum of the waits decided so far
	retries    int
	next       time.Duration // wait before the retry just decided
	overBudget time.Duration // a Retry-After that did not fit the budget

	// Set by the response handler.
	read    bool
	body    []byte
	readErr error
}

type stateKey struct{}

func stateFrom(ctx context.Context) *attemptState {
	st, _ := ctx.Value(stateKey{}).(*attemptState)
	return st
}

// checkRetry is the retry policy described in the package documentation.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	st := stateFrom(ctx)
	if st == nil {
		return false, nil
	}
	if st.retries >= c.cfg.MaxRetries {
		return false, nil
	}
	idempotent := st.method == http.MethodGet || st.method == http.MethodHead
	var wait time.Duration
	switch {
	case err != nil && unreachable(err):
		// Nothing listens, no route, no such host: one quick retry, then
		// the error names the URL and the fix. Waiting longer rarely helps
		// and leaves the operator staring at a silent terminal.
		if st.quick > 0 || !retryableError(err, idempotent) {
			return false, nil
		}
		st.quick++
		wait = min(c.cfg.RetryWaitMin, DefaultRetryWaitMin)
	case err != nil:
		if !retryableError(err, idempotent) {
			return false, nil
		}
		wait = c.expBackoff(st.retries)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		// The server declined to process the request: safe for any method.
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			wait = d
			if st.waited+wait > st.budget {
				st.overBudget = wait
				return false, nil
			}
		} else {
			wait = c.expBackoff(st.retries)
		}
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && idempotent:
		wait = c.expBackoff(st.retries)
	default:
		return false, nil
	}
	if st.waited+wait > st.budget {
		return false, nil
	}
	st.waited += wait
	st.next = wait
	st.retries++
	st.read, st.body, st.readErr = false, nil, nil
	if c.cfg.OnRetry != nil {
		ev := RetryEvent{Method: st.method, URL: st.url, Retry: st.retries, Wait: wait, Err: err}
		if err == nil && resp != nil {
			ev.Status = resp.StatusCode
		}
		c.cfg.OnRetry(ev)
	}
	return true, nil
}

// backoff returns the wait checkRetry decided. Without a response (a
// transport error) the state is out of reach, and the wait is recomputed.
func (c *Client) backoff(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.Request != nil {
		if st := stateFrom(resp.Request.Context()); st != nil {
			return st.next
		}
	}
	return c.expBackoff(attempt)
}

func (c *Client) expBackoff(retries int) time.Duration {
	d := c.cfg.RetryWaitMin
	for i := 0; i < retries && d < c.cfg.RetryWaitMax; i++ {
		d *= 2
	}
	return min(d, c.cfg.RetryWaitMax)
}

// retryableError tells whether a failed attempt may be repeated. Failures
// that repeating cannot fix (certificates, refused redirects, oversized
// bodies) never are; for a non-idempotent method only a failure to connect
// is, since then the request never left.
func retryableError(err error, idempotent bool) bool {
	var (
		redirect  *redirectError
		target    *TargetError // a body that is not JSON at all
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		recordHdr tls.RecordHeaderError
		opErr     *net.OpError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ErrBodyTooLarge), errors.As(err, &target),
		errors.As(err, &redirect), errors.As(err, &verify), errors.As(err, &unknownCA),
		errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &recordHdr):
		return false
	case strings.Contains(err.Error(), "unsupported protocol scheme"),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return false
	}
	if idempotent {
		return true
	}
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	return retryafter.Parse(v, now)
}

// leveledLogger puts an slog.Logger behind retryablehttp.LeveledLogger.
// retryablehttp logs the method, the redacted URL and errors, never
// headers; values are passed through redact all the same. A failed attempt
// is a warning: the caller gets the final error.
type leveledLogger struct {
	log    *slog.Logger
	redact func(string) string
}

func (l leveledLogger) Error(msg string, kv ...any) { l.log.Warn(msg, l.clean(kv)...) }
func (l leveledLogger) Warn(msg string, kv ...any)  { l.log.Warn(msg, l.clean(kv)...) }
func (l leveledLogger) Info(msg string, kv ...any)  { l.log.Info(msg, l.clean(kv)...) }
func (l leveledLogger) Debug(msg string, kv ...any) { l.log.Debug(msg, l.clean(kv)...) }

func (l leveledLogger) clean(kv []any) []any {
	out := make([]any, len(kv))
	for i, v := range kv {
		switch v := v.(type) {
		case string:
			out[i] = l.redact(v)
		case error:
			out[i] = l.redact(v.Error())
		case fmt.Stringer:
			out[i] = l.redact(v.String())
		default:
			out[i] = v
		}
	}
	return out
}
