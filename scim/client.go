package scim

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
)

// Defaults for the zero values of Config.
const (
	DefaultConcurrency  = 4
	DefaultPageSize     = 1000
	DefaultMaxPages     = 10000
	DefaultMaxBodyBytes = 64 << 20
	DefaultMaxRetryWait = 2 * time.Minute
	DefaultMaxRetries   = 5
	DefaultRetryWaitMin = 500 * time.Millisecond
	DefaultRetryWaitMax = 30 * time.Second
	// DefaultRequestTimeout bounds one attempt, body included.
	DefaultRequestTimeout = 5 * time.Minute
	DefaultUserAgent      = "scimsync"
)

// Config configures a Client. Only BaseURL and Token are required.
type Config struct {
	// BaseURL is the SCIM service root, such as
	// https://claude.fedstart.com/v1/scim/v2. It must be https, or http
	// on a loopback host, and carry no credentials, query or fragment.
	BaseURL string
	// Token is the bearer token. It is never logged and never part of an
	// error string.
	Token string
	// CAFile is a PEM file of CA certificates trusted in addition to the
	// system pool. Ignored when HTTPClient is set.
	CAFile string
	// InsecureSkipTLSVerify turns off certificate verification. New logs a
	// warning when it is set. Ignored when HTTPClient is set.
	InsecureSkipTLSVerify bool
	// Concurrency bounds the requests in flight at once, across every call
	// on the client: the pages of one listing, and listings read side by
	// side. Default 4; 1 sends requests one by one.
	Concurrency int
	// PageSize is the count requested per page. Default 1000. Servers may
	// return fewer; the client adapts.
	PageSize int
	// MaxPages bounds the pages one listing may read. Default 10000.
	MaxPages int
	// MaxBodyBytes caps a response body; a larger body is an error, never
	// truncated. Default 64 MiB.
	MaxBodyBytes int64
	// MaxRetryWait caps the total time one request may spend waiting
	// between retries (Retry-After included). Default 2m.
	MaxRetryWait time.Duration
	// MaxRetries bounds the retries of one request. Default 5; negative
	// means none.
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff used when
	// the server gives no Retry-After. Defaults 500ms and 30s.
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// RequestTimeout bounds one attempt of a request, from connecting to
	// the last byte of the body, so that a server dribbling its answer (a
	// slow loris) cannot hold a read open forever. An attempt cut off by
	// it is not retried. Default 5m. Ignored when HTTPClient sets its own
	// Timeout.
	RequestTimeout time.Duration
	// Logger receives debug lines about requests (method, path, status,
	// size, duration; never headers) and warnings about failed attempts.
	// Default: discard.
	Logger *slog.Logger
	// HTTPClient, when set, replaces the client New builds (tests use it).
	// Its CheckRedirect is replaced by the client's own cross-host policy.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent. Default "scimsync".
	UserAgent string
	// TokenSource says where the token came from, such as "environment
	// variable SCIMSYNC_TOKEN" or "token file /etc/scimsync/token", for
	// the fix a 401 or 403 suggests. Never the token.
	TokenSource string
	// OnRetry, when set, is called before each retry of a transient
	// failure (503, 429, a dropped connection, a truncated body), for the
	// operator to see it: RetryEvent.String reads "retrying in 2s (503
	// from https://…/Users)". Calls come from several goroutines at once.
	OnRetry func(RetryEvent)
}

// Client is a SCIM 2.0 client bound to one service root and token. It is
// safe for concurrent use.
type Client struct {
	base   string // scheme://host[:port]/path, no trailing slash
	host   string // host[:port] of base
	scheme string
	token  string
	forms  tokenForms // what a body holding the token contains
	cfg    Config
	log    *slog.Logger
	retry  *retryablehttp.Client
	// slots bounds the requests in flight across every call on the client
	// (Config.Concurrency), so that listings read side by side share one
	// limit rather than multiply it.
	slots     chan struct{}
	nreq      atomic.Int64
	nbytes    atomic.Int64
	nredacted atomic.Int64
	size      atomic.Int64 // the page size; see pageSize
}

// New checks cfg, fills in defaults and returns a Client. An unusable
// Config.BaseURL fails with an error matching ErrBaseURL.
func New(cfg Config) (*Client, error) {
	u, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, &baseURLError{err}
	}
	if cfg.Token == "" {
		return nil, errors.New("scim client: no token")
	}
	if err := checkGODEBUG(os.Getenv("GODEBUG")); err != nil {
		return nil, err
	}
	if !validToken(cfg.Token) {
		return nil, errors.New("scim client: token holds characters not allowed in an HTTP header (whitespace or control characters)")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = DefaultRetryWaitMin
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = DefaultRetryWaitMax
	}
	if cfg.RetryWaitMax < cfg.RetryWaitMin {
		cfg.RetryWaitMax = cfg.RetryWaitMin
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	c := &Client{
		base:   u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"),
		host:   u.Host,
		scheme: u.Scheme,
		token:  cfg.Token,
		forms:  newTokenForms(cfg.Token),
		cfg:    cfg,
		log:    log,
	}

	var hc http.Client
	var next http.RoundTripper
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
		next = hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
	} else {
		tr, err := newTransport(cfg)
		if err != nil {
			return nil, err
		}
		next = tr
		if cfg.InsecureSkipTLSVerify {
			log.Warn("TLS certificate verification is off (insecure-skip-tls-verify)", "host", u.Host)
		}
	}
	if hc.Timeout == 0 {
		hc.Timeout = cfg.RequestTimeout
	}
	hc.Transport = &countingTransport{next: next, c: c}
	hc.CheckRedirect = c.checkRedirect

	c.slots = make(chan struct{}, cfg.Concurrency)
	c.size.Store(int64(cfg.PageSize))
	c.retry = &retryablehttp.Client{
		HTTPClient:   &hc,
		Logger:       leveledLogger{log: log, redact: c.redact},
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.MaxRetries,
		CheckRetry:   c.checkRetry,
		Backoff:      c.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return c, nil
}

// ErrBaseURL matches the error of New for a base URL it refuses.
var ErrBaseURL = errors.New("invalid base URL")

type baseURLError struct{ err error }

func (e *baseURLError) Error() string        { return e.err.Error() }
func (e *baseURLError) Unwrap() error        { return e.err }
func (e *baseURLError) Is(target error) bool { return target == ErrBaseURL }

// parseBaseURL checks a base URL: https, or http on a loopback host; no
// credentials, query or fragment; not a resource endpoint.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("scim client: parsing base URL: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("scim client: base URL %q: scheme must be https", raw)
	case u.Host == "":
		return nil, fmt.Errorf("scim client: base URL %q has no host", raw)
	case u.User != nil:
		return nil, errors.New("scim client: base URL must not carry credentials; use the token")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("scim client: base URL %s must not have a query or fragment", u.Redacted())
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("scim client: refusing to send the token over plain http to %s; use https", u.Host)
	}
	if err := checkBasePath(u.Scheme, u.Host, u.EscapedPath()); err != nil {
		return nil, err
	}
	return u, nil
}

func newTransport(cfg Config) (*http.Transport, error) {
	tr := cleanhttp.DefaultPooledTransport() // Proxy: http.ProxyFromEnvironment
	tr.MaxIdleConnsPerHost = cfg.Concurrency + 1
	// A read keeps its connections busy; between runs (the agent makes a
	// client per run) an idle connection is closed within seconds instead
	// of the 90 s default, so that clients made run after run do not pile
	// up open connections and their buffers.
	tr.IdleConnTimeout = 5 * time.Second
	// No answer at all within two minutes (or nine tenths of the
	// request's own bound, when shorter, so that this fires first) is a
	// server that took the connection and went silent: the error names
	// the fix (TransportFix).
	tr.ResponseHeaderTimeout = min(2*time.Minute, cfg.RequestTimeout-cfg.RequestTimeout/10)
	tlsCfg, err := TLSConfig(cfg.CAFile, cfg.InsecureSkipTLSVerify)
	if err != nil {
		return nil, err
	}
	tr.TLSClientConfig = tlsCfg
	return tr, nil
}

// TLSConfig returns the TLS configuration the client uses when it builds its
// own transport: TLS 1.2 at least, the system's CAs plus those of the PEM
// file caFile when set, verification off when insecure.
func TLSConfig(caFile string, insecure bool) (*tls.Config, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("scim client: reading CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("scim client: CA file %s holds no PEM certificate", caFile)
		}
		tlsCfg.RootCAs = pool
	}
	return tlsCfg, nil
}

// Stats reports the HTTP requests sent (each retry counts) and the response
// body bytes received since the client was made.
func (c *Client) Stats() (requests int64, bytes int64) {
	return c.nreq.Load(), c.nbytes.Load()
}

// BaseURL returns the service root the client talks to.
func (c *Client) BaseURL() string { return c.base }

// checkRedirect refuses any redirect that would carry the token to another
// host or scheme, and any redirect of a non-GET request.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return &redirectError{to: req.URL.Scheme + "://" + req.URL.Host, tooMany: true}
	}
	if !strings.EqualFold(req.URL.Host, c.host) || req.URL.Scheme != c.scheme {
		return &redirectError{to: req.URL.Scheme + "://" + req.URL.Host}
	}
	if via[0].Method != http.MethodGet {
		return &redirectError{to: req.URL.Scheme + "://" + req.URL.Host, method: via[0].Method}
	}
	return nil
}

type redirectError struct {
	to, method string
	tooMany    bool
}

func (e *redirectError) Error() string {
	if e.tooMany {
		return "refusing redirect: stopped after 5 redirects"
	}
	if e.method != "" {
		return "refusing to follow a redirect of a " + e.method + " request"
	}
	return "refusing redirect to " + e.to + ": the token is sent only to the configured host"
}

// response is a fully read, successful HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
	tls    *tls.ConnectionState
}

// request is what one call to do sends.
type request struct {
	method   string
	endpoint string // escaped path below the base URL, starting with "/"
	query    url.Values
	body     any
	ifMatch  string
	header   http.Header // more headers; never Authorization
}

// do sends r with retries and returns the response of a 2xx status. Any
// other status becomes an *Error.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	target := c.base + r.endpoint
	if len(r.query) > 0 {
		// url.Values encodes spaces as "+"; %20 is understood everywhere.
		target += "?" + strings.ReplaceAll(r.query.Encode(), "+", "%20")
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("%s %s: encoding body: %w", r.method, r.endpoint, err)
		}
	}
	st := &attemptState{method: r.method, url: c.base + r.endpoint, budget: c.cfg.MaxRetryWait}
	ctx = context.WithValue(ctx, stateKey{}, st)
	var rawBody any
	if body != nil {
		rawBody = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, target, rawBody)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.endpoint, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json, application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for k, vs := range r.header {
		if http.CanonicalHeaderKey(k) != "Authorization" {
			req.Header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", r.ifMatch)
	}
	req.SetResponseHandler(func(resp *http.Response) error {
		st.read = true
		st.body, st.readErr = c.readBody(resp)
		// Close the body that was read: until then the attempt's deadline
		// (http.Client.Timeout) stays armed, and with it the request's
		// context, which holds st and the body just read.
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(nil))
		if st.readErr == nil && resp.StatusCode/100 == 2 {
			// A UTF-8 byte order mark before the JSON, which RFC 8259 §8.1
			// lets a reader ignore, is ignored.
			st.body = bytes.TrimPrefix(st.body, []byte("\xef\xbb\xbf"))
			st.readErr = checkJSON(st.body)
			if errors.Is(st.readErr, ErrInvalidResponse) && !looksLikeJSON(st.body) {
				st.readErr = &TargetError{Method: r.method, URL: st.url,
					Err: notJSON(resp.StatusCode, resp.Header.Get("Content-Type"), st.body),
					Fix: notJSONFix(resp.Header.Get("Content-Type"), st.body)}
			}
		}
		return st.readErr
	})

	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%s %s: %w", r.method, r.endpoint, ctx.Err())
	}
	start := time.Now()
	resp, err := c.retry.Do(req)
	<-c.slots
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, c.transportError(r, st.url, err)
	}
	defer resp.Body.Close()
	data := st.body
	if !st.read {
		// Retries ran out on a retryable status; the body is still unread.
		if data, err = c.readBody(resp); err != nil {
			return nil, c.transportError(r, st.url, err)
		}
	}
	c.log.Debug("scim request", "method", r.method, "path", r.endpoint, "status", resp.StatusCode,
		"bytes", len(data), "duration", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode/100 != 2 {
		e := c.newError(r.method, r.endpoint, resp.StatusCode, data)
		if fix := c.statusFix(e, data); fix != "" {
			return nil, &TargetError{Method: r.method, URL: st.url, Err: e, Fix: fix}
		}
		if st.overBudget > 0 {
			return nil, fmt.Errorf("%w (the server asked to retry in %s, beyond the retry budget of %s)",
				e, st.overBudget.Round(time.Second), c.cfg.MaxRetryWait)
		}
		return nil, e
	}
	if data, err = c.redactBody(data); err != nil {
		return nil, fmt.Errorf("%s %s: redacting the token from the body: %w", r.method, r.endpoint, err)
	}
	c.redactHeader(resp.Header)
	return &response{status: resp.StatusCode, header: resp.Header, body: data, tls: resp.TLS}, nil
}

// transportError describes a failure without a usable response. The
// *url.Error wrapper is dropped: it would repeat the full URL with its
// query. A failure that calls for a fix becomes a *TargetError, which
// names the full URL (fullURL, without the query) and the fix.
func (c *Client) transportError(r request, fullURL string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var te *TargetError
	if errors.As(err, &te) {
		return te
	}
	if fix := c.transportFix(err); fix != "" {
		return &TargetError{Method: r.method, URL: fullURL, Err: err, Fix: fix}
	}
	return fmt.Errorf("%s %s: %w", r.method, r.endpoint, err)
}

// ErrBodyTooLarge is returned when a response body exceeds
// Config.MaxBodyBytes.
var ErrBodyTooLarge = errors.New("response body too large")

func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	limit := c.cfg.MaxBodyBytes
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrBodyTooLarge, resp.ContentLength, limit)
	}
	var data []byte
	var err error
	if n := resp.ContentLength; n > 0 {
		// The length is announced: one allocation of that size, not the
		// doubling io.ReadAll does (at a million users, 1.5 s of clearing
		// and copying memory; issue 18). The transport ends the body at
		// that length, so nothing more can follow.
		data = make([]byte, n)
		var got int
		got, err = io.ReadFull(resp.Body, data)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // nothing at all of an announced body
		}
		data = data[:got]
	} else {
		data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: body cut off after %d bytes: %w", ErrIncompleteRead, len(data), err)
		}
		return nil, fmt.Errorf("reading response body: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
	}
	return data, nil
}

// redact removes the token from s.
func (c *Client) redact(s string) string {
	if c.token == "" {
		return s
	}
	return redactString(s, c.token)
}

// countingTransport counts requests and response bytes for Stats.
type countingTransport struct {
	next http.RoundTripper
	c    *Client
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.c.nreq.Add(1)
	resp, err := t.next.RoundTrip(req)
	if resp != nil && resp.Body != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.c.nbytes}
	}
	return resp, err
}

func (t *countingTransport) CloseIdleConnections() {
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkGODEBUG refuses the GODEBUG settings with which net/http prints
// request headers, the Authorization header with the token among them:
// http2debug=1 and http2debug=2. net/http reads them once, at start-up, and
// matches them as substrings, as this does; the only remedy is not to run.
func checkGODEBUG(v string) error {
	for _, bad := range []string{"http2debug=1", "http2debug=2"} {
		if strings.Contains(v, bad) {
			return fmt.Errorf("scim client: refusing to run with GODEBUG=%s: Go's HTTP/2 debug log prints every request header, the bearer token among them; remove http2debug from the GODEBUG environment variable", sanitize(v, 200))
		}
	}
	return nil
}

func validToken(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] < 0x21 || t[i] > 0x7e {
			return false
		}
	}
	return true
}
