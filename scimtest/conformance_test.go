package scimtest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scim/scimconformance"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

// users returns a snapshot of n users, without organizations.
func users(n int) *tenant.Snapshot {
	s := &tenant.Snapshot{}
	for i := 1; i <= n; i++ {
		s.Users = append(s.Users, scim.User{
			Schemas:  []string{scim.SchemaUser},
			ID:       fmt.Sprintf("u%05d", i),
			UserName: fmt.Sprintf("user%05d@example.gov", i),
			Active:   true,
			Meta:     scim.Meta{ResourceType: "User", Version: `W/"1"`},
		})
	}
	return s
}

// listingFaults maps the suite's faults onto the server's.
func listingFaults(f scimconformance.Faults) (scimtest.Options, error) {
	opts := scimtest.Options{PageCap: f.PageCap}
	on := scimtest.Always().Under("/Users")
	if f.ChangeTotal {
		opts.Faults.ShiftTotal = scimtest.ShiftTotal{When: on}
	}
	if f.Duplicate {
		opts.Faults.DuplicateIDs = on
	}
	if f.IgnoreStartIndex {
		opts.Faults.EndlessPage = on
	}
	if f.EmptyPages {
		opts.Faults.EmptyPages = on
	}
	if f.Truncate {
		opts.Faults.Truncate = on.OnLaterPages()
	}
	if f != (scimconformance.Faults{PageCap: f.PageCap, ChangeTotal: f.ChangeTotal, Duplicate: f.Duplicate, IgnoreStartIndex: f.IgnoreStartIndex, EmptyPages: f.EmptyPages, Truncate: f.Truncate}) {
		return opts, errors.New("a suite fault the server does not map")
	}
	return opts, nil
}

// TestListingSuite runs the SCIM client's listing suite against the server,
// alone and with each transient fault added to every case: a client that
// retries must still read every listing completely (or detect the
// incomplete ones), and each added fault must have been injected.
func TestListingSuite(t *testing.T) {
	extras := []struct {
		name  string
		fault string
		f     scimtest.Faults
	}{
		{name: "no added fault"},
		{"latency", scimtest.FaultLatency, scimtest.Faults{Latency: scimtest.Latency{When: scimtest.Every(3), Delay: time.Millisecond}}},
		{"two 503s", scimtest.FaultUnavailable, scimtest.Faults{Unavailable: scimtest.First(2)}},
		{"two 429s", scimtest.FaultRateLimit, scimtest.Faults{RateLimit: scimtest.RateLimit{When: scimtest.First(2)}}},
		{"a dropped connection", scimtest.FaultDrop, scimtest.Faults{Drop: scimtest.Drop{When: scimtest.At(2)}}},
		{"a dropped answer", scimtest.FaultDrop, scimtest.Faults{Drop: scimtest.Drop{When: scimtest.At(1), AfterHandling: true}}},
		{"a truncated first page", scimtest.FaultTruncate, scimtest.Faults{Truncate: scimtest.At(1)}},
		{"a slowly dribbled page", scimtest.FaultSlowLoris, scimtest.Faults{SlowLoris: scimtest.SlowLoris{When: scimtest.At(2), Chunk: 8 << 10, Interval: time.Millisecond}}},
		{"a padded page within the client's cap", scimtest.FaultOversize, scimtest.Faults{Oversize: scimtest.Oversize{When: scimtest.At(2), Bytes: 2 << 20}}},
		{"nesting within encoding/json's limit", scimtest.FaultDeepNesting, scimtest.Faults{DeepNesting: scimtest.DeepNesting{When: scimtest.At(1), Depth: 100}}},
	}
	for _, x := range extras {
		t.Run(x.name, func(t *testing.T) {
			var mu sync.Mutex
			injected := 0
			newServer := func(t *testing.T, n int, f scimconformance.Faults) (string, string) {
				opts, err := listingFaults(f)
				if err != nil {
					t.Skip(err)
				}
				extra := x.f
				extra.ShiftTotal, extra.DuplicateIDs, extra.EndlessPage, extra.EmptyPages = opts.Faults.ShiftTotal, opts.Faults.DuplicateIDs, opts.Faults.EndlessPage, opts.Faults.EmptyPages
				if f.Truncate {
					extra.Truncate = opts.Faults.Truncate
				}
				opts.Faults = extra
				ts := scimtest.NewTestServer(t, users(n), opts)
				t.Cleanup(func() {
					mu.Lock()
					injected += ts.Stats().Faults[x.fault]
					mu.Unlock()
				})
				return ts.URL, ts.Token
			}
			if x.fault == "" {
				scimconformance.RunListingSuite(t, newServer)
				return
			}
			// With an added fault, the cases of a few hundred users cover
			// every listing fault; the big ones only cost time.
			for _, c := range scimconformance.Cases {
				if c.Users <= 300 {
					t.Run(c.Name, func(t *testing.T) { scimconformance.RunCase(t, newServer, c) })
				}
			}
			if injected == 0 && x.fault != "" {
				t.Errorf("the suite ran without the server injecting %s", x.fault)
			}
		})
	}
}

// TestClientRefusesHostileAnswers checks, with the scim client, the faults
// no retry can cure: the listing fails, and never returns a partial list.
func TestClientRefusesHostileAnswers(t *testing.T) {
	cases := []struct {
		name  string
		fault string
		f     scimtest.Faults
		cfg   func(*scim.Config)
	}{
		{"503 forever", scimtest.FaultUnavailable, scimtest.Faults{Unavailable: scimtest.Always()}, nil},
		{"dropped connections forever", scimtest.FaultDrop, scimtest.Faults{Drop: scimtest.Drop{When: scimtest.Always()}}, nil},
		{"truncated bodies forever", scimtest.FaultTruncate, scimtest.Faults{Truncate: scimtest.Always()}, nil},
		{"a body beyond the client's cap", scimtest.FaultOversize, scimtest.Faults{Oversize: scimtest.Oversize{When: scimtest.Always(), Bytes: 2 << 20}},
			func(c *scim.Config) { c.MaxBodyBytes = 1 << 20 }},
		{"nesting beyond encoding/json's limit", scimtest.FaultDeepNesting, scimtest.Faults{DeepNesting: scimtest.DeepNesting{When: scimtest.Always()}}, nil},
		{"a slow loris against a deadline", scimtest.FaultSlowLoris, scimtest.Faults{SlowLoris: scimtest.SlowLoris{When: scimtest.Always(), Chunk: 1, Interval: 10 * time.Millisecond}}, nil},
		{"a 429 asking for longer than the client waits", scimtest.FaultRateLimit, scimtest.Faults{RateLimit: scimtest.RateLimit{When: scimtest.Always(), RetryAfter: time.Hour}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := scimtest.NewTestServer(t, users(30), scimtest.Options{PageCap: 10, Faults: c.f})
			cfg := scim.Config{BaseURL: ts.URL, Token: ts.Token, MaxRetries: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, MaxRetryWait: time.Second}
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			cl, err := scim.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			got, err := cl.ListUsers(ctx)
			if err == nil || got != nil {
				t.Fatalf("ListUsers returned %d users and error %v", len(got), err)
			}
			t.Logf("error: %v", err)
			if ts.Stats().Faults[c.fault] == 0 {
				t.Errorf("fault %s was not counted", c.fault)
			}
		})
	}
}
