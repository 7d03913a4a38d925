package apply

import (
	"context"
	"fmt"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// UnconfirmedWriteError is a write the server answered with success but
// without a new version of the organization: no version, or the If-Match
// it was sent. Such an answer (a 200 carrying a SCIM error body, a proxy's
// page) does not show that the write was applied, nor that it was not: its
// outcome is unknown, and it is journaled so (DESIGN §7).
type UnconfirmedWriteError struct {
	OrgID   string
	IfMatch string
	Version string
}

func (e *UnconfirmedWriteError) Error() string {
	got := "no version"
	if e.Version != "" {
		got = "the same version " + e.Version
	}
	return fmt.Sprintf("PATCH /Organizations/%s with If-Match %s: the server answered success with %s, not the updated organization: whether it applied the write is unknown", e.OrgID, e.IfMatch, got)
}

// answerCheck passes writes to w and turns an answer without a new version
// into an *UnconfirmedWriteError.
type answerCheck struct{ w tenant.Writer }

// checkAnswers wraps w in an answerCheck; nil stays nil.
func checkAnswers(w tenant.Writer) tenant.Writer {
	if w == nil {
		return nil
	}
	return answerCheck{w}
}

func (a answerCheck) PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (string, error) {
	v, err := a.w.PatchOrganization(ctx, id, version, ops)
	if err != nil {
		return v, err
	}
	if v == "" || v == version {
		return "", &UnconfirmedWriteError{OrgID: id, IfMatch: version, Version: v}
	}
	return v, nil
}
