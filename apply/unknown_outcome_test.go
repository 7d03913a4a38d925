package apply

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/scimsync/scimsync/scimtest"
)

// A PATCH whose answer is lost after it was sent may have been applied: the
// step is reported and journaled as unknown, not failed, and the rerun's
// stale refusal says the outcome is unknown. One the server refused (503)
// stays failed.
func TestWriteOfUnknownOutcomeIsJournaledSo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults scimtest.Faults
		status string
	}{
		{"answer lost", scimtest.Faults{Drop: scimtest.Drop{When: scimtest.Always().Under("/Organizations/o-west"), AfterHandling: true}}, StatusUnknown},
		{"answer cut off", scimtest.Faults{Truncate: scimtest.Always().Under("/Organizations/o-west")}, StatusUnknown},
		{"refused", scimtest.Faults{Unavailable: scimtest.Always().Under("/Organizations/o-west")}, StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf := newServerFixture(t)
			p := sf.plan()
			sf.ts.SetFaults(tc.faults)
			rep, err := Run(context.Background(), p, sf.opts())
			sf.ts.SetFaults(scimtest.Faults{})
			var werr *WriteError
			if !errors.As(err, &werr) || werr.Step.Step != 2 {
				t.Fatalf("err = %v, want a *WriteError at step 2", err)
			}
			if got := rep.Steps[1].Status; got != tc.status {
				t.Errorf("step 2 status %q, want %q", got, tc.status)
			}
			entries, err := ReadJournal(sf.opts().Journal)
			if err != nil {
				t.Fatal(err)
			}
			var last JournalEntry
			for _, e := range entries {
				if e.Event == EventStep && e.Step == 2 {
					last = e
				}
			}
			if want := map[string]string{StatusUnknown: StepUnknown, StatusFailed: StepFailed}[tc.status]; last.Status != want || last.Error == "" {
				t.Errorf("journal's last line for step 2: %+v, want status %q with the error", last, want)
			}
			if tc.status != StatusUnknown {
				return
			}
			_, err = Run(context.Background(), p, sf.opts())
			var stale *StaleError
			if !errors.As(err, &stale) || !strings.Contains(stale.Note, "unknown") {
				t.Fatalf("rerun: err = %v, want a stale plan whose note says the outcome is unknown", err)
			}
		})
	}
}
