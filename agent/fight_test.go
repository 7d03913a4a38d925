package agent

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/spec"
)

// hqSeats reads hq's purchased standard seats from the server.
func hqSeats(t *testing.T, get func() map[string]any) int {
	t.Helper()
	seats, _ := get()["seats"].(map[string]any)
	n, _ := seats["standard"].(float64)
	return int(n)
}

// An --auto-apply agent and a person who keeps applying an older spec
// (hq's standard seats at 800, the spec says 900) used to take turns for
// ever. The agent now stops after two undos in a row, alerts once and
// keeps detecting (issue 14 #10).
func TestReferenceServerAutoApplyStopsFightingAnotherWriter(t *testing.T) {
	t.Parallel()
	srv, specPath := startRefServer(t)
	var applies atomic.Int32
	applyDir := t.TempDir()
	f := newFixture(t, false, func(c *Config) {
		c.SpecPaths = []string{specPath}
		c.Plan = refPlan
		c.Apply = func(ctx context.Context, s *spec.Spec, o *Outcome) error {
			applies.Add(1)
			return refApply(applyDir)(ctx, s, o)
		}
	})
	base := serve(t, f.agent)
	waitFor(t, 3*time.Second, "first run", func() bool { return f.agent.Status().LastRun != nil })
	getOrg := func() map[string]any { return scimDo(t, srv, http.MethodGet, "/Organizations/org-hq", "") }

	// The other writer: whenever hq holds the spec's 900 seats, it puts
	// its 800 back a moment later (after the agent's re-plan), up to 8
	// times. (A write landing before the re-plan leaves the re-plan with
	// drift, and appliedKey already holds the next plan for a person.)
	var undone atomic.Int32
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for undone.Load() < 8 {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
			if hqSeats(t, getOrg) == 900 {
				time.Sleep(200 * time.Millisecond)
				setSeats(t, srv, 800)
				undone.Add(1)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-writerDone })

	waitFor(t, 8*time.Second, "auto-apply to stop", func() bool {
		return f.agent.Status().AutoApplyStopped != ""
	})
	// Two more ticks: the agent keeps detecting, and applies nothing more.
	time.Sleep(2200 * time.Millisecond)
	st := f.agent.Status()
	if n := applies.Load(); n != 2 {
		t.Errorf("the agent applied %d times, want 2 (its first write, then one after the first undo)", n)
	}
	// The other writer's first write undoes the converged state it found
	// (no write of the agent's); its next two undo the agent's writes.
	if n := undone.Load(); n != 3 {
		t.Errorf("the other writer wrote %d times, want 3", n)
	}
	if got := hqSeats(t, getOrg); got != 800 {
		t.Errorf("hq seats = %d, want the other writer's 800 left alone", got)
	}
	if !strings.Contains(st.AutoApplyStopped, "another writer undid the agent's writes 2 times in a row: hq") {
		t.Errorf("auto_apply_stopped = %q", st.AutoApplyStopped)
	}
	if st.LastRun.Result != ResultAwaitingApproval || st.LastRun.AwaitingApproval != st.AutoApplyStopped || st.Drift == nil || !*st.Drift {
		t.Errorf("last run = %+v, drift %v", st.LastRun, st.Drift)
	}
	var stopped int
	for _, ev := range f.hook.events(t) {
		if ev.Kind == EventAutoApplyStopped {
			stopped++
			if !strings.Contains(ev.Text, "auto-apply for example-agency stopped") {
				t.Errorf("event text = %q", ev.Text)
			}
		}
	}
	if stopped != 1 {
		t.Errorf("%d auto_apply_stopped webhooks, want 1: %v", stopped, kinds(f.hook.events(t)))
	}
	if m := httpGet(t, base+"/metrics"); !strings.Contains(m, "scimsync_auto_apply_stopped 1") {
		t.Errorf("/metrics:\n%s", grep(m, "scimsync_auto_apply"))
	}
	if page := httpGet(t, base+"/"); !strings.Contains(page, `id="auto-apply-stopped"`) {
		t.Errorf("the readiness page does not say auto-apply stopped")
	}
}

func fightPlan(versions map[string]string) *diff.Plan {
	p := &diff.Plan{}
	for org, v := range versions {
		p.Writes = append(p.Writes, diff.Write{Org: org, Version: v})
	}
	return p
}

func fingerprint(versions map[string]string) *diff.Plan {
	p := &diff.Plan{}
	for org, v := range versions {
		p.Fingerprint.Orgs = append(p.Fingerprint.Orgs, diff.OrgRef{Name: org, Version: v})
	}
	return p
}

func TestFightDetector(t *testing.T) {
	var f fightDetector
	check := func(spec string, versions map[string]string) string {
		t.Helper()
		r, _ := f.check(spec, fightPlan(versions))
		return r
	}
	// The agent writes hq (v1 → v2); someone else writes v3.
	if r := check("s1", map[string]string{"hq": "1"}); r != "" {
		t.Fatalf("first write refused: %s", r)
	}
	f.wrote(fightPlan(map[string]string{"hq": "1"}), fingerprint(map[string]string{"hq": "2", "west": "7"}))
	if r := check("s1", map[string]string{"hq": "3"}); r != "" {
		t.Fatalf("one undo stopped: %s", r)
	}
	f.wrote(fightPlan(map[string]string{"hq": "3"}), fingerprint(map[string]string{"hq": "4"}))
	// A plan that writes only west ends hq's streak.
	if r := check("s1", map[string]string{"west": "7"}); r != "" {
		t.Fatalf("west refused: %s", r)
	}
	if r := check("s1", map[string]string{"hq": "5"}); r != "" {
		t.Fatalf("an undo after the streak ended stopped: %s", r)
	}
	f.wrote(fightPlan(map[string]string{"hq": "5"}), fingerprint(map[string]string{"hq": "6"}))
	// The agent's own version found again is no undo (its write did not
	// converge; appliedKey handles that).
	if r := check("s1", map[string]string{"hq": "6"}); r != "" {
		t.Fatalf("own version counted as an undo: %s", r)
	}
	f.wrote(fightPlan(map[string]string{"hq": "6"}), fingerprint(map[string]string{"hq": "8"}))
	if r := check("s1", map[string]string{"hq": "9"}); r != "" {
		t.Fatalf("one undo stopped: %s", r)
	}
	f.wrote(fightPlan(map[string]string{"hq": "9"}), fingerprint(map[string]string{"hq": "10"}))
	r, newly := f.check("s1", fightPlan(map[string]string{"hq": "11"}))
	if !newly || !strings.Contains(r, "hq (its write left version 10, found 11)") {
		t.Fatalf("two undos in a row: %q newly=%v", r, newly)
	}
	if r2, newly := f.check("s1", fightPlan(map[string]string{"hq": "12"})); r2 != r || newly {
		t.Fatalf("stopped state: %q newly=%v", r2, newly)
	}
	// A new spec starts afresh.
	if r := check("s2", map[string]string{"hq": "12"}); r != "" || f.stoppedReason() != "" {
		t.Fatalf("a new spec is still refused: %q", r)
	}
}
