package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// ListQuery narrows and observes a listing.
type ListQuery struct {
	// Filter is an RFC 7644 §3.4.2.2 filter; build it with Filter.
	Filter string
	// Attributes and ExcludedAttributes select what the server returns
	// (§3.4.2.5). Resources always keep their id.
	Attributes         []string
	ExcludedAttributes []string
	// Progress, when set, is called as pages arrive with the resources read
	// so far and totalResults. Calls are serialized, not ordered by page.
	Progress func(done, total int)

	// page is a func([]T) set by WithPageFunc.
	page any
}

// ListOption adjusts the query of a typed List* method.
type ListOption func(*ListQuery)

// WithProgress reports the progress of a listing; see ListQuery.Progress.
func WithProgress(fn func(done, total int)) ListOption {
	return func(q *ListQuery) { q.Progress = fn }
}

// WithPageFunc calls fn with the resources of each page as soon as the page
// is decoded, before it joins the listing: fn may change them in place, for
// instance to drop attributes that its caller does not need, so that a large
// listing is never held whole. Calls come from several goroutines at once,
// each with its own page. A listing that fails after fn has seen some pages
// still returns only an error. T must be the listing's resource type.
//
// fn may see resources that do not join the listing: when a page has
// another length than expected, the listing reads on page by page from
// there, and the pages read ahead are read again. Every call for a page
// read ahead has returned before the first of those reads starts, so that
// a caller keeping what fn sees by id keeps, for each id listed, what
// joined the listing.
func WithPageFunc[T any](fn func([]T)) ListOption {
	return func(q *ListQuery) { q.page = fn }
}

// ListUsers reads every user.
func (c *Client) ListUsers(ctx context.Context, opts ...ListOption) ([]User, error) {
	return List[User](ctx, c, "/Users", query(ListQuery{}, opts))
}

// ListGroups reads every group. With excludeMembers the server is asked to
// leave members out (excludedAttributes=members), which is what large
// directories need; read the members of the groups that matter with
// GetGroup.
func (c *Client) ListGroups(ctx context.Context, excludeMembers bool, opts ...ListOption) ([]Group, error) {
	q := ListQuery{}
	if excludeMembers {
		q.ExcludedAttributes = []string{"members"}
	}
	groups, err := List[Group](ctx, c, "/Groups", query(q, opts))
	if err != nil {
		return nil, err
	}
	if excludeMembers {
		// Some servers return members anyway; never let a partial or
		// ignored projection pass for membership data.
		for i := range groups {
			groups[i].Members = nil
		}
	}
	return groups, nil
}

// ListOrganizations reads every organization of the organization extension.
func (c *Client) ListOrganizations(ctx context.Context, opts ...ListOption) ([]Organization, error) {
	return List[Organization](ctx, c, "/Organizations", query(ListQuery{}, opts))
}

// ListMembers reads the members of one child organization, or of every
// organization when orgID is empty.
func (c *Client) ListMembers(ctx context.Context, orgID string, opts ...ListOption) ([]Member, error) {
	q := ListQuery{}
	if orgID != "" {
		q.Filter = Filter("organization", "eq", orgID)
	}
	members, err := List[Member](ctx, c, "/Members", query(q, opts))
	if err != nil {
		return nil, err
	}
	if orgID != "" {
		for _, m := range members {
			if m.Organization != orgID {
				return nil, fmt.Errorf("listing /Members: the server ignored the organization filter: member %s belongs to %q, not %q", m.ID, m.Organization, orgID)
			}
		}
	}
	return members, nil
}

// CountMembers returns how many members the server holds in all, the
// totalResults of the unfiltered /Members listing, read from one page of
// ids. A reader compares it with the members its listings, org by org,
// returned: a server that answers the organization filter with fewer
// members than it holds (an unsupported filter read as matching nothing)
// would otherwise make every member look absent. The page asks for the
// client's page size, not one resource, so that a server whose
// totalResults is capped by the count asked for still counts the list.
func (c *Client) CountMembers(ctx context.Context) (int, error) {
	var total *int
	_, err := c.firstPage(func(count int) (err error) {
		total, _, err = c.idsPage(ctx, "/Members", "", 1, count)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("counting /Members: %w", err)
	}
	if total == nil || *total < 0 {
		return 0, invalid(errors.New("counting /Members: no totalResults of at least 0"))
	}
	return *total, nil
}

// idsPage reads one page of a listing for its ids only: its totalResults
// (nil when absent) and the id of each resource ("" for one without).
func (c *Client) idsPage(ctx context.Context, endpoint, filter string, start, count int) (*int, []string, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, endpoint: endpoint,
		query: pageQuery(start, count, ListQuery{Filter: filter, Attributes: []string{"id"}})})
	if err != nil {
		return nil, nil, err
	}
	var raw rawList
	if err := unmarshal(resp.body, &raw); err != nil {
		return nil, nil, invalid(fmt.Errorf("decoding list response: %w", err))
	}
	ids := make([]string, len(raw.Resources))
	for i, r := range raw.Resources {
		var id struct {
			ID string `json:"id"`
		}
		if unmarshal(r, &id) == nil {
			ids[i] = id.ID
		}
	}
	return raw.TotalResults, ids, nil
}

func query(q ListQuery, opts []ListOption) ListQuery {
	for _, o := range opts {
		o(&q)
	}
	return q
}

// List reads every resource of endpoint (such as "/Users") that matches q,
// decoding each into T. The result is complete and holds each id once, or
// the error says why not; errors about consistency match
// ErrIncompleteRead.
//
// The first page is requested with count = Config.PageSize (or
// FallbackPageSize, when the server refused that with 400). Its length is
// the server's effective page length; the remaining pages are requested
// with that count, Config.Concurrency at a time, at startIndex 1+k·length.
// If a page comes back with another length than expected, the listing
// continues one page at a time from there, advancing by what each page
// returned.
func List[T any](ctx context.Context, c *Client, endpoint string, q ListQuery) ([]T, error) {
	l := &lister[T]{c: c, endpoint: endpoint, q: q}
	return l.list(ctx)
}

// list runs the listing, its errors naming the endpoint.
func (l *lister[T]) list(ctx context.Context) ([]T, error) {
	if l.q.page != nil {
		fn, ok := l.q.page.(func([]T))
		if !ok {
			return nil, fmt.Errorf("listing %s: WithPageFunc takes a %T, not a func([]%T)", l.endpoint, l.q.page, *new(T))
		}
		l.pageFn = fn
	}
	out, err := l.run(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", l.endpoint, err)
	}
	return out, nil
}

type lister[T any] struct {
	c        *Client
	endpoint string
	q        ListQuery

	pageFn func([]T) // WithPageFunc's
	// decode decodes a page's body; decodePage[T] when nil.
	decode func(body []byte) (page[T], error)

	items []T
	seen  map[string]int // id → startIndex where it was read
	total int
	pages int

	mu      sync.Mutex // serializes Progress
	fetched int
}

// page is one decoded list response.
type page[T any] struct {
	start int
	total int
	items []T
	ids   []string
}

func (l *lister[T]) run(ctx context.Context) ([]T, error) {
	cfg := l.c.cfg
	var first page[T]
	size, err := l.c.firstPage(func(count int) (err error) {
		first, err = l.fetch(ctx, 1, count)
		return err
	})
	if err != nil {
		return nil, err
	}
	l.total = first.total
	l.items = make([]T, 0, min(l.total, 1<<16))
	l.seen = make(map[string]int, min(l.total, 1<<16))
	if err := l.add(first); err != nil {
		return nil, err
	}
	if len(l.items) == l.total {
		if l.total > 0 {
			if err := l.probeEnd(ctx); err != nil {
				return nil, err
			}
		}
		return l.items, nil
	}
	pageLen := len(first.items)
	if pageLen == 0 {
		return nil, fmt.Errorf("%w: the first page holds no resources although totalResults is %d", ErrIncompleteRead, l.total)
	}
	if need := 1 + (l.total-pageLen+pageLen-1)/pageLen; need > cfg.MaxPages {
		return nil, fmt.Errorf("%d resources at %d per page need %d pages, more than the limit of %d", l.total, pageLen, need, cfg.MaxPages)
	}

	next := 1 + pageLen
	if cfg.Concurrency > 1 {
		if next, err = l.concurrent(ctx, next, pageLen); err != nil {
			return nil, err
		}
	}
	for len(l.items) < l.total {
		if l.pages >= cfg.MaxPages {
			return nil, fmt.Errorf("%w: read %d of %d resources in %d pages, the limit", ErrIncompleteRead, len(l.items), l.total, l.pages)
		}
		p, err := l.fetch(ctx, next, size)
		if err != nil {
			return nil, err
		}
		if len(p.items) == 0 {
			return nil, fmt.Errorf("%w: no resources at startIndex %d although %d of totalResults %d are unread", ErrIncompleteRead, next, l.total-len(l.items), l.total)
		}
		if err := l.add(p); err != nil {
			return nil, err
		}
		next += len(p.items)
	}
	return l.items, nil
}

// concurrent fetches the pages from startIndex next on, pageLen resources
// each, and adds them in order. It returns where a sequential read must
// continue: past the end when every page had its expected length.
func (l *lister[T]) concurrent(ctx context.Context, next, pageLen int) (int, error) {
	var starts []int
	for s := next; s <= l.total; s += pageLen {
		starts = append(starts, s)
	}
	if len(starts) == 0 {
		return next, nil
	}
	results := make([]page[T], len(starts))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		// Twice as many pages in progress as requests in flight: a page
		// is decoded after its request has given its slot back, and
		// meanwhile another page's request takes the slot. The client
		// still bounds the requests (Config.Concurrency).
		sem = make(chan struct{}, 2*l.c.cfg.Concurrency)

		// The pages are checked in order as they arrive, while later
		// ones are still in flight, rather than all at the end.
		mu      sync.Mutex // guards what follows, and results
		arrived = make([]bool, len(starts))
		checked int   // pages checked, in order
		items   int   // the resources of the pages checked
		stop    bool  // a page ended the checks: the one at checked
		stopErr error // why, or nil when its length was unexpected
	)
	checkArrived := func() { // with mu held
		for !stop && checked < len(starts) && arrived[checked] {
			p, s := results[checked], starts[checked]
			if p.total != l.total {
				stop, stopErr = true, l.totalChanged(p)
				return
			}
			if want := min(pageLen, l.total-(s-1)); len(p.items) != want {
				l.c.log.Debug("scim page length differs, continuing page by page", "path", l.endpoint,
					"startIndex", s, "want", want, "got", len(p.items))
				stop = true
				return
			}
			if err := l.check(p, len(l.items)+items); err != nil {
				stop, stopErr = true, err
				return
			}
			items += len(p.items)
			checked++
		}
	}
launch:
	for i, s := range starts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p, err := l.fetch(ctx, s, pageLen)
			if err != nil {
				once.Do(func() { firstErr = err; cancel() })
				return
			}
			mu.Lock()
			results[i], arrived[i] = p, true
			checkArrived()
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if stopErr != nil {
		return 0, stopErr
	}
	// Grow the list once to hold the pages checked, rather than by
	// doubling (a million users would be copied four times).
	l.items = slices.Grow(l.items, items)
	for _, p := range results[:checked] {
		l.items = append(l.items, p.items...)
	}
	if stop {
		return starts[checked], nil
	}
	return starts[len(starts)-1] + pageLen, nil
}

// add appends a page after checking it against what was read before.
func (l *lister[T]) add(p page[T]) error {
	if err := l.check(p, len(l.items)); err != nil {
		return err
	}
	l.items = append(l.items, p.items...)
	return nil
}

// check checks a page against the read resources, read of them before it,
// and marks its ids as read.
func (l *lister[T]) check(p page[T], read int) error {
	if p.total != l.total {
		return l.totalChanged(p)
	}
	if read+len(p.items) > l.total {
		return fmt.Errorf("%w: read %d resources, more than totalResults %d", ErrIncompleteRead, read+len(p.items), l.total)
	}
	for i, id := range p.ids {
		if at, dup := l.seen[id]; dup {
			if p.start > 1 && i == 0 && at == 1 {
				return fmt.Errorf("%w: the page at startIndex %d starts with the resource at startIndex 1 (id %q): the server seems to ignore startIndex", ErrIncompleteRead, p.start, id)
			}
			return fmt.Errorf("%w: id %q at startIndex %d was already read at startIndex %d; the result set shifted during the listing", ErrIncompleteRead, id, p.start+i, at)
		}
		l.seen[id] = p.start + i
	}
	return nil
}

// probeEnd checks that a listing its first page held whole is whole. Some
// servers announce as totalResults the length of the page they return, not
// of the list (SCIMMY #64, WSO2 IDENTITY-5701): every listing would then
// end after its first page, and each resource past it look absent, a user
// to remove. One request for one resource past the end tells them apart;
// any returned that was not read is an incomplete read. A server that
// ignores startIndex answers with one already read, which proves nothing
// either way; one that refuses the request (4xx) keeps the listing as it
// was read.
func (l *lister[T]) probeEnd(ctx context.Context) error {
	start := l.total + 1
	_, ids, err := l.c.idsPage(ctx, l.endpoint, l.q.Filter, start, 1)
	var se *Error
	if errors.As(err, &se) && se.Status/100 == 4 {
		l.c.log.Debug("scim listing: the request past its end was refused", "path", l.endpoint, "startIndex", start, "status", se.Status)
		return nil
	}
	if err != nil {
		return fmt.Errorf("page at startIndex %d: %w", start, err)
	}
	for _, id := range ids {
		if _, read := l.seen[id]; read && id != "" {
			continue
		}
		return fmt.Errorf("%w: totalResults is %d, all of which the first page held, but startIndex %d still holds resources: "+
			"the server counts the page in totalResults, not the whole list", ErrIncompleteRead, l.total, start)
	}
	return nil
}

// pageQuery is the query of the page of q at startIndex start, count
// resources at most: the one way every list request of this package is
// built.
func pageQuery(start, count int, q ListQuery) url.Values {
	v := url.Values{}
	v.Set("startIndex", strconv.Itoa(start))
	v.Set("count", strconv.Itoa(count))
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if len(q.Attributes) > 0 {
		v.Set("attributes", strings.Join(q.Attributes, ","))
	}
	if len(q.ExcludedAttributes) > 0 {
		v.Set("excludedAttributes", strings.Join(q.ExcludedAttributes, ","))
	}
	return v
}

func (l *lister[T]) totalChanged(p page[T]) error {
	return fmt.Errorf("%w: totalResults changed from %d to %d at startIndex %d", ErrIncompleteRead, l.total, p.total, p.start)
}

// fetch reads and decodes one page.
func (l *lister[T]) fetch(ctx context.Context, start, count int) (page[T], error) {
	v := pageQuery(start, count, l.q)
	l.mu.Lock()
	l.pages++
	l.mu.Unlock()
	resp, err := l.c.do(ctx, request{method: http.MethodGet, endpoint: l.endpoint, query: v})
	if err != nil {
		return page[T]{}, err
	}
	decode := l.decode
	if decode == nil {
		decode = decodePage[T]
	}
	p, err := decode(resp.body)
	if err != nil {
		return page[T]{}, fmt.Errorf("page at startIndex %d: %w", start, err)
	}
	p.start = start
	if l.pageFn != nil {
		l.pageFn(p.items)
	}
	if l.q.Progress != nil {
		l.mu.Lock()
		l.fetched += len(p.items)
		l.q.Progress(min(l.fetched, p.total), p.total)
		l.mu.Unlock()
	}
	return p, nil
}

// rawList is a list response with its resources still encoded.
type rawList struct {
	Schemas      []string         `json:"schemas"`
	TotalResults *int             `json:"totalResults"`
	Resources    []jsontext.Value `json:"Resources"`
}

// decodePage decodes a list response body. Attribute names match
// case-insensitively. Every resource needs an id.
func decodePage[T any](body []byte) (page[T], error) {
	if p, ok := decodePageFast[T](body); ok {
		return p, nil
	}
	return decodePageSlow[T](body)
}

// decodePageSlow is decodePage for any body and any resource type: the
// list first, then each resource's id, then the resource.
func decodePageSlow[T any](body []byte) (page[T], error) {
	var raw rawList
	if err := unmarshal(body, &raw); err != nil {
		return page[T]{}, invalid(fmt.Errorf("decoding list response: %w", err))
	}
	if raw.TotalResults == nil {
		// A server that answers 200 with a SCIM error: say what it said.
		if scimType, detail, ok := errorBody(body); ok {
			said := detail
			if said == "" {
				said = "(no detail)"
			}
			if scimType != "" {
				said = scimType + ": " + said
			}
			return page[T]{}, invalid(fmt.Errorf("decoding list response: the server answered 200 OK with a SCIM error, not a list: %s", said))
		}
		return page[T]{}, invalid(errors.New("decoding list response: no totalResults"))
	}
	if *raw.TotalResults < 0 {
		return page[T]{}, invalid(fmt.Errorf("decoding list response: negative totalResults %d", *raw.TotalResults))
	}
	p := page[T]{
		total: *raw.TotalResults,
		items: make([]T, len(raw.Resources)),
		ids:   make([]string, len(raw.Resources)),
	}
	for i, r := range raw.Resources {
		var id struct {
			ID string `json:"id"`
		}
		if err := unmarshal(r, &id); err != nil {
			return page[T]{}, invalid(fmt.Errorf("decoding resource %d: %w", i, err))
		}
		if id.ID == "" {
			return page[T]{}, invalid(fmt.Errorf("decoding resource %d: no id", i))
		}
		if u, isUser := any(&p.items[i]).(*User); isUser {
			if err := decodeUser(r, u); err != nil {
				return page[T]{}, invalid(fmt.Errorf("decoding resource %s: %w", id.ID, err))
			}
		} else if err := unmarshal(r, &p.items[i]); err != nil {
			return page[T]{}, invalid(fmt.Errorf("decoding resource %s: %w", id.ID, err))
		}
		p.ids[i] = id.ID
	}
	return p, nil
}

// wireUser is a User whose active attribute is read apart, so that one
// the server left out (or sent as null) is told from false: a field of the
// outer struct hides the embedded one of the same name.
type wireUser struct {
	User
	Active *Bool `json:"active"`
}

// errNoActive refuses a user without active: RFC 7643 gives the attribute
// no default, and read as false the user would be removed as inactive.
var errNoActive = errors.New("no active attribute (or null): RFC 7643 gives it no default, so whether the user is active is unknown; the server must send active for every user")

// decodeUser decodes one user resource into u, refusing one without
// active.
func decodeUser(r []byte, u *User) error {
	var w wireUser
	if err := unmarshal(r, &w); err != nil {
		return err
	}
	if w.Active == nil {
		return errNoActive
	}
	*u = w.User
	u.Active = *w.Active
	return nil
}

// decodePageFast decodes a list response body of a resource type with a
// known id in one pass, where decodePage's general path decodes each
// resource twice (its id, then itself) after the list. It reports false,
// for the general path to run and say what is wrong, unless the body is
// valid, with a totalResults of at least 0 and an id on every resource:
// on those bodies both paths give the same page.
func decodePageFast[T any](body []byte) (page[T], bool) {
	var zero T
	if _, known := resourceID(&zero); !known {
		return page[T]{}, false
	}
	if _, isUser := any(&zero).(*User); isUser {
		return decodeUsersPageFast[T](body)
	}
	total, items, ok := decodeListBody[T](body)
	if !ok {
		return page[T]{}, false
	}
	p := page[T]{total: total, items: items, ids: make([]string, len(items))}
	if p.items == nil {
		p.items = []T{}
	}
	for i := range p.items {
		id, _ := resourceID(&p.items[i])
		if id == "" {
			return page[T]{}, false
		}
		p.ids[i] = id
	}
	return p, true
}

// decodeListBody decodes a list response body into its totalResults and
// resources as R, in one pass; false unless it is valid, with a
// totalResults of at least 0.
func decodeListBody[R any](body []byte) (int, []R, bool) {
	var l struct {
		Schemas      []string `json:"schemas"`
		TotalResults *int     `json:"totalResults"`
		Resources    []R      `json:"Resources"`
	}
	if err := unmarshal(body, &l); err != nil || l.TotalResults == nil || *l.TotalResults < 0 {
		return 0, nil, false
	}
	return *l.TotalResults, l.Resources, true
}

// decodeUsersPageFast is decodePageFast for users, each read as a wireUser:
// a user without active declines the page, for the general path to say so.
func decodeUsersPageFast[T any](body []byte) (page[T], bool) {
	total, users, ok := decodeListBody[wireUser](body)
	if !ok {
		return page[T]{}, false
	}
	p := page[T]{total: total, items: make([]T, len(users)), ids: make([]string, len(users))}
	for i := range users {
		w := &users[i]
		if w.Active == nil || w.ID == "" {
			return page[T]{}, false
		}
		u := any(&p.items[i]).(*User)
		*u = w.User
		u.Active = *w.Active
		p.ids[i] = w.ID
	}
	return p, true
}

// resourceID returns the id of a resource of a type this package defines,
// and whether it knows the type.
func resourceID[T any](v *T) (string, bool) {
	switch r := any(v).(type) {
	case *User:
		return r.ID, true
	case *Group:
		return r.ID, true
	case *Organization:
		return r.ID, true
	case *Member:
		return r.ID, true
	}
	return "", false
}
