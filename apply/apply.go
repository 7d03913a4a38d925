package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// Options configure Run.
type Options struct {
	// Source re-reads the tenant before the first write and after the last.
	// Required.
	Source tenant.Source
	// Writer writes organizations. Nil means the target cannot be written;
	// Run then refuses.
	Writer tenant.Writer
	// ReadOnly, when set, says why the target cannot be written (a members
	// export: a server without the organization extension); Run refuses.
	ReadOnly string
	// Spec is the spec given with the apply. When set, Run computes the plan
	// again from it and the tenant it re-read, at the plan's own instant,
	// and refuses a plan whose writes, findings or predictions differ from
	// that (a saved plan edited and re-hashed). Nil skips the check.
	Spec *spec.Spec
	// SpecHash is the hash of the spec given with the apply; when set, it
	// must equal the plan's. Empty skips the check.
	SpecHash string
	// Confirmed arms the Guard: without it, every precondition is checked
	// and every step tried, but the Guard sends nothing (a dry run).
	Confirmed bool
	// AllowRemovals is --allow-removals: the number of removals the
	// operator approves. It must equal the plan's count. Nil when not given.
	AllowRemovals *int
	// AllowEmptyGroups is --allow-empty-groups.
	AllowEmptyGroups bool
	// Journal is the journal file; required for a confirmed apply.
	Journal string
	// AuditLog is the audit log; no record is written when empty.
	AuditLog string
	// LockPath is the lock file (see LockPath); no lock is taken when empty.
	LockPath string
	// Target names the tenant in the audit log (a URL or a file path; never
	// a token).
	Target string
	// Operator and OperatorSource say who applies (see Operator).
	Operator       string
	OperatorSource string
	// Now is the clock of the journal and the audit log; time.Now when nil.
	Now func() time.Time
}

// Step statuses in a Report.
const (
	StatusDone    = "done"    // written by this run
	StatusSkipped = "skipped" // written by an earlier run of the same plan (journal)
	StatusFailed  = "failed"  // the write failed: the server refused it, nothing changed
	StatusUnknown = "unknown" // the write was sent, its answer lost: it may have been applied
	StatusNotRun  = "not-run" // not attempted: an earlier step failed
	StatusDryRun  = "dry-run" // the Guard refused it: not confirmed
	StatusPending = "pending" // not reached: refused before the first write
)

// StepResult is what happened to one step.
type StepResult struct {
	Step  int    `json:"step"`
	OrgID string `json:"org_id"`
	Org   string `json:"org"`
	// Fields are the attributes the step replaces: mode, mappings….
	Fields  []string `json:"fields"`
	IfMatch string   `json:"if_match,omitempty"`
	// Version is the organization's version after the step.
	Version string `json:"version,omitempty"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
}

// Report is what Run did.
type Report struct {
	PlanHash string
	Result   string
	Steps    []StepResult
	// Resumed is true when an earlier, unfinished run of the same plan had
	// done some steps, which this run skipped.
	Resumed bool
	// StaleLock names the holder of a lock left behind by a dead process,
	// which this run took over.
	StaleLock *LockHolder
	// Verification compares the server's members, read after the last
	// write, with the plan's prediction. Nil when nothing was verified.
	Verification *Verification
}

// WriteError is returned by Run when a write fails: the steps before it are
// done (and journaled), the rest are not. A 412 (errors.Is(err,
// scim.ErrPrecondition)) means the organization changed on the server after
// the plan: another apply, or an administrator.
type WriteError struct {
	Step StepResult
	Err  error
}

func (e *WriteError) Error() string {
	if errors.Is(e.Err, scim.ErrPrecondition) {
		return fmt.Sprintf("step %d (%s): organization changed on the server since the plan, apply stopped: %v", e.Step.Step, e.Step.Org, e.Err)
	}
	return fmt.Sprintf("step %d (%s): %v", e.Step.Step, e.Step.Org, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// VerifyError is returned by Run when every write succeeded but the server's
// members differ from the plan's prediction.
type VerifyError struct {
	Verification *Verification
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("verifying: the server's members differ from the plan in %s", diff.FormatCount(len(e.Verification.Differences), "place"))
}

// Run applies plan p: it takes the lock, checks every precondition against a
// fresh read of the tenant, writes the steps in order through a Guard (armed
// only when opts.Confirmed), journals each, reads the tenant again to verify
// the members against the plan's prediction, and appends one audit record.
//
// The error is a *RefusedError when a precondition failed (nothing was
// written), a *WriteError when a write failed, a *VerifyError when the
// server differs from the prediction, a *LockedError when another apply
// holds the lock, or another error (a failed read, an unwritable journal).
// The Report is never nil.
func Run(ctx context.Context, p *diff.Plan, opts Options) (*Report, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	rep := &Report{Result: ResultFailed}
	hash, err := planHash(p)
	if err != nil {
		return rep, err
	}
	rep.PlanHash = hash
	steps := p.Steps
	for _, s := range steps {
		rep.Steps = append(rep.Steps, StepResult{Step: s.Num, OrgID: s.OrgID, Org: s.Org, Fields: s.Fields(), Status: StatusPending})
	}
	r := &run{p: p, opts: opts, rep: rep, steps: steps}
	if err := r.openAudit(); err != nil {
		return rep, err
	}
	err = r.closeAudit(r.run(ctx))
	return rep, err
}

// run is one Run in progress.
type run struct {
	p     *diff.Plan
	opts  Options
	rep   *Report
	steps []diff.Step // the plan's, in its order
	j     *journal
	audit *auditLog
}

func (r *run) run(ctx context.Context) (err error) {
	if r.opts.LockPath != "" {
		lock, lerr := AcquireLock(r.opts.LockPath)
		if lerr != nil {
			return lerr
		}
		r.rep.StaleLock = lock.Stale
		defer func() {
			if rerr := lock.Release(); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	var js journalState
	if r.opts.Journal != "" {
		entries, jerr := ReadJournal(r.opts.Journal)
		if jerr != nil {
			return jerr
		}
		js = stateFor(entries, r.rep.PlanHash)
	} else if r.opts.Confirmed {
		return errors.New("applying: no journal file given")
	}

	req := tenant.ReadRequest{GroupIDs: r.p.ReadGroupIDs}
	t, err := r.opts.Source.Read(ctx, req)
	if err != nil {
		return fmt.Errorf("re-reading the tenant: %w", err)
	}
	versions, skip, refusals := r.preconditions(t, js)
	if len(refusals) > 0 {
		r.rep.Result = ResultRefused
		return &RefusedError{Refusals: refusals}
	}
	r.rep.Resumed = len(skip) > 0

	guard := NewGuard(checkAnswers(r.opts.Writer))
	if r.opts.Confirmed {
		guard.Arm()
	}
	if guard.Armed() && len(r.steps) > 0 {
		j, jerr := openJournal(r.opts.Journal, r.opts.Now)
		if jerr != nil {
			return jerr
		}
		defer func() {
			if cerr := j.close(); cerr != nil && err == nil {
				err = fmt.Errorf("closing journal: %w", cerr)
			}
		}()
		r.j = j
		if jerr := j.append(JournalEntry{Event: EventBegin, PlanHash: r.rep.PlanHash, PID: os.Getpid(), Operator: r.opts.Operator, Steps: len(r.steps)}); jerr != nil {
			return jerr
		}
		if aerr := r.auditStarted(); aerr != nil {
			return aerr
		}
	}
	if werr := r.write(ctx, guard, versions, skip); werr != nil {
		r.rep.Result = ResultFailed
		return r.end(werr)
	}
	if !guard.Armed() {
		r.rep.Result = ResultDryRun
		return nil
	}

	after := t
	if len(r.steps) > 0 {
		if after, err = r.opts.Source.Read(ctx, req); err != nil {
			r.rep.Result = ResultFailed
			return r.end(fmt.Errorf("verifying: re-reading the tenant: %w", err))
		}
	}
	v := Verify(r.p, after)
	r.rep.Verification = v
	if !v.OK() {
		r.rep.Result = ResultMismatch
		return r.end(&VerifyError{Verification: v})
	}
	r.rep.Result = ResultApplied
	if len(r.steps) == 0 {
		r.rep.Result = ResultUnchanged
	}
	return r.end(nil)
}

// writeOutcomeKnown reports whether a failed write certainly changed
// nothing: the server answered it with an error status (a *scim.Error, 412
// included), or it was refused before it was sent (an organization the
// target lacks, an operation it cannot apply). Any other failure — the
// connection lost or the answer cut off after the request left, a timeout
// — leaves unknown whether the server applied it.
func writeOutcomeKnown(err error) bool {
	var se *scim.Error
	var pe *tenant.PatchError
	return errors.As(err, &se) || errors.As(err, &pe) ||
		errors.Is(err, scim.ErrPrecondition) || errors.Is(err, tenant.ErrOrgNotFound) ||
		errors.Is(err, tenant.ErrNotWritten)
}

func (r *run) journal(e JournalEntry) error {
	if r.j == nil {
		return nil
	}
	e.PlanHash = r.rep.PlanHash
	return r.j.append(e)
}

// end writes the journal's end entry and passes err on.
func (r *run) end(err error) error {
	e := JournalEntry{Event: EventEnd, Result: r.rep.Result}
	if err != nil {
		e.Error = err.Error()
	}
	return errors.Join(err, r.journal(e))
}

func (r *run) auditRecord(err error) AuditRecord {
	rec := AuditRecord{
		Time:           r.opts.Now().UTC(),
		Operator:       r.opts.Operator,
		OperatorSource: r.opts.OperatorSource,
		Target:         r.opts.Target,
		PlanHash:       r.rep.PlanHash,
		SpecHash:       r.p.SpecHash,
		Fingerprint:    r.p.Fingerprint.Hash,
		Journal:        r.opts.Journal,
		Planned:        Counts{Add: r.p.Summary.Add, Change: r.p.Summary.Change, Remove: r.p.Summary.Remove},
		Steps:          r.rep.Steps,
		Result:         r.rep.Result,
	}
	var refused *RefusedError
	if errors.As(err, &refused) {
		for _, x := range refused.Refusals {
			rec.Refusals = append(rec.Refusals, x.Summary())
		}
	}
	if err != nil {
		rec.Error = err.Error()
	}
	return rec
}

// planHash is the plan's self-hash: PlanHash for a saved plan, computed the
// same way for one held in memory.
func planHash(p *diff.Plan) (string, error) {
	if p.PlanHash != "" {
		return p.PlanHash, nil
	}
	data, err := diff.MarshalPlanFile(p)
	if err != nil {
		return "", err
	}
	saved, err := diff.UnmarshalPlanFile(data)
	if err != nil {
		return "", err
	}
	return saved.PlanHash, nil
}
