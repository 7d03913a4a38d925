package scimtest

import (
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/scimsync/scimsync/scim"
)

func (s *Server) handle(r *http.Request, ri reqInfo) *response {
	rel := ri.rel
	segs := strings.Split(strings.Trim(rel, "/"), "/")
	if len(segs) > 2 || segs[0] == "" {
		return errorResponse(notFound("no endpoint %s", rel))
	}
	id := ""
	if len(segs) == 2 {
		id = segs[1]
	}
	switch segs[0] {
	case "ServiceProviderConfig":
		if id != "" {
			return errorResponse(notFound("no endpoint %s", rel))
		}
		if e := allow(r, http.MethodGet); e != nil {
			return e
		}
		return s.serviceProviderConfig(r)
	case "ResourceTypes":
		if e := allow(r, http.MethodGet); e != nil {
			return e
		}
		return s.resourceTypes(r, id)
	case "Schemas":
		if e := allow(r, http.MethodGet); e != nil {
			return e
		}
		return s.schemas(r, id)
	case "Users":
		return resource(s, r, ri, userType, id)
	case "Groups":
		return resource(s, r, ri, groupType, id)
	case "Organizations":
		return s.organizations(r, ri, id)
	case "Members":
		if e := allow(r, http.MethodGet); e != nil {
			resp := errorResponse(errorf(http.StatusMethodNotAllowed, "", "members are read-only: they follow from users, groups and organizations"))
			resp.header = e.header
			return resp
		}
		return s.members(r, ri, id)
	}
	return errorResponse(notFound("no endpoint %s", rel))
}

// allow answers 405 unless r's method is one of methods (HEAD goes with GET).
func allow(r *http.Request, methods ...string) *response {
	m := r.Method
	if m == http.MethodHead {
		m = http.MethodGet
	}
	if slices.Contains(methods, m) {
		return nil
	}
	resp := errorResponse(errorf(http.StatusMethodNotAllowed, "", "%s is not allowed here; allowed: %s", r.Method, strings.Join(methods, ", ")))
	resp.header.Set("Allow", strings.Join(methods, ", "))
	return resp
}

// baseURL is the absolute URL of the service root, for meta.location.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.base
}

// query holds the list and projection parameters of a request.
type query struct {
	filter     string
	hasFilter  bool
	startIndex int
	count      int // -1 when absent
	attrs      []string
	excluded   []string
}

func parseQuery(r *http.Request) (query, *scimError) {
	v := r.URL.Query()
	q := query{startIndex: 1, count: -1}
	get := func(name string) (string, bool) {
		for k, vs := range v {
			if strings.EqualFold(k, name) && len(vs) > 0 {
				return vs[0], true
			}
		}
		return "", false
	}
	q.filter, q.hasFilter = get("filter")
	if s, ok := get("startIndex"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return q, badRequest(typeInvalidValue, "startIndex %q is not an integer", s)
		}
		// RFC 7644 §3.4.2.4: less than 1 is 1. Huge values are bounded so
		// that page arithmetic cannot overflow.
		q.startIndex = min(max(n, 1), math.MaxInt32)
	}
	if s, ok := get("count"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return q, badRequest(typeInvalidValue, "count %q is not an integer", s)
		}
		q.count = max(n, 0) // negative is 0
	}
	if s, ok := get("attributes"); ok {
		q.attrs = splitAttrList(s)
	}
	if s, ok := get("excludedAttributes"); ok {
		q.excluded = splitAttrList(s)
	}
	return q, nil
}

// encode returns the JSON of one resource with meta.location set,
// projected as q asks.
func encode[T any](s *Server, r *http.Request, rt *resourceType, q query, v T, meta func(*T) *scim.Meta, id string) json.RawMessage {
	meta(&v).Location = s.baseURL(r) + rt.Endpoint + "/" + id
	var out any = v
	if len(q.attrs) > 0 || len(q.excluded) > 0 {
		if g, ok := any(&v).(*scim.Group); ok && len(q.attrs) == 0 && excludes(rt.schema, q.excluded, "members") {
			// excludedAttributes=members on a large group: leave the
			// members out before building the JSON form, not after.
			g.Members = nil
		}
		out = project(toDoc(v), rt.schema, q.attrs, q.excluded)
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic("scimtest: encoding " + rt.Name + ": " + err.Error())
	}
	return b
}

// excludes reports whether excluded names the whole attribute attr.
func excludes(sch *schema, excluded []string, attr string) bool {
	for _, ref := range resolveRefs(sch, excluded) {
		if ref.attr.Name == attr && ref.sub == "" {
			return true
		}
	}
	return false
}

// accessor gives generic code the id and meta of a wire type.
type accessor[T any] struct {
	rt   *resourceType
	id   func(*T) string
	meta func(*T) *scim.Meta
}

var (
	userAcc   = accessor[scim.User]{resourceTypes[0], func(u *scim.User) string { return u.ID }, func(u *scim.User) *scim.Meta { return &u.Meta }}
	groupAcc  = accessor[scim.Group]{resourceTypes[1], func(g *scim.Group) string { return g.ID }, func(g *scim.Group) *scim.Meta { return &g.Meta }}
	orgAcc    = accessor[scim.Organization]{resourceTypes[2], func(o *scim.Organization) string { return o.ID }, func(o *scim.Organization) *scim.Meta { return &o.Meta }}
	memberAcc = accessor[scim.Member]{resourceTypes[3], func(m *scim.Member) string { return m.ID }, func(m *scim.Member) *scim.Meta { return &m.Meta }}
)

// list answers a list request over items (RFC 7644 §3.4.2): filter, then
// page, then the listing faults. The caller holds the read lock.
func list[T any](s *Server, r *http.Request, ri reqInfo, acc accessor[T], items []T) *response {
	q, e := parseQuery(r)
	if e != nil {
		return errorResponse(e)
	}
	if s.maxCount > 0 && q.count > s.maxCount {
		return errorResponse(badRequest(typeInvalidValue, "count %d is more than the maximum of %d", q.count, s.maxCount))
	}
	var matched []int
	if q.hasFilter {
		if matched, e = filtered(s, acc, q.filter, items); e != nil {
			return errorResponse(e)
		}
	} else {
		matched = make([]int, len(items))
		for i := range items {
			matched[i] = i
		}
	}
	total := len(matched)
	start := q.startIndex
	n := q.count
	if n < 0 {
		n = total
	}
	if s.cap > 0 && n > s.cap {
		if min(n, total-(start-1)) > s.cap {
			s.countFault(FaultPageCap)
		}
		n = s.cap
	}
	if s.hit(FaultEndlessPage, ri, true) {
		// The first page, whatever was asked, and always more to come.
		page := matched[:min(n, len(matched))]
		return listResponse(s, r, acc, q, items, page, max(total, start+len(page)), start)
	}
	lo := min(start-1, total)
	hi := min(lo+n, total)
	page := slices.Clone(matched[lo:hi])
	reported := total
	if start > 1 && s.hit(FaultShiftTotal, ri, true) {
		reported += cmp.Or(s.faultConfig().ShiftTotal.By, 1)
	}
	if start > 1 && lo > 0 && len(page) > 0 && s.hit(FaultDuplicateIDs, ri, true) {
		page[0] = matched[lo-1]
	}
	if start > 1 && s.hit(FaultEmptyPages, ri, true) {
		page = nil
	}
	return listResponse(s, r, acc, q, items, page, reported, start)
}

// filtered returns the indices of the items that match filter, which the
// caller must not modify. The caller holds the read lock, so the state is
// that of generation s.st.gen; the result is kept for that generation, so
// that the pages of one listing evaluate the filter once, not once per page.
func filtered[T any](s *Server, acc accessor[T], filter string, items []T) ([]int, *scimError) {
	key := acc.rt.Name + "\x00" + filter
	s.fmcu.Lock()
	c, ok := s.matches[key]
	s.fmcu.Unlock()
	if ok && c.gen == s.st.gen {
		return c.matched, nil
	}
	pred, e := compileFilter(filter, acc.rt.schema)
	if e != nil {
		return nil, e
	}
	matched := []int{}
	for i := range items {
		if pred(docOf(s, acc, &items[i])) {
			matched = append(matched, i)
		}
	}
	s.fmcu.Lock()
	if len(s.matches) >= 64 {
		clear(s.matches) // bounded: a client inventing filters gains nothing
	}
	s.matches[key] = cachedMatch{gen: s.st.gen, matched: matched}
	s.fmcu.Unlock()
	return matched, nil
}

type cachedMatch struct {
	gen     uint64
	matched []int
}

// docOf returns the JSON form of a stored resource for filtering, from a
// cache keyed by resource type and id and checked against its meta: every
// change to a resource changes its version (for members, a hash of their
// content) and its lastModified. The caller must not modify the result.
func docOf[T any](s *Server, acc accessor[T], v *T) map[string]any {
	key := acc.rt.Name + "\x00" + acc.id(v)
	m := acc.meta(v)
	version := m.Version + "\x00" + m.Created + "\x00" + m.LastModified
	s.cmu.Lock()
	c, ok := s.docs[key]
	s.cmu.Unlock()
	if ok && c.version == version {
		return c.doc
	}
	doc := toDoc(*v)
	s.cmu.Lock()
	s.docs[key] = cachedDoc{version: version, doc: doc}
	s.cmu.Unlock()
	return doc
}

type cachedDoc struct {
	version string
	doc     map[string]any
}

// listBody is a list response (RFC 7644 §3.4.2) that always carries
// startIndex and itemsPerPage, zero or not.
type listBody struct {
	Schemas      []string          `json:"schemas"`
	TotalResults int               `json:"totalResults"`
	StartIndex   int               `json:"startIndex"`
	ItemsPerPage int               `json:"itemsPerPage"`
	Resources    []json.RawMessage `json:"Resources"`
}

func listResponse[T any](s *Server, r *http.Request, acc accessor[T], q query, items []T, page []int, total, start int) *response {
	out := listBody{
		Schemas:      []string{scim.SchemaListResponse},
		TotalResults: total,
		StartIndex:   start,
		ItemsPerPage: len(page),
		Resources:    make([]json.RawMessage, 0, len(page)),
	}
	for _, i := range page {
		out.Resources = append(out.Resources, encode(s, r, acc.rt, q, items[i], acc.meta, acc.id(&items[i])))
	}
	return jsonResponse(http.StatusOK, out)
}

// single answers with one resource, its ETag and, for a new one, its
// Location.
func single[T any](s *Server, r *http.Request, acc accessor[T], status int, v T) *response {
	q, e := parseQuery(r)
	if e != nil {
		return errorResponse(e)
	}
	id := acc.id(&v)
	version := acc.meta(&v).Version
	if status == http.StatusOK && r.Method == http.MethodGet && version != "" && etagMatch(r.Header.Get("If-None-Match"), version) {
		resp := &response{status: http.StatusNotModified, header: http.Header{}}
		resp.header.Set("ETag", version)
		return resp
	}
	resp := &response{status: status, header: http.Header{}, body: encode(s, r, acc.rt, q, v, acc.meta, id)}
	if version != "" {
		resp.header.Set("ETag", version)
	}
	if status == http.StatusCreated {
		resp.header.Set("Location", s.baseURL(r)+acc.rt.Endpoint+"/"+id)
	}
	return resp
}

// etagMatch reports whether an If-Match or If-None-Match header value
// names version. Comparison is weak (RFC 7232 §2.3.2): SCIM versions are
// weak ETags, and clients send them back as they got them.
func etagMatch(header, version string) bool {
	header = strings.TrimSpace(header)
	if header == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		if weak(strings.TrimSpace(t)) == weak(version) && strings.TrimSpace(t) != "" {
			return true
		}
	}
	return false
}

func weak(t string) string { return strings.TrimPrefix(t, "W/") }

// precondition checks If-Match against the current version: 412 when it
// names another.
func precondition(r *http.Request, version string) *scimError {
	h := r.Header.Get("If-Match")
	if h == "" || etagMatch(h, version) {
		return nil
	}
	return errorf(http.StatusPreconditionFailed, "", "If-Match %s does not match the current version %s; re-read the resource", h, version)
}
