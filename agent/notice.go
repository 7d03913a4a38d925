package agent

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/internal/fsafe"
	"github.com/scimsync/scimsync/internal/match"
)

// Exception notices (DESIGN §5, issue 15). An exception within
// policy.exceptionNoticeDays of lapsing is announced once, when it enters
// the plan's notice list (Plan.Expiring), not on every run: the agent
// remembers which (org, email, until, keeps nobody) it announced and
// announces again only an exception that is not among them. A changed
// until is a new exception, and so is one that came to keep a member (or
// stopped keeping one).
// An exception that leaves the list (renewed, removed, lapsed) is forgotten,
// so it is announced again should it come back.
//
// The first run announces every exception already in the window: a restart
// must never hide a notice. With Config.NoticeState the announced set is
// kept in a file, so a restarted agent does not announce them twice. A
// notice whose delivery fails is not marked and is tried again on the next
// successful run.

// noticeKey identifies one exception's notice. What the notice said is
// part of it: an exception announced as keeping nobody (its lapse removes
// no one) that comes to keep a member is announced again, since its lapse
// now removes them.
type noticeKey struct {
	Org         string `json:"org"`
	Email       string `json:"email"`
	Until       string `json:"until"`
	KeepsNobody bool   `json:"keeps_nobody,omitempty"`
}

func noticeKeyOf(e diff.Expiring) noticeKey {
	return noticeKey{Org: match.Name(e.Org), Email: match.Email(e.Email), Until: e.Until, KeepsNobody: e.KeepsNobody}
}

// noticeStateFormat is the format of the Config.NoticeState file.
const noticeStateFormat = "scimsync-agent-notices/1"

type noticeState struct {
	Format   string      `json:"format"`
	Notified []noticeKey `json:"notified"`
}

// notices is the set of exceptions announced. Its methods are called by
// the run in flight (runs never overlap) but lock anyway.
type notices struct {
	mu     sync.Mutex
	path   string // Config.NoticeState; "" keeps the set in memory only
	loaded bool
	sent   map[noticeKey]bool
}

// load reads the state file once. A missing file is an empty set; a file
// that cannot be read or decoded is reported and treated as empty, so the
// notices are sent again rather than lost. n.mu is held.
func (n *notices) load() error {
	if n.loaded {
		return nil
	}
	n.loaded = true
	n.sent = map[noticeKey]bool{}
	if n.path == "" {
		return nil
	}
	f, err := fsafe.OpenExisting(n.path, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the notice state: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return fmt.Errorf("reading the notice state %s: %w", n.path, err)
	} else if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		// Whoever can write the file could mark exceptions as announced
		// and silence them: start empty, so the notices go out again.
		return fmt.Errorf("reading the notice state %s: writable by others (mode %04o), not trusted; notices are sent again", n.path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return fmt.Errorf("reading the notice state %s: %w", n.path, err)
	}
	var st noticeState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("reading the notice state %s: %w", n.path, err)
	}
	if st.Format != noticeStateFormat {
		return fmt.Errorf("reading the notice state %s: format %q is not %q", n.path, st.Format, noticeStateFormat)
	}
	for _, k := range st.Notified {
		n.sent[k] = true
	}
	return nil
}

// save writes the set to the state file, atomically. n.mu is held.
func (n *notices) save() error {
	if n.path == "" {
		return nil
	}
	st := noticeState{Format: noticeStateFormat, Notified: []noticeKey{}}
	for k := range n.sent {
		st.Notified = append(st.Notified, k)
	}
	slices.SortFunc(st.Notified, func(a, b noticeKey) int {
		return cmp.Or(cmp.Compare(a.Org, b.Org), cmp.Compare(a.Until, b.Until), cmp.Compare(a.Email, b.Email))
	})
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("writing the notice state: %w", err)
	}
	// WriteFileAtomic keeps an existing file's mode: tighten it first
	// (through the file, never following a link), so a state others could
	// write does not stay so.
	if f, err := fsafe.OpenExisting(n.path, os.O_RDONLY); err == nil {
		err = f.Chmod(0o600)
		f.Close()
		if err != nil {
			return fmt.Errorf("writing the notice state: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing the notice state: %w", err)
	}
	if err := fsafe.WriteFileAtomic(n.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the notice state: %w", err)
	}
	return nil
}

// entering returns the exceptions of a successful run's notice list that
// were not announced yet, and forgets the announced ones no longer on the
// list. Errors (reading or writing the state file) are reported along with
// the result, which is always usable.
func (n *notices) entering(list []diff.Expiring) ([]diff.Expiring, []error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	if err := n.load(); err != nil {
		errs = append(errs, err)
	}
	current := map[noticeKey]bool{}
	var out []diff.Expiring
	for _, e := range list {
		k := noticeKeyOf(e)
		if current[k] {
			continue // the same exception twice (two emails folding alike)
		}
		current[k] = true
		if !n.sent[k] {
			out = append(out, e)
		}
	}
	forgot := false
	for k := range n.sent {
		if !current[k] {
			delete(n.sent, k)
			forgot = true
		}
	}
	if forgot {
		if err := n.save(); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errs
}

// announced marks the exceptions whose notice was delivered.
func (n *notices) announced(es []diff.Expiring) error {
	if len(es) == 0 {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	err := n.load() // normally loaded by entering already
	for _, e := range es {
		n.sent[noticeKeyOf(e)] = true
	}
	return errors.Join(err, n.save())
}

// expiringText is the message announcing e.
func expiringText(tenant string, e diff.Expiring) string {
	why := ""
	if e.Reason != "" {
		why = "; reason: " + oneLine(e.Reason)
	}
	if e.KeepsNobody {
		return fmt.Sprintf("scimsync: in %s, the exception for %s in %s holds until %s (%s%s). "+
			"It keeps nobody now (no such member, or the member is entitled via SCIM), so its lapse removes no one; "+
			"drop it from the spec once it is no longer needed.",
			oneLine(tenant), oneLine(e.Email), oneLine(e.Org), oneLine(e.Until), daysLeft(e.DaysLeft), why)
	}
	return fmt.Sprintf("scimsync: in %s, the exception keeping %s in %s holds until %s (%s%s). "+
		"Extend it in the spec or provision the member via SCIM: once it lapses, an organization in mode full removes them.",
		oneLine(tenant), oneLine(e.Email), oneLine(e.Org), oneLine(e.Until), daysLeft(e.DaysLeft), why)
}

// quoteCap is how many characters of one quoted field (a reason, an email)
// a message keeps; the rest is cut at "…".
const quoteCap = 200

// oneLine is s fit to quote inside a one-line message: a newline, carriage
// return or tab shown as \n, \r, \t, any other control, format (zero-width,
// bidi) or line/paragraph separator character as a visible ⟨U+XXXX⟩, and at
// most quoteCap characters. A quoted string can then neither start a line
// that reads as another message nor hide or reorder what it says.
func oneLine(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == quoteCap {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError, unicode.IsControl(r), unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
