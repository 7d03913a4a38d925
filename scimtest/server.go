package scimtest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// BasePath is the path the server answers under, such as "/scim/v2".
	// Requests outside it get 404. Empty means the root.
	BasePath string
	// Token is the bearer token every request must carry. With an empty
	// Token and NoAuth false every request gets 401.
	Token string
	// NoAuth turns authentication off.
	NoAuth bool
	// Now is the server's clock: meta timestamps, and the date that decides
	// which exceptions are live when members are recomputed. Default
	// time.Now.
	Now func() time.Time
	// PageCap is the most resources one list response holds, whatever the
	// count asked for (servers commonly cap at 100). 0 means no cap.
	PageCap int
	// MaxCount, when above 0, refuses with 400 invalidValue a list request
	// asking for more than MaxCount resources, as some servers do where
	// others cap the page (PageCap).
	MaxCount int
	// MaxRequestBytes caps request bodies; a larger one gets 413. Default
	// 1 MiB.
	MaxRequestBytes int64
	// Faults are injected into answers; see Faults.
	Faults Faults
}

// Server is an in-process SCIM 2.0 service provider with the organization
// extension. It is an http.Handler and safe for concurrent use.
type Server struct {
	base  string
	token string
	auth  bool
	now   func() time.Time
	cap   int
	// maxCount is Options.MaxCount.
	maxCount int
	limit    int64

	mu  sync.RWMutex
	st  *state
	seq map[string]int // resources created, per resource type

	cmu  sync.Mutex
	docs map[string]cachedDoc // see docOf

	fmcu    sync.Mutex
	matches map[string]cachedMatch // see filtered

	fmu    sync.Mutex
	faults Faults
	seen   map[string]int // requests counted per fault
	stats  Stats
}

func newServer(st *state, opts Options) (*Server, error) {
	st.fillMeta()
	st.reindex()
	if err := st.check(); err != nil {
		return nil, err
	}
	s := &Server{
		base:     "/" + strings.Trim(opts.BasePath, "/"),
		token:    opts.Token,
		auth:     !opts.NoAuth,
		now:      opts.Now,
		cap:      max(opts.PageCap, 0),
		maxCount: max(opts.MaxCount, 0),
		limit:    opts.MaxRequestBytes,
		st:       st,
		seq:      map[string]int{},
		docs:     map[string]cachedDoc{},
		matches:  map[string]cachedMatch{},
		faults:   opts.Faults,
	}
	if s.base == "/" {
		s.base = ""
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.limit <= 0 {
		s.limit = 1 << 20
	}
	s.resetStatsLocked()
	return s, nil
}

// SetFaults replaces the faults the server injects and restarts their
// request counts (Trigger.First, At and Every count from the next request).
func (s *Server) SetFaults(f Faults) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults = f
	s.seen = map[string]int{}
}

// Stats returns a copy of the server's counters.
func (s *Server) Stats() Stats {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	out := s.stats
	out.Endpoints = make(map[string]int, len(s.stats.Endpoints))
	for k, v := range s.stats.Endpoints {
		out.Endpoints[k] = v
	}
	out.Faults = make(map[string]int, len(s.stats.Faults))
	for k, v := range s.stats.Faults {
		out.Faults[k] = v
	}
	return out
}

// ResetStats zeroes the counters, and the per-fault request counts.
func (s *Server) ResetStats() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.resetStatsLocked()
}

func (s *Server) resetStatsLocked() {
	s.stats = Stats{Endpoints: map[string]int{}, Faults: map[string]int{}}
	s.seen = map[string]int{}
}

// hit counts a request towards fault name when the fault applies to it and
// reports whether the fault strikes it.
func (s *Server) hit(name string, ri reqInfo, applies bool) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	t := s.faults.trigger(name)
	if !applies || !t.enabled() || !t.covers(ri) {
		return false
	}
	s.seen[name]++
	if !t.hits(s.seen[name]) {
		return false
	}
	s.stats.Faults[name]++
	return true
}

func (s *Server) countFault(name string) {
	s.fmu.Lock()
	s.stats.Faults[name]++
	s.fmu.Unlock()
}

func (s *Server) faultConfig() Faults {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.faults
}

func (s *Server) addBytes(in, out int64) {
	s.fmu.Lock()
	s.stats.BytesIn += in
	s.stats.BytesOut += out
	s.fmu.Unlock()
}

// response is an answer before faults shape how it is sent.
type response struct {
	status int
	header http.Header
	body   []byte
}

func jsonResponse(status int, v any) *response {
	b, err := json.Marshal(v)
	if err != nil {
		return errorResponse(errorf(http.StatusInternalServerError, "", "encoding response: %v", err))
	}
	return &response{status: status, header: http.Header{}, body: b}
}

func errorResponse(e *scimError) *response {
	return jsonResponse(e.status, e.body())
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := s.relPath(r.URL.Path)
	if !ok {
		s.send(w, r, errorResponse(notFound("%s is not under %s", r.URL.Path, s.base)))
		return
	}
	endpoint, _, _ := strings.Cut(strings.TrimPrefix(rel, "/"), "/")
	if endpoint != "" {
		endpoint = "/" + endpoint
	}
	ri := reqInfo{rel: rel, laterPage: isLaterPage(r, rel)}
	s.fmu.Lock()
	s.stats.Requests++
	s.stats.Endpoints[endpoint]++
	s.fmu.Unlock()

	if s.hit(FaultLatency, ri, true) {
		d := s.faultConfig().Latency.Delay
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if !s.authorized(r) {
		resp := errorResponse(errorf(http.StatusUnauthorized, "", "missing or invalid bearer token"))
		resp.header.Set("WWW-Authenticate", `Bearer realm="scimsync"`)
		s.send(w, r, resp)
		return
	}
	f := s.faultConfig()
	if s.hit(FaultDrop, ri, !f.Drop.AfterHandling) {
		drop(w)
		return
	}
	if s.hit(FaultUnavailable, ri, true) {
		s.send(w, r, errorResponse(errorf(http.StatusServiceUnavailable, "", "service unavailable (injected fault)")))
		return
	}
	if s.hit(FaultRateLimit, ri, true) {
		resp := errorResponse(errorf(http.StatusTooManyRequests, "", "too many requests (injected fault)"))
		resp.header.Set("Retry-After", strconv.Itoa(int(max(f.RateLimit.RetryAfter, 0)/time.Second)))
		s.send(w, r, resp)
		return
	}
	resp := s.handle(r, ri)
	if s.hit(FaultDrop, ri, f.Drop.AfterHandling) {
		drop(w)
		return
	}
	if len(resp.body) > 1 && resp.body[0] == '{' {
		if s.hit(FaultDeepNesting, ri, true) {
			resp.body = nest(resp.body, cmp.Or(f.DeepNesting.Depth, 100000))
		}
		if s.hit(FaultOversize, ri, true) {
			s.sendPadded(w, resp, cmp.Or(f.Oversize.Bytes, 8<<20))
			return
		}
	}
	if len(resp.body) > 0 && s.hit(FaultTruncate, ri, true) {
		s.sendTruncated(w, resp)
		return
	}
	if len(resp.body) > 0 && s.hit(FaultSlowLoris, ri, true) {
		s.sendSlowly(w, r.Context(), resp, cmp.Or(f.SlowLoris.Chunk, 1), cmp.Or(f.SlowLoris.Interval, 50*time.Millisecond))
		return
	}
	s.send(w, r, resp)
}

// isLaterPage reports whether r asks for a list page after the first.
func isLaterPage(r *http.Request, rel string) bool {
	if r.Method != http.MethodGet || strings.Count(strings.Trim(rel, "/"), "/") > 0 {
		return false
	}
	for k, vs := range r.URL.Query() {
		if strings.EqualFold(k, "startIndex") && len(vs) > 0 {
			n, err := strconv.Atoi(strings.TrimSpace(vs[0]))
			return err == nil && n > 1
		}
	}
	return false
}

// relPath returns the request path below the base path.
func (s *Server) relPath(p string) (string, bool) {
	rel, ok := strings.CutPrefix(p, s.base)
	if !ok || (rel != "" && rel[0] != '/') {
		return "", false
	}
	if rel == "" {
		rel = "/"
	}
	return rel, true
}

func (s *Server) authorized(r *http.Request) bool {
	if !s.auth {
		return true
	}
	if s.token == "" {
		return false
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.token)) == 1
}

func (s *Server) header(w http.ResponseWriter, resp *response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	if len(resp.body) > 0 {
		h.Set("Content-Type", "application/scim+json")
	}
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, resp *response) {
	s.header(w, resp)
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	if r.Method == http.MethodHead {
		return
	}
	n, _ := w.Write(resp.body)
	s.addBytes(0, int64(n))
}

// drop closes the connection without answering.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) sendTruncated(w http.ResponseWriter, resp *response) {
	s.header(w, resp)
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	n, _ := w.Write(resp.body[:len(resp.body)/2])
	s.addBytes(0, int64(n))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	drop(w)
}

// sendPadded sends body with whitespace before its closing brace, streamed,
// so that it is total bytes long.
func (s *Server) sendPadded(w http.ResponseWriter, resp *response, total int) {
	body := bytes.TrimRight(resp.body, " \n")
	pad := max(total-len(body), 0)
	s.header(w, resp)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+pad))
	w.WriteHeader(resp.status)
	var sent int64
	defer func() { s.addBytes(0, sent) }()
	n, err := w.Write(body[:len(body)-1])
	sent += int64(n)
	if err != nil {
		return
	}
	chunk := bytes.Repeat([]byte{' '}, 32<<10)
	for pad > 0 {
		k := min(pad, len(chunk))
		n, err := w.Write(chunk[:k])
		sent += int64(n)
		if err != nil {
			return
		}
		pad -= k
	}
	n, _ = w.Write(body[len(body)-1:])
	sent += int64(n)
}

func (s *Server) sendSlowly(w http.ResponseWriter, ctx context.Context, resp *response, chunk int, every time.Duration) {
	s.header(w, resp)
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	fl, _ := w.(http.Flusher)
	body := resp.body
	t := time.NewTicker(every)
	defer t.Stop()
	for len(body) > 0 {
		k := min(chunk, len(body))
		n, err := w.Write(body[:k])
		s.addBytes(0, int64(n))
		if err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		body = body[k:]
		if len(body) == 0 {
			return
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// nest inserts an attribute holding depth nested arrays into a JSON object.
func nest(body []byte, depth int) []byte {
	var b bytes.Buffer
	b.Grow(len(body) + 2*depth + 32)
	b.WriteString(`{"urn:scimsync:params:scim:nested":`)
	b.Write(bytes.Repeat([]byte{'['}, depth))
	b.Write(bytes.Repeat([]byte{']'}, depth))
	rest := bytes.TrimLeft(body[1:], " \n\t")
	if len(rest) > 0 && rest[0] != '}' {
		b.WriteByte(',')
	}
	b.Write(rest)
	return b.Bytes()
}

// readBody reads a request body up to the server's limit.
func (s *Server) readBody(r *http.Request) ([]byte, *scimError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, s.limit+1))
	s.addBytes(int64(len(b)), 0)
	if err != nil {
		return nil, badRequest(typeInvalidSyntax, "reading request body: %v", err)
	}
	if int64(len(b)) > s.limit {
		return nil, errorf(http.StatusRequestEntityTooLarge, "", "request body exceeds %d bytes", s.limit)
	}
	return b, nil
}
