package agent

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// With SCIMSYNC_NOW pinned (the command passes the pinned clock as Now),
// runs are still stamped with the wall clock and /readyz still goes stale:
// the pinned instant judges exceptions only.
func TestPinnedNowDoesNotFreezeRunsOrReadiness(t *testing.T) {
	pinned := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)
	f := newFixture(t, false, func(c *Config) {
		c.Schedule = "@every 1s"
		c.Now = func() time.Time { return pinned }
	})
	h := f.agent.Handler()
	f.agent.runOnce(context.Background())
	if code, body := get(t, h, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz after a successful run: %d %s", code, body)
	}
	st := status(t, h)
	if st.LastRun == nil || time.Since(st.LastRun.Finished).Abs() > time.Minute {
		t.Fatalf("the run is stamped %+v, not with the wall clock (%v)", st.LastRun, time.Now())
	}
	// Two scheduled intervals without a run: stale.
	time.Sleep(2200 * time.Millisecond)
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz two intervals after the last run, with the clock pinned: %d %s", code, body)
	}
}
