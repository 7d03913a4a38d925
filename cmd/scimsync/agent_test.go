package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/agent"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

func TestParseAgentArgs(t *testing.T) {
	defaults := agentOptions{
		files: []string{"scimsync.yaml"}, schedule: "@every 15m", addr: "127.0.0.1:9464",
		journal: "scimsync-agent.journal", auditLog: "scimsync-audit.jsonl",
		timeout: 10 * time.Minute, grace: 30 * time.Second, webhookFormat: "slack",
		failureThreshold: 3, logLevel: slog.LevelInfo, logFormat: "auto",
	}
	for _, tc := range []struct {
		name    string
		args    []string
		want    func(o *agentOptions)
		wantErr string
	}{
		{name: "defaults", args: nil, want: func(o *agentOptions) {}},
		{name: "everything", args: []string{
			"-f", "a.yaml", "-f", "dir", "--schedule", "CRON_TZ=Europe/Paris */15 * * * *", "--jitter", "1m",
			"--addr", "0.0.0.0:9464", "--auto-apply", "--git-pull", "--timeout", "2m", "--grace", "5s",
			"--webhook-url-file", "/run/secrets/hook", "--webhook-format", "json", "--failure-threshold", "5",
			"--log-level", "debug", "--log-format", "json", "--journal", "j", "--audit-log", "a",
			"--notice-state", "/var/lib/scimsync/notices.json",
		}, want: func(o *agentOptions) {
			o.files = []string{"a.yaml", "dir"}
			o.schedule = "CRON_TZ=Europe/Paris */15 * * * *"
			o.jitter = time.Minute
			o.addr = "0.0.0.0:9464"
			o.autoApply, o.gitPull = true, true
			o.timeout, o.grace = 2*time.Minute, 5*time.Second
			o.webhookURLFile, o.webhookFormat = "/run/secrets/hook", "json"
			o.failureThreshold = 5
			o.logLevel, o.logFormat = slog.LevelDebug, "json"
			o.journal, o.auditLog = "j", "a"
			o.noticeState = "/var/lib/scimsync/notices.json"
		}},
		{name: "stdin", args: []string{"-f", "-"}, wantErr: "not stdin"},
		{name: "positional", args: []string{"spec.yaml"}, wantErr: `unexpected argument "spec.yaml"`},
		{name: "negative jitter", args: []string{"--jitter", "-1s"}, wantErr: "flag --jitter"},
		{name: "format", args: []string{"--webhook-format", "xml"}, wantErr: "flag --webhook-format"},
		{name: "both urls", args: []string{"--webhook-url", "https://h/SECRET", "--webhook-url-file", "f"}, wantErr: "give one, not both"},
		{name: "level", args: []string{"--log-level", "loud"}, wantErr: "flag --log-level"},
		{name: "log format", args: []string{"--log-format", "xml"}, wantErr: "flag --log-format"},
		{name: "threshold", args: []string{"--failure-threshold", "0"}, wantErr: "flag --failure-threshold"},
		{name: "unknown", args: []string{"--interval", "1m"}, wantErr: "flag provided but not defined: -interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := defaults
			if tc.want != nil {
				tc.want(&want)
			}
			err := checkParse(t, parseAgentArgs, tc.args, want, tc.wantErr, strings.Contains)
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error echoes the webhook URL: %v", err)
			}
		})
	}
}

func TestAgentWebhookURLSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "hook")
	if err := os.WriteFile(file, []byte("https://hooks.example/from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "SCIMSYNC_WEBHOOK_URL" {
			return "https://hooks.example/from-env"
		}
		return ""
	}
	for _, tc := range []struct {
		opts agentOptions
		want string
	}{
		{agentOptions{webhookURL: "https://hooks.example/from-flag"}, "https://hooks.example/from-flag"},
		{agentOptions{webhookURLFile: file}, "https://hooks.example/from-file"},
		{agentOptions{}, "https://hooks.example/from-env"},
	} {
		got, err := tc.opts.resolveWebhookURL(env)
		if err != nil || got != tc.want {
			t.Errorf("resolveWebhookURL(%+v) = %q, %v; want %q", tc.opts, got, err, tc.want)
		}
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, err := (agentOptions{webhookURLFile: empty}).resolveWebhookURL(env); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := (agentOptions{webhookURLFile: filepath.Join(dir, "missing")}).resolveWebhookURL(env); err == nil {
		t.Errorf("missing file: no error")
	}
}

func TestAgentHelp(t *testing.T) {
	var out bytes.Buffer
	env := &cmdEnv{Stdout: &out, Stderr: io.Discard, Getenv: func(string) string { return "" }, Now: time.Now, IsTTY: func(any) bool { return false }}
	if code := runArgs(env, []string{"agent", "-h"}); code != exitOK {
		t.Fatalf("agent -h: exit %d", code)
	}
	for _, want := range []string{"plan -f PATH --detailed-exitcode", "--auto-apply", "CRON_TZ", "/readyz", "SCIMSYNC_WEBHOOK_URL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("agent usage lacks %q", want)
		}
	}
}

// lockedBuffer is a goroutine-safe io.Writer.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hookReceiver records the JSON events posted to it.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []agent.Event
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev agent.Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.events = append(h.events, ev)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) kinds() []agent.EventKind {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []agent.EventKind
	for _, e := range h.events {
		out = append(out, e.Kind)
	}
	return out
}

// runningAgent is `scimsync agent` running in-process.
type runningAgent struct {
	base   string
	stderr *lockedBuffer
	code   chan int
}

// startAgent runs the agent command and waits until it listens.
func startAgent(t *testing.T, getenv map[string]string, args ...string) *runningAgent {
	t.Helper()
	ra := &runningAgent{stderr: &lockedBuffer{}, code: make(chan int, 1)}
	env := &cmdEnv{
		Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: ra.stderr,
		Getenv: func(k string) string { return getenv[k] },
		Now:    time.Now,
		IsTTY:  func(any) bool { return false },
	}
	go func() {
		ra.code <- runArgs(env, append([]string{"agent", "--addr", "127.0.0.1:0", "--log-level", "debug"}, args...))
	}()
	deadline := time.Now().Add(5 * time.Second)
	for ra.base == "" {
		if time.Now().After(deadline) {
			t.Fatalf("agent did not start:\n%s", ra.stderr.String())
		}
		select {
		case code := <-ra.code:
			t.Fatalf("agent exited with %d:\n%s", code, ra.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(ra.stderr.String()))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "agent started" {
				ra.base = "http://" + line.Addr
			}
		}
	}
	return ra
}

func (ra *runningAgent) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(ra.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (ra *runningAgent) status(t *testing.T) agent.Status {
	t.Helper()
	var st agent.Status
	if err := json.Unmarshal([]byte(ra.get(t, "/status")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestAgentCommandDriftLifecycle runs scimsync agent against the reference
// SCIM server with a one-second schedule: the drift found at start fires
// one webhook; scimsync apply clears it (one "resolved"); a change made on
// the server by hand fires one more within two ticks; SIGTERM exits 0.
func TestAgentCommandDriftLifecycle(t *testing.T) {
	snap, err := tenant.ReadSnapshot(filepath.Join("..", "..", "examples", "jit-to-staged", "tenant.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := scimtest.NewTestServer(t, snap, scimtest.Options{})
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "jit-to-staged", "scimsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "  file: tenant.json", "  url: "+srv.URL, 1)
	if text == string(data) {
		t.Fatal("the example's target changed; update the test")
	}
	dir := t.TempDir()
	specPath := filepath.Join(dir, "scimsync.yaml")
	if err := os.WriteFile(specPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	hook := newHookReceiver(t)
	secretURL := hook.srv.URL + "/services/T0/B0/SECRETxyz"
	vars := map[string]string{"SCIMSYNC_TOKEN": srv.Token, "SCIMSYNC_WEBHOOK_URL": secretURL}
	ra := startAgent(t, vars, "-f", specPath, "--schedule", "@every 1s", "--webhook-format", "json", "--log-format", "json")

	// The example tenant differs from its spec: the first run says so.
	eventually(t, 2*time.Second, "drift in /status", func() bool {
		st := ra.status(t)
		return st.Drift != nil && *st.Drift
	})
	m := ra.get(t, "/metrics")
	for _, want := range []string{
		`scimsync_drift{kind="add",org="hq"} 8`,
		`scimsync_drift{kind="change",org="hq"} 2`,
		`scimsync_drift{kind="config",org="example-agency"} 1`,
		`scimsync_members{org="hq",role="member",tier="standard"} 20`,
		`scimsync_would_remove{org="hq"} 5`,
		`scimsync_seats_purchased{org="hq",tier="standard"} 900`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	time.Sleep(1200 * time.Millisecond) // another tick: still one webhook
	if got := hook.kinds(); !cmp.Equal(got, []agent.EventKind{agent.EventDrift}) {
		t.Fatalf("webhooks = %v, want one drift", got)
	}

	// A person applies the spec: the drift clears.
	var applyOut, applyErr bytes.Buffer
	applyEnv := &cmdEnv{Stdin: strings.NewReader(""), Stdout: &applyOut, Stderr: &applyErr,
		Getenv: func(k string) string { return vars[k] }, Now: time.Now, IsTTY: func(any) bool { return false }}
	if code := runArgs(applyEnv, []string{"apply", "-f", specPath, "--yes",
		"--journal", filepath.Join(dir, "apply.journal"), "--audit-log", filepath.Join(dir, "audit.jsonl")}); code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", code, applyOut.String(), applyErr.String())
	}
	eventually(t, 2500*time.Millisecond, "resolved webhook", func() bool { return len(hook.kinds()) == 2 })
	time.Sleep(1200 * time.Millisecond)
	if got := hook.kinds(); !cmp.Equal(got, []agent.EventKind{agent.EventDrift, agent.EventResolved}) {
		t.Fatalf("webhooks = %v, want drift then one resolved", got)
	}
	if st := ra.status(t); st.Drift == nil || *st.Drift || st.SummaryLine != "No changes. The tenant matches the spec." {
		t.Fatalf("status after apply: drift %v, %q", st.Drift, st.SummaryLine)
	}

	// An administrator lowers hq's seats on the server, as with curl.
	req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/Organizations/org-hq", strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"seats","value":{"standard":800,"premium":60}}]}`))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH /Organizations/org-hq: %s", resp.Status)
	}
	changedAt := time.Now()
	eventually(t, 2200*time.Millisecond, "drift within two ticks of the out-of-band change", func() bool {
		return strings.Contains(ra.get(t, "/metrics"), `scimsync_drift{kind="config",org="hq"} 1`)
	})
	t.Logf("out-of-band change visible after %v", time.Since(changedAt).Round(time.Millisecond))
	eventually(t, time.Second, "drift webhook", func() bool { return len(hook.kinds()) == 3 })
	if got := hook.kinds(); got[2] != agent.EventDrift {
		t.Fatalf("webhooks = %v, want a new drift", got)
	}

	// SIGTERM: the agent stops cleanly with exit 0.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-ra.code:
		if code != exitOK {
			t.Fatalf("agent exited %d after SIGTERM:\n%s", code, ra.stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("agent did not stop after SIGTERM")
	}
	logs := ra.stderr.String()
	if !strings.Contains(logs, `"msg":"agent stopped"`) {
		t.Errorf("no clean stop logged:\n%s", logs)
	}
	for _, secret := range []string{"SECRETxyz", srv.Token} {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret is in the logs: %s", secret)
		}
	}
}

func TestAgentCommandBadFlags(t *testing.T) {
	var stderr bytes.Buffer
	env := &cmdEnv{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now, IsTTY: func(any) bool { return false }}
	if code := runArgs(env, []string{"agent", "--schedule", "every minute"}); code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(stderr.String(), `parsing schedule "every minute"`) {
		t.Errorf("stderr = %s", stderr.String())
	}
	stderr.Reset()
	if code := runArgs(env, []string{"agent", "--webhook-url", "ftp://hooks.example/SECRET"}); code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if s := stderr.String(); !strings.Contains(s, "http or https") || strings.Contains(s, "SECRET") {
		t.Errorf("stderr = %s", s)
	}
	var errAddr bytes.Buffer
	env.Stderr = &errAddr
	if code := runArgs(env, []string{"agent", "-f", "x.yaml", "--addr", "256.0.0.1:http"}); code != exitError {
		t.Fatalf("bad address: exit %d", code)
	}
	if !strings.Contains(errAddr.String(), "listening") {
		t.Errorf("stderr = %s", errAddr.String())
	}
}
