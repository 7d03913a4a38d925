// Package doctor checks whether scimsync can work with a target's SCIM
// server, as `flux check --pre` checks a cluster: DNS and the connection,
// TLS, the token, discovery (/ServiceProviderConfig, /ResourceTypes,
// /Schemas), the organization extension or the need for a members export,
// the page size the server allows, the filters scimsync sends, ETags, the
// server's clock and its latency.
//
// The checks are data: Run returns a Report of one Check per row, each OK,
// a warning, failed (with the fix) or not run, and cmd/scimsync renders it.
// Nothing here prints. Every request is a GET: doctor never writes.
package doctor

import (
	"time"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
)

// Status is the outcome of one check.
type Status int

const (
	// OK: scimsync can work with what the check saw.
	OK Status = iota
	// Warn: scimsync works, with a limit or a risk worth knowing.
	Warn
	// Fail: scimsync cannot work until the fix is made.
	Fail
	// Skipped: not checked, because an earlier check failed.
	Skipped
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Warn:
		return "warning"
	case Fail:
		return "failed"
	case Skipped:
		return "not run"
	}
	return "unknown"
}

// The checks, in the order Run makes and reports them.
const (
	CheckDNS          = "DNS"
	CheckConnection   = "connection"
	CheckTLS          = "TLS"
	CheckAuth         = "auth"
	CheckSPC          = "ServiceProviderConfig"
	CheckResourceType = "ResourceTypes"
	CheckSchemas      = "Schemas"
	CheckOrgExtension = "organization extension"
	CheckPageSize     = "page size"
	CheckFilters      = "filters"
	CheckETags        = "ETags"
	CheckClock        = "clock"
	CheckLatency      = "latency"
)

// Check is one row of the report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail says what the check saw, in one line.
	Detail string `json:"detail"`
	// Fix says what to do, for a warning or a failure; it may be empty
	// when Detail already says it (an error that names its fix).
	Fix string `json:"fix,omitempty"`
}

// Report is the outcome of Run.
type Report struct {
	// URL is the base URL checked.
	URL    string  `json:"url"`
	Checks []Check `json:"checks"`
}

// Count returns the number of checks with status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// OK reports whether no check failed.
func (r *Report) OK() bool { return r.Count(Fail) == 0 }

// Options say what Run checks and how.
type Options struct {
	// Target is the spec's target, with its paths resolved
	// (tenant.SpecTarget). It must name a URL.
	Target spec.Target
	// Getenv reads the token's environment variable; os.Getenv when nil.
	Getenv func(string) string
	// Insecure turns TLS verification off (--insecure-skip-tls-verify).
	Insecure bool
	// Now is this machine's clock, which the server's Date is compared
	// with; time.Now when nil. It is the wall clock, not a pinned
	// SCIMSYNC_NOW.
	Now func() time.Time
	// Client tunes the SCIM client; Run sets its BaseURL, Token, CAFile and
	// InsecureSkipTLSVerify, and, unless set, a short retry policy.
	Client scim.Config
	// Timeout bounds each network step (resolve, connect, handshake).
	// Default 5s.
	Timeout time.Duration
	// MaxSkew is the clock difference beyond which the clock check warns.
	// Default 5m.
	MaxSkew time.Duration
	// Slow is the median request time beyond which the latency check
	// warns. Default 2s.
	Slow time.Duration
}

// Defaults of Options.
const (
	DefaultTimeout = 5 * time.Second
	DefaultMaxSkew = 5 * time.Minute
	DefaultSlow    = 2 * time.Second
	// PageProbe is the count the page-size check asks for: scimsync's
	// page size.
	PageProbe = scim.DefaultPageSize
)
