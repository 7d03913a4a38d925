package scim

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// TargetError is a failure that repeating will not fix, and that usually
// means the base URL, the network, the TLS setup or the token is wrong:
// nothing listens at the address, the host does not resolve, TLS on one
// side only, a certificate not trusted, a 404 on a standard endpoint, a
// success answer that is not JSON (a web page), a 401 or 403. Such failures
// are retried once at most, quickly, and the error names the full URL and
// the likely fix:
//
//	GET http://127.0.0.1:9/scim/v2/Users: dial tcp 127.0.0.1:9: connect: connection refused; nothing accepts connections at 127.0.0.1:9: check the host and port of the base URL, and that the server is running
//
// Err is the cause: a *net.OpError, a *net.DNSError, a TLS error, an
// *Error (errors.As finds it) or an ErrInvalidResponse.
type TargetError struct {
	Method string
	URL    string // the full URL, without the query
	Err    error
	Fix    string
}

func (e *TargetError) Error() string {
	var b strings.Builder
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	b.WriteString(": ")
	var se *Error
	if errors.As(e.Err, &se) {
		b.WriteString(se.statusText())
	} else {
		b.WriteString(e.Err.Error())
	}
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

func (e *TargetError) Unwrap() error { return e.Err }

// RetryEvent describes a retry the client is about to make, for
// Config.OnRetry.
type RetryEvent struct {
	Method string
	URL    string // the full URL, without the query
	// Retry counts the retries of this request, from 1.
	Retry int
	// Wait is the time until the retry.
	Wait time.Duration
	// Status is the status of the answer retried, or 0 for a failure
	// without one (a dropped connection, a truncated body), which Err
	// then holds.
	Status int
	Err    error
}

// String reads like "retrying in 2s (503 from https://h/scim/v2/Users)".
func (e RetryEvent) String() string {
	wait := e.Wait.Round(time.Millisecond)
	if e.Wait >= time.Second {
		wait = e.Wait.Round(100 * time.Millisecond)
	}
	cause := "failure"
	switch {
	case e.Status != 0:
		cause = fmt.Sprint(e.Status)
	case e.Err != nil:
		cause = shortCause(e.Err)
	}
	return fmt.Sprintf("retrying in %s (%s from %s)", wait, cause, e.URL)
}

// shortCause names a transport failure in a few words.
func shortCause(err error) string {
	switch {
	case errors.Is(err, ErrIncompleteRead):
		return "a truncated body"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EPIPE):
		return "connection closed"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return sanitize(msg, 60)
}

// unreachable tells whether err means the server could not be reached at
// all: nothing listening, no route, a host name that does not resolve.
// Such a request is retried once, quickly.
func unreachable(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}

// transportFix returns the likely fix for a transport failure that calls
// for one, and "" for a failure that may be transient.
func (c *Client) transportFix(err error) string { return TransportFix(err, c.host) }

// TransportFix returns the likely fix for a failure to connect to host
// (host:port), or to speak TLS with it: a host name that does not resolve,
// nothing listening, no route, TLS on one side only, a certificate not
// trusted. It returns "" for a failure that may be transient.
func TransportFix(err error, host string) string {
	var (
		dns       *net.DNSError
		recordHdr tls.RecordHeaderError
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &dns):
		return fmt.Sprintf("the host name %s does not resolve: check the host of the base URL, and the DNS or proxy settings", dns.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing accepts connections at %s: check the host and port of the base URL, and that the server is running", host)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("the network has no route to %s: check the host of the base URL, and the VPN or proxy settings", host)
	case errors.As(err, &recordHdr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Sprintf("the server at %s does not speak TLS: check the port; for a plain-HTTP server on this machine, use http://", host)
	case errors.As(err, &hostname):
		return fmt.Sprintf("the server's certificate is not valid for %s: check the host of the base URL", hostname.Host)
	case errors.As(err, &unknownCA), errors.As(err, &verify), errors.As(err, &invalid):
		return "the server's certificate is not trusted: name the CA that issued it in target.caFile"
	case awaitingHeaders(err):
		return fmt.Sprintf("the server at %s accepted the connection but sent no answer in time: check the port of the base URL "+
			"(a proxy or load balancer with nothing behind it answers so), and that the server is up", host)
	}
	return ""
}

// standardEndpoints are the collections every SCIM server has below its
// base URL: a 404 there means the base URL is wrong. (/ResourceTypes,
// /Organizations and /Members may be missing on a server that is right.)
var standardEndpoints = map[string]bool{"/Users": true, "/Groups": true, "/ServiceProviderConfig": true, "/Schemas": true}

// statusFix returns the likely fix for an error status that calls for one,
// or "".
func (c *Client) statusFix(e *Error, body []byte) string {
	switch {
	case e.Status == http.StatusUnauthorized:
		return "the server refused the bearer token" + c.tokenSource() + ": it may be expired, revoked or meant for another server"
	case e.Status == http.StatusForbidden:
		return "the server accepted the bearer token" + c.tokenSource() + " but forbids this request: the token needs SCIM provisioning rights"
	case e.Status == http.StatusNotFound && e.Method == http.MethodGet && standardEndpoints[e.URL]:
		return "the server has no " + e.URL + " below the base URL: check the base URL, which usually ends in /scim/v2"
	case e.Status == http.StatusBadRequest && plainToTLS(body):
		return "the server speaks HTTPS on that port: use https:// in the base URL"
	}
	return ""
}

// plainToTLS tells whether an error body is a server's answer to plain HTTP
// sent to its HTTPS port (Go's, nginx's).
func plainToTLS(body []byte) bool {
	s := strings.ToLower(string(body[:min(len(body), 512)]))
	return strings.Contains(s, "http request to an https server") || strings.Contains(s, "plain http request was sent to https port")
}

// tokenSource says where the token came from, never the token: " (from
// environment variable X)", or "" when Config.TokenSource is unset.
func (c *Client) tokenSource() string {
	if c.cfg.TokenSource != "" {
		return " (from " + c.cfg.TokenSource + ")"
	}
	return ""
}

// notJSON describes a success answer that is not JSON by its status, its
// media type and an excerpt (an HTML page's title), rather than by the
// decoder's complaint about its first byte ("invalid character '<'"). It
// matches ErrInvalidResponse.
func notJSON(status int, contentType string, body []byte) error {
	media, _, _ := strings.Cut(contentType, ";")
	media = sanitize(strings.ToLower(strings.TrimSpace(media)), 60)
	what := "a body"
	if media != "" {
		what = "a " + media + " body"
	}
	msg := fmt.Sprintf("%d %s with %s, not JSON", status, http.StatusText(status), what)
	if ex := excerpt(body); ex != "" {
		msg += fmt.Sprintf(" (%q)", sanitize(ex, 60))
	}
	return &invalidResponse{errors.New(msg)}
}

// looksLikeJSON tells whether a body starts as an object or an array does:
// one that then fails to decode is broken JSON, not another kind of page.
func looksLikeJSON(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// notJSONFix is the fix for a success answer that is not JSON.
func notJSONFix(contentType string, body []byte) string {
	if strings.Contains(strings.ToLower(contentType), "html") || looksLikeML.Match(body[:min(len(body), 512)]) {
		return "this looks like a web page, not a SCIM endpoint: check the base URL, which usually ends in /scim/v2"
	}
	return "the answer is not JSON, so this is not a SCIM endpoint: check the base URL, which usually ends in /scim/v2"
}

// resourcePaths are the last path segments a base URL must not end in: a
// base URL of .../scim/v2/Users would read .../Users/Users.
var resourcePaths = []string{"Users", "Groups", "Organizations", "Members", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk", "Me"}

// checkBasePath refuses a base URL path that ends in a resource endpoint.
func checkBasePath(scheme, host, path string) error {
	trimmed := strings.TrimRight(path, "/")
	i := strings.LastIndexByte(trimmed, '/')
	last := trimmed[i+1:]
	for _, r := range resourcePaths {
		if strings.EqualFold(last, r) {
			return fmt.Errorf("scim client: base URL %s://%s%s must not include /%s: use %s://%s%s, the service root",
				scheme, host, path, last, scheme, host, trimmed[:max(i, 0)])
		}
	}
	return nil
}

// awaitingHeaders reports whether err is a request that timed out before
// any answer came: net/http's "timeout awaiting response headers", or its
// client timeout "(Client.Timeout exceeded while awaiting headers)".
func awaitingHeaders(err error) bool {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "awaiting response headers") || strings.Contains(msg, "awaiting headers")
}
