package tenant

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/scimsync/scimsync/scim"
)

// A snapshot document is read as a stream (issue 18): the decoder walks
// the document token by token and hands each resource of the four lists to
// a callback as it reaches it, so that neither the raw document nor (for a
// plan) the full resources are ever held whole. DecodeSnapshot decodes each
// resource into its wire type; readSnapshotTenant, behind
// SnapshotSource.Read, keeps only what FromSCIM reads, as the live SCIM
// source does page by page.

// snapshotDecodeOptions match attribute names exactly or, failing that,
// case-insensitively as strings.EqualFold does (RFC 7643 §2.1), without
// JSON v2's folding of '_' and '-' (so "_id" is not "id"); a name repeated
// in an object is not an error and the last one wins; invalid UTF-8 in a
// string becomes U+FFFD. Those are what encoding/json did.
var snapshotDecodeOptions = json.JoinOptions(
	json.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// The lists of a snapshot document, in document order.
const (
	listUsers = iota
	listGroups
	listOrganizations
	listMembers
	numLists
)

var listNames = [numLists]string{"Users", "Groups", "Organizations", "Members"}

// snapshotSink receives a snapshot document's resources.
type snapshotSink interface {
	// reset drops the resources of list received so far: its Resources
	// array starts again (a repeated name) or the list is null. size is
	// the list's totalResults so far, a hint at what follows.
	reset(list, size int)
	// resource decodes the next resource of list from r.
	resource(r *snapReader, list int) error
	// done is called when a list's Resources array ends.
	done(list int)
}

// snapReader is a jsontext.Decoder with the few typed reads a snapshot
// needs. Its errors say where in the document they are.
type snapReader struct {
	dec *jsontext.Decoder
	buf []byte // scratch for unquoting
}

func newSnapReader(r io.Reader) *snapReader {
	return &snapReader{dec: jsontext.NewDecoder(bufio.NewReaderSize(r, 1<<16), snapshotDecodeOptions)}
}

// typeError says that the value at the decoder's position is of the wrong
// kind.
func (r *snapReader) typeError(want string, k jsontext.Kind) error {
	return fmt.Errorf("at %s: want %s, got %s", r.dec.StackPointer(), want, kindName(k))
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "nothing"
}

// peek returns the kind of the next value; a read error is returned as
// such.
func (r *snapReader) peek() (jsontext.Kind, error) {
	if k := r.dec.PeekKind(); k != 0 {
		return k, nil
	}
	_, err := r.dec.ReadToken()
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return 0, err
}

// unquote returns the content of the JSON string raw. The result aliases
// raw or r.buf: it is valid until the next read.
func (r *snapReader) unquote(raw []byte) []byte {
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			// Escapes or non-ASCII: unquote properly; invalid UTF-8
			// becomes U+FFFD, which the options allow.
			r.buf, _ = jsontext.AppendUnquote(r.buf[:0], raw)
			return r.buf
		}
	}
	return inner
}

// strBytes reads a string or null (ok false). The bytes are valid until
// the next read.
func (r *snapReader) strBytes() (b []byte, ok bool, err error) {
	k, err := r.peek()
	if err != nil {
		return nil, false, err
	}
	switch k {
	case '"':
		v, err := r.dec.ReadValue()
		if err != nil {
			return nil, false, err
		}
		return r.unquote(v), true, nil
	case 'n':
		_, err := r.dec.ReadToken()
		return nil, false, err
	}
	return nil, false, r.typeError("a string", k)
}

// str reads a string into *dst; null leaves it as it is.
func (r *snapReader) str(dst *string) error {
	b, ok, err := r.strBytes()
	if ok {
		*dst = string(b)
	}
	return err
}

// skipStr checks that the next value is a string or null and skips it.
func (r *snapReader) skipStr() error {
	k, err := r.peek()
	if err != nil {
		return err
	}
	if k != '"' && k != 'n' {
		return r.typeError("a string", k)
	}
	return r.dec.SkipValue()
}

// skipStrs checks that the next value is null or an array of strings and
// nulls, and skips it.
func (r *snapReader) skipStrs() error {
	return r.array(r.skipStr)
}

// strs reads null (nil) or an array of strings; a null element is "".
func (r *snapReader) strs() ([]string, error) {
	out := []string{}
	isNull, err := r.arrayOrNull(func() error {
		var s string
		err := r.str(&s)
		out = append(out, s)
		return err
	})
	if isNull {
		return nil, err
	}
	return out, err
}

// integer reads a number that is an integer into *dst; null leaves it as
// it is.
func (r *snapReader) integer(dst *int) error {
	k, err := r.peek()
	if err != nil {
		return err
	}
	switch k {
	case 'n':
		_, err := r.dec.ReadToken()
		return err
	case '0':
		v, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(string(v), 10, strconv.IntSize)
		if err != nil {
			return fmt.Errorf("at %s: %s is not an integer", r.dec.StackPointer(), v)
		}
		*dst = int(n)
		return nil
	}
	return r.typeError("a number", k)
}

// array reads null or an array, calling elem for each element.
func (r *snapReader) array(elem func() error) error {
	_, err := r.arrayOrNull(elem)
	return err
}

func (r *snapReader) arrayOrNull(elem func() error) (isNull bool, err error) {
	k, err := r.peek()
	if err != nil {
		return false, err
	}
	switch k {
	case 'n':
		_, err := r.dec.ReadToken()
		return true, err
	case '[':
	default:
		return false, r.typeError("an array", k)
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return false, err
	}
	for {
		k, err := r.peek()
		if err != nil {
			return false, err
		}
		if k == ']' {
			_, err := r.dec.ReadToken()
			return false, err
		}
		if err := elem(); err != nil {
			return false, err
		}
	}
}

// object reads null or an object, calling member with the index in names
// of each member's name (matched exactly, else as strings.EqualFold
// does), or -1 for a name that is not there; member reads the value.
func (r *snapReader) object(names []string, member func(i int) error) (isNull bool, err error) {
	k, err := r.peek()
	if err != nil {
		return false, err
	}
	switch k {
	case 'n':
		_, err := r.dec.ReadToken()
		return true, err
	case '{':
	default:
		return false, r.typeError("an object", k)
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return false, err
	}
	for {
		k, err := r.peek()
		if err != nil {
			return false, err
		}
		if k == '}' {
			_, err := r.dec.ReadToken()
			return false, err
		}
		v, err := r.dec.ReadValue()
		if err != nil {
			return false, err
		}
		if err := member(matchName(r.unquote(v), names)); err != nil {
			return false, err
		}
	}
}

// matchName returns the index of name in names, matched exactly or else
// case-insensitively (strings.EqualFold, as encoding/json did), or -1.
func matchName(name []byte, names []string) int {
	for i, n := range names {
		if string(name) == n {
			return i
		}
	}
	for i, n := range names {
		if strings.EqualFold(string(name), n) {
			return i
		}
	}
	return -1
}

// skipStrObject checks that the next value is null or an object whose
// members named in names are strings or null, and skips it: the shape of
// a name or a meta whose content is not needed.
func (r *snapReader) skipStrObject(names []string) error {
	_, err := r.object(names, func(i int) error {
		if i < 0 {
			return r.dec.SkipValue()
		}
		return r.skipStr()
	})
	return err
}

var (
	docFields  = []string{"schemas", "Users", "Groups", "Organizations", "Members"}
	listFields = []string{"schemas", "totalResults", "startIndex", "itemsPerPage", "Resources"}
	metaFields = []string{"resourceType", "created", "lastModified", "location", "version"}
	nameFields = []string{"formatted", "givenName", "familyName"}
)

// decodeSnapshotDoc reads a snapshot document from rd, giving its
// resources to sink, and checks it as DecodeSnapshot documents: the
// snapshot schema, all four lists, each with totalResults equal to the
// resources that follow, and nothing after the document.
func decodeSnapshotDoc(rd io.Reader, sink snapshotSink) error {
	r := newSnapReader(rd)
	var (
		schemas []string
		present [numLists]bool
		total   [numLists]int
		count   [numLists]int
	)
	list := func(l int) error {
		isNull, err := r.object(listFields, func(i int) error {
			switch i {
			case 0:
				return r.skipStrs()
			case 1:
				return r.integer(&total[l])
			case 2, 3:
				var n int
				return r.integer(&n)
			case 4:
				count[l] = 0
				sink.reset(l, total[l])
				err := r.array(func() error {
					count[l]++
					return sink.resource(r, l)
				})
				if err == nil {
					sink.done(l)
				}
				return err
			}
			return r.dec.SkipValue()
		})
		if isNull {
			// As encoding/json did: null drops a list read before.
			present[l], total[l], count[l] = false, 0, 0
			sink.reset(l, 0)
		} else if err == nil {
			present[l] = true
		}
		return err
	}
	_, err := r.object(docFields, func(i int) error {
		switch i {
		case 0:
			var err error
			schemas, err = r.strs()
			return err
		case 1, 2, 3, 4:
			return list(i - 1)
		}
		return r.dec.SkipValue()
	})
	if err != nil {
		return fmt.Errorf("decoding snapshot: %w", err)
	}
	if _, err := r.dec.ReadToken(); err != io.EOF {
		return errors.New("decoding snapshot: data after the document")
	}
	if !slices.Contains(schemas, SchemaSnapshot) {
		return fmt.Errorf("decoding snapshot: schemas %q lacks %s (is this a scimsync snapshot?)", schemas, SchemaSnapshot)
	}
	var errs []error
	for l := range numLists {
		switch {
		case !present[l]:
			errs = append(errs, fmt.Errorf("decoding snapshot: no %s list", listNames[l]))
		case total[l] != count[l]:
			errs = append(errs, fmt.Errorf("decoding snapshot: %s: totalResults is %d but %d resources follow", listNames[l], total[l], count[l]))
		}
	}
	return errors.Join(errs...)
}

// wholeSink keeps every resource whole: DecodeSnapshot's.
type wholeSink struct{ s Snapshot }

func (w *wholeSink) reset(list, size int) {
	size = sizeHint(size)
	switch list {
	case listUsers:
		w.s.Users = make([]scim.User, 0, size)
	case listGroups:
		w.s.Groups = make([]scim.Group, 0, size)
	case listOrganizations:
		w.s.Organizations = make([]scim.Organization, 0, size)
	case listMembers:
		w.s.Members = make([]scim.Member, 0, size)
	}
}

// sizeHint bounds a list's totalResults, which the document only claims,
// to a capacity worth allocating up front.
func sizeHint(total int) int {
	return max(0, min(total, 1<<17))
}

func (w *wholeSink) done(int) {}

func (w *wholeSink) resource(r *snapReader, list int) error {
	switch list {
	case listUsers:
		return decodeAppend(r, &w.s.Users)
	case listGroups:
		return decodeAppend(r, &w.s.Groups)
	case listOrganizations:
		return decodeAppend(r, &w.s.Organizations)
	default:
		return decodeAppend(r, &w.s.Members)
	}
}

// decodeAppend decodes the next value into a new element of *list, with
// JSON v2 and snapshotDecodeOptions. The value must be an object (or
// null, a zero element), as encoding/json required.
func decodeAppend[T any](r *snapReader, list *[]T) error {
	k, err := r.peek()
	if err != nil {
		return err
	}
	if k != '{' && k != 'n' {
		return r.typeError("an object", k)
	}
	*list = append(*list, *new(T))
	return json.UnmarshalDecode(r.dec, &(*list)[len(*list)-1], snapshotDecodeOptions)
}

// slimSink keeps of each user, group member and organization member what
// FromSCIM reads, as the live SCIM source's page functions do (slimUsers,
// slimMembers, slimOrgMembers), while checking that the attributes it
// drops have the types DecodeSnapshot requires. Ids are kept once: a group
// member or an organization member that names a user shares the user's id.
type slimSink struct {
	s     Snapshot
	ids   map[string]string // user and group ids, each mapped to itself
	words map[string]string // organization ids, roles, tiers, origins, types

	scratch []scim.GroupMember // a group's members as they are read

	usersDone func([]scim.User) // called when the Users list ends
}

func newSlimSink() *slimSink {
	return &slimSink{ids: map[string]string{}, words: map[string]string{"User": "User", "Group": "Group"}}
}

func (w *slimSink) reset(list, size int) {
	size = sizeHint(size)
	switch list {
	case listUsers:
		w.s.Users = make([]scim.User, 0, size)
		w.ids = make(map[string]string, size)
	case listGroups:
		w.s.Groups = make([]scim.Group, 0, size)
	case listOrganizations:
		w.s.Organizations = make([]scim.Organization, 0, size)
	case listMembers:
		w.s.Members = make([]scim.Member, 0, size)
	}
}

func (w *slimSink) done(list int) {
	if list == listUsers && w.usersDone != nil {
		w.usersDone(w.s.Users)
	}
}

// id returns b as a string, the one copy of it when it is a known id.
func (w *slimSink) id(b []byte) string {
	if s, ok := w.ids[string(b)]; ok {
		return s
	}
	return string(b)
}

// word returns b as a string, one copy per distinct value.
func (w *slimSink) word(b []byte) string {
	if s, ok := w.words[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(w.words) < 1<<10 {
		w.words[s] = s
	}
	return s
}

var (
	userFields   = []string{"schemas", "id", "externalId", "userName", "name", "displayName", "emails", "active", "meta"}
	emailFields  = []string{"value", "type", "primary"}
	groupFields  = []string{"schemas", "id", "externalId", "displayName", "members", "meta"}
	gmFields     = []string{"value", "$ref", "type", "display"}
	memberFields = []string{"schemas", "id", "organization", "email", "userId", "role", "seatTier", "origin", "meta"}
)

func (w *slimSink) resource(r *snapReader, list int) error {
	switch list {
	case listUsers:
		return w.user(r)
	case listGroups:
		return w.group(r)
	case listOrganizations:
		return decodeAppend(r, &w.s.Organizations)
	default:
		return w.member(r)
	}
}

func (w *slimSink) user(r *snapReader) error {
	var u scim.User
	_, err := r.object(userFields, func(i int) error {
		switch i {
		case 0:
			return r.skipStrs()
		case 1:
			b, ok, err := r.strBytes()
			if ok {
				u.ID = string(b)
			}
			return err
		case 2, 5:
			return r.skipStr()
		case 3:
			return r.str(&u.UserName)
		case 4:
			return r.skipStrObject(nameFields)
		case 6:
			emails := []scim.Email{}
			isNull, err := r.arrayOrNull(func() error {
				var e scim.Email
				_, err := r.object(emailFields, func(i int) error {
					switch i {
					case 0:
						return r.str(&e.Value)
					case 1:
						return r.skipStr()
					case 2:
						return e.Primary.UnmarshalJSONFrom(r.dec)
					}
					return r.dec.SkipValue()
				})
				emails = append(emails, e)
				return err
			})
			if isNull {
				emails = nil
			}
			u.Emails = emails
			return err
		case 7:
			return u.Active.UnmarshalJSONFrom(r.dec)
		case 8:
			return r.skipStrObject(metaFields)
		}
		return r.dec.SkipValue()
	})
	if err != nil {
		return err
	}
	if u.ID != "" {
		if _, ok := w.ids[u.ID]; !ok {
			w.ids[u.ID] = u.ID
		}
	}
	w.s.Users = append(w.s.Users, u)
	return nil
}

func (w *slimSink) group(r *snapReader) error {
	var g scim.Group
	_, err := r.object(groupFields, func(i int) error {
		switch i {
		case 0:
			return r.skipStrs()
		case 1:
			return r.str(&g.ID)
		case 2:
			return r.skipStr()
		case 3:
			return r.str(&g.DisplayName)
		case 4:
			members := w.scratch[:0]
			isNull, err := r.arrayOrNull(func() error {
				var m scim.GroupMember
				_, err := r.object(gmFields, func(i int) error {
					switch i {
					case 0:
						b, ok, err := r.strBytes()
						if ok {
							m.Value = w.id(b)
						}
						return err
					case 2:
						b, ok, err := r.strBytes()
						if ok {
							m.Type = w.word(b)
						}
						return err
					case 1, 3:
						return r.skipStr()
					}
					return r.dec.SkipValue()
				})
				members = append(members, m)
				return err
			})
			w.scratch = members[:0]
			if isNull {
				g.Members = nil
			} else {
				g.Members = slices.Clone(members)
				if g.Members == nil {
					g.Members = []scim.GroupMember{}
				}
			}
			return err
		case 5:
			return r.skipStrObject(metaFields)
		}
		return r.dec.SkipValue()
	})
	if err != nil {
		return err
	}
	slimMembers(g.Members)
	if g.ID != "" {
		if _, ok := w.ids[g.ID]; !ok {
			w.ids[g.ID] = g.ID
		}
	}
	w.s.Groups = append(w.s.Groups, g)
	return nil
}

func (w *slimSink) member(r *snapReader) error {
	var m scim.Member
	word := func(dst *string) error {
		b, ok, err := r.strBytes()
		if ok {
			*dst = w.word(b)
		}
		return err
	}
	_, err := r.object(memberFields, func(i int) error {
		switch i {
		case 0:
			return r.skipStrs()
		case 1:
			return r.str(&m.ID)
		case 2:
			return word(&m.Organization)
		case 3:
			return r.str(&m.Email)
		case 4:
			b, ok, err := r.strBytes()
			if ok {
				m.UserID = w.id(b)
			}
			return err
		case 5:
			return word(&m.Role)
		case 6:
			return word(&m.SeatTier)
		case 7:
			return word(&m.Origin)
		case 8:
			_, err := r.object(metaFields, func(i int) error {
				switch {
				case i == 2:
					return r.str(&m.Meta.LastModified)
				case i >= 0:
					return r.skipStr()
				}
				return r.dec.SkipValue()
			})
			return err
		}
		return r.dec.SkipValue()
	})
	if err != nil {
		return err
	}
	w.s.Members = append(w.s.Members, m)
	return nil
}

// readSnapshotTenant reads the snapshot file at path into a Tenant, as
// FromSCIM(ReadSnapshot(path)) would, with the same errors, without
// holding the document or its full resources.
func readSnapshotTenant(path string) (*Tenant, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	defer f.Close()
	t, decoded, err := decodeSnapshotTenant(f)
	switch {
	case err != nil && !decoded:
		return nil, fmt.Errorf("%s: %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return t, nil
}

// decodeSnapshotTenant reads a snapshot document into a Tenant. decoded
// says whether the document was read, so that err is FromSCIM's. The users
// are converted on a goroutine of their own while the rest of the document
// is read.
func decodeSnapshotTenant(r io.Reader) (t *Tenant, decoded bool, err error) {
	sink := newSlimSink()
	var (
		users     <-chan convertedUsers
		converted []scim.User
	)
	sink.usersDone = func(us []scim.User) {
		if users == nil {
			users, converted = convertUsersAsync(us), us
		}
	}
	err = decodeSnapshotDoc(r, sink)
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
	t, err = fromSCIM(users, sink.s.Groups, sink.s.Organizations, sink.s.Members)
	return t, true, err
}

// sameSlice reports whether a and b are the same slice, not only equal.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
