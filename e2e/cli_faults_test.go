package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scimtest"
)

// cliEnv is the environment the command gets the token from.
var cliEnv = []string{"SCIMSYNC_TOKEN=" + testToken}

// TestCLIPlanUnderFaults runs the built command's plan, with its default
// client (retry waits from 500ms, a 64 MiB body cap), against the reference
// server under faults: stdout is the fault-free plan and the exit code 2,
// or stdout is empty, the exit code 1 and no plan file is written. The
// faults are chosen to cost the default retry policy at most a second or
// two each; TestPlanUnderFaults covers the rest through the same code.
func TestCLIPlanUnderFaults(t *testing.T) {
	ts := startServer(t, nil, scimtest.Options{})
	dir := t.TempDir()
	writeSpec(t, dir, fixtureSpec, ts.URL)

	clean := runCLI(t, dir, cliEnv, "plan", "--format", "json")
	if clean.code != 2 || clean.stdout == "" {
		t.Fatalf("fault-free plan: want exit 2 and a plan:\n%s", clean)
	}

	cases := []faultCase{
		{name: "503 burst", faults: scimtest.Faults{Unavailable: scimtest.First(1)}, want: complete},
		{name: "429 with Retry-After 1s", faults: scimtest.Faults{RateLimit: scimtest.RateLimit{When: scimtest.At(3), RetryAfter: time.Second}}, want: complete},
		{name: "dropped connection", faults: scimtest.Faults{Drop: scimtest.Drop{When: scimtest.At(2)}}, want: complete},
		{name: "truncated body", faults: scimtest.Faults{Truncate: scimtest.At(4)}, want: complete},
		{name: "shifting totalResults", faults: scimtest.Faults{ShiftTotal: scimtest.ShiftTotal{When: scimtest.At(2).Under("/Users")}}, want: refused, kind: "totalResults changed"},
		{name: "duplicate ids", faults: scimtest.Faults{DuplicateIDs: scimtest.Always().Under("/Members")}, want: refused, kind: "was already read"},
		{name: "never-ending page", faults: scimtest.Faults{EndlessPage: scimtest.Always().Under("/Users")}, want: refused, kind: "incomplete read"},
		{name: "empty later pages", faults: scimtest.Faults{EmptyPages: scimtest.Always().Under("/Groups")}, want: refused, kind: "no resources at startIndex"},
		{name: "50 MB body", faults: scimtest.Faults{Oversize: scimtest.Oversize{When: scimtest.At(1).Under("/Users"), Bytes: 50 << 20}}, want: complete},
		{name: "80 MB body", faults: scimtest.Faults{Oversize: scimtest.Oversize{When: scimtest.At(1).Under("/Users"), Bytes: 80 << 20}}, want: refused, kind: "response body too large"},
		{name: "nested 100000 deep, once", faults: scimtest.Faults{DeepNesting: scimtest.DeepNesting{When: scimtest.At(1).Under("/Groups")}}, want: complete},
		{name: "slow body", faults: scimtest.Faults{SlowLoris: scimtest.SlowLoris{When: scimtest.Always().Under("/Organizations"), Chunk: 64, Interval: time.Millisecond}}, want: complete},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts.ResetStats()
			ts.SetFaults(tc.faults)
			defer ts.SetFaults(scimtest.Faults{})
			out := filepath.Join(dir, "plan.json")
			os.Remove(out)
			r := runCLI(t, dir, cliEnv, "plan", "--format", "json", "-o", "plan.json")
			n := countFaults(ts)
			if n == 0 {
				t.Fatal("no fault was injected")
			}
			_, statErr := os.Stat(out)
			switch {
			case r.code == 1 && tc.want == refused:
				// With --format json the only output is the error object.
				if !isErrorObject(r.stdout) || statErr == nil {
					t.Errorf("a failed read printed or saved a plan:\n%s", r)
				}
				if !strings.Contains(r.stderr, "reading the tenant") || !strings.Contains(r.stderr, tc.kind) {
					t.Errorf("stderr does not say the read failed with %q:\n%s", tc.kind, r)
				}
			case r.code == 2 && tc.want == complete:
				if r.stdout != clean.stdout {
					t.Errorf("the plan differs from the fault-free one:\n%s", diffPlans([]byte(clean.stdout), []byte(r.stdout)))
				}
				if statErr != nil {
					t.Errorf("no plan file: %v", statErr)
				}
			default:
				t.Errorf("%d faults injected; want %s:\n%s", n, tc.want, r)
			}
		})
	}
}

// isErrorObject reports whether out is one JSON object holding only
// "error", what a command prints on stdout when it fails with --format json.
func isErrorObject(out string) bool {
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return false
	}
	_, ok := v["error"]
	return ok && len(v) == 1
}
