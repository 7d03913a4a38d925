// Package scimconformance checks that scim.Client's listings stay complete,
// or fail with scim.ErrIncompleteRead, against a given server that injects
// the faults real servers show: page caps, result sets shifting under
// writes, pages that repeat or stall, bodies cut off.
//
// A server implementation plugs in with a NewServer function that starts
// the server with the requested users and faults, and registers its
// shutdown with t.Cleanup:
//
//	func TestListing(t *testing.T) {
//		scimconformance.RunListingSuite(t, func(t *testing.T, users int, f scimconformance.Faults) (string, string) {
//			srv := httptest.NewServer(myserver.New(myserver.Seed(users), myserver.Faults(f)))
//			t.Cleanup(srv.Close)
//			return srv.URL + "/scim/v2", "test-token"
//		})
//	}
//
// A server that cannot inject a fault calls t.Skip for that case. FakeServer
// is a minimal /Users server that implements every fault; the suite runs
// against it in this package's own tests.
package scimconformance

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

// Faults are the misbehaviours a server injects into the list responses of
// GET /Users. The zero value is a correct server.
type Faults struct {
	// PageCap > 0: return at most PageCap resources per page, whatever
	// count asks for (a server page cap, as Atlassian's or AWS's).
	PageCap int
	// ChangeTotal: once the page at startIndex 1 has been served, create
	// one more user, so totalResults grows during the listing.
	ChangeTotal bool
	// Duplicate: serve a request for startIndex s > 1 from s-1, so the last
	// resource of one page is the first of the next.
	Duplicate bool
	// IgnoreStartIndex: serve every request from startIndex 1; the listing
	// never advances.
	IgnoreStartIndex bool
	// EmptyPages: pages with startIndex > 1 hold no resources although
	// totalResults says more remain.
	EmptyPages bool
	// Truncate: bodies of pages with startIndex > 1 are cut off halfway;
	// Content-Length announces the whole body and the connection closes.
	Truncate bool
}

// NewServer starts a SCIM server under test that holds users users and
// injects faults, and returns its base URL (such as
// http://127.0.0.1:4242/scim/v2) and a bearer token it accepts. Users must
// have distinct ids. It stops the server with t.Cleanup.
type NewServer func(t *testing.T, users int, faults Faults) (baseURL, token string)

// Case is one listing scenario of the suite.
type Case struct {
	Name   string
	Users  int
	Faults Faults
	// Concurrency is the client's page concurrency (0: the default).
	Concurrency int
	// PageSize is the count the client requests (0: the default).
	PageSize int
	// Incomplete: the listing must fail with scim.ErrIncompleteRead;
	// otherwise it must return exactly Users distinct users.
	Incomplete bool
	// MaxRequests > 0 bounds the requests the listing may send.
	MaxRequests int64
}

// Cases are the scenarios RunListingSuite runs.
var Cases = []Case{
	{Name: "empty", Users: 0},
	{Name: "one page", Users: 25},
	{Name: "several pages of the requested size", Users: 250, PageSize: 100},
	{Name: "page cap 7 with 1000 users", Users: 1000, Faults: Faults{PageCap: 7}, MaxRequests: 143 + 5},
	{Name: "page cap 7 read page by page", Users: 1000, Faults: Faults{PageCap: 7}, Concurrency: 1, MaxRequests: 143 + 5},
	{Name: "page cap dividing the total exactly", Users: 300, Faults: Faults{PageCap: 100}},
	{Name: "page cap 1", Users: 40, Faults: Faults{PageCap: 1}},
	{Name: "totalResults changing mid-listing", Users: 300, Faults: Faults{PageCap: 100, ChangeTotal: true}, Incomplete: true},
	{Name: "totalResults changing mid-listing page by page", Users: 300, Faults: Faults{PageCap: 100, ChangeTotal: true}, Concurrency: 1, Incomplete: true},
	{Name: "duplicate id across pages", Users: 200, Faults: Faults{PageCap: 50, Duplicate: true}, Incomplete: true},
	{Name: "duplicate id across pages page by page", Users: 200, Faults: Faults{PageCap: 50, Duplicate: true}, Concurrency: 1, Incomplete: true},
	{Name: "same page forever", Users: 100, Faults: Faults{PageCap: 10, IgnoreStartIndex: true}, Incomplete: true, MaxRequests: 10 + 5},
	{Name: "same page forever page by page", Users: 100, Faults: Faults{PageCap: 10, IgnoreStartIndex: true}, Concurrency: 1, Incomplete: true, MaxRequests: 5},
	{Name: "pages making no progress", Users: 100, Faults: Faults{PageCap: 10, EmptyPages: true}, Incomplete: true, MaxRequests: 10 + 5},
	{Name: "pages making no progress page by page", Users: 100, Faults: Faults{PageCap: 10, EmptyPages: true}, Concurrency: 1, Incomplete: true, MaxRequests: 5},
	{Name: "truncated body", Users: 100, Faults: Faults{PageCap: 10, Truncate: true}, Incomplete: true},
}

// Options adapt the suite to a server.
type Options struct {
	// MaxUsers > 0 caps the users of every case, for servers whose cost per
	// page grows with the collection (SCIMMY formats every resource on
	// every page request). MaxRequests bounds shrink in proportion.
	MaxUsers int
}

// RunListingSuite runs every Case against servers from newServer, each as a
// subtest. The client retries quickly (milliseconds), so the suite takes
// seconds.
func RunListingSuite(t *testing.T, newServer NewServer) {
	t.Helper()
	RunListingSuiteWith(t, newServer, Options{})
}

// RunListingSuiteWith is RunListingSuite with options.
func RunListingSuiteWith(t *testing.T, newServer NewServer, opts Options) {
	t.Helper()
	for _, tc := range Cases {
		if opts.MaxUsers > 0 && tc.Users > opts.MaxUsers {
			if tc.MaxRequests > 0 {
				tc.MaxRequests = 5 + (tc.MaxRequests*int64(opts.MaxUsers)+int64(tc.Users)-1)/int64(tc.Users)
			}
			tc.Users = opts.MaxUsers
		}
		t.Run(tc.Name, func(t *testing.T) {
			RunCase(t, newServer, tc)
		})
	}
}

// RunCase runs one Case.
func RunCase(t *testing.T, newServer NewServer, tc Case) {
	t.Helper()
	baseURL, token := newServer(t, tc.Users, tc.Faults)
	c, err := scim.New(scim.Config{
		BaseURL:      baseURL,
		Token:        token,
		Concurrency:  tc.Concurrency,
		PageSize:     tc.PageSize,
		MaxRetries:   2,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("scim.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	users, err := c.ListUsers(ctx)
	requests, _ := c.Stats()
	t.Logf("%d users, %d requests, error: %v", len(users), requests, err)
	if tc.MaxRequests > 0 && requests > tc.MaxRequests {
		t.Errorf("the listing sent %d requests, want at most %d", requests, tc.MaxRequests)
	}
	if tc.Incomplete {
		if err == nil {
			t.Fatalf("ListUsers returned %d users and no error; want an error matching scim.ErrIncompleteRead", len(users))
		}
		if !errors.Is(err, scim.ErrIncompleteRead) {
			t.Fatalf("ListUsers error %q does not match scim.ErrIncompleteRead", err)
		}
		if users != nil {
			t.Errorf("ListUsers returned %d users along with its error", len(users))
		}
		return
	}
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if err := checkDistinct(users, tc.Users); err != nil {
		t.Fatal(err)
	}
}

func checkDistinct(users []scim.User, want int) error {
	if len(users) != want {
		return fmt.Errorf("ListUsers returned %d users, want %d", len(users), want)
	}
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		if u.ID == "" || u.UserName == "" {
			return fmt.Errorf("ListUsers returned a user without id or userName: %+v", u)
		}
		if seen[u.ID] {
			return fmt.Errorf("ListUsers returned id %q twice", u.ID)
		}
		seen[u.ID] = true
	}
	return nil
}
