package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/spec"
)

// applyRig is the fixture tenant on a server, the fixture spec, and the
// files an apply writes, in one directory.
type applyRig struct {
	t    *testing.T
	ts   *scimtest.TestServer
	spec *spec.Spec
	dir  string
	cfg  scim.Config
}

func newApplyRig(t *testing.T) *applyRig {
	t.Helper()
	ts := startServer(t, nil, scimtest.Options{})
	dir := t.TempDir()
	s := loadSpec(t, writeSpec(t, dir, fixtureSpec, ts.URL))
	return &applyRig{t: t, ts: ts, spec: s, dir: dir, cfg: fastRetries()}
}

// savedPlan plans, saves the plan file and reads it back, as `scimsync plan
// -o` and `scimsync apply PLAN` do.
func (r *applyRig) savedPlan() *diff.Plan {
	r.t.Helper()
	p, err := plan(context.Background(), r.t, r.spec, r.cfg)
	if err != nil {
		r.t.Fatalf("planning: %v", err)
	}
	path := filepath.Join(r.dir, "plan.json")
	if err := diff.WritePlanFile(path, p); err != nil {
		r.t.Fatal(err)
	}
	saved, err := diff.ReadPlanFile(path)
	if err != nil {
		r.t.Fatal(err)
	}
	return saved
}

func (r *applyRig) journalPath() string { return filepath.Join(r.dir, "plan.json.journal") }
func (r *applyRig) auditPath() string   { return filepath.Join(r.dir, "audit.jsonl") }

// apply runs a confirmed apply of p, as `scimsync apply --yes PLAN` does.
func (r *applyRig) apply(p *diff.Plan) (*apply.Report, error) {
	r.t.Helper()
	src, w := openSpec(r.t, r.spec, r.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return apply.Run(ctx, p, apply.Options{
		Source:    src,
		Writer:    w,
		Spec:      r.spec,
		SpecHash:  r.spec.Hash(),
		Confirmed: true,
		Journal:   r.journalPath(),
		AuditLog:  r.auditPath(),
		LockPath:  apply.LockPath(r.dir, r.ts.URL),
		Target:    r.ts.URL,
		Operator:  "e2e",
		Now:       func() time.Time { return testNow },
	})
}

// orgVersions is every organization's meta.version on the server, by id.
func (r *applyRig) orgVersions() map[string]string {
	out := map[string]string{}
	for _, o := range r.ts.Snapshot().Organizations {
		out[o.ID] = o.Meta.Version
	}
	return out
}

// converged checks that a fresh plan has nothing left to do.
func (r *applyRig) converged() {
	r.t.Helper()
	p, err := plan(context.Background(), r.t, r.spec, r.cfg)
	if err != nil {
		r.t.Fatalf("planning after the apply: %v", err)
	}
	if p.HasChanges() || len(p.Writes) > 0 {
		r.t.Errorf("the tenant did not converge: a fresh plan still has %d writes, %+v", len(p.Writes), p.Summary)
	}
}

// checkJournal is the guarantee: after an apply that failed part-way, the
// journal accounts for every organization the server shows changed.
//   - an organization whose version moved has a step of this plan in the
//     journal: done at exactly the server's version, or started and then
//     cut off or unknown (the answer lost), never failed (which says the
//     server refused the write);
//   - an organization the journal says is done is at that version;
//   - the run's end is journaled as failed;
//   - the audit log's last record says failed and lists the same steps.
//
// It returns the organizations the journal records as done, and those
// with an unknown outcome that the server shows written.
func (r *applyRig) checkJournal(p *diff.Plan, before, after map[string]string) (done, unknownWritten []string) {
	r.t.Helper()
	entries, err := apply.ReadJournal(r.journalPath())
	if err != nil {
		r.t.Fatal(err)
	}
	last := map[string]apply.JournalEntry{} // org id → last step entry
	var end *apply.JournalEntry
	for i, e := range entries {
		if e.PlanHash != p.PlanHash {
			continue
		}
		switch e.Event {
		case apply.EventStep:
			last[e.OrgID] = e
		case apply.EventEnd:
			end = &entries[i]
		}
	}
	if end == nil || end.Result != apply.ResultFailed || end.Error == "" {
		r.t.Errorf("the journal's end entry is %+v, want result failed with the error", end)
	}
	for _, w := range p.Writes {
		moved := before[w.OrgID] != after[w.OrgID]
		e, journaled := last[w.OrgID]
		switch {
		case moved && !journaled:
			r.t.Errorf("%s changed on the server (%s → %s) and the journal says nothing about it", w.Org, before[w.OrgID], after[w.OrgID])
		case journaled && e.Status == apply.StepDone:
			done = append(done, w.Org)
			if e.Version != after[w.OrgID] {
				r.t.Errorf("the journal says %s is done at %s; the server has %s", w.Org, e.Version, after[w.OrgID])
			}
		case journaled && e.Status == apply.StepFailed && moved:
			r.t.Errorf("the journal says %s's write failed, but the server applied it (%s → %s)", w.Org, before[w.OrgID], after[w.OrgID])
		case journaled && moved:
			unknownWritten = append(unknownWritten, w.Org)
		}
		if journaled && (e.Status == apply.StepFailed || e.Status == apply.StepUnknown) && e.Error == "" {
			r.t.Errorf("the journal's %s step for %s carries no error", e.Status, w.Org)
		}
	}
	for id, v := range after {
		if v != before[id] && !hasWrite(p, id) {
			r.t.Errorf("organization %s changed (%s → %s) although the plan does not write it", id, before[id], v)
		}
	}
	recs := readAudit(r.t, r.auditPath())
	if len(recs) == 0 {
		r.t.Fatal("no audit record")
	}
	rec := recs[len(recs)-1]
	if rec.Result != apply.ResultFailed || rec.PlanHash != p.PlanHash || len(rec.Steps) != len(p.Writes) {
		r.t.Errorf("audit record: result %q, plan %s, %d steps; want failed, %s, %d", rec.Result, rec.PlanHash, len(rec.Steps), p.PlanHash, len(p.Writes))
	}
	return done, unknownWritten
}

func hasWrite(p *diff.Plan, orgID string) bool {
	for _, w := range p.Writes {
		if w.OrgID == orgID {
			return true
		}
	}
	return false
}

func readAudit(t testing.TB, path string) []apply.AuditRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []apply.AuditRecord
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec apply.AuditRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// applyFaultCase is a fault aimed at the second PATCH of the fixture plan
// (regional-east's), what the first run must report, and how a rerun of
// the same plan ends.
type applyFaultCase struct {
	name   string
	faults func(second string) scimtest.Faults
	tune   func(*scim.Config)
	// fails: the first run stops at step 2 with a *WriteError.
	fails bool
	// landed: the second write reached the server although its answer was
	// lost, so the rerun finds the plan stale and writes nothing.
	landed bool
}

func applyFaultCases() []applyFaultCase {
	patch := func(second string) scimtest.Trigger { return scimtest.Always().Under("/Organizations/" + second) }
	return []applyFaultCase{
		{name: "503 burst on the second PATCH", faults: func(id string) scimtest.Faults {
			return scimtest.Faults{Unavailable: scimtest.First(2).Under("/Organizations/" + id)}
		}},
		{name: "429 on the second PATCH", faults: func(id string) scimtest.Faults {
			return scimtest.Faults{RateLimit: scimtest.RateLimit{When: scimtest.First(1).Under("/Organizations/" + id)}}
		}},
		{name: "503 for good on the second PATCH", faults: func(id string) scimtest.Faults {
			return scimtest.Faults{Unavailable: patch(id)}
		}, fails: true},
		{name: "connection dropped before the second PATCH is handled", faults: func(id string) scimtest.Faults {
			return scimtest.Faults{Drop: scimtest.Drop{When: patch(id)}}
		}, fails: true},
		{name: "connection dropped after the second PATCH is handled", faults: func(id string) scimtest.Faults {
			return scimtest.Faults{Drop: scimtest.Drop{When: patch(id), AfterHandling: true}}
		}, fails: true, landed: true},
		{name: "second PATCH's answer truncated", faults: func(id string) scimtest.Faults {
			return scimtest.Faults{Truncate: patch(id)}
		}, fails: true, landed: true},
		{name: "second PATCH's answer dribbled past the request timeout", faults: func(id string) scimtest.Faults {
			return scimtest.Faults{SlowLoris: scimtest.SlowLoris{When: patch(id), Chunk: 1, Interval: 20 * time.Millisecond}}
		}, tune: func(c *scim.Config) { c.RequestTimeout = 200 * time.Millisecond }, fails: true, landed: true},
	}
}

func TestApplyUnderFaults(t *testing.T) {
	for _, tc := range applyFaultCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := newApplyRig(t)
			p := r.savedPlan()
			if len(p.Writes) < 3 {
				t.Fatalf("the fixture plan has %d writes; the suite needs three", len(p.Writes))
			}
			second := p.Writes[1].OrgID // the order apply runs them in
			before := r.orgVersions()

			r.ts.SetFaults(tc.faults(second))
			if tc.tune != nil {
				tc.tune(&r.cfg)
			}
			rep, err := r.apply(p)
			n := countFaults(r.ts)
			r.ts.SetFaults(scimtest.Faults{})
			r.cfg = fastRetries()
			if n == 0 {
				t.Fatal("no fault was injected")
			}
			after := r.orgVersions()

			if !tc.fails {
				if err != nil {
					t.Fatalf("%d faults injected; the apply failed: %v", n, err)
				}
				if rep.Result != apply.ResultApplied || !rep.Verification.OK() {
					t.Fatalf("result %q, verification %+v", rep.Result, rep.Verification)
				}
				r.converged()
				return
			}

			var werr *apply.WriteError
			if !errors.As(err, &werr) || werr.Step.OrgID != second {
				t.Fatalf("err = %v, want a *WriteError at the second step (%s)", err, second)
			}
			done, unknown := r.checkJournal(p, before, after)
			if len(done) != 1 || done[0] != p.Writes[0].Org {
				t.Errorf("the journal records %v as done, want [%s]", done, p.Writes[0].Org)
			}
			if got := len(unknown) == 1; got != tc.landed {
				t.Errorf("the second write landed with an unknown outcome: %v, want %v", unknown, tc.landed)
			}
			if after[p.Writes[2].OrgID] != before[p.Writes[2].OrgID] {
				t.Errorf("the third organization was written after the second write failed")
			}

			// A rerun of the same plan either resumes from the journal or,
			// when a write of unknown outcome landed, refuses the plan as
			// stale without writing anything.
			rep, err = r.apply(p)
			if tc.landed {
				var refused *apply.RefusedError
				var stale *apply.StaleError
				if !errors.As(err, &refused) || !errors.As(err, &stale) {
					t.Fatalf("rerun after a write of unknown outcome: err = %v, want a stale plan", err)
				}
				if got := r.orgVersions(); !equalMaps(got, after) {
					t.Fatalf("the refused rerun wrote: %v → %v", after, got)
				}
				// A new plan from the tenant as it is finishes the job.
				p = r.savedPlan()
				if rep, err = r.apply(p); err != nil {
					t.Fatalf("applying the new plan: %v", err)
				}
			} else if err != nil {
				t.Fatalf("rerun: %v", err)
			} else if !rep.Resumed || rep.Steps[0].Status != apply.StatusSkipped {
				t.Errorf("the rerun did not resume: resumed %v, steps %+v", rep.Resumed, rep.Steps)
			}
			if rep.Result != apply.ResultApplied {
				t.Errorf("final result %q", rep.Result)
			}
			r.converged()
			t.Logf("%d faults injected", n)
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
