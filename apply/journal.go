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
	"regexp"
	"strconv"
	"time"

	"github.com/scimsync/scimsync/internal/fsafe"
)

// Journal events and step statuses. The journal format is documented in the
// package comment.
const (
	EventBegin = "begin"
	EventStep  = "step"
	EventEnd   = "end"
	// EventTorn is never written: ReadJournal makes one of a line cut off
	// by a crash or a full disk. Its Step and PlanHash are those the line
	// still shows (zero when cut before them), its Status StepUnknown.
	EventTorn = "torn"

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

// openJournal opens the journal at path for appending, never through a
// symbolic link, and starts a fresh line when the last one was cut off.
func openJournal(path string, now func() time.Time) (*journal, error) {
	f, err := fsafe.OpenLog(path)
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

// ReadJournal reads the journal at path. A missing file is an empty journal;
// a symbolic link is refused. A line cut short (a crash or a full disk in
// the middle of a write, wherever it is in the file) is an EventTorn entry:
// a step of unknown outcome. A whole entry that an older scimsync appended
// right after a torn one, on the same line, is read as well. Any other
// line that does not decode is an error.
func ReadJournal(path string) ([]JournalEntry, error) {
	f, err := fsafe.OpenExisting(path, os.O_RDONLY)
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
		// A crash can also leave a run of NULs where a line was to be.
		b = bytes.TrimSpace(bytes.Trim(b, "\x00"))
		if len(b) > 0 {
			es, derr := decodeLine(b, line, complete)
			if derr != nil {
				return nil, fmt.Errorf("reading journal: %s:%d: %w", name, line, derr)
			}
			out = append(out, es...)
		}
		if !complete {
			break
		}
	}
	return out, nil
}

// entryStart begins every entry the journal writes: time is the first field
// of JournalEntry, and inside an entry a quote is always escaped.
var entryStart = []byte(`{"time":`)

// decodeLine decodes one line of the journal. It is one entry; or, from a
// journal that an older scimsync appended to after a torn line, torn
// pieces followed by entries, each beginning with entryStart. A piece that
// does not decode is torn when JSON could still complete it (the write was
// cut off), or when it is the file's last line and unterminated.
func decodeLine(b []byte, line int, complete bool) ([]JournalEntry, error) {
	var pieces [][]byte
	for {
		i := bytes.Index(b[1:], entryStart)
		if i < 0 {
			pieces = append(pieces, b)
			break
		}
		pieces = append(pieces, b[:i+1])
		b = b[i+1:]
	}
	var out []JournalEntry
	for k, piece := range pieces {
		var e JournalEntry
		err := json.Unmarshal(piece, &e)
		switch {
		case err == nil:
			out = append(out, e)
		case cutOff(piece) || (!complete && k == len(pieces)-1):
			out = append(out, tornEntry(piece, line))
		default:
			return nil, err
		}
	}
	return out, nil
}

// cutOff reports whether b is the beginning of a JSON object that was cut
// off before its end.
func cutOff(b []byte) bool {
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	var v any
	return errors.Is(json.NewDecoder(bytes.NewReader(b)).Decode(&v), io.ErrUnexpectedEOF)
}

var (
	tornPlanHash = regexp.MustCompile(`"plan_hash":"([0-9a-f]+)"`)
	tornStep     = regexp.MustCompile(`"event":"step".*"step":([0-9]+)[,}]`)
	tornOrgID    = regexp.MustCompile(`"org_id":"([^"\\]*)"`)
)

// tornEntry is the EventTorn entry of a torn piece of line: its plan hash,
// step and organization when the piece still holds them whole.
func tornEntry(piece []byte, line int) JournalEntry {
	e := JournalEntry{Event: EventTorn, Status: StepUnknown, Error: fmt.Sprintf("line %d was cut off (a crash or a full disk): its outcome is unknown", line)}
	if m := tornPlanHash.FindSubmatch(piece); m != nil {
		e.PlanHash = string(m[1])
	}
	if m := tornStep.FindSubmatch(piece); m != nil {
		if n, err := strconv.Atoi(string(m[1])); err == nil {
			e.Step = n
		}
	}
	if m := tornOrgID.FindSubmatch(piece); m != nil {
		e.OrgID = string(m[1])
	}
	return e
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
		if e.Event != EventStep && (e.Event != EventTorn || e.Step == 0) {
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
			// A torn line of a step is one of unknown outcome: it may
			// have been the line that said done.
			st.Interrupted[e.Step] = s
		case StepDone:
			st.Done[e.Step] = s
		}
	}
	return st
}
