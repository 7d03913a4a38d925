package agent

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scimsync/scimsync/resolve"
)

// The readiness page (DESIGN §8) is what a person reads before switching an
// organization to SCIM mode full. It is rendered on the server from the
// same report /status serves, with html/template (every server string is
// escaped), an embedded stylesheet and no script, so it works offline and
// under the strict Content-Security-Policy it is sent with. It refreshes
// itself with a meta refresh.

//go:embed page.html page.css
var pageFiles embed.FS

var pageTemplate = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"utc": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}).ParseFS(pageFiles, "page.html"))

// pageCSS is served at /page.css.
var pageCSS = func() []byte {
	b, err := pageFiles.ReadFile("page.css")
	if err != nil {
		panic(err)
	}
	return b
}()

// PageCSP is the Content-Security-Policy the page is sent with: nothing but
// the page's own stylesheet may load.
const PageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pageRefresh is how often the page reloads itself, in seconds.
const pageRefresh = 30

// historySize is how many recent runs the page lists.
const historySize = 10

// runHistory keeps the last historySize runs, newest first, with the
// summary line of each successful run's plan.
type runHistory struct {
	mu   sync.Mutex
	runs []pageRun
}

type pageRun struct {
	Finished time.Time
	Duration string
	Result   Result
	Line     string
	Detail   string
}

// add records a finished run; rep is its report (nil for a failed run).
func (h *runHistory) add(run *Run, rep *report) {
	r := pageRun{Finished: run.Finished, Duration: run.Duration.Round(time.Millisecond).String(), Result: run.Result}
	if rep != nil && run.Result.Succeeded() {
		r.Line = rep.Line
	}
	switch {
	case run.Error != "":
		r.Detail = firstLines(run.Error, 3)
	case run.AwaitingApproval != "":
		r.Detail = "not applied automatically: " + run.AwaitingApproval
	case run.Applied != nil:
		r.Detail = fmt.Sprintf("auto-applied: %d to add, %d to change, %d to remove", run.Applied.Add, run.Applied.Change, run.Applied.Remove)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs = append([]pageRun{r}, h.runs...)
	if len(h.runs) > historySize {
		h.runs = h.runs[:historySize]
	}
}

func (h *runHistory) list() []pageRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.runs)
}

// pageData is what page.html renders.
type pageData struct {
	Refresh     int
	Generated   time.Time
	Tenant      string
	Schedule    string
	AutoApply   bool
	Ready       bool
	ReadyReason string
	// HavePlan is false until a run planned successfully.
	HavePlan    bool
	Drift       bool
	SummaryLine string
	ModeBefore  string
	ModeAfter   string
	// AutoApplyStopped says why auto-apply stopped; "" while it runs.
	AutoApplyStopped string
	Orgs             []pageOrg
	Runs             []pageRun
}

type pageOrg struct {
	Name         string
	HasReadiness bool
	Members      int
	SCIMBacked   int
	SCIMPercent  int
	WouldRemove  []WouldRemove
	Seats        []pageSeat
	Expiring     []pageException
	Drift        []pageKind
	DriftTotal   int
}

type pageSeat struct {
	Tier                  string
	Purchased, Now, After int
	// NowWidth, AfterWidth and PurchasedAt are percentages of the bar's
	// scale, the largest of the three figures.
	NowWidth, AfterWidth, PurchasedAt int
	OverNow, OverAfter                bool
}

type pageKind struct {
	Kind  string
	Count int
}

// pageException is an exception about to lapse (Plan.Expiring) or one
// that lapsed, whose member the plan removes.
type pageException struct {
	Email  string
	Until  string
	Reason string
	Note   string
	Lapsed bool
}

// daysLeft says how long an exception still holds: Until is inclusive, so
// on its last day 0 days are left.
func daysLeft(n int) string {
	switch {
	case n < 0:
		return "lapsed"
	case n == 0:
		return "last day"
	case n == 1:
		return "1 day left"
	}
	return strconv.Itoa(n) + " days left"
}

// bidiControls are the characters that reorder text around them (U+202A–
// U+202E, U+2066–U+2069, U+200E, U+200F, U+061C). A server-provided name
// holding one could make an address read as another, so the page shows
// each as a visible ⟨U+XXXX⟩ instead.
var bidiControls = strings.NewReplacer(
	"\u202a", "⟨U+202A⟩", "\u202b", "⟨U+202B⟩", "\u202c", "⟨U+202C⟩", "\u202d", "⟨U+202D⟩", "\u202e", "⟨U+202E⟩",
	"\u2066", "⟨U+2066⟩", "\u2067", "⟨U+2067⟩", "\u2068", "⟨U+2068⟩", "\u2069", "⟨U+2069⟩",
	"\u200e", "⟨U+200E⟩", "\u200f", "⟨U+200F⟩", "\u061c", "⟨U+061C⟩",
)

// visible is s with its bidirectional controls shown.
func visible(s string) string { return bidiControls.Replace(s) }

// percent is n/of as a whole percentage, 0 when of is 0.
func percent(n, of int) int {
	if of <= 0 {
		return 0
	}
	return min(100, (n*100+of/2)/of)
}

// pageView builds the page's data from what /status reads.
func (a *Agent) pageView() pageData {
	st := a.Status()
	d := pageData{
		Refresh:     pageRefresh,
		Generated:   a.clock(),
		Tenant:      visible(st.Tenant),
		Schedule:    st.Schedule,
		AutoApply:   st.AutoApply,
		Ready:       st.Ready,
		ReadyReason: st.ReadyReason,
	}
	for _, r := range a.history.list() {
		r.Line, r.Detail = visible(r.Line), visible(r.Detail)
		d.Runs = append(d.Runs, r)
	}
	d.AutoApplyStopped = a.fights.stoppedReason()
	a.mu.Lock()
	rep := a.rep
	a.mu.Unlock()
	if rep == nil {
		return d
	}
	d.HavePlan, d.Drift, d.SummaryLine = true, rep.Drift(), visible(rep.Line)
	d.ModeBefore, d.ModeAfter = rep.Mode.Before, rep.Mode.After
	for _, o := range rep.Orgs {
		if !o.HasReadiness && len(o.Seats) == 0 && len(o.Expiring) == 0 && len(o.Lapsed) == 0 &&
			o.Drift[KindConfig]+o.Drift[KindAdd]+o.Drift[KindChange]+o.Drift[KindRemove]+o.Drift[KindFlag] == 0 {
			continue
		}
		po := pageOrg{
			Name:         visible(o.Org),
			HasReadiness: o.HasReadiness,
			Members:      o.Members,
			SCIMBacked:   o.SCIMBacked,
			SCIMPercent:  percent(o.SCIMBacked, o.Members),
		}
		for _, w := range o.WouldRemove {
			po.WouldRemove = append(po.WouldRemove, WouldRemove{Email: visible(w.Email), Reason: visible(w.Reason)})
		}
		for _, e := range o.Expiring {
			note := daysLeft(e.DaysLeft)
			if e.KeepsNobody {
				note += "; keeps nobody now"
			}
			po.Expiring = append(po.Expiring, pageException{Email: visible(e.Email), Until: visible(e.Until), Reason: visible(e.Reason), Note: note})
		}
		for _, email := range o.Lapsed {
			po.Expiring = append(po.Expiring, pageException{Email: visible(email), Note: "lapsed: this plan removes the member (" + string(resolve.ReasonExceptionExpired) + ")", Lapsed: true})
		}
		for _, k := range driftKinds {
			if n := o.Drift[k]; n > 0 {
				po.Drift = append(po.Drift, pageKind{k, n})
				po.DriftTotal += n
			}
		}
		for _, s := range o.Seats {
			scale := max(s.Purchased, s.Used, s.After, 1)
			po.Seats = append(po.Seats, pageSeat{
				Tier: s.Tier, Purchased: s.Purchased, Now: s.Used, After: s.After,
				NowWidth: percent(s.Used, scale), AfterWidth: percent(s.After, scale), PurchasedAt: percent(s.Purchased, scale),
				OverNow: s.Used > s.Purchased, OverAfter: s.After > s.Purchased,
			})
		}
		slices.SortFunc(po.Seats, func(a, b pageSeat) int { return cmp.Compare(a.Tier, b.Tier) })
		d.Orgs = append(d.Orgs, po)
	}
	return d
}

// servePage renders the readiness page.
func (a *Agent) servePage(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, a.pageView()); err != nil {
		a.log.Error("rendering the readiness page", "err", err)
		http.Error(w, "rendering the readiness page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", PageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func servePageCSS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "max-age=300")
	_, _ = w.Write(pageCSS)
}
