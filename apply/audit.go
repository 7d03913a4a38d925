package apply

import (
	"fmt"
	"os"
	"time"
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

// AppendAudit appends rec as one JSON line to the audit log at path,
// creating it when missing, and syncs it.
func AppendAudit(path string, rec AuditRecord) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening audit log: %w", err)
	}
	if err := appendLine(f, rec, "audit log"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing audit log: %w", err)
	}
	return nil
}
