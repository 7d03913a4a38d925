package scim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

const (
	testToken = "tok-3f9a1c7e5b2d4a6f8e0c"
	basePath  = "/scim/v2"
)

// setup starts a server whose SCIM endpoints, served by h with the base path
// stripped, live under /scim/v2; a request outside it fails the test. The
// client retries in milliseconds.
func setup(t *testing.T, h http.Handler, opts ...func(*scim.Config)) (*scim.Client, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(basePath+"/", http.StripPrefix(basePath, h))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base path: %s %s", r.Method, r.URL.Path)
		http.Error(w, "outside the base path", http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := scim.Config{
		BaseURL:      srv.URL + basePath + "/",
		Token:        testToken,
		MaxRetries:   3,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 10 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := scim.New(cfg)
	if err != nil {
		t.Fatalf("scim.New: %v", err)
	}
	return c, srv
}

// authorized fails the request with 401 unless it carries the test token.
func authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		scimError(w, http.StatusUnauthorized, "", "bad token")
		return false
	}
	return true
}

func scimError(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"schemas": []string{scim.SchemaError}, "status": strconv.Itoa(status),
		"scimType": scimType, "detail": detail,
	})
}

// answerProbe answers the request a listing held whole by its first page
// sends past its end (startIndex beyond it, count 1, only ids) with an
// empty page, and reports whether r was one: for the tests of a handler
// that serves the same response to every request.
func answerProbe(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if q.Get("startIndex") == "" || q.Get("startIndex") == "1" || q.Get("count") != "1" || q.Get("attributes") != "id" {
		return false
	}
	writeJSON(w, map[string]any{"totalResults": 0, "Resources": []any{}})
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	json.NewEncoder(w).Encode(v)
}

// pagedUsers serves n users (ids u001…) with index paging; pageLen decides
// how many resources the page at startIndex holds at most.
type pagedUsers struct {
	n       int
	total   func(start int) int // totalResults to announce (-1: the page's length); nil: n
	pageLen func(start, count int) int
	// ignoreStart serves every page from the first resource on.
	ignoreStart bool
	requests    atomic.Int64
	firstQ      atomic.Value // url.Values of the first request
	lastQ       atomic.Value // url.Values of the last request
}

func (p *pagedUsers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !authorized(w, r) {
		return
	}
	p.requests.Add(1)
	p.firstQ.CompareAndSwap(nil, r.URL.Query())
	p.lastQ.Store(r.URL.Query())
	start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
	count, _ := strconv.Atoi(r.URL.Query().Get("count"))
	start = max(start, 1)
	if p.ignoreStart {
		start = 1
	}
	size := count
	if p.pageLen != nil {
		size = p.pageLen(start, count)
	}
	var res []scim.User
	for i := start; i < start+size && i <= p.n; i++ {
		res = append(res, scim.User{ID: fmt.Sprintf("u%03d", i), UserName: fmt.Sprintf("user%03d@example.gov", i), Active: true})
	}
	total := p.n
	if p.total != nil {
		if total = p.total(start); total < 0 {
			total = len(res)
		}
	}
	writeJSON(w, scim.ListResponse[scim.User]{Schemas: []string{scim.SchemaListResponse},
		TotalResults: total, StartIndex: start, ItemsPerPage: count, Resources: res})
}
