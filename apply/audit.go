package apply

import (
	"errors"
	"fmt"
	"github.com/scimsync/scimsync/diff"
	"os"
	"time"

	"github.com/scimsync/scimsync/internal/fsafe"
)

// DefaultAuditLog is the audit log's path when none is given.
const DefaultAuditLog = "scimsync-audit.jsonl"

// Results of an apply, as the audit log and the journal's end entry record
// them.
const (
	ResultApplied   = "applied"    // every step written and the server verified
	ResultUnchanged = "no-changes" // the plan had nothing to write
	ResultDryRun    = "dry-run"    // not confirmed: nothing was sent
	ResultRefused   = "refused"    // a precondition failed: nothing was sent
	ResultFailed    = "failed"     // a write failed: some steps may be done
	ResultMismatch  = "unverified" // written, but the server differs from the prediction
	// ResultStarted is the audit record written just before the first
	// write; the record of the result follows it, after the last write. A
	// started record with no result after it is an apply that was killed.
	ResultStarted = "started"
)

// AuditRecord is one line of the audit log: one apply. It holds no secret:
// the target is a URL or a file path, never a token.
type AuditRecord struct {
	Time time.Time `json:"time"`
	// Operator is who ran the apply; OperatorSource the environment
	// variable it came from (GITHUB_ACTOR, USER…).
	Operator       string `json:"operator"`
	OperatorSource string `json:"operator_source,omitempty"`
	Target         string `json:"target,omitempty"`
	PlanHash       string `json:"plan_hash"`
	SpecHash       string `json:"spec_hash,omitempty"`
	Fingerprint    string `json:"fingerprint,omitempty"`
	Journal        string `json:"journal,omitempty"`
	// Planned counts the plan's member changes.
	Planned Counts       `json:"planned"`
	Steps   []StepResult `json:"steps"`
	Result  string       `json:"result"`
	// Refusals are the failed preconditions' summaries, when refused.
	Refusals []string `json:"refusals,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// Counts are the member changes of a plan.
type Counts struct {
	Add    int `json:"add"`
	Change int `json:"change"`
	Remove int `json:"remove"`
}

// AuditLogError refuses an apply whose audit log cannot be opened for
// appending: it is returned before anything is read or written.
type AuditLogError struct {
	Path string
	Err  error
}

func (e *AuditLogError) Error() string {
	return fmt.Sprintf("refusing to apply: the audit log %s cannot be written, and an apply must leave its trace there; nothing was written: %v", e.Path, e.Err)
}

func (e *AuditLogError) Unwrap() error { return e.Err }

// auditLog is an audit log open for appending, one JSON line per record.
type auditLog struct {
	f *os.File
}

// openAuditLog opens the audit log at path for appending, creating it
// (0600) when missing. A symbolic link at path is refused, and a last line
// cut off by a crash is ended first.
func openAuditLog(path string) (*auditLog, error) {
	f, err := fsafe.OpenLog(path)
	if err != nil {
		return nil, &AuditLogError{Path: path, Err: err}
	}
	return &auditLog{f: f}, nil
}

func (a *auditLog) append(rec AuditRecord) error { return appendLine(a.f, rec, "audit log") }

func (a *auditLog) close() error {
	if err := a.f.Close(); err != nil {
		return fmt.Errorf("closing audit log: %w", err)
	}
	return nil
}

// AppendAudit appends rec as one JSON line to the audit log at path,
// creating it when missing, and syncs it. A symbolic link at path is
// refused.
func AppendAudit(path string, rec AuditRecord) error {
	a, err := openAuditLog(path)
	if err != nil {
		return err
	}
	if err := a.append(rec); err != nil {
		a.f.Close()
		return err
	}
	return a.close()
}

// openAudit opens the run's audit log, when there is one, before anything
// is read or written: an apply that could leave no trace is refused.
func (r *run) openAudit() error {
	if r.opts.AuditLog == "" {
		return nil
	}
	a, err := openAuditLog(r.opts.AuditLog)
	if err != nil {
		r.rep.Result = ResultRefused
		return err
	}
	r.audit = a
	return nil
}

// auditStarted writes the started record, just before the first write.
func (r *run) auditStarted() error {
	if r.audit == nil {
		return nil
	}
	rec := r.auditRecord(nil)
	rec.Result = ResultStarted
	if err := r.audit.append(rec); err != nil {
		return fmt.Errorf("refusing to apply: %w; nothing was written", err)
	}
	return nil
}

// closeAudit writes the record of the run's result, ended by err, closes
// the audit log and passes err on, joined with any failure to record it.
func (r *run) closeAudit(err error) error {
	if r.audit == nil {
		return err
	}
	aerr := r.audit.append(r.auditRecord(err))
	return errors.Join(err, aerr, r.audit.close())
}

// AuditNothingToApply appends the audit record of an apply of p with
// nothing to write (DESIGN §7: every apply leaves its line): result is
// ResultUnchanged, or ResultRefused with the refusals' summaries. opts
// gives the audit log, target, operator and clock, as to Run; nothing is
// read or locked, since nothing is written.
func AuditNothingToApply(p *diff.Plan, opts Options, result string, refusals []string) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	hash, err := planHash(p)
	if err != nil {
		return err
	}
	r := &run{p: p, opts: opts, rep: &Report{PlanHash: hash, Result: result, Steps: []StepResult{}}}
	rec := r.auditRecord(nil)
	rec.Journal, rec.Refusals = "", refusals
	return AppendAudit(opts.AuditLog, rec)
}
