package diff

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// MaxMarkdownSize is the most characters RenderMarkdown writes: GitHub
// refuses comments longer than 65,536.
const MaxMarkdownSize = 65000

// markdownCaps are the row limits per list RenderMarkdown tries, most
// generous first, until the comment fits in MaxMarkdownSize.
var markdownCaps = []int{1000, 300, 100, 30, 10, 3, 0}

// RenderMarkdown writes p as a pull-request comment: the summary line, a
// summary table per org, the findings, removals first, then configuration
// changes, member changes in a collapsible <details> per org, readiness for
// full enablement and seats. Long lists are cut, saying how many rows were
// left out, so that the comment stays under MaxMarkdownSize characters.
// Strings from the server are escaped: they cannot inject Markdown, HTML or
// mentions.
func RenderMarkdown(w io.Writer, p *Plan) error {
	return RenderMarkdownWith(w, p, MarkdownOptions{})
}

// MarkdownOptions tune RenderMarkdownWith.
type MarkdownOptions struct {
	// Summary writes only the summary line, the per-org table and the
	// findings (plan --summary).
	Summary bool
}

// RenderMarkdownWith is RenderMarkdown with options.
func RenderMarkdownWith(w io.Writer, p *Plan, opts MarkdownOptions) error {
	var out string
	for _, limit := range markdownCaps {
		out = markdown(p, limit, opts)
		if len(out) <= MaxMarkdownSize {
			break
		}
	}
	if len(out) > MaxMarkdownSize {
		const note = "\n\n_The plan is too large for a comment; it was cut here. Run `scimsync plan` for all of it._\n"
		cut := strings.LastIndexByte(out[:MaxMarkdownSize-len(note)], '\n')
		out = out[:max(cut, 0)] + note
	}
	if _, err := io.WriteString(w, out); err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	return nil
}

type mdWriter struct {
	b      strings.Builder
	limit  int
	counts []*orgCounts // countsByOrg of the plan
}

// countsOf returns org's counts.
func (m *mdWriter) countsOf(org string) *orgCounts {
	for _, c := range m.counts {
		if c.org == org {
			return c
		}
	}
	return &orgCounts{org: org}
}

func (m *mdWriter) line(format string, args ...any) {
	fmt.Fprintf(&m.b, format, args...)
	m.b.WriteByte('\n')
}

// more notes the rows a list left out.
func (m *mdWriter) more(n int) {
	if n > 0 {
		m.line("")
		m.line("_… and %d more not shown._", n)
	}
}

// capped writes a row for each of items up to m's limit, then notes how
// many were left out.
func capped[T any](m *mdWriter, items []T, row func(T)) {
	for i, x := range items {
		if i == m.limit {
			m.more(len(items) - m.limit)
			return
		}
		row(x)
	}
}

// details writes a collapsible <details> block around what body writes.
// summary must be HTML-escaped already.
func (m *mdWriter) details(summary string, body func()) {
	m.line("")
	m.line("<details><summary>%s</summary>", summary)
	m.line("")
	body()
	m.line("")
	m.line("</details>")
}

func markdown(p *Plan, limit int, opts MarkdownOptions) string {
	m := &mdWriter{limit: limit, counts: countsByOrg(p)}
	for _, sec := range planSections {
		if opts.Summary && !summarySections[sec] {
			continue
		}
		if write := mdSections[sec]; write != nil {
			write(m, p)
		}
	}
	return m.b.String()
}

// mdSections writes each section of planSections as Markdown; a section
// with nothing to show writes nothing.
var mdSections = map[section]func(*mdWriter, *Plan){
	sectionHeader:    (*mdWriter).header,
	sectionCounts:    (*mdWriter).countsTable,
	sectionFindings:  (*mdWriter).findings,
	sectionRemovals:  (*mdWriter).removals,
	sectionConfig:    (*mdWriter).configChanges,
	sectionMembers:   (*mdWriter).memberChanges,
	sectionReadiness: (*mdWriter).readiness,
	sectionExpiring:  (*mdWriter).expiring,
	sectionSeats:     (*mdWriter).seats,
}

// header: the title, the summary line (a reviewer reads it first), the
// mode and the plan's instant.
func (m *mdWriter) header(p *Plan) {
	m.line("### scimsync plan: %s", mdEscape(p.Parent.Name))
	m.line("")
	m.line("**%s**", mdEscape(SummaryLine(p)))
	m.line("")
	mode := "`" + mdCode(p.Mode.After) + "`"
	if p.Mode.Before != p.Mode.After {
		mode = "`" + mdCode(p.Mode.Before) + "` → `" + mdCode(p.Mode.After) + "`"
	}
	m.line("Mode: %s. Planned at %s.", mode, p.GeneratedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	if n := narrowNote(p); n != "" {
		m.line("")
		m.line("%s", mdEscape(n))
	}
}

// countsTable: one row per org with something to report.
func (m *mdWriter) countsTable(*Plan) {
	if len(m.counts) == 0 {
		return
	}
	m.line("")
	m.line("| org | config | add | change | remove | link | flagged |")
	m.line("|---|---:|---:|---:|---:|---:|---:|")
	for _, c := range m.counts {
		m.line("| %s | %d | %d | %d | %d | %d | %d |", mdEscape(c.org), c.config, c.add, c.change, c.remove, c.link, c.flag)
	}
}

func (m *mdWriter) findings(p *Plan) {
	if len(p.Findings) == 0 {
		return
	}
	m.line("")
	m.line("#### Findings")
	m.line("")
	capped(m, p.Findings, func(f Finding) {
		where := ""
		if f.Org != "" {
			where = mdEscape(f.Org) + ": "
		}
		icon := "⚠️"
		if f.Severity == SeverityError {
			icon = "⛔"
		}
		m.line("- %s **%s** %s%s", icon, f.Severity, where, mdEscape(f.Message))
	})
}

// removals: every removal in one table, before the other changes.
func (m *mdWriter) removals(p *Plan) {
	var removals []MemberChange
	for _, mc := range p.Members {
		if mc.Action == ActionRemove {
			removals = append(removals, mc)
		}
	}
	if len(removals) == 0 {
		return
	}
	m.line("")
	m.line("#### Removals (%d)", len(removals))
	m.line("")
	m.line("| org | email | role / tier | origin | reason |")
	m.line("|---|---|---|---|---|")
	capped(m, removals, func(mc MemberChange) {
		role, tier, origin := "", "", ""
		if mc.Before != nil {
			role, tier, origin = mc.Before.Role, mc.Before.SeatTier, mc.Before.Origin
		}
		m.line("| %s | %s | %s / %s | %s | %s |", mdEscape(mc.Org), mdEscape(mc.Email), mdEscape(role), mdEscape(tier), mdEscape(origin), mdEscape(mc.Reason))
	})
}

func (m *mdWriter) configChanges(p *Plan) {
	if len(p.ConfigChanges) == 0 {
		return
	}
	m.line("")
	m.line("#### Configuration changes")
	m.line("")
	m.line("| | org | field | before | after |")
	m.line("|---|---|---|---|---|")
	capped(m, p.ConfigChanges, func(c ConfigChange) {
		field := c.Field
		if c.Key != "" {
			field += " " + c.Key
		}
		m.line("| %s | %s | %s | %s | %s |", mdEscape(symbols[configAction(c)]), mdEscape(c.Org), mdEscape(field), mdEscape(c.Before), mdEscape(c.After))
	})
}

// memberChanges: a collapsible block per org.
func (m *mdWriter) memberChanges(p *Plan) {
	memberOrgs := groupBy(p.Members, func(mc MemberChange) string { return mc.Org })
	if len(memberOrgs) == 0 {
		return
	}
	m.line("")
	m.line("#### Member changes")
	for _, g := range memberOrgs {
		g = slices.Clone(g)
		slices.SortStableFunc(g, func(a, b MemberChange) int {
			return cmp.Or(cmp.Compare(actionRank(a.Action), actionRank(b.Action)), cmp.Compare(a.Email, b.Email))
		})
		c := m.countsOf(g[0].Org)
		summary := fmt.Sprintf("%s: %d to add, %d to change, %d to remove", htmlEscape(g[0].Org), c.add, c.change, c.remove)
		m.details(summary, func() {
			m.line("| | email | before | after | note |")
			m.line("|---|---|---|---|---|")
			capped(m, g, func(mc MemberChange) {
				m.line("| %s | %s | %s | %s | %s |", mdEscape(symbols[mc.Action]), mdEscape(mc.Email), mdAssignment(mc.Before), mdAssignment(mc.After), mdEscape(memberNote(mc)))
			})
		})
	}
}

// memberNote: why a member changes (the deciding mapping, or the reason),
// and the SCIM user it joins when its address differs.
func memberNote(mc MemberChange) string {
	note := mc.Reason
	if mc.Via != "" {
		note = "via " + mc.Via
		if mc.ViaTier != "" {
			note += ", tier via " + mc.ViaTier
		}
	}
	if u := userNote(mc); u != "" {
		note = strings.TrimPrefix(note+"; "+u, "; ")
	}
	return note
}

func (m *mdWriter) readiness(p *Plan) {
	if len(p.Readiness) == 0 {
		return
	}
	m.line("")
	if p.Mode.After == "full" {
		m.line("#### Full enablement")
	} else {
		m.line("#### Full enablement readiness")
		m.line("")
		m.line("Who would be removed if mode were `full` now, with the desired mappings.")
	}
	m.line("")
	m.line("| org | members | SCIM-backed | would be removed |")
	m.line("|---|---:|---:|---:|")
	for _, r := range p.Readiness {
		m.line("| %s | %d | %d | %d |", mdEscape(r.Org), r.Members, r.ScimBacked, len(r.WouldRemove))
	}
	for _, r := range p.Readiness {
		if len(r.WouldRemove) == 0 {
			continue
		}
		summary := fmt.Sprintf("%s: %d would be removed", htmlEscape(r.Org), len(r.WouldRemove))
		m.details(summary, func() {
			m.line("| email | reason |")
			m.line("|---|---|")
			capped(m, r.WouldRemove, func(x Removal) {
				m.line("| %s | %s |", mdEscape(x.Email), mdEscape(removalNote(x)))
			})
		})
	}
}

func (m *mdWriter) seats(p *Plan) {
	if len(p.Seats) == 0 {
		return
	}
	m.line("")
	m.line("#### Seats")
	m.line("")
	m.line("| org | tier | purchased | now | after | entitled | |")
	m.line("|---|---|---:|---:|---:|---:|---|")
	capped(m, p.Seats, func(s SeatUsage) {
		note := ""
		if s.Overcommit {
			note = "⛔ overcommitted"
		}
		m.line("| %s | %s | %d | %d | %d | %d | %s |", mdEscape(s.Org), mdEscape(s.Tier), s.Purchased, s.Now, s.After, s.Entitled, note)
	})
}

func mdAssignment(a *Assignment) string {
	if a == nil {
		return ""
	}
	s := mdEscape(a.Role) + " / " + mdEscape(a.SeatTier)
	if a.Origin != "" {
		s += " (" + mdEscape(a.Origin) + ")"
	}
	return s
}

// mdEscape makes s inert in Markdown, in a table cell or in text: control
// characters are neutralised (as in text), every ASCII punctuation character
// Markdown gives meaning to is backslash-escaped (so nothing becomes a link,
// emphasis, HTML, a table cell boundary or an @mention), and & becomes an
// entity.
func mdEscape(s string) string {
	s = clean(s)
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '\\', '`', '*', '_', '{', '}', '[', ']', '(', ')', '#', '+', '-', '.', '!', '|', '<', '>', '~', '@', ':', '$':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// mdCode makes s safe inside a `code span`: no backticks, no control
// characters.
func mdCode(s string) string {
	return strings.ReplaceAll(clean(s), "`", "'")
}

// htmlEscape makes s safe inside an HTML element such as <summary>, where
// Markdown is not interpreted.
func htmlEscape(s string) string {
	s = clean(s)
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '@':
			b.WriteString("&#64;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
