package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

// trials is $name as a count, or def.
func trials(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// cliCmd is scimsync with args in dir, with the suite's environment.
func cliCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(scimsyncBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SCIMSYNC_NOW=" + nowText, "NO_COLOR=1", "USER=e2e"}, cliEnv...)
	return cmd
}

// killTally counts what kill -9 trials left.
type killTally struct {
	trials, killedMidway, started, consistent, converged int
	staleOnRerun                                         int
}

func (k killTally) String() string {
	return fmt.Sprintf("%d trials: %d killed before the apply ended, %d of them left a started audit record; %d left a consistent tenant; %d converged on rerun (%d reruns refused as stale first, then a new plan applied)",
		k.trials, k.killedMidway, k.started, k.consistent, k.converged, k.staleOnRerun)
}

// killTrial runs `scimsync apply --yes plan.json` in dir, kills it with
// SIGKILL once the journal shows a step started (plus up to jitter), and
// then checks what it left: the audit log's started record, the tenant
// (consistent, read whole), and that rerunning — the same plan, and when
// that is refused as stale a new plan — converges.
func killTrial(t *testing.T, dir string, jitter time.Duration, consistent func() bool, k *killTally) {
	t.Helper()
	k.trials++
	if res := runCLI(t, dir, cliEnv, "plan", "-o", "plan.json"); res.code != 2 {
		t.Fatalf("plan -o:\n%s", res)
	}
	cmd := cliCmd(t, dir, "apply", "plan.json", "--yes", "--audit-log", "audit.jsonl")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	journal := filepath.Join(dir, "plan.json.journal")
	deadline := time.After(20 * time.Second)
	var werr error
poll:
	for {
		select {
		case werr = <-exited:
			break poll
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("apply did not start a step within 20 s")
		case <-time.After(time.Millisecond):
			b, _ := os.ReadFile(journal)
			if strings.Contains(string(b), `"status":"started"`) {
				once.Do(func() {
					if jitter > 0 {
						time.Sleep(rand.N(jitter))
					}
					cmd.Process.Kill()
				})
			}
		}
	}
	killed := werr != nil && cmd.ProcessState != nil && !cmd.ProcessState.Exited()
	recs := readAudit(t, filepath.Join(dir, "audit.jsonl"))
	var started, results int
	for _, r := range recs {
		if r.Result == apply.ResultStarted {
			started++
		} else {
			results++
		}
	}
	switch {
	case killed && started == 1 && results == 1:
		// The kill landed after the apply recorded its result, as it
		// exited: it had ended, and its trace is whole.
	case killed:
		k.killedMidway++
		if started == 1 && results == 0 {
			k.started++
		} else {
			t.Errorf("killed apply left %d started and %d result records, want 1 and 0", started, results)
		}
	}
	if consistent() {
		k.consistent++
	} else {
		t.Error("the tenant is not consistent after the kill")
	}
	res := runCLI(t, dir, cliEnv, "apply", "plan.json", "--yes", "--audit-log", "audit.jsonl")
	if res.code != 0 {
		if !strings.Contains(res.stderr, "stale") {
			t.Fatalf("rerun neither converged nor was refused as stale:\n%s", res)
		}
		k.staleOnRerun++
		if r := runCLI(t, dir, cliEnv, "plan", "-o", "plan2.json"); r.code != 2 && r.code != 0 {
			t.Fatalf("new plan:\n%s", r)
		} else if r.code == 2 {
			if r := runCLI(t, dir, cliEnv, "apply", "plan2.json", "--yes", "--audit-log", "audit.jsonl"); r.code != 0 {
				t.Fatalf("applying the new plan:\n%s", r)
			}
		}
	}
	if res := runCLI(t, dir, cliEnv, "plan"); res.code == 0 {
		k.converged++
	} else {
		t.Errorf("not converged after the rerun:\n%s", res)
	}
}

// A kill -9 in the middle of an apply, on both kinds of target, leaves a
// started audit record, a consistent tenant and a rerun that converges
// (issue 14, #9; RELIABILITY.md). SCIMSYNC_KILL_TRIALS sets the number of
// trials per target (RELIABILITY.md's figures use 20).
func TestCLIKillMidApply(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command many times")
	}
	n := trials("SCIMSYNC_KILL_TRIALS", 1)
	t.Run("server", func(t *testing.T) {
		var k killTally
		for range n {
			// Every PATCH takes 300 ms, so the kill lands while one is
			// in flight.
			ts := startServer(t, nil, scimtest.Options{Faults: scimtest.Faults{Latency: scimtest.Latency{When: scimtest.Always().Under("/Organizations/"), Delay: 300 * time.Millisecond}}})
			dir := t.TempDir()
			writeSpec(t, dir, fixtureSpec, ts.URL)
			killTrial(t, dir, 600*time.Millisecond, func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				src, _ := openSpec(t, loadSpec(t, filepath.Join(dir, "scimsync.yaml")), fastRetries())
				_, err := src.Read(ctx, tenant.ReadRequest{})
				return err == nil
			}, &k)
			ts.SetFaults(scimtest.Faults{})
		}
		t.Log(k)
		if k.killedMidway == 0 {
			t.Error("no kill landed mid-apply")
		}
	})
	t.Run("snapshot", func(t *testing.T) {
		var k killTally
		tenantJSON, err := os.ReadFile(fixtureTenant)
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "tenant.json"), tenantJSON, 0o600); err != nil {
				t.Fatal(err)
			}
			writeSpec(t, dir, strings.Replace(fixtureSpec, "url: $SCIM_URL", "file: tenant.json", 1), "")
			killTrial(t, dir, 20*time.Millisecond, func() bool {
				_, err := tenant.ReadSnapshot(filepath.Join(dir, "tenant.json"))
				return err == nil
			}, &k)
			if ms, _ := filepath.Glob(filepath.Join(dir, ".tenant.json.tmp-*")); len(ms) > 0 {
				t.Errorf("temporary files left after the rerun: %v", ms)
			}
		}
		t.Log(k)
	})
}

// Two `scimsync apply --yes` of one plan, saved in two directories, on one
// snapshot file at the same moment: exactly one succeeds, the other exits
// 1 as stale, and the shared audit log records one success (issue 14, #2).
// SCIMSYNC_RACE_TRIALS sets the number of trials (RELIABILITY.md's figures
// use 20).
func TestCLITwoAppliesOneSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the command many times")
	}
	tenantJSON, err := os.ReadFile(fixtureTenant)
	if err != nil {
		t.Fatal(err)
	}
	n := trials("SCIMSYNC_RACE_TRIALS", 3)
	winners := 0
	for trial := range n {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "tenant.json"), tenantJSON, 0o600)
		writeSpec(t, dir, strings.Replace(fixtureSpec, "url: $SCIM_URL", "file: tenant.json", 1), "")
		if res := runCLI(t, dir, cliEnv, "plan", "-o", "plan.json"); res.code != 2 {
			t.Fatalf("plan -o:\n%s", res)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "plan.json"))
		var cmds []*exec.Cmd
		var outs []*strings.Builder
		for i := range 2 {
			job := filepath.Join(dir, "job"+strconv.Itoa(i))
			os.Mkdir(job, 0o700)
			os.WriteFile(filepath.Join(job, "plan.json"), b, 0o600)
			cmd := cliCmd(t, job, "apply", "plan.json", "-f", "../scimsync.yaml", "--yes", "--audit-log", "../audit.jsonl")
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			cmds, outs = append(cmds, cmd), append(outs, &out)
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		ok, stale := 0, 0
		for i, c := range cmds {
			err := c.Wait()
			out := outs[i].String()
			switch {
			case err == nil && strings.Contains(out, "Apply complete"):
				ok++
			case err != nil && (strings.Contains(out, "stale") || strings.Contains(out, "changed on the server after the plan (412)")):
				stale++
			default:
				t.Errorf("trial %d: apply %d: %v\n%s", trial, i, err, out)
			}
		}
		if ok != 1 || stale != 1 {
			t.Fatalf("trial %d: %d succeeded, %d refused as stale; want 1 and 1:\n%s\n%s", trial, ok, stale, outs[0], outs[1])
		}
		applied := 0
		for _, r := range readAudit(t, filepath.Join(dir, "audit.jsonl")) {
			if r.Result == apply.ResultApplied {
				applied++
			}
		}
		if applied != 1 {
			t.Errorf("trial %d: the audit log records %d successes, want 1", trial, applied)
		}
		if res := runCLI(t, dir, cliEnv, "plan"); res.code != 0 {
			t.Errorf("trial %d: the winner's writes are not all in the file:\n%s", trial, res)
		}
		winners++
	}
	t.Logf("%d trials: exactly one winner each", winners)
}
