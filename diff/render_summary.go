package diff

import (
	"slices"
	"strconv"
	"strings"
)

// orgCounts counts one org's changes: configuration changes and member
// changes by action.
type orgCounts struct {
	org                                     string
	config, add, change, remove, link, flag int
}

// countsByOrg counts the plan's changes per org (the parent's configuration
// changes under its name), for every org with something to report, by name.
func countsByOrg(p *Plan) []*orgCounts {
	per := map[string]*orgCounts{}
	get := func(org string) *orgCounts {
		c := per[org]
		if c == nil {
			c = &orgCounts{org: org}
			per[org] = c
		}
		return c
	}
	for _, c := range p.ConfigChanges {
		get(c.Org).config++
	}
	for _, mc := range p.Members {
		c := get(mc.Org)
		switch mc.Action {
		case ActionAdd:
			c.add++
		case ActionChange:
			c.change++
		case ActionRemove:
			c.remove++
		case ActionLink:
			c.link++
		case ActionFlag:
			c.flag++
		}
	}
	out := make([]*orgCounts, 0, len(per))
	for _, c := range per {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *orgCounts) int { return strings.Compare(a.org, b.org) })
	return out
}

// narrowNote is the line a narrowed plan opens with, "" for a whole plan.
func narrowNote(p *Plan) string {
	if len(p.OrgFilter) == 0 {
		return ""
	}
	return "Narrowed to " + filterNames(p) + ": the other child orgs are left out, and nothing of theirs is shown or written."
}

// orgCounts writes the changes counted per org, the parent's row marked.
func (r *textRenderer) orgCounts(p *Plan) {
	counts := countsByOrg(p)
	if len(counts) == 0 {
		return
	}
	r.line("")
	r.line("Changes per org:")
	rows := [][]string{{"org", "config", "add", "change", "remove", "link", "flagged"}}
	for _, c := range counts {
		org := clean(c.org)
		if c.org == p.Parent.Name {
			org += " (parent)"
		}
		rows = append(rows, []string{org, strconv.Itoa(c.config), strconv.Itoa(c.add), strconv.Itoa(c.change), strconv.Itoa(c.remove), strconv.Itoa(c.link), strconv.Itoa(c.flag)})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], textWidth(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			b.WriteString("  ")
			if i == 0 {
				b.WriteString(pad(c, widths[i]))
			} else {
				b.WriteString(strings.Repeat(" ", widths[i]-textWidth(c)) + c)
			}
		}
		r.line("%s", strings.TrimRight(b.String(), " "))
	}
}
