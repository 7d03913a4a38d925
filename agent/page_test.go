package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/resolve"
)

// readinessPlan is a staged tenant a person is about to switch to full:
// hq has people full enablement would remove, a seat tier the plan
// overcommits, and an exception that lapses; regional-west is ready.
func readinessPlan() *diff.Plan {
	return &diff.Plan{
		FormatVersion: diff.FormatVersion,
		Parent:        diff.OrgRef{ID: "p", Name: "example-agency"},
		Mode:          diff.ModeChange{Before: "staged", After: "staged"},
		Summary:       diff.Summary{Add: 2, Remove: 1},
		Members: []diff.MemberChange{
			{Org: "hq", Email: "new.hire@example.gov", Action: diff.ActionAdd, After: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "scim"}},
			{Org: "hq", Email: "analyst@example.gov", Action: diff.ActionAdd, After: &diff.Assignment{Role: "member", SeatTier: "premium", Origin: "scim"}},
			{Org: "hq", Email: "contractor@example.gov", Action: diff.ActionRemove, Before: &diff.Assignment{Role: "member", SeatTier: "standard", Origin: "jit"}, Reason: string(resolve.ReasonExceptionExpired)},
		},
		Readiness: []diff.Readiness{
			{Org: "hq", Members: 48, ScimBacked: 41, WouldRemove: []diff.Removal{
				{Email: "jit.visitor@example.gov", Reason: string(resolve.ReasonNotProvisioned)},
				{Email: "old.account@example.gov", Reason: string(resolve.ReasonInactive)},
				{Email: "temp.staff@example.gov", Reason: string(resolve.ReasonNoMappedGroup)},
			}},
			{Org: "regional-west", Members: 12, ScimBacked: 12},
		},
		Seats: []diff.SeatUsage{
			{Org: "hq", Tier: "premium", Purchased: 6, Now: 6, After: 7, Overcommit: true},
			{Org: "hq", Tier: "standard", Purchased: 60, Now: 42, After: 42},
			{Org: "regional-west", Tier: "standard", Purchased: 20, Now: 12, After: 12},
		},
		Findings: []diff.Finding{
			{Severity: "warning", Kind: diff.FindingOvercommit, Org: "hq", Message: "premium: 7 seats used after the plan, 6 purchased"},
		},
		Expiring: []diff.Expiring{
			{Org: "hq", Email: "auditor@example.gov", Until: "2026-05-10", DaysLeft: 9, Reason: "FedRAMP audit"},
			{Org: "hq", Email: "intern@example.gov", Until: "2026-05-11", DaysLeft: 10, KeepsNobody: true},
		},
	}
}

// pageFixture runs the agent twice on p (once failing, once planning) and
// returns it.
func pageFixture(t *testing.T, p *diff.Plan) *fixture {
	t.Helper()
	f := newFixture(t, true, nil)
	f.planner.set(nil, fmt.Errorf("reading the tenant: connection refused"))
	f.agent.runOnce(context.Background())
	f.clock.Advance(15 * time.Minute)
	f.planner.set(p, nil)
	f.agent.runOnce(context.Background())
	return f
}

func TestReadinessPage(t *testing.T) {
	f := pageFixture(t, readinessPlan())
	rec := serveRecorder(f.agent.Handler(), "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("/: %d %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Security-Policy"); got != PageCSP {
		t.Errorf("CSP = %q", got)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	page := rec.Body.String()
	for _, want := range []string{
		`<meta http-equiv="refresh" content="30">`,
		`<link rel="stylesheet" href="page.css">`,
		"example-agency",
		`id="org-hq"`, `id="org-regional-west"`,
		`<b class="members">48</b> members, <b class="scim-backed">41</b> SCIM-backed (85%)`,
		`<b class="members">12</b> members, <b class="scim-backed">12</b> SCIM-backed (100%)`,
		`would remove <b class="would-remove">3</b>`,
		`<td class="email">jit.visitor@example.gov</td><td>not provisioned via SCIM</td>`,
		`<td class="email">old.account@example.gov</td><td>SCIM user inactive</td>`,
		"would remove nobody",
		// premium: 6 purchased, 6 now, 7 after (overcommitted after).
		`<td>premium</td><td class="num">6</td><td class="num">6</td><td class="num bad-text">7</td>`,
		`<td>standard</td><td class="num">60</td><td class="num">42</td><td class="num">42</td>`,
		// Exceptions: the plan's notice list, and the removal a lapsed
		// one causes.
		`<tr><td class="email">auditor@example.gov</td><td>2026-05-10</td><td>FedRAMP audit · 9 days left</td></tr>`,
		`<tr><td class="email">intern@example.gov</td><td>2026-05-11</td><td>10 days left; keeps nobody now</td></tr>`,
		`<tr class="lapsed"><td class="email">contractor@example.gov</td><td></td><td>lapsed: this plan removes the member (exception expired)</td></tr>`,
		"<li><b>2</b> add</li><li><b>1</b> remove</li>",
		"2 to add, 0 to change, 1 to remove",
		"connection refused",
		`<span class="badge r-failed">failed</span>`,
		`<span class="badge r-drift">drift</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// No script and no inline style of any kind: the CSP would block it.
	for _, bad := range []string{"<script", "style=", "javascript:", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	// Newest run first.
	if i, j := strings.Index(page, "r-drift"), strings.Index(page, "r-failed"); i < 0 || j < i {
		t.Errorf("runs out of order: drift at %d, failed at %d", i, j)
	}

	css := serveRecorder(f.agent.Handler(), "/page.css")
	if css.Code != http.StatusOK || css.Header().Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(css.Body.String(), ".bar") {
		t.Errorf("/page.css: %d %q", css.Code, css.Header().Get("Content-Type"))
	}
	if rec := serveRecorder(f.agent.Handler(), "/nothing-here"); rec.Code != http.StatusNotFound {
		t.Errorf("/nothing-here: %d", rec.Code)
	}
}

func TestReadinessPageBeforeAnyRun(t *testing.T) {
	f := newFixture(t, true, nil)
	rec := serveRecorder(f.agent.Handler(), "/")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No successful plan yet.") ||
		!strings.Contains(rec.Body.String(), "No run has finished yet.") {
		t.Fatalf("/: %d\n%s", rec.Code, rec.Body)
	}
}

// hostile are names a SCIM server (or an attacker who controls one) could
// hand the agent.
var hostile = []string{
	`<script>alert(1)</script>@example.gov`,
	`"><img src=x onerror=alert(1)>@example.gov`,
	`x' onmouseover='alert(1)@example.gov`,
	"admin\u202egov.elpmaxe@evil.test",
	"\u2067rtl\u2069@example.gov",
	`</td></tr></table><h1>owned</h1>@example.gov`,
	`{{.Tenant}}@example.gov`,
}

func TestReadinessPageEscapesHostileStrings(t *testing.T) {
	p := readinessPlan()
	var rm []diff.Removal
	for i, h := range hostile {
		rm = append(rm, diff.Removal{Email: h, Reason: hostile[(i+1)%len(hostile)]})
		p.Expiring = append(p.Expiring, diff.Expiring{Org: "hq", Email: h, Until: "2026-05-12", DaysLeft: 11, Reason: h})
	}
	p.Readiness[0].WouldRemove = rm
	p.Readiness = append(p.Readiness, diff.Readiness{Org: `"><script>alert(2)</script>`, Members: 1})
	p.Seats = append(p.Seats, diff.SeatUsage{Org: "hq", Tier: `<b onclick=x>`, Purchased: 1})
	f := pageFixture(t, p)
	page := serveRecorder(f.agent.Handler(), "/").Body.String()
	if testing.Verbose() {
		t.Log(page)
	}

	for _, raw := range []string{"<script", "<img", "<h1>owned", "<b onclick", "\u202e", "\u2067", "\u2069", "' onmouseover='"} {
		if strings.Contains(page, raw) {
			t.Errorf("page holds %q unescaped", raw)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;@example.gov",
		"&#34;&gt;&lt;img src=x onerror=alert(1)&gt;@example.gov",
		"x&#39; onmouseover=&#39;alert(1)@example.gov",
		"admin⟨U&#43;202E⟩gov.elpmaxe@evil.test",
		"⟨U&#43;2067⟩rtl⟨U&#43;2069⟩@example.gov",
		"&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h1&gt;owned&lt;/h1&gt;@example.gov",
		"{{.Tenant}}@example.gov",
		"&lt;b onclick=x&gt;",
	} {
		if n := strings.Count(page, want); n < 2 {
			t.Errorf("page holds %q %d times, want it escaped in the removals and the exceptions", want, n)
		}
	}
	// Every tag on the page is one of the template's own.
	allowed := map[string]bool{}
	for _, tag := range strings.Fields("html head meta title link body header h1 h2 h3 span p main section div svg rect table thead tbody tr th td b ul li footer a") {
		allowed[tag] = true
	}
	for _, m := range regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9]*)`).FindAllStringSubmatch(page, -1) {
		if !allowed[strings.ToLower(m[1])] {
			t.Errorf("page holds a <%s> tag", m[1])
		}
	}
}

func TestReportCarriesTheTypedNoticeList(t *testing.T) {
	p := readinessPlan()
	p.Mode = diff.ModeChange{Before: "staged", After: "full"}
	p.Expiring = append(p.Expiring, diff.Expiring{Org: "Regional-West", Email: "b@example.gov", Until: "2026-05-02", DaysLeft: 1})
	rep, err := reportFromOutcome(&Outcome{Plan: p})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mode != p.Mode {
		t.Errorf("mode = %+v", rep.Mode)
	}
	if d := cmp.Diff(p.Expiring, rep.Expiring); d != "" {
		t.Errorf("expiring (-want +got):\n%s", d)
	}
	byOrg := map[string][]diff.Expiring{}
	lapsed := map[string][]string{}
	for _, o := range rep.Orgs {
		if len(o.Expiring) > 0 {
			byOrg[o.Org] = o.Expiring
		}
		if len(o.Lapsed) > 0 {
			lapsed[o.Org] = o.Lapsed
		}
	}
	want := map[string][]diff.Expiring{"hq": p.Expiring[:2], "regional-west": p.Expiring[2:]}
	if d := cmp.Diff(want, byOrg); d != "" {
		t.Errorf("expiring by org (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string][]string{"hq": {"contractor@example.gov"}}, lapsed); d != "" {
		t.Errorf("lapsed by org (-want +got):\n%s", d)
	}

	// A plan without a notice list still reports an empty one.
	rep, err = reportFromOutcome(&Outcome{Plan: inSync()})
	if err != nil || rep.Expiring == nil {
		t.Errorf("expiring = %#v, %v; want an empty list", rep.Expiring, err)
	}
}

func TestExceptionsExpiringMetric(t *testing.T) {
	f := pageFixture(t, readinessPlan())
	_, m := get(t, f.agent.Handler(), "/metrics")
	for _, want := range []string{`scimsync_exceptions_expiring{org="hq"} 2`, `scimsync_exceptions_expiring{org="regional-west"} 0`,
		`scimsync_mode{mode="staged"} 1`, `scimsync_mode{mode="full"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "scimsync_exceptions_expiring"))
		}
	}

	// The exceptions are renewed: hq's gauge reads 0 on the next run, not
	// the last count.
	p := readinessPlan()
	p.Expiring = p.Expiring[1:]
	f.planner.set(p, nil)
	f.agent.runOnce(context.Background())
	_, m = get(t, f.agent.Handler(), "/metrics")
	if want := `scimsync_exceptions_expiring{org="hq"} 1`; !strings.Contains(m, want) {
		t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "scimsync_exceptions_expiring"))
	}
	p.Expiring = []diff.Expiring{}
	f.planner.set(p, nil)
	f.agent.runOnce(context.Background())
	_, m = get(t, f.agent.Handler(), "/metrics")
	if want := `scimsync_exceptions_expiring{org="hq"} 0`; !strings.Contains(m, want) {
		t.Errorf("/metrics lacks %s:\n%s", want, grep(m, "scimsync_exceptions_expiring"))
	}
}

func serveRecorder(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestStatusListsExpiringExceptions(t *testing.T) {
	f := newFixture(t, true, nil)
	if st := status(t, f.agent.Handler()); st.Expiring != nil {
		t.Errorf("expiring before any plan = %#v, want null", st.Expiring)
	}
	f.agent.runOnce(context.Background())
	if st := status(t, f.agent.Handler()); st.Expiring == nil || len(st.Expiring) != 0 {
		t.Errorf("expiring without a notice = %#v, want []", st.Expiring)
	}

	f.planner.set(readinessPlan(), nil)
	f.agent.runOnce(context.Background())
	_, body := get(t, f.agent.Handler(), "/status")
	var doc struct {
		Expiring []map[string]any `json:"expiring"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"org": "hq", "email": "auditor@example.gov", "until": "2026-05-10", "days_left": float64(9), "reason": "FedRAMP audit"},
		{"org": "hq", "email": "intern@example.gov", "until": "2026-05-11", "days_left": float64(10), "reason": "", "keeps_nobody": true},
	}
	if d := cmp.Diff(want, doc.Expiring); d != "" {
		t.Errorf("/status expiring (-want +got):\n%s\n%s", d, body)
	}
}
