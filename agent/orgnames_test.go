package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// The three child orgs of lookAlikeTenant: a Kelvin sign K (U+212A), a
// plain k, and a capital I with a dot (U+0130). strings.ToLower folds the
// first two into one name; the plan (match.Name) keeps all three apart.
const (
	kelvinOffice = "\u212a-office"
	plainOffice  = "k-office"
	izmir        = "\u0130zmir"
)

const lookAlikeSpec = `version: 1
target:
  file: tenant.json
parent:
  name: agency
  loginDomains: [example.gov]
  seatTiers: [standard]
  mode: staged
organizations:
  - name: ` + plainOffice + `
    seats: {standard: 5}
    mappings:
      - {group: g-k, role: member, seatTier: standard}
  - name: ` + izmir + `
    seats: {standard: 5}
    mappings:
      - {group: g-izmir, role: member, seatTier: standard}
  - name: ` + kelvinOffice + `
    seats: {standard: 6}
    mappings:
      - {group: g-kelvin, role: member, seatTier: standard}
`

// lookAlikeTenant is the reviewer's t9 tenant: one member in each org; the
// spec above buys one more seat in the Kelvin sign's org only.
func lookAlikeTenant() *tenant.Tenant {
	org := func(id, name, group string) resolve.Org {
		return resolve.Org{ID: id, Name: name, Parent: "p", Version: `W/"1"`,
			Mappings: []resolve.Mapping{{GroupID: group, Role: resolve.RoleMember, SeatTier: "standard"}},
			Seats:    map[string]int{"standard": 5}}
	}
	member := func(id, org, email, user string) resolve.Member {
		return resolve.Member{ID: id, Org: org, Email: email, UserID: user, Role: resolve.RoleMember, SeatTier: "standard", Origin: resolve.OriginSCIM}
	}
	return &tenant.Tenant{
		Users: []resolve.User{
			{ID: "u1", UserName: "alice@example.gov", Emails: []string{"alice@example.gov"}, Active: true},
			{ID: "u2", UserName: "bob@example.gov", Emails: []string{"bob@example.gov"}, Active: true},
			{ID: "u3", UserName: "carol@example.gov", Emails: []string{"carol@example.gov"}, Active: true},
		},
		Groups: []resolve.Group{
			{ID: "g1", DisplayName: "g-izmir", Members: []string{"u1"}},
			{ID: "g2", DisplayName: "g-kelvin", Members: []string{"u2"}},
			{ID: "g3", DisplayName: "g-k", Members: []string{"u3"}},
		},
		MembersRead: map[string]bool{"g1": true, "g2": true, "g3": true},
		Parent: resolve.Org{ID: "p", Name: "agency", Version: `W/"1"`, Mode: resolve.Mode("staged"),
			LoginDomains: []string{"example.gov"}, SeatTiers: []string{"standard"}},
		Orgs: []resolve.Org{org("o1", izmir, "g1"), org("o2", kelvinOffice, "g2"), org("o3", plainOffice, "g3")},
		Members: []resolve.Member{
			member("m1", "o1", "alice@example.gov", "u1"),
			member("m2", "o2", "bob@example.gov", "u2"),
			member("m3", "o3", "carol@example.gov", "u3"),
		},
	}
}

// The agent keeps apart the orgs the plan keeps apart (review F3): with
// child orgs named with a Kelvin sign K, a k and an İ, /metrics has one
// series per org, labelled with the plan's name, and /status lists the
// three, each with its own drift.
func TestLookAlikeOrgNamesStayApart(t *testing.T) {
	var plan *diff.Plan
	f := newFixture(t, true, func(c *Config) {
		c.SpecPaths = []string{writeSpec(t, t.TempDir(), lookAlikeSpec)}
		c.Plan = func(_ context.Context, s *spec.Spec) (*Outcome, error) {
			tn := lookAlikeTenant()
			p, err := diff.Compute(s, tn, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
			plan = p
			return &Outcome{Plan: p, Tenant: tn}, err
		}
	})
	f.agent.runOnce(context.Background())
	if plan == nil || len(plan.Seats) != 3 {
		t.Fatalf("the plan does not hold the three orgs' seats: %+v", plan)
	}

	_, m := get(t, f.agent.Handler(), "/metrics")
	for _, want := range []string{
		`scimsync_members{org="` + kelvinOffice + `",role="member",tier="standard"} 1`,
		`scimsync_members{org="` + plainOffice + `",role="member",tier="standard"} 1`,
		`scimsync_members{org="` + izmir + `",role="member",tier="standard"} 1`,
		`scimsync_seats_purchased{org="` + kelvinOffice + `",tier="standard"} 6`,
		`scimsync_seats_purchased{org="` + plainOffice + `",tier="standard"} 5`,
		`scimsync_seats_purchased{org="` + izmir + `",tier="standard"} 5`,
		`scimsync_drift{kind="config",org="` + kelvinOffice + `"} 1`,
		`scimsync_drift{kind="config",org="` + plainOffice + `"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "org="))
		}
	}
	if n := strings.Count(m, "\nscimsync_seats_used{"); n != 3 {
		t.Errorf("/metrics has %d scimsync_seats_used series, want 3:\n%s", n, grep(m, "scimsync_seats_used"))
	}

	st := status(t, f.agent.Handler())
	got := map[string]OrgStatus{}
	for _, o := range st.Orgs {
		got[o.Org] = o
	}
	if len(st.Orgs) != 3 || len(got) != 3 {
		t.Fatalf("/status lists %d orgs, want the plan's three: %+v", len(st.Orgs), st.Orgs)
	}
	for _, name := range []string{kelvinOffice, plainOffice, izmir} {
		o, ok := got[name]
		if !ok {
			t.Errorf("/status lacks org %q: %+v", name, st.Orgs)
			continue
		}
		if o.Members != 1 {
			t.Errorf("/status org %q: %d members, want 1", name, o.Members)
		}
		want := 0
		if name == kelvinOffice {
			want = 1
		}
		if o.Changes[KindConfig] != want {
			t.Errorf("/status org %q: %d config changes, want %d", name, o.Changes[KindConfig], want)
		}
	}
}

// Two orgs whose names fold alike are two orgs to the fight detector too:
// the agent's own writes to both, found again as it left them, are no
// undo.
func TestFightDetectorKeepsLookAlikeOrgsApart(t *testing.T) {
	var f fightDetector
	writes := func(v3, v2 string) *diff.Plan {
		return &diff.Plan{Writes: []diff.Write{
			{OrgID: "o3", Org: plainOffice, Version: v3},
			{OrgID: "o2", Org: kelvinOffice, Version: v2},
		}}
	}
	// The fingerprint names orgs as it does (lower-cased): both "k-office".
	after := &diff.Plan{Fingerprint: diff.Fingerprint{Orgs: []diff.OrgRef{
		{ID: "o2", Name: strings.ToLower(kelvinOffice), Version: "2"},
		{ID: "o3", Name: strings.ToLower(plainOffice), Version: "5"},
	}}}
	for i := range 3 {
		if r, _ := f.check("s1", writes("5", "2")); r != "" {
			t.Fatalf("round %d: the agent's own versions counted as undos: %s", i, r)
		}
		f.wrote(writes("5", "2"), after)
	}
	// Someone else writes the Kelvin sign's org, twice: that one is named.
	f.wrote(writes("5", "2"), after)
	if r, _ := f.check("s1", writes("5", "3")); r != "" {
		t.Fatalf("one undo stopped: %s", r)
	}
	f.wrote(writes("5", "3"), after)
	r, newly := f.check("s1", writes("5", "4"))
	if !newly || !strings.Contains(r, kelvinOffice+" (its write left version 2, found 4)") || strings.Contains(r, plainOffice+" (") {
		t.Fatalf("two undos of %s: %q newly=%v", kelvinOffice, r, newly)
	}
}
