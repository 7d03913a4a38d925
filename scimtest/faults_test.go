package scimtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/scim"
)

// raw sends a GET (or, with a body, a PATCH) on a fresh connection, so
// that net/http does not silently retry a dropped request, and reads the
// whole body.
func (ts *TestServer) raw(t *testing.T, path string, body any) (*http.Response, []byte, error) {
	t.Helper()
	method, rd := "GET", io.Reader(nil)
	if body != nil {
		j, _ := json.Marshal(body)
		method, rd = "PATCH", bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ts.Token)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func (ts *TestServer) wantFaults(t *testing.T, name string, n int) {
	t.Helper()
	if got := ts.Stats().Faults[name]; got != n {
		t.Errorf("Stats().Faults[%s] = %d, want %d", name, got, n)
	}
}

func TestFaultLatency(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{Latency: Latency{When: Always().Under("/Users"), Delay: 40 * time.Millisecond}}})
	start := time.Now()
	ts.call(t, "GET", "/Users", nil).want(t, 200)
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("GET /Users took %v with 40ms latency", d)
	}
	ts.call(t, "GET", "/Groups", nil).want(t, 200)
	ts.wantFaults(t, FaultLatency, 1)
}

func TestFaultPageCap(t *testing.T) {
	ts := newFixtureServer(t, Options{PageCap: 3})
	if got := ts.call(t, "GET", "/Users?count=100", nil).want(t, 200).ids(); len(got) != 3 {
		t.Errorf("page of %d with a cap of 3", len(got))
	}
	ts.call(t, "GET", "/Users?count=2", nil).want(t, 200)               // under the cap
	ts.call(t, "GET", "/Users?startIndex=4&count=10", nil).want(t, 200) // only 2 left
	ts.call(t, "GET", "/Groups", nil).want(t, 200)                      // 5 groups, no count
	ts.wantFaults(t, FaultPageCap, 2)
}

func TestFaultUnavailable(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{Unavailable: First(2).Under("/Users")}})
	ts.call(t, "GET", "/Groups", nil).want(t, 200)
	ts.call(t, "GET", "/Users", nil).want(t, 503)
	ts.call(t, "GET", "/Users/u-bob", nil).want(t, 503)
	ts.call(t, "GET", "/Users", nil).want(t, 200)
	ts.wantFaults(t, FaultUnavailable, 2)
}

func TestFaultRateLimit(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{RateLimit: RateLimit{When: First(1), RetryAfter: 3 * time.Second}}})
	r := ts.call(t, "GET", "/Users", nil).want(t, 429)
	if got := r.header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3", got)
	}
	ts.call(t, "GET", "/Users", nil).want(t, 200)
	ts.wantFaults(t, FaultRateLimit, 1)
}

func TestFaultDrop(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{Drop: Drop{When: At(2)}}})
	for i := 1; i <= 3; i++ {
		_, _, err := ts.raw(t, "/Users", nil)
		if (err != nil) != (i == 2) {
			t.Errorf("request %d: error %v", i, err)
		}
	}
	ts.wantFaults(t, FaultDrop, 1)

	// Before handling, a dropped write does not happen; after handling it
	// does, and only its answer is lost.
	for _, after := range []bool{false, true} {
		ts := newFixtureServer(t, Options{Faults: Faults{Drop: Drop{When: Always().Under("/Users/u-bob"), AfterHandling: after}}})
		_, _, err := ts.raw(t, "/Users/u-bob", patchBody(op("replace", "displayName", "dropped")))
		if err == nil {
			t.Fatalf("AfterHandling %v: the PATCH got an answer", after)
		}
		ts.SetFaults(Faults{})
		got := ts.call(t, "GET", "/Users/u-bob", nil).want(t, 200).str("displayName")
		if (got == "dropped") != after {
			t.Errorf("AfterHandling %v: displayName %q after the dropped PATCH", after, got)
		}
	}
}

func TestFaultTruncate(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{Truncate: Always().OnLaterPages()}})
	if _, _, err := ts.raw(t, "/Users?count=2", nil); err != nil {
		t.Fatalf("the first page: %v", err)
	}
	resp, body, err := ts.raw(t, "/Users?startIndex=3&count=2", nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a truncated body: %v, want unexpected EOF", err)
	}
	if n, _ := strconv.Atoi(resp.Header.Get("Content-Length")); len(body) == 0 || len(body) >= n {
		t.Errorf("got %d bytes of a declared %d", len(body), n)
	}
	ts.wantFaults(t, FaultTruncate, 1)
}

func TestFaultShiftTotal(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{ShiftTotal: ShiftTotal{When: Always(), By: 2}}})
	if got := ts.call(t, "GET", "/Users?count=2", nil).want(t, 200).total(); got != 5 {
		t.Errorf("first page totalResults %d, want 5", got)
	}
	for _, start := range []string{"3", "5"} {
		if got := ts.call(t, "GET", "/Users?count=2&startIndex="+start, nil).want(t, 200).total(); got != 7 {
			t.Errorf("page at %s: totalResults %d, want 7", start, got)
		}
	}
	ts.wantFaults(t, FaultShiftTotal, 2)
}

func TestFaultDuplicateIDs(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{DuplicateIDs: Always().Under("/Users")}})
	var got []string
	for _, start := range []string{"1", "3", "5"} {
		got = append(got, ts.call(t, "GET", "/Users?count=2&startIndex="+start, nil).want(t, 200).ids()...)
	}
	if diff := cmp.Diff([]string{"u-alice", "u-bob", "u-bob", "u-dan", "u-dan"}, got); diff != "" {
		t.Errorf("ids over three pages (-want +got):\n%s", diff)
	}
	ts.wantFaults(t, FaultDuplicateIDs, 2)
}

func TestFaultEndlessPage(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{EndlessPage: Always()}})
	first := ts.call(t, "GET", "/Users?count=2", nil).want(t, 200).ids()
	for _, start := range []int{3, 5, 101} {
		r := ts.call(t, "GET", "/Users?count=2&startIndex="+strconv.Itoa(start), nil).want(t, 200)
		if diff := cmp.Diff(first, r.ids()); diff != "" {
			t.Errorf("page at %d differs from the first:\n%s", start, diff)
		}
		if r.total() < start+2 {
			t.Errorf("page at %d: totalResults %d says the listing is over", start, r.total())
		}
	}
	ts.wantFaults(t, FaultEndlessPage, 4)
}

func TestFaultEmptyPages(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{EmptyPages: Always()}})
	if got := ts.call(t, "GET", "/Users?count=2", nil).want(t, 200).ids(); len(got) != 2 {
		t.Errorf("first page %v", got)
	}
	r := ts.call(t, "GET", "/Users?count=2&startIndex=3", nil).want(t, 200)
	if len(r.ids()) != 0 || r.total() != 5 {
		t.Errorf("second page: %s", r.raw)
	}
	ts.wantFaults(t, FaultEmptyPages, 1)
}

func TestFaultOversize(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{Oversize: Oversize{When: At(2), Bytes: 1 << 20}}})
	_, normal, err := ts.raw(t, "/Users/u-bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, big, err := ts.raw(t, "/Users/u-bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(big) != 1<<20 || resp.Header.Get("Content-Length") != strconv.Itoa(1<<20) {
		t.Fatalf("oversized body of %d bytes, Content-Length %s", len(big), resp.Header.Get("Content-Length"))
	}
	var a, b any
	if err := json.Unmarshal(normal, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(big, &b); err != nil {
		t.Fatalf("the padded body is not JSON: %v", err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("padding changed the content:\n%s", diff)
	}
	ts.wantFaults(t, FaultOversize, 1)
}

func TestFaultDeepNesting(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{DeepNesting: DeepNesting{When: Always().Under("/Members"), Depth: 20000}}})
	_, body, err := ts.raw(t, "/Members", nil)
	if err != nil {
		t.Fatal(err)
	}
	var lr scim.ListResponse[scim.Member]
	if err := json.Unmarshal(body, &lr); err == nil || !strings.Contains(err.Error(), "depth") {
		t.Errorf("decoding a deeply nested body: %v, want a depth error", err)
	}
	if n := bytes.Count(body, []byte("[")); n < 20000 {
		t.Errorf("body nests %d arrays", n)
	}
	// Shallower nesting is still valid JSON with the resource intact.
	ts.SetFaults(Faults{DeepNesting: DeepNesting{When: Always(), Depth: 50}})
	_, body, err = ts.raw(t, "/Members", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &lr); err != nil || lr.TotalResults != 8 {
		t.Errorf("decoding 50 levels: %v, totalResults %d", err, lr.TotalResults)
	}
	ts.wantFaults(t, FaultDeepNesting, 2)
}

func TestFaultSlowLoris(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{SlowLoris: SlowLoris{When: Always(), Chunk: 64, Interval: 5 * time.Millisecond}}})
	start := time.Now()
	_, body, err := ts.raw(t, "/Users/u-bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	chunks := (len(body) + 63) / 64
	if d := time.Since(start); d < time.Duration(chunks-1)*5*time.Millisecond {
		t.Errorf("%d chunks came in %v", chunks, d)
	}
	var u scim.User
	if err := json.Unmarshal(body, &u); err != nil || u.ID != "u-bob" {
		t.Errorf("dribbled body: %v %+v", err, u)
	}
	// A client with a deadline gives up.
	ts.SetFaults(Faults{SlowLoris: SlowLoris{When: Always(), Chunk: 1, Interval: 20 * time.Millisecond}})
	req, _ := http.NewRequest("GET", ts.URL+"/Users", nil)
	req.Header.Set("Authorization", "Bearer "+ts.Token)
	c := &http.Client{Timeout: 100 * time.Millisecond}
	resp, err := c.Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Errorf("a 100ms client read a body dribbled a byte per 20ms")
	}
	ts.wantFaults(t, FaultSlowLoris, 2)
}

func TestTriggers(t *testing.T) {
	paths := []string{"/Users", "/Groups", "/Users?startIndex=2", "/Users/u-bob", "/Users", "/Users?startIndex=3", "/Users"}
	cases := []struct {
		name string
		tr   Trigger
		want []int // positions (from 1) that get 503
	}{
		{"zero", Trigger{}, nil},
		{"always", Always(), []int{1, 2, 3, 4, 5, 6, 7}},
		{"first 2", First(2), []int{1, 2}},
		{"at 3", At(3), []int{3}},
		{"every 3", Every(3), []int{3, 6}},
		{"under /Users", Always().Under("/Users"), []int{1, 3, 4, 5, 6, 7}},
		{"under /Users/, second and later", Every(2).Under("/Users/"), []int{3, 5, 7}},
		{"under /Users/u-bob", Always().Under("/Users/u-bob"), []int{4}},
		{"under /Use matches no endpoint", Always().Under("/Use"), nil},
		{"later pages", Always().OnLaterPages(), []int{3, 6}},
		{"later pages, at 2", At(2).OnLaterPages(), []int{6}},
		{"first 1 or every 3", Trigger{First: 1, Every: 3}, []int{1, 3, 6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newFixtureServer(t, Options{Faults: Faults{Unavailable: c.tr}})
			var got []int
			for i, p := range paths {
				if r := ts.call(t, "GET", p, nil); r.status == 503 {
					got = append(got, i+1)
				} else {
					r.want(t, 200)
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("503s at (-want +got):\n%s", diff)
			}
			ts.wantFaults(t, FaultUnavailable, len(c.want))
		})
	}
}

func TestSetFaultsRestartsCounts(t *testing.T) {
	ts := newFixtureServer(t, Options{Faults: Faults{Unavailable: At(2)}})
	ts.call(t, "GET", "/Users", nil).want(t, 200)
	ts.SetFaults(Faults{Unavailable: At(2)})
	ts.call(t, "GET", "/Users", nil).want(t, 200)
	ts.call(t, "GET", "/Users", nil).want(t, 503)
	ts.wantFaults(t, FaultUnavailable, 1)
	ts.ResetStats()
	if s := ts.Stats(); s.Requests != 0 || len(s.Faults) != 0 || s.BytesOut != 0 {
		t.Errorf("after ResetStats: %+v", s)
	}
}

func TestStats(t *testing.T) {
	ts := newFixtureServer(t, Options{})
	ts.callAs(t, "", "GET", "/Users", nil).want(t, 401)
	a := ts.call(t, "GET", "/Users", nil).want(t, 200)
	b := ts.call(t, "GET", "/Members/m-bob", nil).want(t, 200)
	body := patchBody(op("replace", "displayName", "B"))
	j, _ := json.Marshal(body)
	c := ts.call(t, "PATCH", "/Users/u-bob", body).want(t, 200)
	s := ts.Stats()
	want := Stats{
		Requests:  4,
		Endpoints: map[string]int{"/Users": 3, "/Members": 1},
		BytesIn:   int64(len(j)),
		Faults:    map[string]int{},
	}
	got := s
	got.BytesOut = 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if min := int64(len(a.raw) + len(b.raw) + len(c.raw)); s.BytesOut <= min {
		t.Errorf("BytesOut %d, want more than the %d bytes of the three answers", s.BytesOut, min)
	}
}
