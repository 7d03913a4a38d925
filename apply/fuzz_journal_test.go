package apply

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzReadJournal feeds arbitrary bytes to the journal reader, which a
// rerun trusts to decide which steps are done. It must not panic; it either
// refuses the journal or returns entries whose replay agrees with their
// lines (a step's latest line decides whether it is done, at which version,
// or interrupted); a journal it accepts, with a torn last
// line appended (a crash in the middle of a write), reads the same.
func FuzzReadJournal(f *testing.F) {
	const h = "9f00000000000000000000000000000000000000000000000000000000000000"
	lines := []JournalEntry{
		{Event: EventBegin, PlanHash: h, PID: 4242, Operator: "alice", Steps: 2},
		{Event: EventStep, PlanHash: h, Step: 1, OrgID: "o-hq", Org: "hq", OpsHash: "1c", Status: StepStarted, IfMatch: `W/"3"`},
		{Event: EventStep, PlanHash: h, Step: 1, OrgID: "o-hq", Org: "hq", OpsHash: "1c", Status: StepDone, IfMatch: `W/"3"`, Version: `W/"4"`},
		{Event: EventStep, PlanHash: h, Step: 2, OrgID: "o-w", Org: "west", OpsHash: "2d", Status: StepStarted, IfMatch: `W/"7"`},
		{Event: EventStep, PlanHash: h, Step: 2, OrgID: "o-w", Org: "west", OpsHash: "2d", Status: StepFailed, IfMatch: `W/"7"`, Error: "PATCH /Organizations/o-w: 503"},
		{Event: EventEnd, PlanHash: h, Result: ResultFailed, Error: "503"},
	}
	var full bytes.Buffer
	for _, e := range lines {
		b, _ := json.Marshal(e)
		full.Write(append(b, '\n'))
	}
	f.Add(full.Bytes())
	f.Add(append(bytes.Clone(full.Bytes()), `{"event":"step","plan_ha`...))
	f.Add(full.Bytes()[:full.Len()/2])
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte(`{"event":"step","step":-1,"status":"done"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := decodeJournal("j", bytes.NewReader(data))
		if err != nil {
			if entries != nil {
				t.Fatalf("entries and an error: %v", err)
			}
			return
		}
		if n := bytes.Count(data, []byte("\n")) + 1; len(entries) > n {
			t.Fatalf("%d entries from %d lines", len(entries), n)
		}
		hashes := map[string]bool{"": true, h: true}
		for _, e := range entries {
			hashes[e.PlanHash] = true
		}
		for hash := range hashes {
			// Replayed, the latest line of a step decides: done at its
			// version, interrupted when it is a start or an unknown
			// outcome, neither when it is a failure.
			last := map[int]JournalEntry{}
			for _, e := range entries {
				if e.PlanHash == hash && e.Event == EventStep {
					last[e.Step] = e
				}
			}
			st := stateFor(entries, hash)
			for step, e := range last {
				d, done := st.Done[step]
				_, interrupted := st.Interrupted[step]
				switch {
				case done && interrupted:
					t.Fatalf("step %d is both done and interrupted", step)
				case done != (e.Status == StepDone), interrupted != (e.Status == StepStarted || e.Status == StepUnknown):
					t.Fatalf("step %d replayed as done %v, interrupted %v; its last line is %q", step, done, interrupted, e.Status)
				case done && d.Version != e.Version:
					t.Fatalf("step %d done at %q; its last line says %q", step, d.Version, e.Version)
				}
			}
			if len(st.Done)+len(st.Interrupted) > len(last) {
				t.Fatalf("steps replayed that no line names")
			}
		}
		if len(data) > 0 && data[len(data)-1] == '\n' {
			torn := append(bytes.Clone(data), `{"event":"step","plan_hash":"`...)
			again, err := decodeJournal("j", bytes.NewReader(torn))
			if err != nil || len(again) != len(entries) {
				t.Fatalf("a torn last line changed the journal: %d entries, then %d (%v)", len(entries), len(again), err)
			}
		}
	})
}
