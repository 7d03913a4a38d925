package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// The server process: bench re-executes itself with -serve, so that the
// reference server's memory and CPU are not the plan's. It generates the
// tier from the seed, serves it under basePath with the latency and page
// cap asked for, prints "URL <base URL>" on stdout once it listens, and
// answers three control requests outside the base path (no latency, no
// token):
//
//	GET  /_bench/info   serverInfo: the tenant's counts, lists and specs
//	GET  /_bench/stats  serverStats: the server's counters and the requests
//	                    made since the last reset
//	POST /_bench/reset  zero the counters
//
// It stops on SIGTERM or SIGINT.

const basePath = "/scim/v2"

// serverInfo describes the tenant the server holds.
type serverInfo struct {
	Tier        string  `json:"tier"`
	Seed        int64   `json:"seed"`
	Users       int     `json:"users"`
	Groups      int     `json:"groups"`
	Memberships int     `json:"memberships"`
	Members     int     `json:"members"`
	GenerateSec float64 `json:"generate_seconds"`
	// Lists are the listings a plan reads, with the pages each takes at
	// the server's page cap (or the client's page size, when smaller).
	Lists []listInfo `json:"lists"`
	// GroupReads is the number of groups whose members a plan reads: the
	// mapped ones and those nested in them.
	GroupReads int `json:"group_reads"`
	// Converged is the spec of the tenant as it is (no changes), Changed
	// gen.WithChanges of it; both without a target.
	Converged string `json:"converged_spec"`
	Changed   string `json:"changed_spec"`
}

type listInfo struct {
	Endpoint string `json:"endpoint"`
	Filter   string `json:"filter,omitempty"`
	Total    int    `json:"total"`
	Pages    int    `json:"pages"`
}

// serverStats are the server's counters since the last reset.
type serverStats struct {
	scimtest.Stats
	// Requests lists "METHOD path?query" of every request, in arrival
	// order.
	RequestLines []string `json:"request_lines"`
	// PeakRSS is the server process's peak resident set (VmHWM), bytes.
	PeakRSS int64 `json:"peak_rss"`
}

type serveOptions struct {
	tier       gen.Tier
	seed       int64
	latency    time.Duration
	pageCap    int
	cpuprofile string
}

func runServe(o serveOptions) error {
	token := os.Getenv(tokenEnv)
	if token == "" {
		return fmt.Errorf("serve: %s is not set", tokenEnv)
	}
	start := time.Now()
	snap, err := gen.Generate(o.tier.Params(), o.seed)
	if err != nil {
		return err
	}
	info, err := describe(snap, o)
	if err != nil {
		return err
	}
	info.GenerateSec = time.Since(start).Seconds()
	opts := scimtest.Options{BasePath: basePath, Token: token, PageCap: o.pageCap}
	if o.latency > 0 {
		opts.Faults.Latency = scimtest.Latency{When: scimtest.Always(), Delay: o.latency}
	}
	srv, err := scimtest.New(snap, opts)
	if err != nil {
		return err
	}
	snap = nil // the server holds its own copy
	warmUp(srv, token, info)
	srv.ResetStats()
	runtime.GC()

	rec := &recorder{next: srv}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_bench/info", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, info) })
	mux.HandleFunc("GET /_bench/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, serverStats{Stats: srv.Stats(), RequestLines: rec.lines(), PeakRSS: vmHWM(os.Getpid())})
	})
	mux.HandleFunc("POST /_bench/reset", func(w http.ResponseWriter, r *http.Request) {
		srv.ResetStats()
		rec.reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.Handle(basePath+"/", rec)

	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: time.Minute}
	fmt.Printf("URL http://%s%s\n", ln.Addr(), basePath)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case <-stop:
		hs.Close()
		return nil
	case err := <-errc:
		return err
	}
}

// warmUp asks the server for the first page of every filtered listing a
// plan reads, so that its caches (resources' JSON form, filter results) are
// built before the first run rather than during it, which would charge
// the first run, not the floor.
func warmUp(srv *scimtest.Server, token string, info serverInfo) {
	for _, l := range info.Lists {
		if l.Filter == "" {
			continue
		}
		r := httptest.NewRequest(http.MethodGet, basePath+l.Endpoint+"?count=1&filter="+url.QueryEscape(l.Filter), nil)
		r.Header.Set("Authorization", "Bearer "+token)
		srv.ServeHTTP(httptest.NewRecorder(), r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// describe lists what a plan of snap reads and writes its two specs.
func describe(snap *tenant.Snapshot, o serveOptions) (serverInfo, error) {
	info := serverInfo{Tier: string(o.tier), Seed: o.seed, Users: len(snap.Users), Groups: len(snap.Groups), Members: len(snap.Members)}
	for _, g := range snap.Groups {
		info.Memberships += len(g.Members)
	}
	page := scim.DefaultPageSize
	if o.pageCap > 0 {
		page = min(page, o.pageCap)
	}
	// A listing one page holds whole takes one request more: the one for
	// a resource past its end, which checks that totalResults counts the
	// list, not the page (scim's probeEnd).
	pages := func(n int) int {
		if n > 0 && n <= page {
			return 2
		}
		return max(1, (n+page-1)/page)
	}
	info.Lists = []listInfo{
		{Endpoint: "/Users", Total: len(snap.Users), Pages: pages(len(snap.Users))},
		{Endpoint: "/Groups", Total: len(snap.Groups), Pages: pages(len(snap.Groups))},
		{Endpoint: "/Organizations", Total: len(snap.Organizations), Pages: pages(len(snap.Organizations))},
	}
	// The members in all, counted from one page of the unfiltered listing
	// (tenant's cross-check of the organizations' listings).
	info.Lists = append(info.Lists, listInfo{Endpoint: "/Members", Total: len(snap.Members), Pages: 1})
	perOrg := map[string]int{}
	for _, m := range snap.Members {
		perOrg[m.Organization]++
	}
	byID := map[string]*scim.Group{}
	for i := range snap.Groups {
		byID[snap.Groups[i].ID] = &snap.Groups[i]
	}
	read := map[string]bool{}
	var queue []string
	for _, org := range snap.Organizations {
		if org.Parent == "" {
			continue
		}
		f := scim.Filter("organization", "eq", org.ID)
		info.Lists = append(info.Lists, listInfo{Endpoint: "/Members", Filter: f, Total: perOrg[org.ID], Pages: pages(perOrg[org.ID])})
		for _, m := range org.Mappings {
			queue = append(queue, m.Group)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if read[id] || byID[id] == nil {
			continue
		}
		read[id] = true
		for _, m := range byID[id].Members {
			if strings.EqualFold(m.Type, "Group") {
				queue = append(queue, m.Value)
			}
		}
	}
	info.GroupReads = len(read)

	s, err := gen.Spec(snap)
	if err != nil {
		return info, err
	}
	y, err := yaml.Marshal(s)
	if err != nil {
		return info, err
	}
	info.Converged = string(y)
	gen.WithChanges(s)
	if y, err = yaml.Marshal(s); err != nil {
		return info, err
	}
	info.Changed = string(y)
	return info, nil
}

// recorder notes the request line of every request it passes on.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, r.Method+" "+r.URL.RequestURI())
	rc.mu.Unlock()
	rc.next.ServeHTTP(w, r)
}

func (rc *recorder) lines() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

func (rc *recorder) reset() {
	rc.mu.Lock()
	rc.reqs = nil
	rc.mu.Unlock()
}

// withFileTarget returns spec YAML y with its target set to the snapshot
// file path.
func withFileTarget(y, path string) ([]byte, error) {
	var s spec.Spec
	if err := yaml.Unmarshal([]byte(y), &s); err != nil {
		return nil, err
	}
	s.Target = spec.Target{File: path}
	return yaml.Marshal(&s)
}

// withTarget returns spec YAML y with its target set to url, the token
// read from tokenEnv.
func withTarget(y, url string) ([]byte, error) {
	var s spec.Spec
	if err := yaml.Unmarshal([]byte(y), &s); err != nil {
		return nil, err
	}
	s.Target = spec.Target{URL: url, TokenEnv: tokenEnv}
	return yaml.Marshal(&s)
}
