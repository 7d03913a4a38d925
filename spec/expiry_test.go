package spec

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDaysLeft(t *testing.T) {
	// Late in the day, and in another zone: only the UTC date counts.
	now := time.Date(2027, 3, 31, 23, 59, 0, 0, time.UTC)
	east := time.Date(2027, 4, 1, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600)) // 2027-03-31 23:00 UTC
	for _, tt := range []struct {
		until  string
		days   int
		ok     bool
		lapsed bool
	}{
		{"2027-03-31", 0, true, false}, // until is inclusive: its last day
		{"2027-04-01", 1, true, false},
		{"2027-03-30", -1, true, true},
		{"2027-04-14", 14, true, false},
		{"2028-03-31", 366, true, false}, // across a leap day
		{"2027-02-30", 0, false, false},
		{"2027-3-31", 0, false, false},
		{"", 0, false, false},
	} {
		for _, at := range []time.Time{now, east} {
			days, ok := DaysLeft(tt.until, at)
			if days != tt.days || ok != tt.ok {
				t.Errorf("DaysLeft(%q, %v) = %d, %v; want %d, %v", tt.until, at, days, ok, tt.days, tt.ok)
			}
			if got := Lapsed(tt.until, at); got != tt.lapsed {
				t.Errorf("Lapsed(%q, %v) = %v, want %v", tt.until, at, got, tt.lapsed)
			}
		}
	}
}

func TestExpiringExceptions(t *testing.T) {
	now := time.Date(2027, 3, 17, 12, 0, 0, 0, time.UTC)
	xs := []Exception{
		{Email: "a@x.gov", Until: "2027-03-31"}, // 14 days: in
		{Email: "b@x.gov", Until: "2027-04-01"}, // 15 days: out
		{Email: "c@x.gov", Until: "2027-03-16"}, // lapsed: out
		{Email: "d@x.gov", Until: "2027-03-17"}, // today: in
		{Email: "e@x.gov", Until: "2027-02-30"}, // not a date: out
	}
	var got []string
	for _, x := range ExpiringExceptions(xs, now, 14) {
		got = append(got, x.Email+":"+DaysLeftText(x.DaysLeft)+":"+string(rune('0'+x.Index)))
	}
	if want := "a@x.gov:in 14 days:0 d@x.gov:today:3"; strings.Join(got, " ") != want {
		t.Errorf("ExpiringExceptions(14) = %q, want %q", got, want)
	}
	if got := ExpiringExceptions(xs, now, 0); len(got) != 1 || got[0].Email != "d@x.gov" {
		t.Errorf("ExpiringExceptions(0) = %+v, want d@x.gov alone", got)
	}
	if got := ExpiringExceptions(xs, now, -1); len(got) != 0 {
		t.Errorf("ExpiringExceptions(-1) = %+v, want none", got)
	}
}

func TestDateError(t *testing.T) {
	for in, want := range map[string]error{
		"2027-02-28":           nil,
		"2028-02-29":           nil,
		"2027-02-29":           ErrDateInvalid,
		"2027-02-30":           ErrDateInvalid,
		"2027-04-31":           ErrDateInvalid,
		"2027-00-10":           ErrDateInvalid,
		"2027-2-3":             ErrDateFormat,
		"27-02-03":             ErrDateFormat,
		"2027-02-03T00:00:00Z": ErrDateFormat,
		"２０２７-02-03":           ErrDateFormat,
	} {
		if got := DateError(in); !errors.Is(got, want) || (want == nil) != (got == nil) {
			t.Errorf("DateError(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNoticeDaysDefaultKeepsTheHash(t *testing.T) {
	const base = "version: 1\ntarget: {file: t.json}\nparent: {name: a, seatTiers: [standard]}\norganizations: [{name: hq}]\n"
	load := func(extra string) *Spec {
		t.Helper()
		s, diags, err := LoadBytes("a.yaml", []byte(base+extra))
		if err != nil || diags.HasErrors() {
			t.Fatalf("loading: %v %v", err, diags)
		}
		return s
	}
	unset, fourteen, fifteen := load(""), load("policy: {exceptionNoticeDays: 14}\n"), load("policy: {exceptionNoticeDays: 15}\n")
	if unset.Policy.NoticeDays() != DefaultExceptionNoticeDays || unset.Policy.ExceptionNoticeDays == nil {
		t.Errorf("unset: NoticeDays() = %d, field %v; want the default, set by Load", unset.Policy.NoticeDays(), unset.Policy.ExceptionNoticeDays)
	}
	if unset.Hash() != fourteen.Hash() {
		t.Errorf("the default written out changes the hash")
	}
	if unset.Hash() == fifteen.Hash() || fifteen.Policy.NoticeDays() != 15 {
		t.Errorf("exceptionNoticeDays: 15 does not count: NoticeDays() = %d", fifteen.Policy.NoticeDays())
	}
	if (Policy{}).NoticeDays() != DefaultExceptionNoticeDays {
		t.Errorf("a Policy built in code has no default")
	}
}

// DaysLeft counts calendar days, not a time.Duration, which saturates at
// about 292 years: a far-future until (9999-12-31) or a year before 1000
// still gets its exact count (issue 15).
func TestDaysLeftFarDates(t *testing.T) {
	now := time.Date(2026, 12, 7, 23, 59, 0, 0, time.UTC)
	for until, want := range map[string]int{
		"9999-12-31": 2912102,
		"2400-01-01": 136260,
		"0999-01-01": -375444,
		"0001-01-01": -739956,
		"0000-01-01": -740322,
	} {
		if got, ok := DaysLeft(until, now); !ok || got != want {
			t.Errorf("DaysLeft(%q) = %d, %v; want %d", until, got, ok, want)
		}
	}
}
