package tenant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// Focused is a tenant restricted to a few people (Restrict), for a trace
// of them (`scimsync explain`), with what the trace needs of everyone else.
type Focused struct {
	// Tenant is Restrict of the whole tenant for the people asked about.
	Tenant *Tenant
	// Addresses holds every userName and emails[].value of the whole
	// tenant's users, then every member's email, as read: the candidates
	// of a did-you-mean for an address that matches no one.
	Addresses []string
	// Users and Members count the whole tenant's.
	Users, Members int
}

// Focus is the Focused form of a whole tenant t for the people holding
// emails.
func Focus(t *Tenant, emails []string) *Focused {
	return &Focused{Tenant: Restrict(t, emails), Addresses: addresses(t.Users, t.Members), Users: len(t.Users), Members: len(t.Members)}
}

func addresses(users []resolve.User, members []resolve.Member) []string {
	n := len(members)
	for i := range users {
		n += 1 + len(users[i].Emails)
	}
	out := make([]string, 0, n)
	EachAddress(users, members, func(a string) { out = append(out, a) })
	return out
}

// EachAddress calls fn with every userName and emails[].value of users,
// then every member's email, as read: the addresses a did-you-mean for an
// address that matches no one draws on (Focused.Addresses holds them).
func EachAddress(users []resolve.User, members []resolve.Member, fn func(string)) {
	for i := range users {
		fn(users[i].UserName)
		for _, e := range users[i].Emails {
			fn(e)
		}
	}
	for i := range members {
		fn(members[i].Email)
	}
}

// ReadFocused reads the snapshot file for the people holding emails: the
// result is Focus of what Read returns, with the same errors, but the
// groups' members are never held whole. A group's members are most of a
// large snapshot (a million entries at 100k users): they are kept as raw
// bytes while the document is read, and only the entries naming a group
// or a user People keeps become ids. The document is read and checked as
// Read reads it: a malformed or inconsistent snapshot is an error, never
// a partial answer.
func (s *SnapshotSource) ReadFocused(ctx context.Context, req ReadRequest, emails []string) (*Focused, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	defer f.Close()
	foc, decoded, err := decodeSnapshotFocused(f, emails)
	if errors.Is(err, errFocusFallback) {
		// Read's error, or (should the snapshot be fine after all) the
		// whole tenant restricted.
		t, err := s.Read(ctx, ReadRequest{})
		if err != nil {
			return nil, err
		}
		foc, decoded, err = Focus(t, emails), true, nil
	}
	switch {
	case err != nil && !decoded:
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	case err != nil:
		return nil, fmt.Errorf("snapshot %s: %w", s.Path, err)
	}
	foc.Tenant.Kind = KindSnapshot
	if req.Progress != nil {
		req.Progress("users", foc.Users, foc.Users)
		req.Progress("groups", len(foc.Tenant.Groups), len(foc.Tenant.Groups))
		req.Progress("organizations", 1+len(foc.Tenant.Orgs), 1+len(foc.Tenant.Orgs))
		req.Progress("members", foc.Members, foc.Members)
	}
	return foc, nil
}

// focusSink is a slimSink but for the groups' members: their values are
// appended to one arena, which the Focused tenant's groups are cut from.
type focusSink struct {
	*slimSink
	groups []focusGroup
	arena  []byte
	ends   []int // ends[k] is where the k-th member value ends in arena
}

// focusGroup is a group as read: its members are the values
// ends[from:to] delimit.
type focusGroup struct {
	id, name string
	from, to int
}

// value returns the k-th group member value read, valid while the arena
// is.
func (w *focusSink) value(k int) []byte {
	start := 0
	if k > 0 {
		start = w.ends[k-1]
	}
	return w.arena[start:w.ends[k]]
}

func (w *focusSink) reset(list, size int) {
	if list != listGroups {
		w.slimSink.reset(list, size)
		return
	}
	w.groups = make([]focusGroup, 0, sizeHint(size))
	w.arena, w.ends = w.arena[:0], w.ends[:0]
}

func (w *focusSink) resource(r *snapReader, list int) error {
	if list == listGroups {
		return w.group(r)
	}
	return w.slimSink.resource(r, list)
}

// group reads a group as slimSink.group does, checking the same types.
func (w *focusSink) group(r *snapReader) error {
	g := focusGroup{from: len(w.ends)}
	_, err := r.object(groupFields, func(i int) error {
		switch i {
		case 0:
			return r.skipStrs()
		case 1:
			return r.str(&g.id)
		case 2:
			return r.skipStr()
		case 3:
			return r.str(&g.name)
		case 4:
			// A repeated members attribute replaces the one before, as it
			// does when decoded. The array is read whole, checked by the
			// decoder, and walked by scanMembers.
			w.arena = w.arena[:w.valueStart(g.from)]
			w.ends = w.ends[:g.from]
			k, err := r.peek()
			if err != nil {
				return err
			}
			if k != '[' && k != 'n' {
				return r.typeError("an array", k)
			}
			raw, err := r.dec.ReadValue()
			if err != nil {
				// Read's error says where in the array.
				return errFocusFallback
			}
			if !w.scanMembers(r, raw) {
				return errFocusFallback
			}
			return nil
		case 5:
			return r.skipStrObject(metaFields)
		}
		return r.dec.SkipValue()
	})
	if err != nil {
		return err
	}
	g.to = len(w.ends)
	w.groups = append(w.groups, g)
	return nil
}

// errFocusFallback says that a group's members are not what
// scanMembers reads (a value of the wrong type, or JSON that ends or
// breaks inside them): the document is then read as Read reads it, for
// its error.
var errFocusFallback = errors.New("tenant: read the snapshot whole")

// scanMembers appends the member values of a group's members attribute,
// raw (an array or null, which the decoder has checked is JSON), to the
// arena, checking what slimSink.group checks: each element is an object
// or null, and its value, $ref, type and display are strings or null. It
// reports false for anything else, and for a member without value.
func (w *focusSink) scanMembers(r *snapReader, raw []byte) bool {
	s := rawJSON{b: raw}
	s.space()
	switch s.peek() {
	case 'n':
		return true
	case '[':
	default:
		return false
	}
	s.i++
	for {
		s.space()
		switch s.peek() {
		case ']':
			return true
		case ',':
			s.i++
			s.space()
		}
		start := len(w.arena)
		switch s.peek() {
		case 'n':
			s.i += len("null")
		case '{':
			s.i++
			for {
				s.space()
				if s.peek() == '}' {
					s.i++
					break
				}
				if s.peek() == ',' {
					s.i++
					s.space()
				}
				name := s.str()
				s.space()
				s.i++ // ':'
				s.space()
				switch i := matchName(r.unquote(name), gmFields); {
				case i == 0 && s.peek() == '"':
					// The last value wins, as when decoded.
					w.arena = append(w.arena[:start], r.unquote(s.str())...)
				case i >= 0 && s.peek() == '"':
					s.str()
				case i >= 0 && s.peek() == 'n':
					s.i += len("null")
				case i >= 0:
					return false
				default:
					s.skip()
				}
			}
		default:
			return false
		}
		if len(w.arena) == start {
			// A member without value (null, or only a $ref): FromSCIM
			// refuses it, with its message, in the whole read.
			return false
		}
		w.ends = append(w.ends, len(w.arena))
	}
}

// rawJSON walks JSON text that a jsontext.Decoder has read as one value,
// so is known to be valid: it needs to find where each part ends, never
// to check it.
type rawJSON struct {
	b []byte
	i int
}

func (s *rawJSON) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *rawJSON) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str returns the string at s.i, quotes included, and moves past it.
func (s *rawJSON) str() []byte {
	start := s.i
	s.i++
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return s.b[start:s.i]
		}
		s.i++
	}
	return s.b[start:]
}

// skip moves past the value at s.i.
func (s *rawJSON) skip() {
	switch s.peek() {
	case '"':
		s.str()
		return
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return
				}
			}
			s.i++
		}
		return
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return
		}
		s.i++
	}
}

// valueStart is where the k-th member value starts in the arena.
func (w *focusSink) valueStart(k int) int {
	if k == 0 {
		return 0
	}
	return w.ends[k-1]
}

// decodeSnapshotFocused reads a snapshot document into a Focused tenant
// for emails, with decodeSnapshotTenant's errors: decoded says whether the
// document was read, so that err is FromSCIM's.
func decodeSnapshotFocused(rd io.Reader, emails []string) (foc *Focused, decoded bool, err error) {
	sink := &focusSink{slimSink: newSlimSink()}
	var (
		users     <-chan convertedUsers
		converted []scim.User
	)
	sink.usersDone = func(us []scim.User) {
		if users == nil {
			users, converted = convertUsersAsync(us), us
		}
	}
	err = decodeSnapshotDoc(rd, sink)
	if users != nil && (err != nil || !sameSlice(converted, sink.s.Users)) {
		<-users // the read failed, or the users' list was read again
		users = nil
	}
	if err != nil {
		return nil, false, err
	}
	if users == nil {
		users = convertUsersAsync(sink.s.Users)
	}

	// fromSCIM's checks, in its order, with its errors.
	t := &Tenant{}
	orgErr := orgsFromSCIM(t, sink.s.Organizations)
	var memberErr []error
	t.Members, memberErr = membersFromSCIM(sink.s.Members, t.Orgs)
	cu := <-users
	t.Users = cu.users
	var groupErr []error
	seen := make(map[string]bool, len(sink.groups))
	for i, g := range sink.groups {
		unique(seen, &groupErr, "group", i, g.id, g.name)
	}
	if errs := slices.Concat(cu.errs, groupErr, orgErr, memberErr); len(errs) > 0 {
		return nil, true, errors.Join(errs...)
	}

	keepU, keepM := People(t.Users, t.Members, emails)
	out, kept := restricted(t, keepU, keepM)
	isGroup := make(map[string]bool, len(sink.groups))
	for _, g := range sink.groups {
		isGroup[g.id] = true
	}
	out.Groups = make([]resolve.Group, 0, len(sink.groups))
	out.MembersRead = make(map[string]bool, len(sink.groups))
	for _, g := range sink.groups {
		if out.MembersRead[g.id] {
			continue // a duplicate: reported above
		}
		rg := resolve.Group{ID: g.id, DisplayName: g.name}
		for k := g.from; k < g.to; k++ {
			if v := sink.value(k); keptMember(isGroup, kept, v) {
				rg.Members = append(rg.Members, string(v))
			}
		}
		out.Groups = append(out.Groups, rg)
		out.MembersRead[g.id] = true
	}
	return &Focused{Tenant: out, Addresses: addresses(t.Users, t.Members), Users: len(t.Users), Members: len(t.Members)}, true, nil
}
