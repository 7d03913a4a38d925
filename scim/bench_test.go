package scim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scim/scimconformance"
)

// BenchmarkListUsers lists 10,000 users from a server that caps pages at
// 100 and takes 5ms per request, page by page and with the default
// concurrency, and reports requests and bytes per listing.
func BenchmarkListUsers(b *testing.B) {
	fake := scimconformance.NewFakeHandler(10000, scimconformance.Faults{PageCap: 100})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	for _, conc := range []int{1, 4} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			c, err := scim.New(scim.Config{BaseURL: srv.URL + "/scim/v2", Token: scimconformance.FakeToken, Concurrency: conc})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				users, err := c.ListUsers(context.Background())
				if err != nil || len(users) != 10000 {
					b.Fatalf("ListUsers = %d users, %v", len(users), err)
				}
			}
			req, n := c.Stats()
			b.ReportMetric(float64(req)/float64(b.N), "requests/op")
			b.ReportMetric(float64(n)/float64(b.N), "bytes/op")
		})
	}
}
