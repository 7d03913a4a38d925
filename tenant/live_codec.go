package tenant

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// The live SCIM source decodes each page of users and organization
// members, and each group read, straight into the resolve model (issue
// 18): one pass over the body, no wire resource, and the strings a page
// keeps copied into one allocation per page (each a substring of it).
//
// The decoders here take the common shape of a body and decline anything
// else: a name that matches an attribute only case-insensitively, null
// where a kept attribute is, a boolean as a string, invalid UTF-8, a
// number that is not a plain integer, an attribute of a type the wire
// decoding would refuse. A declined body is decoded into the scim wire
// type and converted, as before (scim.Into), so that whatever they
// accept they decode exactly as that path does, and everything else
// (errors included) is that path's. FuzzLiveDecodersMatchWire checks it.

// scanner walks a JSON value that checkJSON accepted: its syntax is
// valid, so the scanner only finds its way through it.
type scanner struct {
	b   []byte
	i   int
	buf []byte // unquoted strings with escapes
}

// peek returns the next byte that is not white space, 0 at the end.
func (s *scanner) peek() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// eat consumes c if it comes next.
func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// str reads a string: its content, valid until the next read. It
// declines (false) what is not a string and a string whose content is not
// valid UTF-8.
func (s *scanner) str() ([]byte, bool) {
	if s.peek() != '"' {
		return nil, false
	}
	start := s.i + 1
	k := bytes.IndexByte(s.b[start:], '"')
	if k < 0 {
		return nil, false
	}
	seg := s.b[start : start+k]
	if bytes.IndexByte(seg, '\\') < 0 {
		if !utf8.Valid(seg) {
			return nil, false
		}
		s.i = start + k + 1
		return seg, true
	}
	end := s.strEnd(start)
	if end < 0 || !utf8.Valid(s.b[start:end]) {
		return nil, false
	}
	var err error
	if s.buf, err = jsontext.AppendUnquote(s.buf[:0], s.b[start-1:end+1]); err != nil {
		return nil, false
	}
	s.i = end + 1
	return s.buf, true
}

// strEnd returns the index of the quote that ends the string whose content
// starts at start, -1 if none.
func (s *scanner) strEnd(start int) int {
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

// null consumes a null if it comes next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// boolean reads true or false.
func (s *scanner) boolean() (v, ok bool) {
	switch s.peek() {
	case 't':
		if bytes.HasPrefix(s.b[s.i:], []byte("true")) {
			s.i += 4
			return true, true
		}
	case 'f':
		if bytes.HasPrefix(s.b[s.i:], []byte("false")) {
			s.i += 5
			return false, true
		}
	}
	return false, false
}

// skip skips any value.
func (s *scanner) skip() bool {
	switch s.peek() {
	case 0:
		return false
	case '"':
		end := s.strEnd(s.i + 1)
		if end < 0 {
			return false
		}
		s.i = end + 1
		return true
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				end := s.strEnd(s.i + 1)
				if end < 0 {
					return false
				}
				s.i = end
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	}
	// A number, true, false or null: up to the next delimiter.
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return true
		}
		s.i++
	}
	return true
}

// skipStr skips a string or null.
func (s *scanner) skipStr() bool {
	if s.null() {
		return true
	}
	_, ok := s.str()
	return ok
}

// skipStrs skips null or an array of strings and nulls.
func (s *scanner) skipStrs() bool {
	return s.null() || s.array(s.skipStr)
}

// skipStrObject skips null or an object whose attributes named in names
// are strings or null.
func (s *scanner) skipStrObject(names []string) bool {
	return s.null() || s.object(func(name []byte) bool {
		switch field(name, names) {
		case declined:
			return false
		case unknown:
			return s.skip()
		}
		return s.skipStr()
	})
}

// array reads an array, calling elem for each element.
func (s *scanner) array(elem func() bool) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat(']')
	}
}

// object reads an object, calling member with each attribute's name (valid
// only until member reads the value, which it must).
func (s *scanner) object(member func(name []byte) bool) bool {
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return true
	}
	for {
		name, ok := s.str()
		if !ok || !s.eat(':') || !member(name) {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

// An attribute name that is none of the names looked for (unknown), or
// one of them only case-insensitively (declined: left to the wire
// decoding, which matches names that way).
const (
	unknown  = -1
	declined = -2
)

// field returns the index of name in names, matched exactly, unknown, or
// declined.
func field(name []byte, names []string) int {
	for i, n := range names {
		if string(name) == n {
			return i
		}
	}
	for _, n := range names {
		if strings.EqualFold(string(name), n) {
			return declined
		}
	}
	return unknown
}

// integer reads a non-negative integer that fits an int, written plainly.
func (s *scanner) integer() (int, bool) {
	s.peek()
	start := s.i
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
	}
	digits := s.i - start
	if digits == 0 || digits > 15 || (digits > 1 && s.b[start] == '0') {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	return n, true
}

// span is a string a page keeps, at off in the page's arena.
type span struct{ off, n int32 }

// arena collects the strings of one page, to become one string.
type arena struct {
	b []byte
}

func (a *arena) add(b []byte) span {
	sp := span{int32(len(a.b)), int32(len(b))}
	a.b = append(a.b, b...)
	return sp
}

func (a *arena) same(sp span, b []byte) bool {
	return string(a.b[sp.off:sp.off+sp.n]) == string(b)
}

func (sp span) in(s string) string { return s[sp.off : sp.off+sp.n] }

// decodeListPage reads a list response: totalResults, and each resource
// of Resources with resource (reset when Resources comes again).
func decodeListPage(body []byte, reset func(), resource func(s *scanner) bool) (total int, ok bool) {
	s := &scanner{b: body}
	seenTotal := false
	ok = s.object(func(name []byte) bool {
		switch field(name, listFields) {
		case declined:
			return false
		case 0: // schemas
			return s.skipStrs()
		case 1: // totalResults
			total, seenTotal = s.integer()
			return seenTotal
		case 4: // Resources
			reset()
			return s.array(func() bool { return resource(s) })
		}
		return s.skip()
	})
	if !ok || !seenTotal || s.peek() != 0 {
		return 0, false
	}
	return total, true
}

// userSpans is a user as its page decodes it.
type userSpans struct {
	id, userName span
	// emails are the page's emails[from:to]; hasEmails says there was a
	// non-empty array.
	from, to  int32
	hasEmails bool
	active    bool
	// hasActive says active was there, true or false: a user without it
	// declines the page, for the wire decoding to refuse it.
	hasActive bool
}

type emailSpan struct {
	value   span
	primary bool
}

var liveUserInto = scim.Into[scim.User, resolve.User]{Page: decodeUsersPage, Convert: func(u *scim.User) resolve.User { return userFromSCIM(*u) }}

// decodeUsersPage decodes a page of users into the model, as userFromSCIM
// converts them.
func decodeUsersPage(body []byte) (int, []resolve.User, []string, bool) {
	var (
		a      arena
		users  []userSpans
		emails []emailSpan
	)
	a.b = make([]byte, 0, len(body)/8)
	total, ok := decodeListPage(body, func() { users, emails = users[:0], emails[:0] }, func(s *scanner) bool {
		var u userSpans
		hasID := false
		ok := s.object(func(name []byte) bool {
			switch field(name, userFields) {
			case declined:
				return false
			case 0: // schemas
				return s.skipStrs()
			case 1: // id
				b, ok := s.str()
				u.id, hasID = a.add(b), true
				return ok
			case 2, 5: // externalId, displayName
				return s.skipStr()
			case 3: // userName
				b, ok := s.str()
				u.userName = a.add(b)
				return ok
			case 4: // name
				return s.skipStrObject(nameFields)
			case 6: // emails
				u.from = int32(len(emails))
				u.hasEmails = false
				emails = emails[:u.from]
				ok := s.array(func() bool {
					var e emailSpan
					u.hasEmails = true
					return s.object(func(name []byte) bool {
						switch field(name, emailFields) {
						case declined:
							return false
						case 0: // value
							b, ok := s.str()
							if ok {
								if a.same(u.userName, b) {
									e.value = u.userName
								} else {
									e.value = a.add(b)
								}
							}
							return ok
						case 1: // type
							return s.skipStr()
						case 2: // primary
							var ok bool
							e.primary, ok = s.boolean()
							return ok
						}
						return s.skip()
					}) && appendEmail(&emails, e)
				})
				u.to = int32(len(emails))
				return ok
			case 7: // active
				var ok bool
				u.active, ok = s.boolean()
				u.hasActive = ok
				return ok
			case 8: // meta
				return s.skipStrObject(metaFields)
			}
			return s.skip()
		})
		if !ok || !hasID || u.id.n == 0 || !u.hasActive {
			return false
		}
		users = append(users, u)
		return true
	})
	if !ok {
		return 0, nil, nil, false
	}
	str := string(a.b)
	out := make([]resolve.User, len(users))
	ids := make([]string, len(users))
	nEmails := 0
	for _, u := range users {
		nEmails += int(u.to - u.from)
	}
	all := make([]string, 0, nEmails)
	for i, u := range users {
		ru := resolve.User{ID: u.id.in(str), UserName: u.userName.in(str), Active: u.active}
		if u.hasEmails {
			from := len(all)
			for _, e := range emails[u.from:u.to] {
				if e.primary && e.value.n > 0 {
					all = append(all, e.value.in(str))
				}
			}
			for _, e := range emails[u.from:u.to] {
				if !e.primary && e.value.n > 0 {
					all = append(all, e.value.in(str))
				}
			}
			ru.Emails = all[from:len(all):len(all)]
		}
		out[i], ids[i] = ru, ru.ID
	}
	return total, out, ids, true
}

func appendEmail(emails *[]emailSpan, e emailSpan) bool {
	*emails = append(*emails, e)
	return true
}

// memberSpans is an organization member as its page decodes it.
type memberSpans struct {
	id, email, userID, lastModified span
	org, role, tier, origin         string
}

var liveMemberInto = scim.Into[scim.Member, resolve.Member]{Page: decodeMembersPage, Convert: func(m *scim.Member) resolve.Member { return memberFromSCIM(*m) }}

func memberOrg(m *resolve.Member) (string, string) { return m.ID, m.Org }

// decodeMembersPage decodes a page of organization members into the
// model, as memberFromSCIM converts them, with one copy per page of each
// organization id, role, tier and origin.
func decodeMembersPage(body []byte) (int, []resolve.Member, []string, bool) {
	var (
		a       arena
		members []memberSpans
	)
	a.b = make([]byte, 0, len(body)/4)
	words := map[string]string{}
	word := func(s *scanner, dst *string) bool {
		b, ok := s.str()
		if !ok {
			return false
		}
		w, known := words[string(b)]
		if !known {
			w = string(b)
			words[w] = w
		}
		*dst = w
		return true
	}
	total, ok := decodeListPage(body, func() { members = members[:0] }, func(s *scanner) bool {
		var m memberSpans
		hasID := false
		ok := s.object(func(name []byte) bool {
			switch field(name, memberFields) {
			case declined:
				return false
			case 0: // schemas
				return s.skipStrs()
			case 1: // id
				b, ok := s.str()
				m.id, hasID = a.add(b), true
				return ok
			case 2:
				return word(s, &m.org)
			case 3:
				b, ok := s.str()
				m.email = a.add(b)
				return ok
			case 4:
				b, ok := s.str()
				m.userID = a.add(b)
				return ok
			case 5:
				return word(s, &m.role)
			case 6:
				return word(s, &m.tier)
			case 7:
				return word(s, &m.origin)
			case 8: // meta
				return s.object(func(name []byte) bool {
					switch i := field(name, metaFields); i {
					case declined:
						return false
					case unknown:
						return s.skip()
					case 2: // lastModified
						b, ok := s.str()
						m.lastModified = a.add(b)
						return ok
					}
					return s.skipStr()
				})
			}
			return s.skip()
		})
		if !ok || !hasID || m.id.n == 0 {
			return false
		}
		members = append(members, m)
		return true
	})
	if !ok {
		return 0, nil, nil, false
	}
	str := string(a.b)
	out := make([]resolve.Member, len(members))
	ids := make([]string, len(members))
	for i, m := range members {
		rm := resolve.Member{ID: m.id.in(str), Org: m.org, Email: m.email.in(str), UserID: m.userID.in(str),
			Role: resolve.Role(m.role), SeatTier: m.tier, Origin: resolve.Origin(m.origin)}
		if m.lastModified.n > 0 {
			if ts, err := time.Parse(time.RFC3339Nano, m.lastModified.in(str)); err == nil {
				rm.LastModified = ts
			}
		}
		out[i], ids[i] = rm, rm.ID
	}
	return total, out, ids, true
}

// readGroup is a group read with its members: every member's value, in
// order, and which of them are typed "Group" (case-insensitively).
type readGroup struct {
	id      string
	members []string
	typed   []int32
}

var liveGroupInto = scim.Into[scim.Group, readGroup]{One: decodeGroup, Convert: groupFromWire}

func groupFromWire(g *scim.Group) readGroup {
	rg := readGroup{id: g.ID, members: make([]string, len(g.Members))}
	for i, m := range g.Members {
		rg.members[i] = m.Value
		if strings.EqualFold(m.Type, "Group") {
			rg.typed = append(rg.typed, int32(i))
		}
	}
	return rg
}

// decodeGroup decodes a group read into its id and members, as
// groupFromWire converts it.
func decodeGroup(body []byte) (readGroup, string, bool) {
	var (
		a      arena
		id     span
		hasID  bool
		values []span
		typed  []int32
	)
	a.b = make([]byte, 0, len(body)/4)
	s := &scanner{b: body}
	ok := s.object(func(name []byte) bool {
		switch field(name, groupFields) {
		case declined:
			return false
		case 0: // schemas
			return s.skipStrs()
		case 1: // id
			b, ok := s.str()
			id, hasID = a.add(b), true
			return ok
		case 2, 3: // externalId, displayName
			return s.skipStr()
		case 4: // members
			values, typed = values[:0], typed[:0]
			return s.array(func() bool {
				var (
					v       span
					isGroup bool
				)
				return s.object(func(name []byte) bool {
					switch field(name, gmFields) {
					case declined:
						return false
					case 0: // value
						b, ok := s.str()
						v = a.add(b)
						return ok
					case 2: // type
						b, ok := s.str()
						isGroup = strings.EqualFold(string(b), "Group")
						return ok
					case 1, 3: // $ref, display
						return s.skipStr()
					}
					return s.skip()
				}) && func() bool {
					if isGroup {
						typed = append(typed, int32(len(values)))
					}
					values = append(values, v)
					return true
				}()
			})
		case 5: // meta
			return s.skipStrObject(metaFields)
		}
		return s.skip()
	})
	if !ok || !hasID || s.peek() != 0 {
		return readGroup{}, "", false
	}
	str := string(a.b)
	g := readGroup{id: id.in(str), members: make([]string, len(values)), typed: typed}
	for i, v := range values {
		g.members[i] = v.in(str)
	}
	return g, g.id, true
}
