package scim

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// ProbeResult is one raw answer, for diagnostics (scimsync doctor).
type ProbeResult struct {
	Status int
	Header http.Header // with the token redacted
	Body   []byte      // with the token redacted
	// TLS is the connection's TLS state; nil over plain http.
	TLS *tls.ConnectionState
	// Duration runs from sending the request (the first attempt) to the
	// last byte of the answer.
	Duration time.Duration
}

// Probe sends one GET of endpoint, a path below the base URL such as
// "/Users", with query and more headers (Authorization cannot be
// replaced), with the client's retry policy, and returns a 2xx answer
// unparsed. Any other status fails as every other method does: an *Error,
// or a *TargetError when it calls for a fix (a 304 is an *Error of status
// 304). Probe never writes: it sends GET only.
func (c *Client) Probe(ctx context.Context, endpoint string, query url.Values, header http.Header) (*ProbeResult, error) {
	if endpoint == "" || endpoint[0] != '/' {
		return nil, fmt.Errorf("probing %q: the endpoint must start with /", endpoint)
	}
	start := time.Now()
	resp, err := c.do(ctx, request{method: http.MethodGet, endpoint: endpoint, query: query, header: header})
	if err != nil {
		return nil, err
	}
	return &ProbeResult{Status: resp.status, Header: resp.header, Body: resp.body, TLS: resp.tls, Duration: time.Since(start)}, nil
}
