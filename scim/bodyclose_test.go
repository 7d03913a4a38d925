package scim_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

// closeCounter counts the response bodies its transport hands out and
// those closed.
type closeCounter struct {
	next           http.RoundTripper
	opened, closed atomic.Int64
}

func (c *closeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if resp != nil && resp.Body != nil {
		c.opened.Add(1)
		resp.Body = &countedBody{ReadCloser: resp.Body, c: c}
	}
	return resp, err
}

type countedBody struct {
	io.ReadCloser
	c    *closeCounter
	done atomic.Bool
}

func (b *countedBody) Close() error {
	if b.done.CompareAndSwap(false, true) {
		b.c.closed.Add(1)
	}
	return b.ReadCloser.Close()
}

// TestResponseBodiesClosed checks that every response body is closed once
// read. An unclosed body keeps the attempt's deadline (http.Client.Timeout)
// armed, and with it the request's context and the body the client read:
// a tenant's pages stayed in memory until the timeout fired.
func TestResponseBodiesClosed(t *testing.T) {
	h := &pagedUsers{n: 25, pageLen: func(_, count int) int { return min(count, 10) }}
	cc := &closeCounter{next: http.DefaultTransport}
	c, _ := setup(t, h, func(cfg *scim.Config) {
		cfg.HTTPClient = &http.Client{Transport: cc}
		cfg.Concurrency = 2
	})
	if _, err := c.ListUsers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cc.opened.Load() == 0 || cc.closed.Load() != cc.opened.Load() {
		t.Errorf("%d response bodies, %d closed", cc.opened.Load(), cc.closed.Load())
	}
}
