package scimtest

import (
	"strings"
	"time"
)

// Trigger selects the requests a fault hits. Requests are counted per fault,
// from 1, among those it applies to: requests under Path, and for the
// listing faults only list requests (ShiftTotal, DuplicateIDs and EmptyPages:
// only pages after the first). A request is hit when any of the set conditions holds;
// the zero Trigger hits nothing.
type Trigger struct {
	// Path restricts the fault to requests whose path below the base path
	// starts with it, such as "/Users". Empty means every path.
	Path string
	// LaterPages restricts the fault to list requests for a page after the
	// first (startIndex > 1).
	LaterPages bool
	// Always hits every counted request.
	Always bool
	// First hits the first First counted requests (then the server answers
	// normally): "3× 503, then OK".
	First int
	// At hits the At-th counted request only.
	At int
	// Every hits every Every-th counted request.
	Every int
}

// Always returns a Trigger hitting every request.
func Always() Trigger { return Trigger{Always: true} }

// First returns a Trigger hitting the first n requests.
func First(n int) Trigger { return Trigger{First: n} }

// At returns a Trigger hitting the k-th request.
func At(k int) Trigger { return Trigger{At: k} }

// Every returns a Trigger hitting every n-th request.
func Every(n int) Trigger { return Trigger{Every: n} }

// Under returns t restricted to paths starting with prefix ("/Users").
func (t Trigger) Under(prefix string) Trigger { t.Path = prefix; return t }

func (t Trigger) enabled() bool { return t.Always || t.First > 0 || t.At > 0 || t.Every > 0 }

// OnLaterPages returns t restricted to list pages after the first.
func (t Trigger) OnLaterPages() Trigger { t.LaterPages = true; return t }

func (t Trigger) covers(ri reqInfo) bool {
	if t.LaterPages && !ri.laterPage {
		return false
	}
	if t.Path == "" {
		return true
	}
	p := "/" + strings.Trim(t.Path, "/")
	return ri.rel == p || strings.HasPrefix(ri.rel, p+"/")
}

// reqInfo is what triggers look at in a request.
type reqInfo struct {
	rel       string // path below the base path
	laterPage bool   // a list request with startIndex > 1
}

func (t Trigger) hits(n int) bool {
	return t.Always || (t.First > 0 && n <= t.First) || (t.At > 0 && n == t.At) || (t.Every > 0 && n%t.Every == 0)
}

// Faults are failures the server injects, for testing clients. Each is off
// unless its Trigger (When) selects requests. Faults are applied after
// authentication, in this order: latency; then a dropped connection
// (before handling), 503 or 429 instead of an answer; then the request is
// handled (the listing faults shape list responses); then a dropped
// connection (after handling), an oversized, deeply nested, truncated or
// slowly dribbled body.
type Faults struct {
	// Latency delays each hit request by Delay before it is handled.
	Latency Latency
	// Unavailable answers 503 Service Unavailable, a SCIM error body.
	Unavailable Trigger
	// RateLimit answers 429 Too Many Requests with Retry-After.
	RateLimit RateLimit
	// Drop closes the connection without an answer.
	Drop Drop
	// Truncate declares the full Content-Length but sends half the body,
	// then closes the connection.
	Truncate Trigger
	// ShiftTotal adds By to totalResults on list pages after the first, as
	// if resources were created during the listing.
	ShiftTotal ShiftTotal
	// DuplicateIDs makes a list page after the first start with the last
	// resource of the page before it (which one it displaces is lost).
	DuplicateIDs Trigger
	// EndlessPage answers every list request with the first page, whatever
	// its startIndex, and a totalResults always beyond it.
	EndlessPage Trigger
	// EmptyPages answers list pages after the first with no resources,
	// although totalResults says more remain.
	EmptyPages Trigger
	// Oversize pads a response body with whitespace to Bytes bytes (valid
	// JSON, but more than a careful client reads).
	Oversize Oversize
	// DeepNesting adds an attribute to a response body holding Depth nested
	// arrays.
	DeepNesting DeepNesting
	// SlowLoris sends a response body Chunk bytes at a time, Interval apart.
	SlowLoris SlowLoris
}

// Latency delays requests.
type Latency struct {
	When  Trigger
	Delay time.Duration
}

// RateLimit answers 429. RetryAfter is sent in whole seconds (at least 0).
type RateLimit struct {
	When       Trigger
	RetryAfter time.Duration
}

// Drop closes connections. AfterHandling handles the request first (a write
// takes effect; its answer is lost); otherwise the request is not handled.
type Drop struct {
	When          Trigger
	AfterHandling bool
}

// ShiftTotal shifts totalResults. By 0 means 1.
type ShiftTotal struct {
	When Trigger
	By   int
}

// Oversize pads bodies. Bytes 0 means 8 MiB.
type Oversize struct {
	When  Trigger
	Bytes int
}

// DeepNesting nests arrays. Depth 0 means 100000 (encoding/json refuses
// more than 10000).
type DeepNesting struct {
	When  Trigger
	Depth int
}

// SlowLoris dribbles bodies. Chunk 0 means 1 byte; Interval 0 means 50ms.
type SlowLoris struct {
	When     Trigger
	Chunk    int
	Interval time.Duration
}

// Fault names, the keys of Stats.Faults.
const (
	FaultLatency      = "latency"
	FaultPageCap      = "pageCap"
	FaultUnavailable  = "unavailable"
	FaultRateLimit    = "rateLimit"
	FaultDrop         = "drop"
	FaultTruncate     = "truncate"
	FaultShiftTotal   = "shiftTotal"
	FaultDuplicateIDs = "duplicateIDs"
	FaultEndlessPage  = "endlessPage"
	FaultEmptyPages   = "emptyPages"
	FaultOversize     = "oversize"
	FaultDeepNesting  = "deepNesting"
	FaultSlowLoris    = "slowLoris"
)

func (f *Faults) trigger(name string) Trigger {
	switch name {
	case FaultLatency:
		return f.Latency.When
	case FaultUnavailable:
		return f.Unavailable
	case FaultRateLimit:
		return f.RateLimit.When
	case FaultDrop:
		return f.Drop.When
	case FaultTruncate:
		return f.Truncate
	case FaultShiftTotal:
		return f.ShiftTotal.When
	case FaultDuplicateIDs:
		return f.DuplicateIDs
	case FaultEndlessPage:
		return f.EndlessPage
	case FaultEmptyPages:
		return f.EmptyPages
	case FaultOversize:
		return f.Oversize.When
	case FaultDeepNesting:
		return f.DeepNesting.When
	case FaultSlowLoris:
		return f.SlowLoris.When
	}
	return Trigger{}
}

// Stats counts what the server has seen since it started or since
// ResetStats.
type Stats struct {
	// Requests counts every request under the base path, and Endpoints the
	// requests per endpoint ("/Users", "/Members", …; "" for others).
	Requests  int
	Endpoints map[string]int
	// BytesIn counts request body bytes read; BytesOut response body bytes
	// written.
	BytesIn  int64
	BytesOut int64
	// Faults counts the faults injected, by name (FaultLatency, …).
	// FaultPageCap counts list responses the page cap shortened.
	Faults map[string]int
}
