package spec

import (
	"regexp"
	"time"
)

// DefaultExceptionNoticeDays is policy.exceptionNoticeDays when unset: an
// exception is announced two weeks before it lapses.
const DefaultExceptionNoticeDays = 14

// NoticeDays is policy.exceptionNoticeDays, or its default when unset (a
// Policy built in code; Load always sets it).
func (p Policy) NoticeDays() int {
	if p.ExceptionNoticeDays == nil {
		return DefaultExceptionNoticeDays
	}
	return *p.ExceptionNoticeDays
}

// datePattern is the shape of a date: YYYY-MM-DD, digits only.
var datePattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// DateError says why a date does not parse: ErrDateFormat when it is not
// written YYYY-MM-DD, ErrDateInvalid when it is but names no day of the
// calendar (2027-02-30). Nil for a valid date.
func DateError(s string) error {
	if !datePattern.MatchString(s) {
		return ErrDateFormat
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return ErrDateInvalid
	}
	return nil
}

// Date errors, as DateError returns them.
var (
	ErrDateFormat  = dateError("not written YYYY-MM-DD")
	ErrDateInvalid = dateError("not a valid date")
)

type dateError string

func (e dateError) Error() string { return string(e) }

// DaysLeft says how many days an exception holding through until
// (inclusive, in UTC) still holds after the day of now: 0 on its last day,
// 1 the day before, negative once it has lapsed. ok is false when until is
// not a valid date (see DateError).
//
// This, with Lapsed and ExpiringExceptions, is the one home of the rule
// "until is inclusive": validate, the planner and the agent ask it.
func DaysLeft(until string, now time.Time) (days int, ok bool) {
	u, err := time.Parse(time.DateOnly, until)
	if err != nil {
		return 0, false
	}
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	// Both are midnights in UTC, which has no daylight saving: a whole
	// number of days apart. Counted in seconds, not with Sub, whose
	// time.Duration saturates at about 292 years (9999-12-31, year 0999).
	return int((u.Unix() - today.Unix()) / secondsPerDay), true
}

const secondsPerDay = 24 * 60 * 60

// Lapsed reports whether an exception holding through until has lapsed at
// now: now is on a later day than until. An until that is not a valid date
// has not lapsed: it is a mistake validate reports, not a date that passed.
func Lapsed(until string, now time.Time) bool {
	d, ok := DaysLeft(until, now)
	return ok && d < 0
}

// ExpiringException is one exception within the notice window, with its
// place in the list it came from.
type ExpiringException struct {
	Exception
	// Index is the exception's place in the list given to
	// ExpiringExceptions.
	Index int
	// DaysLeft is DaysLeft(Until, now): 0 on the exception's last day.
	DaysLeft int
}

// ExpiringExceptions returns the exceptions of xs that still hold at now
// and lapse within noticeDays days of it: 0 <= DaysLeft <= noticeDays. With
// noticeDays 0 that is the exceptions whose last day is today. In the order
// of xs. It is the one rule of the notice window (DESIGN §5): validate
// warns about these, and the plan lists them (diff.Plan.Expiring).
func ExpiringExceptions(xs []Exception, now time.Time, noticeDays int) []ExpiringException {
	var out []ExpiringException
	for i, x := range xs {
		if d, ok := DaysLeft(x.Until, now); ok && d >= 0 && d <= noticeDays {
			out = append(out, ExpiringException{Exception: x, Index: i, DaysLeft: d})
		}
	}
	return out
}
