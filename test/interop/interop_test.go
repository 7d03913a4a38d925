// Package interop runs scimsync's SCIM client against SCIMMY, an
// independent SCIM 2.0 implementation (npm scimmy with scimmy-routers on
// express 4), started from server.js in this directory.
//
// Install the fixture with `npm ci` here. Without node or node_modules the
// tests skip, or fail when CI=true.
package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scim/scimconformance"
)

const token = "interop-token-6d1f0c"

// requireFixture returns the node binary, or skips (fails in CI) when the
// fixture cannot run.
func requireFixture(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: the SCIMMY interop fixture must run)", msg)
		}
		t.Skipf("%s; skipping the SCIMMY interop tests", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	for _, pkg := range []string{"scimmy", "scimmy-routers", "express"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err != nil {
			missing("node_modules/%s is missing: run `npm ci` in test/interop", pkg)
		}
	}
	return node
}

var listening = regexp.MustCompile(`^listening on port (\d+)$`)

// startSCIMMY starts server.js on a free loopback port and returns its
// base URL. The server stops at the end of the test.
func startSCIMMY(t *testing.T, users int, faults scimconformance.Faults) string {
	t.Helper()
	node := requireFixture(t)
	f, err := json.Marshal(map[string]any{
		"pageCap": faults.PageCap, "changeTotal": faults.ChangeTotal, "duplicate": faults.Duplicate,
		"ignoreStartIndex": faults.IgnoreStartIndex, "emptyPages": faults.EmptyPages, "truncate": faults.Truncate,
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "server.js", "0")
	cmd.Env = append(os.Environ(), "SCIM_TOKEN="+token, fmt.Sprintf("SCIM_USERS=%d", users), "SCIM_FAULTS="+string(f))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node server.js: %v", err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				port <- m[1]
				break
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(exited)
	}()
	select {
	case p := <-port:
		return "http://127.0.0.1:" + p + "/scim/v2"
	case <-exited:
		t.Fatalf("server.js exited before listening: %s", stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("server.js did not report its port within 20s: %s", stderr.String())
	}
	return ""
}

// TestListingSuite runs the listing fault suite against SCIMMY, with the
// faults injected by server.js around SCIMMY's own paging.
func TestListingSuite(t *testing.T) {
	requireFixture(t)
	// SCIMMY formats every user of the collection on each page request, so
	// the 1,000-user cases are run with 300 users to stay within seconds.
	scimconformance.RunListingSuiteWith(t, func(t *testing.T, users int, faults scimconformance.Faults) (string, string) {
		return startSCIMMY(t, users, faults), token
	}, scimconformance.Options{MaxUsers: 300})
}

func newClient(t *testing.T, baseURL string) *scim.Client {
	t.Helper()
	c, err := scim.New(scim.Config{BaseURL: baseURL, Token: token, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReadPath reads a SCIMMY tenant the way tenant/ does: discovery,
// users through a page cap, groups without members, members of chosen
// groups, and group lookup by displayName on a case-sensitive server.
func TestReadPath(t *testing.T) {
	base := startSCIMMY(t, 120, scimconformance.Faults{PageCap: 25})
	c := newClient(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("discovery sends no query parameters", func(t *testing.T) {
		// SCIMMY answers 403 to /ServiceProviderConfig with any.
		spc, err := c.ServiceProviderConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !spc.Filter.Supported || !spc.Patch.Supported {
			t.Errorf("ServiceProviderConfig = %+v", spc)
		}
		rts, err := c.ResourceTypes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var eps []string
		for _, rt := range rts {
			eps = append(eps, rt.Endpoint)
		}
		sort.Strings(eps)
		if diff := cmp.Diff([]string{"/Groups", "/Users"}, eps); diff != "" {
			t.Errorf("resource type endpoints (-want +got):\n%s", diff)
		}
		if has, err := c.HasOrganizations(ctx); err != nil || has {
			t.Errorf("HasOrganizations = %v, %v; want false", has, err)
		}
		schemas, err := c.Schemas(ctx)
		if err != nil || len(schemas) < 2 {
			t.Errorf("Schemas = %d schemas, %v", len(schemas), err)
		}
	})

	t.Run("users through a page cap", func(t *testing.T) {
		var calls, last int
		users, err := c.ListUsers(ctx, scim.WithProgress(func(done, total int) { calls++; last = done }))
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 120 || calls != 5 || last != 120 {
			t.Fatalf("%d users, %d progress calls ending at %d; want 120 users in 5 pages", len(users), calls, last)
		}
		inactive := 0
		for _, u := range users {
			if !u.Active {
				inactive++
			}
			if len(u.Emails) != 1 || !strings.EqualFold(u.Emails[0].Value, u.UserName) || u.Meta.Version == "" {
				t.Errorf("user %+v", u)
			}
		}
		if inactive != 12 {
			t.Errorf("%d inactive users, want 12", inactive)
		}
	})

	t.Run("groups without members", func(t *testing.T) {
		groups, err := scim.List[scim.Group](ctx, c, "/Groups", scim.ListQuery{ExcludedAttributes: []string{"members"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(groups) != 3 {
			t.Fatalf("%d groups, want 3", len(groups))
		}
		for _, g := range groups {
			if g.Members != nil {
				t.Errorf("SCIMMY returned members of %s despite excludedAttributes", g.ID)
			}
		}
		g, err := c.GetGroup(ctx, "g-hq")
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Members) != 60 || g.DisplayName != "Claude-HQ-Users" {
			t.Errorf("GetGroup(g-hq) = %s with %d members, want Claude-HQ-Users with 60", g.DisplayName, len(g.Members))
		}
		if _, err := c.GetGroup(ctx, "nope"); !errors.Is(err, scim.ErrNotFound) {
			t.Errorf("GetGroup(nope) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("group lookup by displayName", func(t *testing.T) {
		for name, want := range map[string]string{
			"Claude-HQ-Users":     "g-hq",     // exact: SCIMMY's filter finds it
			"claude-hq-users":     "g-hq",     // SCIMMY compares case-sensitively: local fallback
			"CLAUDE-WEST-USERS":   "g-west",   // likewise
			"claude-hq-it-admins": "g-admins", // likewise
			"nobody":              "",
		} {
			groups, err := c.FindGroupsByDisplayName(ctx, name)
			if err != nil {
				t.Fatalf("FindGroupsByDisplayName(%q): %v", name, err)
			}
			var got string
			if len(groups) > 1 {
				t.Errorf("FindGroupsByDisplayName(%q) found %d groups", name, len(groups))
			} else if len(groups) == 1 {
				got = groups[0].ID
			}
			if got != want {
				t.Errorf("FindGroupsByDisplayName(%q) = %q, want %q", name, got, want)
			}
		}
	})

	t.Run("wrong token", func(t *testing.T) {
		bad, err := scim.New(scim.Config{BaseURL: base, Token: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.ListUsers(ctx)
		var se *scim.Error
		if !errors.As(err, &se) || se.Status != 401 || se.Detail != "invalid bearer token" {
			t.Errorf("ListUsers with a wrong token: %v", err)
		}
	})
}
