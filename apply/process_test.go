package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// The environment of a child apply (TestApplyChild), run by re-executing
// the test binary.
const (
	envChild    = "SCIMSYNC_APPLY_CHILD"
	envSnapshot = "SCIMSYNC_APPLY_CHILD_SNAPSHOT"
	envAudit    = "SCIMSYNC_APPLY_CHILD_AUDIT"
	envGate     = "SCIMSYNC_APPLY_CHILD_GATE" // a directory: wait in it, before the first write, for the other child
	envStart    = "SCIMSYNC_APPLY_CHILD_START"
)

// TestApplyChild is not a test: it is one apply, in its own process, of the
// saved plan named by $SCIMSYNC_APPLY_CHILD, as `scimsync apply --yes PLAN`
// runs it (journal next to the plan, the lock in the journal's directory).
// It prints the outcome as JSON and exits 0 when the apply succeeded.
func TestApplyChild(t *testing.T) {
	planPath := os.Getenv(envChild)
	if planPath == "" {
		t.Skip("run by the multi-process tests")
	}
	out := childApply(planPath)
	json.NewEncoder(os.Stdout).Encode(out)
	if out.Err != "" {
		os.Exit(1)
	}
	os.Exit(0)
}

type childOutcome struct {
	Result string `json:"result"`
	Stale  bool   `json:"stale"`
	Err    string `json:"err"`
}

func childApply(planPath string) childOutcome {
	s, diags, err := spec.LoadBytesWith(spec.LoadOptions{Now: testNow}, "scimsync.yaml", []byte(baseSpec))
	if err != nil || diags.HasErrors() {
		return childOutcome{Err: fmt.Sprint("spec: ", err, diags)}
	}
	p, err := diff.ReadPlanFile(planPath)
	if err != nil {
		return childOutcome{Err: err.Error()}
	}
	if start := os.Getenv(envStart); start != "" {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if _, err := os.Stat(start); err == nil {
				break
			}
		}
	}
	snap := os.Getenv(envSnapshot)
	src := &tenant.SnapshotSource{Path: snap, Now: func() time.Time { return testNow }}
	var w tenant.Writer = src
	if gate := os.Getenv(envGate); gate != "" {
		w = &fileGate{w: src, dir: gate, me: planPath}
	}
	journal := planPath + ".journal"
	rep, err := Run(context.Background(), p, Options{
		Source: src, Writer: w, Spec: s, SpecHash: s.Hash(), Confirmed: true,
		Journal: journal, AuditLog: os.Getenv(envAudit),
		LockPath: LockPath(filepath.Dir(journal), snap), Target: snap,
		Operator: "child-" + strconv.Itoa(os.Getpid()), Now: func() time.Time { return testNow },
	})
	out := childOutcome{Result: rep.Result}
	if err != nil {
		out.Err = err.Error()
		var stale *StaleError
		out.Stale = errors.As(err, &stale) || errors.Is(err, scim.ErrPrecondition)
	}
	return out
}

// fileGate holds the first write of its process until every process of
// the trial reached its own (one file each in dir), so that all have passed
// their preconditions before any writes.
type fileGate struct {
	w    tenant.Writer
	dir  string
	me   string
	done bool
}

func (g *fileGate) PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (string, error) {
	if !g.done {
		g.done = true
		os.WriteFile(filepath.Join(g.dir, strconv.Itoa(os.Getpid())), nil, 0o600)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if es, _ := os.ReadDir(g.dir); len(es) >= 2 {
				break
			}
		}
	}
	return g.w.PatchOrganization(ctx, id, version, ops)
}

// raceTrials is the number of trials of TestTwoProcessesRaceOnOneSnapshot;
// SCIMSYNC_RACE_TRIALS sets it (RELIABILITY.md's figures use 20).
func raceTrials() int {
	if n, err := strconv.Atoi(os.Getenv("SCIMSYNC_RACE_TRIALS")); err == nil && n > 0 {
		return n
	}
	return 6
}

// Two processes apply the same plan, saved in two different directories
// (so their journals and journal-directory locks differ), to one snapshot
// file at the same moment. Exactly one succeeds; the other exits non-zero
// as stale (a 412 at its first write, or a stale plan), having written
// nothing; the file holds the winner's writes; the shared audit log records
// one success (issue 14, #2). Half the trials hold both processes until
// both have passed their preconditions.
func TestTwoProcessesRaceOnOneSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	wins := 0
	for trial := range raceTrials() {
		f := newFixture(t, baseSpec, fixtureSnapshot(t))
		p := f.plan()
		audit := filepath.Join(f.dir, "audit.jsonl")
		start := filepath.Join(f.dir, "start")
		gate := ""
		if trial%2 == 0 {
			gate = filepath.Join(f.dir, "gate")
			os.Mkdir(gate, 0o700)
		}
		var cmds []*exec.Cmd
		var outs []*strings.Builder
		for i := range 2 {
			dir := filepath.Join(f.dir, fmt.Sprintf("ci-job-%d", i))
			os.Mkdir(dir, 0o700)
			planPath := filepath.Join(dir, "plan.json")
			if err := diff.WritePlanFile(planPath, p); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestApplyChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), envChild+"="+planPath, envSnapshot+"="+f.snapPath, envAudit+"="+audit, envStart+"="+start, envGate+"="+gate)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, outs = append(cmds, cmd), append(outs, &out)
		}
		os.WriteFile(start, nil, 0o600)
		var winners, stale int
		for i, cmd := range cmds {
			err := cmd.Wait()
			var o childOutcome
			line := outs[i].String()
			if j := strings.Index(line, `{"result"`); j >= 0 {
				json.Unmarshal([]byte(line[j:strings.IndexByte(line[j:], '\n')+j]), &o)
			}
			switch {
			case err == nil && o.Result == ResultApplied:
				winners++
			case err != nil && o.Stale && o.Result != ResultApplied:
				stale++
			default:
				t.Errorf("trial %d: process %d: %v: %s", trial, i, err, line)
			}
		}
		if winners != 1 || stale != 1 {
			t.Fatalf("trial %d: %d succeeded and %d were refused as stale, want 1 and 1", trial, winners, stale)
		}
		wins++
		f.converged()
		var applied int
		for _, r := range f.audit() {
			if r.Result == ResultApplied {
				applied++
			}
		}
		if applied != 1 {
			t.Errorf("trial %d: the audit log records %d successes, want 1", trial, applied)
		}
	}
	t.Logf("%d trials: exactly one winner in each", wins)
}
