package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run the reference SCIM server on a tenant snapshot, for local trials",
		usage:   serveUsage,
		run:     runServe,
	})
}

const serveUsage = `Usage: scimsync serve --state FILE (--token-file FILE | --token-env NAME | --no-auth) [flags]

Serve a tenant snapshot (the format of target.file and of scimsync snapshot)
over SCIM 2.0 with the organization extension: /Users, /Groups,
/Organizations, /Members and discovery, under the base path. Members are
recomputed after every change with the same resolution rules plan predicts
with, at SCIMSYNC_NOW when it is set. It is the reference server for trying scimsync without a
tenant; faults can be injected to test clients.

It listens on a loopback address unless --allow-remote is given, and needs a
bearer token unless --no-auth is given (loopback only). The token is never
printed. It prints the URL it serves on stderr, and stops cleanly on SIGINT
or SIGTERM; with --persist it then writes the state back to --state,
atomically.

Flags:
  --state FILE          the tenant snapshot to serve (required)
  --addr HOST:PORT      listen address (default 127.0.0.1:8080; port 0 picks
                        a free one)
  --allow-remote        allow a non-loopback listen address. The server speaks
                        plain HTTP: the token crosses the network in clear
  --token-file FILE     read the bearer token from FILE
  --token-env NAME      read the bearer token from environment variable NAME
  --no-auth             accept requests without a token (loopback only)
  --persist             save the state to --state on shutdown
  --base-path PATH      the SCIM base path (default /scim/v2)
  --page-cap N          return at most N resources per list page (default 0,
                        no cap)
  -h                    show this help

Faults (for testing clients; each counted, off by default):
  --fault-path PREFIX   inject the faults below only under PREFIX, such as
                        /Users (default: every path)
  --latency DUR         delay every request by DUR, such as 20ms
  --fail-503 N          answer the first N requests with 503
  --fail-429 N          answer the first N requests with 429 and Retry-After
  --retry-after DUR     the Retry-After of --fail-429, in whole seconds
                        (default 1s)
  --drop-at K           close the connection of the K-th request unanswered
  --drop-every N        close the connection of every N-th request unanswered
  --truncate-every N    cut every N-th response body in half (1: every one)
  --shift-total         add 1 to totalResults on list pages after the first
  --duplicate-ids       start every list page after the first with the last
                        resource of the page before
  --endless-page        answer every list request with the first page
  --empty-pages         answer list pages after the first with no resources
  --oversize-mb N       pad every response body to N MiB
  --deep-nesting DEPTH  add DEPTH nested arrays to every response body
  --slow-loris DUR      send response bodies a byte at a time, DUR apart

Environment:
  SCIMSYNC_NOW          the server's clock, YYYY-MM-DD or RFC 3339 (default:
                        now)

Exit codes:
  0  stopped by a signal (state saved, with --persist)
  1  could not start, or could not save the state
`

// serveOptions are the parsed flags of serve.
type serveOptions struct {
	state       string
	addr        string
	allowRemote bool
	tokenFile   string
	tokenEnv    string
	noAuth      bool
	persist     bool
	basePath    string
	pageCap     int

	faultPath     string
	latency       time.Duration
	fail503       int
	fail429       int
	retryAfter    time.Duration
	dropAt        int
	dropEvery     int
	truncateEvery int
	shiftTotal    bool
	duplicateIDs  bool
	endlessPage   bool
	emptyPages    bool
	oversizeMB    int
	deepNesting   int
	slowLoris     time.Duration
}

// parseServeArgs parses serve's command line into options and checks
// the flags against each other. It does not read files or the environment.
func parseServeArgs(fs *flag.FlagSet, args []string) (serveOptions, error) {
	var o serveOptions
	fs.StringVar(&o.state, "state", "", "tenant snapshot to serve")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback listen address")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the bearer token")
	fs.StringVar(&o.tokenEnv, "token-env", "", "environment variable holding the bearer token")
	fs.BoolVar(&o.noAuth, "no-auth", false, "accept requests without a token")
	fs.BoolVar(&o.persist, "persist", false, "save the state on shutdown")
	fs.StringVar(&o.basePath, "base-path", "/scim/v2", "SCIM base path")
	fs.IntVar(&o.pageCap, "page-cap", 0, "most resources per list page")
	fs.StringVar(&o.faultPath, "fault-path", "", "inject faults only under this path")
	fs.DurationVar(&o.latency, "latency", 0, "delay per request")
	fs.IntVar(&o.fail503, "fail-503", 0, "answer the first N requests with 503")
	fs.IntVar(&o.fail429, "fail-429", 0, "answer the first N requests with 429")
	fs.DurationVar(&o.retryAfter, "retry-after", time.Second, "Retry-After of --fail-429")
	fs.IntVar(&o.dropAt, "drop-at", 0, "drop the K-th request")
	fs.IntVar(&o.dropEvery, "drop-every", 0, "drop every N-th request")
	fs.IntVar(&o.truncateEvery, "truncate-every", 0, "truncate every N-th response")
	fs.BoolVar(&o.shiftTotal, "shift-total", false, "shift totalResults on later pages")
	fs.BoolVar(&o.duplicateIDs, "duplicate-ids", false, "repeat ids across pages")
	fs.BoolVar(&o.endlessPage, "endless-page", false, "always answer the first page")
	fs.BoolVar(&o.emptyPages, "empty-pages", false, "empty pages after the first")
	fs.IntVar(&o.oversizeMB, "oversize-mb", 0, "pad response bodies to N MiB")
	fs.IntVar(&o.deepNesting, "deep-nesting", 0, "nest DEPTH arrays in response bodies")
	fs.DurationVar(&o.slowLoris, "slow-loris", 0, "dribble response bodies a byte per DUR")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.state == "" {
		return o, errors.New("flag --state is required: the tenant snapshot to serve")
	}
	sources := 0
	for _, set := range []bool{o.tokenFile != "", o.tokenEnv != "", o.noAuth} {
		if set {
			sources++
		}
	}
	switch {
	case sources == 0:
		return o, errors.New("no token: pass --token-file or --token-env (or --no-auth, on loopback only)")
	case sources > 1:
		return o, errors.New("flags --token-file, --token-env and --no-auth exclude each other")
	}
	if !strings.HasPrefix(o.basePath, "/") {
		return o, fmt.Errorf("flag --base-path: %q must start with /", o.basePath)
	}
	if strings.ContainsAny(o.basePath, "?#") {
		return o, fmt.Errorf("flag --base-path: %q must be a plain path", o.basePath)
	}
	for name, v := range map[string]int{
		"page-cap": o.pageCap, "fail-503": o.fail503, "fail-429": o.fail429, "drop-at": o.dropAt,
		"drop-every": o.dropEvery, "truncate-every": o.truncateEvery, "oversize-mb": o.oversizeMB, "deep-nesting": o.deepNesting,
	} {
		if v < 0 {
			return o, fmt.Errorf("flag --%s: %d is negative", name, v)
		}
	}
	for name, v := range map[string]time.Duration{"latency": o.latency, "retry-after": o.retryAfter, "slow-loris": o.slowLoris} {
		if v < 0 {
			return o, fmt.Errorf("flag --%s: %v is negative", name, v)
		}
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return o, fmt.Errorf("flag --addr: %w", err)
	}
	if !loopbackHost(host) {
		if o.noAuth {
			return o, fmt.Errorf("flag --addr: %s is not a loopback address, and --no-auth is allowed on loopback only", o.addr)
		}
		if !o.allowRemote {
			return o, fmt.Errorf("flag --addr: %s is not a loopback address; pass --allow-remote to listen on it anyway", o.addr)
		}
	}
	return o, nil
}

// loopbackHost reports whether host (from HOST:PORT) is a loopback IP
// address or localhost. An empty host means every interface.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// faults turns the fault flags into server faults.
func (o serveOptions) faults() scimtest.Faults {
	on := func(t scimtest.Trigger) scimtest.Trigger { return t.Under(o.faultPath) }
	var f scimtest.Faults
	if o.latency > 0 {
		f.Latency = scimtest.Latency{When: on(scimtest.Always()), Delay: o.latency}
	}
	if o.fail503 > 0 {
		f.Unavailable = on(scimtest.First(o.fail503))
	}
	if o.fail429 > 0 {
		f.RateLimit = scimtest.RateLimit{When: on(scimtest.First(o.fail429)), RetryAfter: o.retryAfter}
	}
	if o.dropAt > 0 || o.dropEvery > 0 {
		f.Drop = scimtest.Drop{When: on(scimtest.Trigger{At: o.dropAt, Every: o.dropEvery})}
	}
	if o.truncateEvery > 0 {
		f.Truncate = on(scimtest.Every(o.truncateEvery))
	}
	if o.shiftTotal {
		f.ShiftTotal = scimtest.ShiftTotal{When: on(scimtest.Always()), By: 1}
	}
	if o.duplicateIDs {
		f.DuplicateIDs = on(scimtest.Always())
	}
	if o.endlessPage {
		f.EndlessPage = on(scimtest.Always())
	}
	if o.emptyPages {
		f.EmptyPages = on(scimtest.Always())
	}
	if o.oversizeMB > 0 {
		f.Oversize = scimtest.Oversize{When: on(scimtest.Always()), Bytes: o.oversizeMB << 20}
	}
	if o.deepNesting > 0 {
		f.DeepNesting = scimtest.DeepNesting{When: on(scimtest.Always()), Depth: o.deepNesting}
	}
	if o.slowLoris > 0 {
		f.SlowLoris = scimtest.SlowLoris{When: on(scimtest.Always()), Chunk: 1, Interval: o.slowLoris}
	}
	return f
}

// readToken reads the bearer token from the file or variable the options
// name. It never includes the token in an error.
func (o serveOptions) readToken(getenv func(string) string) (string, error) {
	switch {
	case o.noAuth:
		return "", nil
	case o.tokenFile != "":
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return "", fmt.Errorf("reading the token: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("token file %s is empty", o.tokenFile)
		}
		if strings.ContainsAny(tok, " \t\r\n") {
			return "", fmt.Errorf("token file %s holds more than one line or word", o.tokenFile)
		}
		return tok, nil
	default:
		tok := strings.TrimSpace(getenv(o.tokenEnv))
		if tok == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", o.tokenEnv)
		}
		return tok, nil
	}
}

// serveSignals returns the context serve runs in: cancelled on SIGINT or
// SIGTERM.
func serveSignals() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runServe(env *cmdEnv, args []string) int {
	ctx, stop := serveSignals()
	defer stop()
	return serveMain(ctx, env, args, nil)
}

// serveMain runs serve until ctx ends. ready, when set, is called with the
// base URL once the server listens (tests use it).
func serveMain(ctx context.Context, env *cmdEnv, args []string, ready func(url string)) int {
	o, code, done := parseFlags(env, "serve", serveUsage, args, parseServeArgs)
	if done {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(env.Stderr, "scimsync serve: %v\n", err)
		return exitError
	}
	token, err := o.readToken(env.Getenv)
	if err != nil {
		return fail(err)
	}
	snap, err := tenant.ReadSnapshot(o.state)
	if err != nil {
		return fail(err)
	}
	srv, err := scimtest.New(snap, scimtest.Options{
		BasePath: o.basePath,
		Token:    token,
		NoAuth:   o.noAuth,
		Now:      env.Now,
		PageCap:  o.pageCap,
		Faults:   o.faults(),
	})
	if err != nil {
		return fail(fmt.Errorf("%s: %w", o.state, err))
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fail(err)
	}
	base := "http://" + ln.Addr().String() + strings.TrimRight(o.basePath, "/")
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(env.Stderr, "scimsync serve: ", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(env.Stderr, "serving %s (state %s)\n", base, o.state)
	if !loopbackHost(hostOf(o.addr)) {
		fmt.Fprintf(env.Stderr, "scimsync serve: warning: listening on %s over plain HTTP; the token crosses the network in clear\n", ln.Addr())
	}
	if ready != nil {
		ready(base)
	}
	select {
	case err := <-errc:
		return fail(err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		hs.Close() // slow requests (a slow-loris fault) are cut off
	}
	if o.persist {
		if err := tenant.WriteSnapshot(o.state, srv.Snapshot()); err != nil {
			return fail(fmt.Errorf("saving the state: %w", err))
		}
		fmt.Fprintf(env.Stderr, "saved state to %s\n", o.state)
	}
	return exitOK
}

func hostOf(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}
