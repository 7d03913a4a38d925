package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scimsync/scimsync/tenant"
)

// bgCmd is a scimsync command running in the background (serve, agent).
type bgCmd struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	stdout bytes.Buffer
	lines  chan string
	done   chan error
}

// startCLI starts scimsync in the background; stop ends it.
func startCLI(t *testing.T, dir string, env []string, args ...string) *bgCmd {
	t.Helper()
	cmd := exec.Command(scimsyncBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SCIMSYNC_NOW=" + nowText, "NO_COLOR=1"}, env...)
	b := &bgCmd{t: t, cmd: cmd, lines: make(chan string, 1000), done: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.Stdout = &lockedWriter{mu: &b.mu, w: &b.stdout}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			b.mu.Lock()
			b.stderr.WriteString(sc.Text() + "\n")
			b.mu.Unlock()
			select {
			case b.lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		b.done <- err
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return b
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// waitFor waits for a stderr line matching re and returns its submatches.
func (b *bgCmd) waitFor(re *regexp.Regexp, d time.Duration) []string {
	b.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case line := <-b.lines:
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case err := <-b.done:
			b.done <- err
			b.t.Fatalf("scimsync %s exited (%v) before printing %s:\n%s", strings.Join(b.cmd.Args[1:], " "), err, re, b.output())
		case <-deadline:
			b.t.Fatalf("scimsync %s did not print %s within %v:\n%s", strings.Join(b.cmd.Args[1:], " "), re, d, b.output())
		}
	}
}

// stop sends SIGTERM and waits for the command to exit 0.
func (b *bgCmd) stop() string {
	b.t.Helper()
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.done:
		b.done <- err
		if err != nil {
			b.t.Errorf("scimsync %s: %v after SIGTERM:\n%s", strings.Join(b.cmd.Args[1:], " "), err, b.output())
		}
	case <-time.After(20 * time.Second):
		b.cmd.Process.Kill()
		b.t.Fatalf("scimsync %s did not stop on SIGTERM", strings.Join(b.cmd.Args[1:], " "))
	}
	return b.output()
}

func (b *bgCmd) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stdout.String() + b.stderr.String()
}

// webhookPath is the secret part of the webhook URL, as chat services
// issue them.
const webhookPath = "/services/T0E2E/B0E2E/wh-SECRET-3d9f1c0b7a62"

// TestSecretsNeverWritten runs every command against the reference server
// with a known token and a webhook URL with a secret path, at the most
// verbose logging each offers, and searches everything they wrote — stdout,
// stderr, the agent's HTTP answers and webhook bodies, and every file in
// the working directory (plans, snapshots, journals, audit logs, the
// served state) — for the token and the webhook URL. Only the two files
// that hold them by design (the token file, the webhook URL file) are
// exempt.
func TestSecretsNeverWritten(t *testing.T) {
	dir := t.TempDir()
	var outputs []string // every captured output, by label
	var labels []string
	keep := func(label, s string) {
		labels = append(labels, label)
		outputs = append(outputs, s)
	}

	// The webhook receiver: the first delivery fails (so the agent logs
	// the failure), the rest succeed.
	var hookMu sync.Mutex
	var hookBodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		defer hookMu.Unlock()
		if r.URL.Path != webhookPath {
			http.NotFound(w, r)
			return
		}
		hookBodies = append(hookBodies, string(body))
		if len(hookBodies) == 1 {
			http.Error(w, "try again", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(hook.Close)
	hookURL := hook.URL + webhookPath
	write := func(name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("token", testToken+"\n", 0o600)
	write("webhook-url", hookURL+"\n", 0o600)
	if err := tenant.WriteSnapshot(filepath.Join(dir, "state.json"), readSnapshot(t, fixtureTenant)); err != nil {
		t.Fatal(err)
	}

	// serve, with the token in a file.
	srv := startCLI(t, dir, nil, "serve", "--state", "state.json", "--addr", "127.0.0.1:0", "--token-file", "token", "--persist", "--page-cap", "7")
	url := srv.waitFor(regexp.MustCompile(`^serving (http://\S+)`), 20*time.Second)[1]
	writeSpec(t, dir, fixtureSpec, url)
	env := []string{"SCIMSYNC_TOKEN=" + testToken, "USER=e2e"}

	run := func(args ...string) result {
		r := runCLI(t, dir, env, args...)
		keep(strings.Join(args, " "), r.stdout+r.stderr)
		return r
	}
	want := func(r result, codes ...int) {
		t.Helper()
		for _, c := range codes {
			if r.code == c {
				return
			}
		}
		t.Fatalf("want exit %v:\n%s", codes, r)
	}
	want(run("validate"), 0)
	want(run("validate", "--format", "json"), 0)
	for _, f := range []string{"text", "json", "markdown"} {
		want(run("plan", "--format", f), 2)
	}
	want(run("plan", "-o", "plan.json"), 2)
	want(run("snapshot", "-v", "-o", "snapshot.json"), 0)
	want(run("snapshot", "-v", "-o", "-"), 0)

	// A failing read and a refused apply print errors: none quotes the
	// token. (401 with a wrong token, then the right one.)
	want(runCLIKeep(t, dir, []string{"SCIMSYNC_TOKEN=wrong-" + testToken[:8]}, keep, "plan"), 1)

	// The agent, detect-only, for a few runs: drift, a webhook (failed
	// once, then delivered), debug logs, /status and /metrics.
	ag := startCLI(t, dir, append(env, "SCIMSYNC_WEBHOOK_URL="+hookURL), "agent",
		"--schedule", "@every 1s", "--addr", "127.0.0.1:0", "--log-level", "debug", "--log-format", "json", "--failure-threshold", "1")
	addr := ag.waitFor(regexp.MustCompile(`"msg":"agent started".*"addr":"([^"]+)"`), 20*time.Second)[1]
	ag.waitFor(regexp.MustCompile(`"msg":"webhook sent"`), 20*time.Second)
	for _, p := range []string{"/status", "/metrics", "/healthz", "/readyz"} {
		keep("agent GET "+p, httpGet(t, "http://"+addr+p))
	}
	keep("agent", ag.stop())

	// apply the saved plan, then a second spec change applied by the agent
	// itself (--auto-apply, the webhook URL from a file).
	want(run("apply", "plan.json", "--yes"), 0)
	write("scimsync.yaml", strings.Replace(fixtureSpecAt(url), "standard: 901", "standard: 902", 1), 0o644)
	ag = startCLI(t, dir, env, "agent", "--schedule", "@every 1s", "--addr", "127.0.0.1:0", "--log-level", "debug",
		"--log-format", "text", "--auto-apply", "--webhook-url-file", "webhook-url", "--webhook-format", "json")
	ag.waitFor(regexp.MustCompile(`msg="webhook sent" event=applied`), 20*time.Second)
	keep("agent --auto-apply", ag.stop())
	want(run("plan"), 0)

	keep("serve", srv.stop())
	hookMu.Lock()
	for i, b := range hookBodies {
		keep("webhook body "+strconv.Itoa(i+1), b)
	}
	if len(hookBodies) < 3 {
		t.Errorf("%d webhook deliveries; want a failed one, drift and applied", len(hookBodies))
	}
	hookMu.Unlock()

	// Every file written, besides the two that hold the secrets.
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name, _ := filepath.Rel(dir, p)
		if name == "token" || name == "webhook-url" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files++
		keep("file "+name, string(b))
		return nil
	})
	for _, name := range []string{"plan.json", "plan.json.journal", "snapshot.json", "scimsync-audit.jsonl", "scimsync-agent.journal", "state.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was not written: %v", name, err)
		}
	}

	secrets := map[string]string{"token": testToken, "webhook URL": hookURL, "webhook path": webhookPath, "webhook secret": "wh-SECRET-3d9f1c0b7a62"}
	searched := 0
	for i, out := range outputs {
		searched += len(out)
		for what, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s holds the %s:\n%s", labels[i], what, excerpt(out, s))
			}
		}
	}
	t.Logf("searched %d outputs and files (%d files, %d bytes) for the token and the webhook URL", len(outputs), files, searched)
}

// fixtureSpecAt is the fixture spec targeting url.
func fixtureSpecAt(url string) string { return strings.ReplaceAll(fixtureSpec, "$SCIM_URL", url) }

// runCLIKeep is runCLI that records the output with keep.
func runCLIKeep(t *testing.T, dir string, env []string, keep func(string, string), args ...string) result {
	t.Helper()
	r := runCLI(t, dir, env, args...)
	keep(strings.Join(args, " "), r.stdout+r.stderr)
	return r
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + "\n" + string(b)
}

func excerpt(s, sub string) string {
	i := strings.Index(s, sub)
	return s[max(0, i-200):min(len(s), i+len(sub)+200)]
}
