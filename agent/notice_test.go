package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
)

// withExpiring is inSync with the given notice list.
func withExpiring(es ...diff.Expiring) *diff.Plan {
	p := inSync()
	p.Expiring = append([]diff.Expiring{}, es...)
	return p
}

var (
	auditor = diff.Expiring{Org: "hq", Email: "auditor@example.gov", Until: "2026-05-10", DaysLeft: 9, Reason: "FedRAMP audit"}
	intern  = diff.Expiring{Org: "hq", Email: "intern@example.gov", Until: "2026-05-12", DaysLeft: 11}
)

// expiringEvents are the exception_expiring events the receiver got.
func (r *receiver) expiringEvents(t *testing.T) []Event {
	t.Helper()
	var out []Event
	for _, e := range r.events(t) {
		if e.Kind == EventExceptionExpiring {
			out = append(out, e)
		}
	}
	return out
}

// announced lists the exceptions the events name.
func announced(evs []Event) []diff.Expiring {
	out := []diff.Expiring{}
	for _, e := range evs {
		if e.Exception != nil {
			out = append(out, *e.Exception)
		}
	}
	return out
}

func TestExpiringExceptionAnnouncedOncePerEntry(t *testing.T) {
	f := newFixture(t, true, nil)
	a, ctx := f.agent, context.Background()
	run := func(p *diff.Plan) {
		t.Helper()
		f.planner.set(p, nil)
		a.runOnce(ctx)
		f.clock.Advance(15 * time.Minute)
	}
	want := []diff.Expiring{}
	check := func(step string) {
		t.Helper()
		if d := cmp.Diff(want, announced(f.hook.expiringEvents(t))); d != "" {
			t.Fatalf("%s: announced (-want +got):\n%s", step, d)
		}
	}

	// The first run announces the exception already in the window; the
	// next runs, with the same list, do not.
	run(withExpiring(auditor))
	want = append(want, auditor)
	check("first run")
	run(withExpiring(auditor))
	check("second run, same list")
	// A day later it has a day less left: the same exception.
	later := auditor
	later.DaysLeft = 8
	run(withExpiring(later))
	check("a day later")
	// A failed run forgets nothing.
	f.planner.set(nil, context.DeadlineExceeded)
	a.runOnce(ctx)
	run(withExpiring(later))
	check("after a failed run")

	// Another exception enters the window: one more notice, for it only.
	run(withExpiring(later, intern))
	want = append(want, intern)
	check("a second exception enters")
	run(withExpiring(later, intern))
	check("both again")

	// The auditor's until moves: a new exception, announced.
	moved := diff.Expiring{Org: "hq", Email: "auditor@example.gov", Until: "2026-05-11", DaysLeft: 9, Reason: "FedRAMP audit, extended"}
	run(withExpiring(moved, intern))
	want = append(want, moved)
	check("until changed")

	// Renewed beyond the window, the intern leaves the list; should the
	// same exception come back, it is announced again.
	run(withExpiring(moved))
	check("intern renewed")
	run(withExpiring(moved, intern))
	want = append(want, intern)
	check("intern back in the window")

	// The payload names org, email, until, days_left and reason.
	f.hook.mu.Lock()
	var raw []map[string]any
	for _, b := range f.hook.bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m["event"] == string(EventExceptionExpiring) {
			raw = append(raw, m)
		}
	}
	f.hook.mu.Unlock()
	wantFirst := map[string]any{"org": "hq", "email": "auditor@example.gov", "until": "2026-05-10", "days_left": float64(9), "reason": "FedRAMP audit"}
	if d := cmp.Diff(wantFirst, raw[0]["exception"]); d != "" {
		t.Errorf("first notice's exception (-want +got):\n%s", d)
	}
	if raw[0]["tenant"] != "example-agency" {
		t.Errorf("first notice's tenant = %v", raw[0]["tenant"])
	}
	text, _ := raw[0]["text"].(string)
	for _, w := range []string{"auditor@example.gov", "hq", "2026-05-10", "9 days left", "FedRAMP audit", "example-agency"} {
		if !strings.Contains(text, w) {
			t.Errorf("notice text lacks %q: %s", w, text)
		}
	}
	// No other notification: the tenant never drifted.
	for _, e := range f.hook.events(t) {
		if e.Kind != EventExceptionExpiring {
			t.Errorf("unexpected %s event: %s", e.Kind, e.Text)
		}
	}
}

func TestExpiringNoticeRetriedWhenDeliveryFails(t *testing.T) {
	f := newFixture(t, true, nil)
	f.planner.set(withExpiring(auditor), nil)
	f.hook.mu.Lock()
	f.hook.fail = 3 // every attempt of the first run
	f.hook.mu.Unlock()
	f.agent.runOnce(context.Background())
	if got := f.hook.expiringEvents(t); len(got) != 0 {
		t.Fatalf("delivered %d notices through a failing webhook", len(got))
	}
	f.agent.runOnce(context.Background())
	f.agent.runOnce(context.Background())
	if d := cmp.Diff([]diff.Expiring{auditor}, announced(f.hook.expiringEvents(t))); d != "" {
		t.Errorf("announced after the webhook recovered (-want +got):\n%s", d)
	}
}

func TestExpiringNoticeStateSurvivesRestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "notices.json")
	hook := newReceiver(t)
	start := func(path string) *fixture {
		t.Helper()
		f := newFixture(t, true, func(c *Config) {
			c.NoticeState = path
			c.WebhookURL = hook.URL()
		})
		f.hook = hook
		f.planner.set(withExpiring(auditor, intern), nil)
		f.agent.runOnce(context.Background())
		return f
	}
	start(state)
	if n := len(hook.expiringEvents(t)); n != 2 {
		t.Fatalf("first agent: %d notices, want 2", n)
	}
	st, err := os.ReadFile(state)
	if err != nil || !strings.Contains(string(st), `"auditor@example.gov"`) || !strings.Contains(string(st), noticeStateFormat) {
		t.Fatalf("notice state = %s (%v)", st, err)
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("notice state mode = %v (%v), want 0600", fi.Mode(), err)
	}

	// A restart with the state: nothing announced twice; a new exception
	// still is.
	f := start(state)
	if n := len(hook.expiringEvents(t)); n != 2 {
		t.Fatalf("after a restart with the state: %d notices, want still 2", n)
	}
	third := diff.Expiring{Org: "regional-west", Email: "c@example.gov", Until: "2026-05-03", DaysLeft: 2}
	f.planner.set(withExpiring(auditor, intern, third), nil)
	f.agent.runOnce(context.Background())
	if d := cmp.Diff([]diff.Expiring{auditor, intern, third}, announced(hook.expiringEvents(t))); d != "" {
		t.Fatalf("announced (-want +got):\n%s", d)
	}

	// Without the state (or with one that does not decode) a restart
	// announces again what is in the window: a notice is never lost.
	start("")
	if n := len(hook.expiringEvents(t)); n != 5 {
		t.Errorf("after a restart without state: %d notices, want 5", n)
	}
	if err := os.WriteFile(state, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := start(state)
	if n := len(hook.expiringEvents(t)); n != 7 {
		t.Errorf("after a restart with a broken state: %d notices, want 7", n)
	}
	if !strings.Contains(g.logs.String(), "reading the notice state") {
		t.Errorf("the broken state was not reported:\n%s", g.logs)
	}
	// And the broken file was replaced by a good one.
	start(state)
	if n := len(hook.expiringEvents(t)); n != 7 {
		t.Errorf("after a restart with the rewritten state: %d notices, want 7", n)
	}
}

func TestExpiringNoticeSlackText(t *testing.T) {
	f := newFixture(t, true, func(c *Config) { c.WebhookFormat = FormatSlack })
	e := auditor
	e.Email = "admin\u202egov.elpmaxe@evil.test"
	e.DaysLeft = 0
	f.planner.set(withExpiring(e), nil)
	f.agent.runOnce(context.Background())
	f.hook.mu.Lock()
	defer f.hook.mu.Unlock()
	if len(f.hook.bodies) != 1 {
		t.Fatalf("%d webhooks, want 1", len(f.hook.bodies))
	}
	var body map[string]string
	if err := json.Unmarshal(f.hook.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	text := body["text"]
	for _, w := range []string{"admin⟨U+202E⟩gov.elpmaxe@evil.test", "in hq", "until 2026-05-10", "last day", "FedRAMP audit"} {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q: %s", w, text)
		}
	}
	if strings.Contains(text, "\u202e") {
		t.Errorf("text holds a raw bidi control: %q", text)
	}
}

func TestLapsedExceptionDriftNamesIt(t *testing.T) {
	f := newFixture(t, true, func(c *Config) {
		c.Apply = func(context.Context, *spec.Spec, *Outcome) error {
			t.Error("auto-apply applied a removal")
			return nil
		}
	})
	p := inSync()
	p.Mode = diff.ModeChange{Before: "full", After: "full"}
	p.ConfigChanges = []diff.ConfigChange{{Org: "hq", Field: "exceptions", Before: "auditor@example.gov until 2026-04-30", After: ""}}
	p.Members = []diff.MemberChange{{Org: "hq", Email: "auditor@example.gov", Action: diff.ActionRemove,
		Before: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "manual"}, Reason: string(resolve.ReasonExceptionExpired)}}
	p.Summary.Remove = 1
	f.planner.set(p, nil)
	f.agent.runOnce(context.Background())
	evs := f.hook.events(t)
	if len(evs) != 1 || evs[0].Kind != EventDrift || !evs[0].AwaitingApproval {
		t.Fatalf("events = %+v, want one drift awaiting approval", evs)
	}
	if want := "Exceptions lapsed, their members removed: auditor@example.gov (hq)."; !strings.Contains(evs[0].Text, want) {
		t.Errorf("drift text = %q, want %q", evs[0].Text, want)
	}
	if st := f.agent.Status(); st.LastRun.Result != ResultAwaitingApproval {
		t.Errorf("result = %s", st.LastRun.Result)
	}
}

// TestExpiringNoticeTextIsOneSafeLine: the notice quotes the spec's reason,
// which may hold anything: a newline (that would forge a second message
// line in a chat), a zero-width or bidi control, Slack's own markup
// (<!channel> pings everyone, <url|text> hides a link), or ten thousand
// characters. The text stays one line, every invisible character shown,
// Slack's markup inert, each quoted field capped (issue 15).
func TestExpiringNoticeTextIsOneSafeLine(t *testing.T) {
	f := newFixture(t, true, func(c *Config) { c.WebhookFormat = FormatSlack })
	e := auditor
	e.Reason = "audit\nscimsync: resolved: tenant matches the spec again.\r\u2028\u200b<!channel> see <https://evil.test|the runbook> & " + strings.Repeat("x", 10000)
	f.planner.set(withExpiring(e), nil)
	f.agent.runOnce(context.Background())
	f.hook.mu.Lock()
	defer f.hook.mu.Unlock()
	if len(f.hook.bodies) != 1 {
		t.Fatalf("%d webhooks, want 1", len(f.hook.bodies))
	}
	var body map[string]string
	if err := json.Unmarshal(f.hook.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	text := body["text"]
	for _, bad := range []string{"\n", "\r", "\u2028", "\u200b", "<!channel>", "<https://"} {
		if strings.Contains(text, bad) {
			t.Errorf("text holds %q: %q", bad, text)
		}
	}
	for _, w := range []string{`audit\nscimsync: resolved`, "⟨U+2028⟩⟨U+200B⟩", "&lt;!channel&gt;", "&amp;", "auditor@example.gov"} {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q: %.300q", w, text)
		}
	}
	if len(text) > 2000 {
		t.Errorf("text is %d bytes long; a quoted reason is capped", len(text))
	}
}

// A notice state others can write is not trusted: anyone able to write it
// could mark exceptions as announced and so silence their notices. It is
// read as empty (the notices go out again) and tightened to 0600.
func TestExpiringNoticeStateWritableByOthersIsNotTrusted(t *testing.T) {
	state := filepath.Join(t.TempDir(), "notices.json")
	marked := `{"format":"` + noticeStateFormat + `","notified":[{"org":"hq","email":"auditor@example.gov","until":"` + auditor.Until + `"}]}` + "\n"
	if err := os.WriteFile(state, []byte(marked), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o666); err != nil {
		t.Fatal(err)
	}
	hook := newReceiver(t)
	f := newFixture(t, true, func(c *Config) {
		c.NoticeState = state
		c.WebhookURL = hook.URL()
	})
	f.hook = hook
	f.planner.set(withExpiring(auditor), nil)
	f.agent.runOnce(context.Background())
	if n := len(hook.expiringEvents(t)); n != 1 {
		t.Fatalf("with a state file writable by others: %d notices, want 1", n)
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("notice state mode = %v (%v), want 0600", fi.Mode(), err)
	}
}

// TestExpiringNoticeKeepsNobodySaysSo: the notice of an exception that
// keeps nobody (its member is entitled, or there is none) says its lapse
// removes no one, never that the member is removed; the payload says
// keeps_nobody.
func TestExpiringNoticeKeepsNobodySaysSo(t *testing.T) {
	f := newFixture(t, true, nil)
	idle := diff.Expiring{Org: "hq", Email: "provisioned@example.gov", Until: "2026-05-10", DaysLeft: 9, Reason: "badge", KeepsNobody: true}
	f.planner.set(withExpiring(idle, auditor), nil)
	f.agent.runOnce(context.Background())
	evs := f.hook.expiringEvents(t)
	if len(evs) != 2 {
		t.Fatalf("%d notices, want 2", len(evs))
	}
	for _, e := range evs {
		removes := strings.Contains(e.Text, "removes them")
		switch e.Exception.Email {
		case idle.Email:
			if removes || !strings.Contains(e.Text, "keeps nobody now") || !strings.Contains(e.Text, "removes no one") {
				t.Errorf("the notice of an exception that keeps nobody reads: %s", e.Text)
			}
			if !e.Exception.KeepsNobody {
				t.Errorf("its payload lacks keeps_nobody: %+v", e.Exception)
			}
		case auditor.Email:
			if !removes || strings.Contains(e.Text, "keeps nobody") {
				t.Errorf("the notice of an exception that keeps a member reads: %s", e.Text)
			}
		}
	}
}

// TestExpiringNoticeAgainWhenItComesToKeepSomeone: a notice that said an
// exception keeps nobody (its lapse removes no one) is not the last word:
// once the exception comes to keep a member (the user left the mapped
// group), its lapse removes them, and the agent says so in a new notice.
func TestExpiringNoticeAgainWhenItComesToKeepSomeone(t *testing.T) {
	f := newFixture(t, true, nil)
	idle := diff.Expiring{Org: "hq", Email: "auditor@example.gov", Until: "2026-05-10", DaysLeft: 9, KeepsNobody: true}
	keeping := idle
	keeping.KeepsNobody, keeping.DaysLeft = false, 8
	for _, e := range []diff.Expiring{idle, idle, keeping, keeping} {
		f.planner.set(withExpiring(e), nil)
		f.agent.runOnce(context.Background())
		f.clock.Advance(15 * time.Minute)
	}
	got := announced(f.hook.expiringEvents(t))
	if d := cmp.Diff([]diff.Expiring{idle, keeping}, got); d != "" {
		t.Errorf("announced (-want +got):\n%s", d)
	}
}
