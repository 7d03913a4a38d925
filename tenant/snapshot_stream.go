package tenant

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/scimsync/scimsync/scim"
)

// A snapshot of a large tenant is not held in memory (issue 18): as each
// page of users or members, and each group with its members, arrives, its
// resources are encoded as they will appear in the document and appended
// to a spill file; only what FromSCIM checks (the slim resources of a plan)
// and where each resource's bytes are stay in memory. Once the read is
// whole and checked, SnapshotStream.WriteTo writes the document, in
// canonical order, from the spill: the same bytes as EncodeSnapshot of the
// Snapshot that ReadSnapshot returns.

// resourceIndent is the indentation of a resource's lines in a snapshot
// document: a resource is an element of the Resources array of one of the
// document's four lists.
const resourceIndent = "      "

// resourceSep separates two resources of a list in a snapshot document.
const resourceSep = ",\n" + resourceIndent

// spillRef is where a resource's encoded bytes are in the spill file.
type spillRef struct{ off, n int64 }

// SnapshotStream is a tenant read for a snapshot, with its resources
// encoded in a temporary file (see ReadSnapshotStream). Close removes the
// file.
type SnapshotStream struct {
	// Users, Groups, ChildOrganizations and Members count what the
	// snapshot holds.
	Users, Groups, ChildOrganizations, Members int

	spill *os.File
	// name is the spill file's name while it is still to be removed: on
	// platforms that cannot remove an open file.
	name string

	mu   sync.Mutex
	size int64
	err  error                         // the first failure to spill
	refs [numLists]map[string]spillRef // by id; organizations are not spilled

	userIDs   []string            // sorted
	groups    []scim.Group        // the listing, sorted, without members
	orgs      []scim.Organization // sorted
	memberIDs []string            // sorted
}

// ReadSnapshotStream reads the tenant as ReadSnapshot does, with the same
// checks and errors, and keeps it as a SnapshotStream: the resources are
// encoded as they arrive into a temporary file in dir (os.TempDir() when
// empty), created with mode 0600 and, where the platform allows, removed
// at once so that nothing is left behind if the process dies.
func (s *SCIMSource) ReadSnapshotStream(ctx context.Context, req ReadRequest, dir string) (*SnapshotStream, error) {
	st, err := newSnapshotStream(dir)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			st.Close()
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	failed := func(err error) {
		st.mu.Lock()
		if st.err == nil {
			st.err = err
		}
		st.mu.Unlock()
		cancel()
	}
	hooks := readHooks{
		users: func(us []scim.User) {
			for i := range us {
				us[i].Meta.Location = ""
			}
			if err := spillPage(st, listUsers, us, func(u *scim.User) string { return u.ID }); err != nil {
				failed(err)
			}
			// FromSCIM reads only a user's id and userName (for its
			// errors) once the user is spilled.
			for i, u := range us {
				us[i] = scim.User{ID: u.ID, UserName: u.UserName}
			}
		},
		members: func(ms []scim.Member) {
			for i := range ms {
				ms[i].Meta.Location = ""
			}
			if err := spillPage(st, listMembers, ms, func(m *scim.Member) string { return m.ID }); err != nil {
				failed(err)
			}
			checkedMembers(ms)
		},
		group: func(listed, read *scim.Group) error {
			g := *listed
			g.Meta.Location = ""
			// Sorted as Snapshot.Sort sorts them, on a copy: the read
			// looks at the members in the server's order.
			g.Members = slices.Clone(read.Members)
			sortMembers(g.Members)
			return spillPage(st, listGroups, []scim.Group{g}, func(g *scim.Group) string { return g.ID })
		},
		// FromSCIM checks nothing of a group's members.
		nestedOnly: true,
	}
	snap, _, count, err := s.read(ctx, req, hooks, nil)
	st.mu.Lock()
	spillErr := st.err
	st.mu.Unlock()
	if spillErr != nil {
		return nil, fmt.Errorf("reading tenant: keeping what was read: %w", spillErr)
	}
	if err != nil {
		return nil, err
	}
	// Refuse what a snapshot reader would refuse: FromSCIM reads nothing
	// that the slim resources lack.
	if _, err := FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members); err != nil {
		return nil, fmt.Errorf("reading tenant: %w", err)
	}
	if err := count.check(); err != nil {
		return nil, err
	}
	st.userIDs = make([]string, len(snap.Users))
	for i, u := range snap.Users {
		st.userIDs[i] = u.ID
	}
	slices.Sort(st.userIDs)
	st.groups = snap.Groups
	for i := range st.groups {
		st.groups[i].Meta.Location = ""
		st.groups[i].Members = nil // spilled, or not read
	}
	slices.SortFunc(st.groups, func(a, b scim.Group) int { return cmp.Compare(a.ID, b.ID) })
	st.orgs = snap.Organizations
	for i := range st.orgs {
		st.orgs[i].Meta.Location = ""
		if st.orgs[i].Parent != "" {
			st.ChildOrganizations++
		}
	}
	slices.SortFunc(st.orgs, func(a, b scim.Organization) int { return cmp.Compare(a.ID, b.ID) })
	st.memberIDs = make([]string, len(snap.Members))
	for i, m := range snap.Members {
		st.memberIDs[i] = m.ID
	}
	slices.Sort(st.memberIDs)
	st.Users, st.Groups, st.Members = len(st.userIDs), len(st.groups), len(st.memberIDs)
	for _, l := range []int{listUsers, listMembers} {
		ids := st.userIDs
		if l == listMembers {
			ids = st.memberIDs
		}
		for _, id := range ids {
			if _, ok := st.refs[l][id]; !ok {
				return nil, fmt.Errorf("reading tenant: %s %s was listed but not kept", listNames[l], id)
			}
		}
	}
	ok = true
	return st, nil
}

func newSnapshotStream(dir string) (*SnapshotStream, error) {
	f, err := os.CreateTemp(dir, ".scimsync-snapshot-*.spill")
	if err != nil {
		return nil, fmt.Errorf("keeping what is read in a temporary file: %w", err)
	}
	st := &SnapshotStream{spill: f, name: f.Name()}
	if os.Remove(f.Name()) == nil {
		st.name = ""
	}
	for l := range st.refs {
		st.refs[l] = map[string]spillRef{}
	}
	return st, nil
}

// Close removes the spill file.
func (st *SnapshotStream) Close() error {
	err := st.spill.Close()
	if st.name != "" {
		if rerr := os.Remove(st.name); rerr == nil || errors.Is(rerr, os.ErrNotExist) {
			st.name = ""
		} else if err == nil {
			err = rerr
		}
	}
	return err
}

// encoderPool holds resourceEncoders.
var encoderPool = sync.Pool{New: func() any { return newResourceEncoder() }}

// resourceEncoder encodes resources as EncodeSnapshot encodes the elements
// of a list: encoding/json, HTML left unescaped, indented at their depth.
type resourceEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
	out []byte
}

func newResourceEncoder() *resourceEncoder {
	e := &resourceEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	e.enc.SetIndent(resourceIndent, "  ")
	return e
}

// appendResource appends v's encoding to e.out.
func (e *resourceEncoder) appendResource(v any) error {
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return fmt.Errorf("encoding snapshot: %w", err)
	}
	e.out = append(e.out, bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))...)
	return nil
}

// spillPage encodes the resources of one page and appends them to the
// spill file, each followed by resourceSep, and records where each is by
// its id. A resource read again (a listing that reads some pages twice)
// replaces the one read before.
func spillPage[T any](st *SnapshotStream, list int, items []T, id func(*T) string) error {
	if len(items) == 0 {
		return nil
	}
	e := encoderPool.Get().(*resourceEncoder)
	defer encoderPool.Put(e)
	e.out = e.out[:0]
	refs := make([]spillRef, len(items)) // relative to the page's start
	for i := range items {
		start := len(e.out)
		if err := e.appendResource(&items[i]); err != nil {
			return err
		}
		refs[i] = spillRef{off: int64(start), n: int64(len(e.out) - start)}
		e.out = append(e.out, resourceSep...)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.err != nil {
		return st.err
	}
	base := st.size
	if _, err := st.spill.WriteAt(e.out, base); err != nil {
		return err
	}
	st.size += int64(len(e.out))
	for i := range items {
		st.refs[list][id(&items[i])] = spillRef{off: base + refs[i].off, n: refs[i].n}
	}
	if cap(e.out) > 4<<20 {
		e.out = nil // a very large group: do not keep its buffer
	}
	return nil
}

// checkedMembers keeps of each organization member, once it is spilled,
// what FromSCIM checks and names in its errors, with one copy per page of
// each organization id, role and origin.
func checkedMembers(ms []scim.Member) {
	words := map[string]string{}
	word := func(s string) string {
		if w, ok := words[s]; ok {
			return w
		}
		words[s] = s
		return s
	}
	for i, m := range ms {
		ms[i] = scim.Member{ID: m.ID, Organization: word(m.Organization), Email: m.Email, Role: word(m.Role), Origin: word(m.Origin)}
	}
}

// sortMembers sorts a group's members as Snapshot.Sort does.
func sortMembers(ms []scim.GroupMember) {
	slices.SortFunc(ms, func(a, b scim.GroupMember) int {
		return cmp.Or(cmp.Compare(a.Value, b.Value), cmp.Compare(a.Type, b.Type))
	})
}

// WriteTo writes the snapshot document to w: the bytes that EncodeSnapshot
// writes of the same tenant read whole. It may be called more than once.
func (st *SnapshotStream) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	sw := &snapshotWriter{st: st, w: bufio.NewWriterSize(cw, 1<<20)}
	sw.str("{\n  \"schemas\": [\n    " + strconv.Quote(SchemaSnapshot) + "\n  ],\n")
	sw.list("Users", len(st.userIDs), func(i int) { sw.spilled(st.refs[listUsers][st.userIDs[i]], i) })
	sw.str(",\n")
	sw.list("Groups", len(st.groups), func(i int) {
		if ref, ok := st.refs[listGroups][st.groups[i].ID]; ok {
			sw.spilled(ref, i)
		} else {
			sw.encode(&st.groups[i], i)
		}
	})
	sw.str(",\n")
	sw.list("Organizations", len(st.orgs), func(i int) { sw.encode(&st.orgs[i], i) })
	sw.str(",\n")
	sw.list("Members", len(st.memberIDs), func(i int) { sw.spilled(st.refs[listMembers][st.memberIDs[i]], i) })
	sw.str("\n}\n")
	if sw.err == nil {
		sw.err = sw.w.Flush()
	}
	return cw.n, sw.err
}

// snapshotWriter writes a snapshot document; the first error sticks.
type snapshotWriter struct {
	st  *SnapshotStream
	w   *bufio.Writer
	err error
	// run is the part of the spill file still to copy: resources that lie
	// there one after the other, with their separators, as they do in
	// the document.
	run spillRef
}

func (sw *snapshotWriter) str(s string) {
	if sw.err == nil {
		_, sw.err = sw.w.WriteString(s)
	}
}

// list writes a list of n resources, elem writing the i-th.
func (sw *snapshotWriter) list(name string, n int, elem func(i int)) {
	sw.str("  " + strconv.Quote(name) + ": {\n    \"schemas\": [\n      " + strconv.Quote(scim.SchemaListResponse) + "\n    ],\n")
	sw.str("    \"totalResults\": " + strconv.Itoa(n) + ",\n    \"startIndex\": 1,\n")
	if n == 0 {
		// itemsPerPage is omitted when 0, and an empty array is "[]".
		sw.str("    \"Resources\": []\n  }")
		return
	}
	sw.str("    \"itemsPerPage\": " + strconv.Itoa(n) + ",\n    \"Resources\": [\n" + resourceIndent)
	for i := range n {
		elem(i)
	}
	sw.flushRun()
	sw.str("\n    ]\n  }")
}

// spilled writes the i-th resource of a list, spilled at ref.
func (sw *snapshotWriter) spilled(ref spillRef, i int) {
	if i > 0 && sw.run.n > 0 && ref.off == sw.run.off+sw.run.n+int64(len(resourceSep)) {
		sw.run.n = ref.off + ref.n - sw.run.off
		return
	}
	sw.flushRun()
	if i > 0 {
		sw.str(resourceSep)
	}
	sw.run = ref
}

// encode writes the i-th resource of a list, v, encoded now.
func (sw *snapshotWriter) encode(v any, i int) {
	sw.flushRun()
	if i > 0 {
		sw.str(resourceSep)
	}
	if sw.err != nil {
		return
	}
	e := encoderPool.Get().(*resourceEncoder)
	defer encoderPool.Put(e)
	e.out = e.out[:0]
	if sw.err = e.appendResource(v); sw.err == nil {
		_, sw.err = sw.w.Write(e.out)
	}
}

// flushRun copies the run from the spill file.
func (sw *snapshotWriter) flushRun() {
	if sw.run.n == 0 || sw.err != nil {
		sw.run = spillRef{}
		return
	}
	_, err := io.Copy(sw.w, io.NewSectionReader(sw.st.spill, sw.run.off, sw.run.n))
	if err != nil {
		sw.err = fmt.Errorf("writing snapshot: reading back what was read: %w", err)
	}
	sw.run = spillRef{}
}

// countWriter counts what it writes.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
