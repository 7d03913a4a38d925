package apply

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Journal events and step statuses. The journal format is documented in the
// package comment.
const (
	EventBegin = "begin"
	EventStep  = "step"
	EventEnd   = "end"

	StepStarted = "started"
	StepDone    = "done"
	StepFailed  = "failed"
	StepUnknown = "unknown"
)

// JournalEntry is one line of a journal.
type JournalEntry struct {
	Time     time.Time `json:"time"`
	Event    string    `json:"event"`
	PlanHash string    `json:"plan_hash"`

	// begin
	PID      int    `json:"pid,omitempty"`
	Operator string `json:"operator,omitempty"`
	Steps    int    `json:"steps,omitempty"`

	// step
	Step    int    `json:"step,omitempty"` // 1-based
	OrgID   string `json:"org_id,omitempty"`
	Org     string `json:"org,omitempty"`
	OpsHash string `json:"ops_hash,omitempty"`
	Status  string `json:"status,omitempty"`
	IfMatch string `json:"if_match,omitempty"`
	Version string `json:"version,omitempty"` // the version the write returned

	// end
	Result string `json:"result,omitempty"`

	// step (failed) and end
	Error string `json:"error,omitempty"`
}

// journal appends entries to a file, one JSON line each, and makes each
// durable (fsync) before returning.
type journal struct {
	f   *os.File
	now func() time.Time
}

func openJournal(path string, now func() time.Time) (*journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	return &journal{f: f, now: now}, nil
}

func (j *journal) append(e JournalEntry) error {
	e.Time = j.now().UTC()
	return appendLine(j.f, e, "journal")
}

func (j *journal) close() error { return j.f.Close() }

// appendLine writes v as one JSON line to f and syncs it. what names the file
// in errors.
func appendLine(f *os.File, v any, what string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s entry: %w", what, err)
	}
	b = append(b, '\n')
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("writing %s: %w", what, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", what, err)
	}
	return nil
}

// ReadJournal reads the journal at path. A missing file is an empty journal.
// A last line cut short (a crash in the middle of a write) is ignored; any
// other line that does not decode is an error.
func ReadJournal(path string) ([]JournalEntry, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading journal: %w", err)
	}
	defer f.Close()
	return decodeJournal(path, f)
}

func decodeJournal(name string, r io.Reader) ([]JournalEntry, error) {
	var out []JournalEntry
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading journal: %w", err)
		}
		complete := err == nil
		if len(bytes.TrimSpace(b)) > 0 {
			var e JournalEntry
			if uerr := json.Unmarshal(b, &e); uerr != nil {
				if !complete {
					break // torn last line
				}
				return nil, fmt.Errorf("reading journal: %s:%d: %w", name, line, uerr)
			}
			out = append(out, e)
		}
		if !complete {
			break
		}
	}
	return out, nil
}

// doneStep is a step an earlier run of the same plan completed.
type doneStep struct {
	OrgID   string
	OpsHash string
	IfMatch string
	Version string
}

// journalState is what earlier runs of one plan did, as its journal says:
// each step by its latest entry.
type journalState struct {
	// Done holds the completed steps by step number.
	Done map[int]doneStep
	// Interrupted holds the steps that were started and never reported done
	// or failed (the process died while the write was in flight), or whose
	// answer was lost (unknown): whether the server applied them is unknown.
	Interrupted map[int]doneStep
}

// stateFor summarises entries for the plan hash planHash.
func stateFor(entries []JournalEntry, planHash string) journalState {
	st := journalState{Done: map[int]doneStep{}, Interrupted: map[int]doneStep{}}
	for _, e := range entries {
		if e.PlanHash != planHash {
			continue
		}
		if e.Event != EventStep {
			continue
		}
		s := doneStep{OrgID: e.OrgID, OpsHash: e.OpsHash, IfMatch: e.IfMatch, Version: e.Version}
		// The latest entry of a step decides: a later run may have tried
		// again a step an earlier one did (after the tenant went back to
		// the plan's state).
		delete(st.Done, e.Step)
		delete(st.Interrupted, e.Step)
		switch e.Status {
		case StepStarted, StepUnknown:
			st.Interrupted[e.Step] = s
		case StepDone:
			st.Done[e.Step] = s
		}
	}
	return st
}
