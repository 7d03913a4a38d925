package diff

import (
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// Moved from apply (TestRemovalLimits, TestProtectedRemovals,
// TestShrunkGroups) with the rules they test: each gate is evaluated once,
// here.

func removalMembers() []MemberChange {
	var ms []MemberChange
	for i := range 6 {
		ms = append(ms, MemberChange{Org: "hq", Email: "u" + strconv.Itoa(i) + "@x.gov", Action: ActionRemove})
	}
	return append(ms,
		MemberChange{Org: "west", Email: "w@x.gov", Action: ActionRemove},
		MemberChange{Org: "west", Email: "n@x.gov", Action: ActionAdd})
}

func TestRemovalFindings(t *testing.T) {
	ip := func(n int) *int { return &n }
	fp := func(f float64) *float64 { return &f }
	current := map[string]int{"hq": 100, "west": 10}
	tests := []struct {
		name string
		pol  spec.Policy
		want []string // kind org: figures
	}{
		{"within limits", spec.Policy{MaxRemovals: ip(7), MaxRemovalPercent: fp(10)}, nil},
		{"over the count", spec.Policy{MaxRemovals: ip(6), MaxRemovalPercent: fp(10)}, []string{"max-removals : 7 removals exceed policy.maxRemovals (6)"}},
		{"over the percentage of one org", spec.Policy{MaxRemovals: ip(50), MaxRemovalPercent: fp(5)}, []string{
			"max-removal-percent hq: 6 of 100 members removed (6%) exceed policy.maxRemovalPercent (5%)",
			"max-removal-percent west: 1 of 10 members removed (10%) exceed policy.maxRemovalPercent (5%)"}},
		{"defaults apply when unset", spec.Policy{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range removalFindings(removalMembers(), current, tt.pol) {
				if f.Severity != SeverityError || f.Override != AllowRemovals(7) {
					t.Errorf("finding %+v: want an error lifted by --allow-removals=7", f)
				}
				got = append(got, string(f.Kind)+" "+f.Org+": "+f.Message)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
		})
	}
}

// The figure the plan prints and the one apply's refusal prints come from
// one function: 5 of 34 is 14.7% in both (it read 15% in apply).
func TestRemovalPercentOneFigure(t *testing.T) {
	var ms []MemberChange
	for i := range 5 {
		ms = append(ms, MemberChange{Org: "hq", Email: strconv.Itoa(i) + "@x.gov", Action: ActionRemove})
	}
	ten := 10.0
	fs := removalFindings(ms, map[string]int{"hq": 34}, spec.Policy{MaxRemovalPercent: &ten})
	if len(fs) != 1 || fs[0].Figures == nil {
		t.Fatalf("findings %+v", fs)
	}
	if got := FormatPercent(fs[0].Figures.Percent); got != "14.7" {
		t.Errorf("FormatPercent = %s, want 14.7", got)
	}
}

func TestProtectedFindings(t *testing.T) {
	ms := removalMembers()
	if fs := protectedFindings(ms, spec.Policy{ProtectedUsers: []string{"n@x.gov"}}, nil); fs != nil {
		t.Errorf("an addition of a protected user found: %v", fs)
	}
	fs := protectedFindings(ms, spec.Policy{ProtectedUsers: []string{" W@X.gov "}}, nil)
	if len(fs) != 1 || fs[0].Org != "west" || fs[0].Email != "w@x.gov" || fs[0].Override != OverrideNone {
		t.Fatalf("got %+v, want one finding for west: w@x.gov with no override", fs)
	}
}

func TestGroupShrink(t *testing.T) {
	var users []resolve.User
	var members []string
	for i := range 10 {
		id := "u" + strconv.Itoa(i)
		users = append(users, resolve.User{ID: id, UserName: id + "@x.gov", Active: i < 4})
		members = append(members, id)
	}
	tn := &tenant.Tenant{
		Users: users,
		Groups: []resolve.Group{
			{ID: "g-users", DisplayName: "users", Members: members},
			{ID: "g-outer", DisplayName: "outer", Members: []string{"g-users"}},
			{ID: "g-none", DisplayName: "none"},
			{ID: "g-half", DisplayName: "half", Members: []string{"g-users"}},
		},
	}
	p := &Plan{Mode: ModeChange{Before: "staged", After: "staged"}, GroupSizes: []GroupSize{
		{ID: "g-gone", Name: "gone", Users: 1},
		{ID: "g-none", Name: "none", Users: 0},
		{ID: "g-outer", Name: "outer", Users: 9}, // nested: 4 active now, 5 lost
		{ID: "g-half", Name: "half", Users: 8},   // 4 now: exactly half is kept
		{ID: "g-users", Name: "users", Users: 5}, // 4 of 5: kept
	}}
	var got []string
	for _, f := range GroupShrink(p, tn) {
		if f.Override != OverrideAllowEmptyGroups || f.Severity != SeverityError {
			t.Errorf("finding %+v", f)
		}
		got = append(got, f.Message)
	}
	want := []string{
		"gone: deleted since the plan (it held 1 user)",
		"none: 0 users",
		"outer: 4 users now, 9 when planned",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	p.Mode.After = "jit"
	if fs := GroupShrink(p, tn); fs != nil {
		t.Errorf("jit: %v", fs)
	}
}

// A figure and its limit that differ read differently, however close:
// 5 of 34 (14.70588…%) against a limit of 14.705% (helper review,
// 2026-12-07) read "14.706" and "14.705", not "14.7" twice.
func TestFormatPercentsTellsCloseFiguresApart(t *testing.T) {
	for _, tc := range []struct {
		f, limit float64
		a, b     string
	}{
		{5.0 / 34 * 100, 14.705, "14.706", "14.705"},
		{20, 10, "20", "10"},
		{14.7, 14.7, "14.7", "14.7"},
		{33.33333333, 33.3333333, "33.333333", "33.333333"},
	} {
		if a, b := FormatPercents(tc.f, tc.limit); a != tc.a || b != tc.b {
			t.Errorf("FormatPercents(%v, %v) = %s, %s; want %s, %s", tc.f, tc.limit, a, b, tc.a, tc.b)
		}
	}
	// The finding's own words, as the review saw them.
	want := "5 of 34 members removed (14.706%) exceed policy.maxRemovalPercent (14.705%)"
	if got := removalPercentMessage(5, 34, 5.0/34*100, 14.705); got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// An overcommit of one entitled user says "1 user", as FormatCount does
// wherever a count is shown.
func TestOvercommitMessageCountsOne(t *testing.T) {
	fs := overcommitFindings([]SeatUsage{{Org: "hq", Tier: "premium", Purchased: 0, Entitled: 1, Overcommit: true}})
	if len(fs) != 1 || fs[0].Message != "1 user entitled to premium seats, 0 purchased" {
		t.Fatalf("findings %+v", fs)
	}
}

// The vocabulary is defined once (DESIGN §9): a plan's member actions are
// resolution's, and a finding's severities a diagnostic's.
var (
	_ resolve.Action = ActionFlag
	_ spec.Severity  = SeverityWarning
)
