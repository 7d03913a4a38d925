package scim_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

// Listings read side by side share the client's Concurrency: the server
// never sees more requests at once than that, however many listings run.
func TestConcurrencyBoundsTheWholeClient(t *testing.T) {
	var inFlight, most atomic.Int64
	users := &pagedUsers{n: 200}
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		users.ServeHTTP(w, r)
	}), func(cfg *scim.Config) { cfg.PageSize = 10; cfg.Concurrency = 3 })

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.ListUsers(context.Background())
			if err == nil && len(got) != 200 {
				t.Errorf("listing %d: %d users, want 200", i, len(got))
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("listing %d: %v", i, err)
		}
	}
	if m := most.Load(); m > 3 || m < 2 {
		t.Errorf("the server saw up to %d requests at once; want the client's bound, 3", m)
	}
}
