package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

// faultsInjected counts the faults the reference server injected across
// the suite; TestMain prints it for RELIABILITY.md.
var faultsInjected atomic.Int64

// countFaults adds the faults ts injected to faultsInjected and returns
// them.
func countFaults(ts *scimtest.TestServer) int {
	n := 0
	for name, k := range ts.Stats().Faults {
		if name != scimtest.FaultPageCap {
			n += k
		}
	}
	faultsInjected.Add(int64(n))
	return n
}

// outcome says what a fault case must end in.
type outcome int

const (
	// complete: the plan is the fault-free plan, byte for byte (the fault
	// was absorbed by retries, or was harmless).
	complete outcome = iota
	// refused: the read fails with a typed error; no plan at all.
	refused
)

func (o outcome) String() string { return [...]string{"complete", "refused"}[o] }

// errorKind names the typed error a failed read ended in, or "" when the
// error is of no type a caller can test for: every failure must have one.
func errorKind(err error) string {
	var se *scim.Error
	var ne net.Error
	switch {
	case errors.Is(err, scim.ErrIncompleteRead):
		return "incomplete read"
	case errors.Is(err, scim.ErrBodyTooLarge):
		return "body too large"
	case errors.As(err, &se):
		return fmt.Sprintf("scim error %d", se.Status)
	case errors.Is(err, scim.ErrInvalidResponse):
		return "invalid response"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.As(err, &ne):
		return "network"
	}
	return ""
}

// faultCase is one fault configuration and what plan must do under it.
type faultCase struct {
	name   string
	faults scimtest.Faults
	// tune adjusts the client configuration (fastRetries by default).
	tune func(*scim.Config)
	want outcome
	// kind is the errorKind a refused read must have.
	kind string
}

// bigBody is the size of the oversized body within the client's cap: 50
// MB, or 12 MB under the race detector, where decoding is slow.
var bigBody = map[bool]int{false: 50 << 20, true: 12 << 20}[raceEnabled]

// planFaultCases are the faults of issue 9, each aimed where it hurts: at
// later pages of a listing (where a lost page would look like users to
// remove), at the members of the organizations, at the group reads.
func planFaultCases() []faultCase {
	later := scimtest.Always().OnLaterPages()
	return []faultCase{
		// 503 bursts: retried (for any method) until they pass.
		{name: "503 burst", faults: scimtest.Faults{Unavailable: scimtest.First(3)}, want: complete},
		{name: "503 on every third request", faults: scimtest.Faults{Unavailable: scimtest.Every(3)}, want: complete},
		{name: "503 on later user pages", faults: scimtest.Faults{Unavailable: scimtest.First(4).Under("/Users").OnLaterPages()}, want: complete},
		{name: "503 that never ends", faults: scimtest.Faults{Unavailable: scimtest.Always().Under("/Members")}, want: refused, kind: "scim error 503"},
		// 429: Retry-After is honoured within the retry budget, and a wait
		// beyond the budget fails at once.
		{name: "429 with Retry-After 0", faults: scimtest.Faults{RateLimit: scimtest.RateLimit{When: scimtest.First(3)}}, want: complete},
		{name: "429 with Retry-After 1s", faults: scimtest.Faults{RateLimit: scimtest.RateLimit{When: scimtest.At(2), RetryAfter: time.Second}}, want: complete},
		{name: "429 with Retry-After beyond the budget", faults: scimtest.Faults{RateLimit: scimtest.RateLimit{When: scimtest.At(2), RetryAfter: time.Hour}}, want: refused, kind: "scim error 429"},
		// Dropped connections: a GET is repeated; one that never answers
		// fails.
		{name: "dropped connection", faults: scimtest.Faults{Drop: scimtest.Drop{When: scimtest.At(2)}}, want: complete},
		{name: "dropped connection on every 4th request", faults: scimtest.Faults{Drop: scimtest.Drop{When: scimtest.Every(4)}}, want: complete},
		{name: "dropped after handling", faults: scimtest.Faults{Drop: scimtest.Drop{When: scimtest.Every(5), AfterHandling: true}}, want: complete},
		{name: "dropped forever on a later page", faults: scimtest.Faults{Drop: scimtest.Drop{When: later.Under("/Users")}}, want: refused, kind: "connection closed"},
		// Truncated bodies: the Content-Length says more than arrives.
		{name: "truncated body", faults: scimtest.Faults{Truncate: scimtest.At(3)}, want: complete},
		{name: "truncated later pages", faults: scimtest.Faults{Truncate: scimtest.First(2).OnLaterPages()}, want: complete},
		{name: "truncated forever", faults: scimtest.Faults{Truncate: later.Under("/Members")}, want: refused, kind: "incomplete read"},
		// Lying listings: never retried into a plan.
		{name: "shifting totalResults", faults: scimtest.Faults{ShiftTotal: scimtest.ShiftTotal{When: scimtest.At(1).Under("/Users")}}, want: refused, kind: "incomplete read"},
		{name: "shrinking totalResults", faults: scimtest.Faults{ShiftTotal: scimtest.ShiftTotal{When: scimtest.Always().Under("/Members"), By: -1}}, want: refused, kind: "incomplete read"},
		{name: "duplicate ids", faults: scimtest.Faults{DuplicateIDs: scimtest.At(2).Under("/Users")}, want: refused, kind: "incomplete read"},
		{name: "duplicate member ids", faults: scimtest.Faults{DuplicateIDs: scimtest.Always().Under("/Members")}, want: refused, kind: "incomplete read"},
		{name: "never-ending page", faults: scimtest.Faults{EndlessPage: scimtest.Always().Under("/Users")}, want: refused, kind: "incomplete read"},
		{name: "empty later pages", faults: scimtest.Faults{EmptyPages: scimtest.Always().Under("/Users")}, want: refused, kind: "incomplete read"},
		// Big bodies: one within the client's cap is read; one beyond it is
		// refused without being read, and not asked for again.
		{name: "50 MB body", faults: scimtest.Faults{Oversize: scimtest.Oversize{When: scimtest.At(1).Under("/Users"), Bytes: bigBody}}, want: complete},
		{name: "50 MB body over an 8 MiB cap", faults: scimtest.Faults{Oversize: scimtest.Oversize{When: scimtest.At(1).Under("/Users"), Bytes: 50 << 20}},
			tune: func(c *scim.Config) { c.MaxBodyBytes = 8 << 20 }, want: refused, kind: "body too large"},
		// Deep nesting: within encoding/json's limit it is an unknown
		// attribute; beyond it, the body is not JSON.
		{name: "nested 5000 deep", faults: scimtest.Faults{DeepNesting: scimtest.DeepNesting{When: scimtest.Always(), Depth: 5000}}, want: complete},
		{name: "nested 100000 deep", faults: scimtest.Faults{DeepNesting: scimtest.DeepNesting{When: scimtest.Always().Under("/Groups")}}, want: refused, kind: "invalid response"},
		// Slow loris: a body dribbled slowly is read whole within the
		// request timeout, and cut off beyond it (one byte every 20ms:
		// a page of users would take a minute).
		{name: "slow body", faults: scimtest.Faults{SlowLoris: scimtest.SlowLoris{When: scimtest.At(2), Chunk: 512, Interval: 2 * time.Millisecond}}, want: complete},
		{name: "slow loris", faults: scimtest.Faults{SlowLoris: scimtest.SlowLoris{When: scimtest.Always().Under("/Users"), Chunk: 1, Interval: 20 * time.Millisecond}},
			tune: func(c *scim.Config) { c.RequestTimeout = 300 * time.Millisecond }, want: refused, kind: "deadline"},
		// Everything at once, intermittently.
		{name: "mixed", faults: scimtest.Faults{
			Unavailable: scimtest.Every(7),
			Drop:        scimtest.Drop{When: scimtest.Every(11)},
			Truncate:    scimtest.Every(13),
			Latency:     scimtest.Latency{When: scimtest.Every(3), Delay: 5 * time.Millisecond},
		}, want: complete},
	}
}

func TestPlanUnderFaults(t *testing.T) {
	// One server for every case (plans do not write), so that the spec,
	// which names the server's URL, hashes the same in every plan.
	ts := startServer(t, nil, scimtest.Options{})
	s := fixture(t, ts)
	base, err := plan(context.Background(), t, s, fastRetries())
	if err != nil {
		t.Fatalf("fault-free plan: %v", err)
	}
	want := planJSON(t, base)
	if !base.HasChanges() || len(base.Readiness) == 0 {
		t.Fatalf("the fixture plan has no changes or no readiness section; the suite would prove little")
	}

	total := 0
	for _, tc := range planFaultCases() {
		t.Run(tc.name, func(t *testing.T) {
			ts.ResetStats()
			ts.SetFaults(tc.faults)
			defer ts.SetFaults(scimtest.Faults{})
			cfg := fastRetries()
			if tc.tune != nil {
				tc.tune(&cfg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p, err := plan(ctx, t, s, cfg)
			n := countFaults(ts)
			total += n
			if n == 0 {
				t.Fatalf("no fault was injected: the case tests nothing")
			}
			switch {
			case err == nil && tc.want == refused:
				t.Fatalf("%d faults injected, and a plan was computed (want an error of kind %q): %s", n, tc.kind, diffPlans(want, planJSON(t, p)))
			case err == nil:
				if got := planJSON(t, p); !bytes.Equal(got, want) {
					t.Fatalf("%d faults injected; the plan differs from the fault-free one:\n%s", n, diffPlans(want, got))
				}
			case tc.want == complete:
				t.Fatalf("%d faults injected; want the complete plan, got: %v", n, err)
			default:
				if got := errorKind(err); got != tc.kind {
					t.Fatalf("error %q is of kind %q, want %q", err, got, tc.kind)
				}
				if strings.Contains(err.Error(), testToken) {
					t.Fatalf("the error holds the token: %v", err)
				}
			}
			t.Logf("%d faults injected, %s", n, tc.want)
		})
	}
	t.Logf("%d fault cases, %d faults injected", len(planFaultCases()), total)
}

// diffPlans shows how two plan JSON documents differ.
func diffPlans(want, got []byte) string {
	return cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n"))
}

// TestPlanServerRefusingLargePages plans against a server that refuses a
// list request asking for more than 100 resources (400 invalidValue)
// where most cap the page: the client reads 100 at a time, says so once,
// and the plan is the one a server without that limit gives.
func TestPlanServerRefusingLargePages(t *testing.T) {
	want := func() []byte {
		ts := startServer(t, nil, scimtest.Options{})
		p, err := plan(context.Background(), t, fixture(t, ts), fastRetries())
		if err != nil {
			t.Fatalf("plan without the limit: %v", err)
		}
		return membersJSON(t, p)
	}()
	ts := startServer(t, nil, scimtest.Options{MaxCount: 100})
	var logs bytes.Buffer
	s := fixture(t, ts)
	src, _, _, err := tenant.OpenSpec(context.Background(), s, tenant.OpenOptions{Getenv: getenv, Client: fastRetries(),
		Now: func() time.Time { return testNow }, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := src.Read(context.Background(), tenant.RequestFor(s))
	if err != nil {
		t.Fatalf("reading a server refusing count=1000: %v", err)
	}
	p, err := diff.Compute(s, tn, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := membersJSON(t, p); !bytes.Equal(got, want) {
		t.Fatalf("the plan differs from the one without the limit:\n%s", diffPlans(want, got))
	}
	if n := strings.Count(logs.String(), "the server refused a page of 1000 resources; reading 100 at a time"); n != 1 {
		t.Fatalf("the fallback was reported %d times, want once:\n%s", n, logs.String())
	}
}

// membersJSON is the plan's member changes and summary as JSON: what does
// not depend on the spec's URL.
func membersJSON(t testing.TB, p *diff.Plan) []byte {
	t.Helper()
	b, err := json.MarshalIndent(struct {
		Members []diff.MemberChange
		Summary diff.Summary
	}{p.Members, p.Summary}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
