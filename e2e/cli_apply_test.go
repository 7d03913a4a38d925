package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimsync/scimsync/apply"
	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scimtest"
)

// TestCLIApplyUnderFaults runs the built command's apply of a saved plan
// while the second of its three PATCHes meets a fault the client does not
// retry (a PATCH is repeated only when it never left): the command exits 1
// and says which steps were done, the journal records them, the third
// organization is untouched, and the same command run again either resumes
// or, when the second write landed although its answer was lost, refuses
// the plan as stale and writes nothing; a new plan then finishes the job.
func TestCLIApplyUnderFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults func(id string) scimtest.Faults
		landed bool
	}{
		{"connection dropped before the PATCH is handled", func(id string) scimtest.Faults {
			return scimtest.Faults{Drop: scimtest.Drop{When: scimtest.Always().Under("/Organizations/" + id)}}
		}, false},
		{"connection dropped after the PATCH is handled", func(id string) scimtest.Faults {
			return scimtest.Faults{Drop: scimtest.Drop{When: scimtest.Always().Under("/Organizations/" + id), AfterHandling: true}}
		}, true},
		{"the PATCH's answer truncated", func(id string) scimtest.Faults {
			return scimtest.Faults{Truncate: scimtest.Always().Under("/Organizations/" + id)}
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newApplyRig(t)
			run := func(args ...string) result { return runCLI(t, r.dir, cliEnv, args...) }
			if res := run("plan", "-o", "plan.json"); res.code != 2 {
				t.Fatalf("plan -o:\n%s", res)
			}
			p, err := diff.ReadPlanFile(filepath.Join(r.dir, "plan.json"))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Writes) != 3 {
				t.Fatalf("the plan has %d writes, want 3", len(p.Writes))
			}
			before := r.orgVersions()

			r.ts.SetFaults(tc.faults(p.Writes[1].OrgID))
			res := run("apply", "plan.json", "--yes", "--audit-log", "audit.jsonl")
			if countFaults(r.ts) == 0 {
				t.Fatal("no fault was injected")
			}
			r.ts.SetFaults(scimtest.Faults{})
			after := r.orgVersions()
			if res.code != 1 || !strings.Contains(res.stderr, "apply failed at step 2 of 3 (regional-east)") ||
				!strings.Contains(res.stderr, "Done (1):") {
				t.Fatalf("want exit 1 naming step 2 and one step done:\n%s", res)
			}
			done, unknown := r.checkJournal(p, before, after)
			if len(done) != 1 || done[0] != "hq" {
				t.Errorf("the journal records %v as done, want [hq]", done)
			}
			if (len(unknown) == 1) != tc.landed {
				t.Errorf("written with an unknown outcome: %v, want landed %v", unknown, tc.landed)
			}
			// Whether or not it landed, the client cannot tell: the person
			// reading the failure is told that write may have been applied,
			// apart from the one never sent.
			if !strings.Contains(res.stderr, "Unknown: sent, but the answer was lost; it may have been applied (1):\n  step 2 ") ||
				!strings.Contains(res.stderr, "Not done (1):\n  step 3 ") {
				t.Errorf("stderr does not tell the unknown write from the one not sent:\n%s", res)
			}
			if after[p.Writes[2].OrgID] != before[p.Writes[2].OrgID] {
				t.Error("the third organization was written after the second write failed")
			}

			res = run("apply", "plan.json", "--yes", "--audit-log", "audit.jsonl")
			if tc.landed {
				if res.code != 1 || !strings.Contains(res.stderr, "Saved plan is stale") || !strings.Contains(res.stderr, "Nothing was written.") {
					t.Fatalf("rerun: want the plan refused as stale:\n%s", res)
				}
				if got := r.orgVersions(); !equalMaps(got, after) {
					t.Fatalf("the refused rerun wrote: %v → %v", after, got)
				}
				if res := run("plan", "-o", "plan.json"); res.code != 2 {
					t.Fatalf("re-plan:\n%s", res)
				}
				res = run("apply", "plan.json", "--yes", "--audit-log", "audit.jsonl")
			}
			if res.code != 0 {
				t.Fatalf("the apply did not complete:\n%s", res)
			}
			if res := run("plan"); res.code != 0 {
				t.Fatalf("the tenant did not converge:\n%s", res)
			}
			recs := readAudit(t, r.auditPath())
			if last := recs[len(recs)-1]; last.Result != apply.ResultApplied {
				t.Errorf("last audit record: %q", last.Result)
			}
		})
	}
}
