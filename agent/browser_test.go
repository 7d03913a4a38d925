package agent

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var screenshotOut = flag.String("screenshot", "", "also write the readiness page's browser screenshot to this PNG file (docs/readiness.png)")

// chromium finds the browser the page test runs: $SCIMSYNC_CHROMIUM, or
// Debian's chromium package. In CI (CI=true) a missing browser fails the
// test, since .ci/run installs it; elsewhere the test is skipped.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SCIMSYNC_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("chromium is not installed (apt-get install chromium); CI runs this test")
	return ""
}

// headless runs chromium on url with args and returns its stdout and the
// console messages it logged. The page has no script, so any console
// message (a CSP violation, a resource that failed to load) is an error.
func headless(t *testing.T, bin, url string, args ...string) (stdout []byte, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
	}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	for _, line := range strings.Split(errb.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	return out.Bytes(), console
}

func TestReadinessPageInChromium(t *testing.T) {
	bin := chromium(t)
	f := pageFixture(t, readinessPlan())
	srv := httptest.NewServer(f.agent.Handler())
	defer srv.Close()

	dom, console := headless(t, bin, srv.URL+"/", "--dump-dom", "--virtual-time-budget=2000")
	for _, c := range console {
		t.Errorf("console: %s", c)
	}
	page := string(dom)
	// The DOM as the browser built it: every person and figure the
	// server rendered is there, in the elements they were put in.
	space := regexp.MustCompile(`\s+`)
	text := space.ReplaceAllString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(page, " "), " ")
	for _, want := range []string{
		"48 members, 41 SCIM-backed (85%)",
		"12 members, 12 SCIM-backed (100%)",
		"would remove 3",
		"jit.visitor@example.gov not provisioned via SCIM",
		"old.account@example.gov SCIM user inactive",
		"temp.staff@example.gov in no mapped group of this org",
		"would remove nobody",
		"premium 6 6 7",
		"standard 60 42 42",
		"standard 20 12 12",
		"auditor@example.gov 2026-05-10 FedRAMP audit · 9 days left",
		"intern@example.gov 2026-05-11 10 days left",
		"contractor@example.gov lapsed: this plan removes the member (exception expired)",
		"2 add", "1 remove",
		"2 to add, 0 to change, 1 to remove",
		"failed", "connection refused",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the DOM's text lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="fill`); n != 2+3*2 {
		t.Errorf("the DOM holds %d bar fills, want 8 (two SCIM shares, two per seat tier)", n)
	}
	if !strings.Contains(page, `<rect class="fill bad" y="7" width="100" height="5">`) {
		t.Errorf("premium's overcommitted after-bar is not full and red")
	}

	shot := filepath.Join(t.TempDir(), "readiness.png")
	_, console = headless(t, bin, srv.URL+"/", "--screenshot="+shot, "--window-size=1180,1100", "--virtual-time-budget=2000")
	for _, c := range console {
		t.Errorf("console (screenshot): %s", c)
	}
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10_000 {
		t.Fatalf("the screenshot is not a PNG of a rendered page (%d bytes)", len(png))
	}
	t.Logf("screenshot: %d bytes", len(png))
	if *screenshotOut != "" {
		if err := os.WriteFile(*screenshotOut, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChromiumReportsCSPViolations checks that headless catches what it is
// there to catch: a page breaking the CSP logs a console message.
func TestChromiumReportsCSPViolations(t *testing.T) {
	bin := chromium(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", PageCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!DOCTYPE html><html><head><title>x</title></head><body><p style="color:red">inline</p></body></html>`))
	}))
	defer srv.Close()
	_, console := headless(t, bin, srv.URL+"/", "--dump-dom")
	if len(console) == 0 {
		t.Fatal("chromium logged no console message for an inline style the CSP blocks; the page test would miss errors")
	}
}
