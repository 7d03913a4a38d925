package apply

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzReadJournal feeds arbitrary bytes to the journal reader, which a
// rerun trusts to decide which steps are done. It must not panic; it either
// refuses the journal or returns entries whose replay agrees with their
// lines (a step's latest line decides whether it is done, at which version,
// or interrupted; a torn line of a step is interrupted); a journal it
// accepts, with a torn line appended (a crash or a full disk in the middle
// of a write), reads the same plus one torn entry, whether the torn line is
// last, followed by a fresh line, or run into by a whole entry (as an older
// scimsync appended).
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
	// Torn lines in the middle, as the fresh-line writer leaves them, and
	// run into by the next entry, as the writer before it did (issue 14).
	torn := full.Bytes()[:bytes.IndexByte(full.Bytes()[200:], '\n')+180]
	f.Add(append(append(bytes.Clone(torn), '\n'), full.Bytes()...))
	f.Add(append(bytes.Clone(torn), full.Bytes()...))
	f.Add(append(bytes.Repeat([]byte{0}, 64), full.Bytes()...))
	f.Add([]byte(`{"time":"2026-11-01T12:00:00Z","event":"step","plan_hash":"` + h + `","step":2,"org_id":"o-w","st` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := decodeJournal("j", bytes.NewReader(data))
		if err != nil {
			if entries != nil {
				t.Fatalf("entries and an error: %v", err)
			}
			return
		}
		// A line holds one entry, or (run together by an older writer
		// after a torn line) one more per entry start after its first byte.
		if n := bytes.Count(data, []byte("\n")) + 1 + bytes.Count(data, entryStart); len(entries) > n {
			t.Fatalf("%d entries from %d lines and entry starts", len(entries), n)
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
				if e.PlanHash == hash && (e.Event == EventStep || e.Event == EventTorn && e.Step != 0) {
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
		for _, e := range entries {
			if e.Event == EventTorn && e.Status != StepUnknown {
				t.Fatalf("torn entry of status %q, want unknown", e.Status)
			}
		}
		if len(data) > 0 && data[len(data)-1] == '\n' {
			const cut = `{"time":"2026-11-01T12:00:00Z","event":"step","plan_hash":"`
			whole := `{"time":"2026-11-01T12:00:00Z","event":"end","plan_hash":"` + h + `","result":"failed"}` + "\n"
			for name, tail := range map[string]string{
				"last":         cut,
				"then a line":  cut + "\n" + whole,
				"run into":     cut + whole,
				"NULs, a line": "\x00\x00\x00\n" + cut + "\n" + whole,
			} {
				again, err := decodeJournal("j", bytes.NewReader(append(bytes.Clone(data), tail...)))
				want := len(entries) + 1 + strings.Count(tail, `"event":"end"`)
				if err != nil || len(again) != want {
					t.Fatalf("torn line %s: %d entries, then %d, want %d (%v)", name, len(entries), len(again), want, err)
				}
				if e := again[len(entries)]; e.Event != EventTorn || e.Status != StepUnknown {
					t.Fatalf("torn line %s read as %+v, want a torn entry of unknown outcome", name, e)
				}
			}
		}
	})
}
