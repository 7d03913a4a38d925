package apply

import (
	"context"
	"errors"

	"github.com/scimsync/scimsync/tenant"
)

// write executes the plan's steps (diff.Plan.Steps: the order is the plan's,
// computed once by diff, and is never changed here) that an earlier run did
// not do, in order, stopping at the first failure. versions holds each
// organization's If-Match for its next step; skip the steps done before, by
// number.
func (r *run) write(ctx context.Context, w tenant.Writer, versions map[string]string, skip map[int]doneStep) error {
	for i, s := range r.steps {
		res := &r.rep.Steps[i]
		if d, ok := skip[s.Num]; ok {
			res.Status = StatusSkipped
			res.IfMatch, res.Version = d.IfMatch, d.Version
			continue
		}
		res.IfMatch = versions[s.OrgID]
		if err := r.journal(JournalEntry{Event: EventStep, Step: s.Num, OrgID: s.OrgID, Org: s.Org, OpsHash: s.OpsHash, Status: StepStarted, IfMatch: res.IfMatch}); err != nil {
			return err
		}
		v, err := w.PatchOrganization(ctx, s.OrgID, res.IfMatch, s.Ops)
		if errors.Is(err, ErrNotConfirmed) {
			res.Status = StatusDryRun
			continue
		}
		if err != nil {
			status := StepFailed
			res.Status = StatusFailed
			if !writeOutcomeKnown(err) {
				res.Status, status = StatusUnknown, StepUnknown
			}
			res.Error = err.Error()
			for k := i + 1; k < len(r.steps); k++ {
				r.rep.Steps[k].Status = StatusNotRun
			}
			jerr := r.journal(JournalEntry{Event: EventStep, Step: s.Num, OrgID: s.OrgID, Org: s.Org, OpsHash: s.OpsHash, Status: status, IfMatch: res.IfMatch, Error: err.Error()})
			return errors.Join(&WriteError{Step: *res, Err: err}, jerr)
		}
		res.Status = StatusDone
		res.Version = v
		versions[s.OrgID] = v
		if err := r.journal(JournalEntry{Event: EventStep, Step: s.Num, OrgID: s.OrgID, Org: s.Org, OpsHash: s.OpsHash, Status: StepDone, IfMatch: res.IfMatch, Version: v}); err != nil {
			return err
		}
	}
	return nil
}
