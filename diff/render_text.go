package diff

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/scimsync/scimsync/internal/termsafe"
)

// TextOptions tune RenderText.
type TextOptions struct {
	// Color adds ANSI colours. The CLI sets it only when stdout is a
	// terminal and NO_COLOR is unset; never set it for files.
	Color bool
	// Summary writes only the header, the changes counted per org, the
	// findings and the summary line (plan --summary).
	Summary bool
}

// Symbols of the text and Markdown forms, by member action.
var symbols = map[Action]string{
	ActionAdd:    "+",
	ActionChange: "~",
	ActionRemove: "-",
	ActionLink:   "=",
	ActionFlag:   "!",
}

var legendText = []struct {
	action Action
	text   string
}{
	{ActionAdd, "add"},
	{ActionChange, "change"},
	{ActionRemove, "remove"},
	{ActionLink, "link to the SCIM user (not counted)"},
	{ActionFlag, "flagged by policy"},
}

const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiMagenta = "\x1b[35m"
	ansiCyan    = "\x1b[36m"
)

var colors = map[Action]string{
	ActionAdd:    ansiGreen,
	ActionChange: ansiYellow,
	ActionRemove: ansiRed,
	ActionLink:   ansiCyan,
	ActionFlag:   ansiMagenta,
}

// RenderText writes p for people, Terraform-like: the configuration changes,
// the member changes grouped by org, the findings, the full-enablement
// readiness, the seat table and one summary line. Strings that come from the
// server are printed with control characters escaped.
func RenderText(w io.Writer, p *Plan, opts TextOptions) error {
	bw := bufio.NewWriter(w)
	r := &textRenderer{w: bw, color: opts.Color, summary: opts.Summary}
	r.render(p)
	return bw.Flush()
}

type textRenderer struct {
	w       *bufio.Writer
	color   bool
	summary bool // plan --summary: summarySections only
}

func (r *textRenderer) paint(code, s string) string {
	if !r.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (r *textRenderer) sym(action Action) string {
	return r.paint(colors[action], symbols[action])
}

func (r *textRenderer) line(format string, args ...any) {
	fmt.Fprintf(r.w, format, args...)
	r.w.WriteByte('\n')
}

func (r *textRenderer) render(p *Plan) {
	for _, sec := range planSections {
		if r.summary && !summarySections[sec] {
			continue
		}
		if write := textSections[sec]; write != nil {
			write(r, p)
		}
	}
}

// textSections writes each section of planSections as text; a section
// with nothing to show writes nothing.
var textSections = map[section]func(*textRenderer, *Plan){
	sectionHeader:    (*textRenderer).header,
	sectionCounts:    (*textRenderer).counts,
	sectionFindings:  (*textRenderer).findings,
	sectionConfig:    (*textRenderer).configChanges,
	sectionMembers:   (*textRenderer).memberChanges,
	sectionReadiness: (*textRenderer).readiness,
	sectionExpiring:  (*textRenderer).expiring,
	sectionSeats:     (*textRenderer).seats,
	sectionSummary:   (*textRenderer).summaryLine,
}

// header: the tenant, its mode and the plan's instant, then the legend of
// the symbols the plan uses.
func (r *textRenderer) header(p *Plan) {
	mode := clean(p.Mode.After)
	if p.Mode.Before != p.Mode.After {
		mode = clean(p.Mode.Before) + " → " + clean(p.Mode.After)
	}
	r.line("Tenant %s, mode %s, planned at %s.", clean(p.Parent.Name), mode, p.GeneratedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	if n := narrowNote(p); n != "" {
		r.line("%s", n)
	}
	if r.summary {
		return // no legend: no change is listed
	}

	present := map[Action]bool{}
	for _, c := range p.ConfigChanges {
		present[configAction(c)] = true
	}
	for _, m := range p.Members {
		present[m.Action] = true
	}
	if len(present) > 0 {
		var parts []string
		for _, l := range legendText {
			if present[l.action] {
				parts = append(parts, r.sym(l.action)+" "+l.text)
			}
		}
		r.line("")
		r.line("Legend: %s", strings.Join(parts, ", "))
	}
}

// counts: the changes counted per org, in --summary only (the full text
// lists the changes themselves).
func (r *textRenderer) counts(p *Plan) {
	if r.summary {
		r.orgCounts(p)
	}
}

func (r *textRenderer) configChanges(p *Plan) {
	if len(p.ConfigChanges) == 0 {
		return
	}
	r.line("")
	r.line("Configuration changes:")
	for _, g := range groupBy(p.ConfigChanges, func(c ConfigChange) string { return c.Org }) {
		head := clean(g[0].Org)
		if g[0].Org == p.Parent.Name {
			head += " (parent)"
		}
		r.line("  %s", head)
		var rows [][]string
		var acts []Action
		for _, c := range g {
			label := c.Field
			if c.Key != "" {
				label += " " + clean(c.Key)
			}
			rows = append(rows, []string{label, configValue(c)})
			acts = append(acts, configAction(c))
		}
		r.table("    ", acts, rows)
	}
}

func (r *textRenderer) memberChanges(p *Plan) {
	if len(p.Members) == 0 {
		return
	}
	r.line("")
	r.line("Member changes:")
	for _, g := range groupBy(p.Members, func(m MemberChange) string { return m.Org }) {
		r.line("  %s", clean(g[0].Org))
		// One backing array for all the rows' cells.
		cells := make([]string, 0, 3*len(g))
		rows := make([][]string, 0, len(g))
		acts := make([]Action, 0, len(g))
		for _, m := range byActionThenEmail(g) {
			cells = append(cells, memberRow(*m)...)
			rows = append(rows, cells[len(cells)-3:len(cells):len(cells)])
			acts = append(acts, m.Action)
		}
		r.table("    ", acts, rows)
	}
}

func (r *textRenderer) findings(p *Plan) {
	if len(p.Findings) == 0 {
		return
	}
	r.line("")
	r.line("Findings:")
	for _, f := range p.Findings {
		where := ""
		if f.Org != "" {
			where = clean(f.Org) + ": "
		}
		sev := string(f.Severity)
		if f.Severity == SeverityError {
			sev = r.paint(ansiRed, sev)
		} else {
			sev = r.paint(ansiYellow, sev)
		}
		r.line("  %s %s: %s%s", r.sym(ActionFlag), sev, where, clean(f.Message))
	}
}

func (r *textRenderer) readiness(p *Plan) {
	if len(p.Readiness) == 0 {
		return
	}
	r.line("")
	if p.Mode.After == "full" {
		r.line("Full enablement (mode full after this plan):")
	} else {
		r.line("Full enablement readiness (who would be removed if mode were full now):")
	}
	var rows [][]string
	for _, rd := range p.Readiness {
		state := "ready, nobody would be removed"
		if n := len(rd.WouldRemove); n > 0 {
			state = plural(n, "would be removed", "would be removed")
		}
		rows = append(rows, []string{clean(rd.Org), fmt.Sprintf("%s, %d SCIM-backed, %s", plural(rd.Members, "member", "members"), rd.ScimBacked, state)})
	}
	width := 0
	for _, row := range rows {
		width = max(width, textWidth(row[0]))
	}
	for i, rd := range p.Readiness {
		r.line("  %s  %s", pad(rows[i][0], width), rows[i][1])
		ew := 0
		for _, x := range rd.WouldRemove {
			ew = max(ew, textWidth(clean(x.Email)))
		}
		for _, x := range rd.WouldRemove {
			r.line("      %s  %s", pad(clean(x.Email), ew), clean(removalNote(x)))
		}
	}
}

func (r *textRenderer) seats(p *Plan) {
	if len(p.Seats) == 0 {
		return
	}
	r.line("")
	r.line("Seats:")
	rows := [][]string{{"org", "tier", "purchased", "now", "after", "entitled", ""}}
	for _, s := range p.Seats {
		note := ""
		if s.Overcommit {
			note = r.paint(ansiRed, "overcommitted")
		}
		rows = append(rows, []string{clean(s.Org), clean(s.Tier), strconv.Itoa(s.Purchased), strconv.Itoa(s.Now), strconv.Itoa(s.After), strconv.Itoa(s.Entitled), note})
	}
	widths := make([]int, 7)
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], textWidth(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range row {
			switch {
			case i < 2:
				b.WriteString(pad(c, widths[i]))
			case i < 6:
				b.WriteString(strings.Repeat(" ", widths[i]-textWidth(c)) + c)
			default:
				b.WriteString(c)
			}
			if i < len(row)-1 {
				b.WriteString("  ")
			}
		}
		r.line("%s", strings.TrimRight(b.String(), " "))
	}
}

// summary: the last line, the one that says what matters most.
func (r *textRenderer) summaryLine(p *Plan) {
	r.line("")
	line := SummaryLine(p)
	if r.color {
		line = ansiBold + line + ansiReset
	}
	r.line("%s", line)
}

// byActionThenEmail returns pointers to g's changes sorted stably by action
// rank, then email. g is usually sorted by email already (as Compute sorts
// a plan's members), so each rank's changes, taken in order, need sorting
// only when they are not.
func byActionThenEmail(g []MemberChange) []*MemberChange {
	var byRank [5][]*MemberChange // actionRank's values
	for i := range g {
		k := actionRank(g[i].Action)
		byRank[k] = append(byRank[k], &g[i])
	}
	out := make([]*MemberChange, 0, len(g))
	for _, ms := range byRank {
		byEmail := func(a, b *MemberChange) int { return cmp.Compare(a.Email, b.Email) }
		if !slices.IsSortedFunc(ms, byEmail) {
			slices.SortStableFunc(ms, byEmail)
		}
		out = append(out, ms...)
	}
	return out
}

// table writes rows, each after its action's symbol, with the columns
// aligned; the last column is not padded.
func (r *textRenderer) table(indent string, acts []Action, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, c := range row {
			if i == len(row)-1 {
				break
			}
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], textWidth(c))
		}
	}
	// Each line is built in b, reused, and written without its trailing
	// spaces.
	var b []byte
	for k, row := range rows {
		b = append(b[:0], indent...)
		b = append(b, r.sym(acts[k])...)
		for i, c := range row {
			b = append(b, ' ')
			b = append(b, c...)
			if i < len(row)-1 {
				for range widths[i] - textWidth(c) {
					b = append(b, ' ')
				}
				b = append(b, ' ')
			}
		}
		r.w.Write(bytes.TrimRight(b, " "))
		r.w.WriteByte('\n')
	}
}

func memberRow(m MemberChange) []string {
	as := func(a *Assignment) string {
		if a == nil {
			return ""
		}
		return clean(a.Role) + "/" + clean(a.SeatTier)
	}
	via := ""
	if m.Via != "" {
		via = "via " + clean(m.Via)
		if m.ViaTier != "" {
			via += ", tier via " + clean(m.ViaTier)
		}
	}
	if u := userNote(m); u != "" {
		via = strings.TrimPrefix(via+"; "+u, "; ")
	}
	switch m.Action {
	case ActionAdd:
		return []string{clean(m.Email), as(m.After), via}
	case ActionChange:
		return []string{clean(m.Email), as(m.Before) + " → " + as(m.After), via}
	case ActionRemove:
		detail := as(m.Before)
		if m.Before != nil && m.Before.Origin != "" {
			detail += " (" + clean(m.Before.Origin) + ")"
		}
		return []string{clean(m.Email), detail, clean(m.Reason)}
	case ActionLink:
		detail := as(m.After)
		if m.Before != nil && m.After != nil {
			detail += " (" + clean(m.Before.Origin) + " → " + clean(m.After.Origin) + ")"
		}
		return []string{clean(m.Email), detail, via}
	}
	return []string{clean(m.Email), "", clean(m.Reason)}
}

// removalNote is a readiness removal's reason and marks: "in no mapped
// group of this org (protected: policy.protectedUsers)", "exception expired
// (exception lapsed 2026-01-31)".
func removalNote(x Removal) string {
	s := x.Reason
	if x.Protected {
		s += " (protected: policy.protectedUsers)"
	}
	switch {
	case x.ExceptionUntil != "" && x.ExceptionLapsed:
		s += " (exception lapsed " + x.ExceptionUntil + ")"
	case x.ExceptionUntil != "":
		s += " (exception until " + x.ExceptionUntil + " does not keep them)"
	}
	return s
}

// userNote names the SCIM user a change or link joins the member to when
// its address differs from the member's in any byte, quoted in ASCII so
// that a look-alike character shows: `SCIM user "contractor.\u212aim@…" (id
// u-9)`. Empty otherwise.
func userNote(m MemberChange) string {
	if m.User == nil {
		return ""
	}
	return fmt.Sprintf("SCIM user %s (id %s)", strconv.QuoteToASCII(m.User.UserName), strconv.QuoteToASCII(m.User.ID))
}

// configAction is the symbol action of a configuration change.
func configAction(c ConfigChange) Action {
	switch {
	case c.Before == "":
		return ActionAdd
	case c.After == "":
		return ActionRemove
	}
	return ActionChange
}

func configValue(c ConfigChange) string {
	show := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return clean(s)
	}
	switch configAction(c) {
	case ActionAdd:
		if c.Field == FieldMode || c.Field == FieldLoginDomains || c.Field == FieldSeatTiers {
			return show(c.Before) + " → " + clean(c.After)
		}
		return clean(c.After)
	case ActionRemove:
		if c.Field == FieldMode || c.Field == FieldLoginDomains || c.Field == FieldSeatTiers {
			return clean(c.Before) + " → " + show(c.After)
		}
		return clean(c.Before)
	}
	return clean(c.Before) + " → " + clean(c.After)
}

// SummaryLine is the plan's one-line summary: "Plan: 3 to add, 12 to change,
// 4 to remove (hq 4)." — removals per org in parentheses — or "No changes.
// The tenant matches the spec." when the plan changes nothing.
//
// An error-level finding is named too, even when nothing is to be written:
// "No changes to write; 1 blocking finding (exclusiveOrgs: hq,
// regional-west)."
//
// Exceptions about to lapse (Plan.Expiring) are named last, per org, so
// that the last line alone tells of them: "Plan: …; 1 expiring exception
// (hq).", and with nothing to write "No changes to write; 1 expiring
// exception (hq)." (issue 15, docs/DECISIONS.md).
//
// A narrowed plan says so: "Plan (hq only): …", "No changes (hq only). The
// tenant matches the spec there.", "No changes to write (hq only); …".
func SummaryLine(p *Plan) string {
	blocking := blockingLine(p.Blocking())
	only := ""
	if n := p.Narrowed(); n != "" {
		only = " (" + n + ")"
	}
	notes := blocking
	if x := expiringLine(p.Expiring); x != "" {
		notes = strings.TrimPrefix(notes+"; "+x, "; ")
	}
	if !p.HasChanges() {
		switch {
		case notes != "":
			return "No changes to write" + only + "; " + notes + "."
		case only != "":
			return "No changes" + only + ". The tenant matches the spec there."
		}
		return "No changes. The tenant matches the spec."
	}
	s := fmt.Sprintf("Plan%s: %d to add, %d to change, %d to remove", only, p.Summary.Add, p.Summary.Change, p.Summary.Remove)
	removals := map[string]int{}
	for _, m := range p.Members {
		if m.Action == ActionRemove {
			removals[clean(m.Org)]++
		}
	}
	if len(removals) > 0 {
		var parts []string
		for _, org := range slices.Sorted(maps.Keys(removals)) {
			parts = append(parts, fmt.Sprintf("%s %d", org, removals[org]))
		}
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if n := len(p.ConfigChanges); n > 0 {
		orgs := map[string]bool{}
		for _, c := range p.ConfigChanges {
			orgs[clean(c.Org)] = true
		}
		s += fmt.Sprintf("; %s (%s)", plural(n, "configuration change", "configuration changes"),
			strings.Join(slices.Sorted(maps.Keys(orgs)), ", "))
	}
	if notes != "" {
		s += "; " + notes
	}
	return s + "."
}

// expiringLine is the summary line's notice of the exceptions about to
// lapse: "2 expiring exceptions (hq, west)", or "" when there is none.
func expiringLine(xs []Expiring) string {
	if len(xs) == 0 {
		return ""
	}
	var orgs []string
	for _, x := range xs {
		if o := clean(x.Org); !slices.Contains(orgs, o) {
			orgs = append(orgs, o)
		}
	}
	slices.Sort(orgs)
	return plural(len(xs), "expiring exception", "expiring exceptions") + " (" + strings.Join(orgs, ", ") + ")"
}

// groupBy splits xs, sorted by key, into runs of equal keys.
func groupBy[T any](xs []T, key func(T) string) [][]T {
	var out [][]T
	for i := 0; i < len(xs); {
		j := i + 1
		for j < len(xs) && key(xs[j]) == key(xs[i]) {
			j++
		}
		out = append(out, xs[i:j])
		i = j
	}
	return out
}

// clean is termsafe.Clean: what the plan shows of a string from the
// server or the spec cannot move the cursor or forge a line.
func clean(s string) string { return termsafe.Clean(s) }

// textWidth is the printed width of s in terminal cells, ignoring ANSI
// colour sequences: a wide or fullwidth East Asian character takes two
// cells, a combining mark none (golang.org/x/text/width), every other
// character one.
func textWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			j := strings.IndexByte(s[i:], 'm')
			if j < 0 {
				break
			}
			i += j + 1
			continue
		}
		if s[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch k := width.LookupRune(r).Kind(); {
		case unicode.In(r, unicode.Mn, unicode.Me):
		case k == width.EastAsianWide || k == width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

func pad(s string, width int) string {
	if d := width - textWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
