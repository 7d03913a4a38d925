package diff

import (
	"strings"

	"github.com/scimsync/scimsync/spec"
)

// The Expiring section: the exceptions within policy.exceptionNoticeDays
// of lapsing (Plan.Expiring), per org, in the text and Markdown plans and
// in --summary too. Once one lapses, a plan in full mode writes the org's
// exceptions without it and removes the member (DESIGN §5).

// expiringDays says when an exception's last day is: "last day today",
// "last day tomorrow", "last day in 5 days".
func expiringDays(x Expiring) string {
	return "last day " + spec.DaysLeftText(x.DaysLeft)
}

// keepsNobody is the note on an exception that keeps no member (Expiring's
// KeepsNobody): its lapse removes no one.
const keepsNobody = "(keeps nobody now)"

// expiringNote is the reason of x, followed by keepsNobody when it applies.
func expiringNote(reason string, x Expiring) string {
	if !x.KeepsNobody {
		return reason
	}
	return strings.TrimSpace(reason + " " + keepsNobody)
}

// expiring writes, per org, each exception about to lapse: the email, its
// until date, when that is, and its reason (noting one that keeps nobody),
// the columns aligned across the orgs.
func (r *textRenderer) expiring(p *Plan) {
	if len(p.Expiring) == 0 {
		return
	}
	rows := make([][]string, len(p.Expiring))
	widths := make([]int, 3)
	for i, x := range p.Expiring {
		rows[i] = []string{clean(x.Email), "until " + clean(x.Until), expiringDays(x), expiringNote(clean(x.Reason), x)}
		for j := range widths {
			widths[j] = max(widths[j], textWidth(rows[i][j]))
		}
	}
	r.line("")
	r.line("Expiring exceptions (in full mode the member is removed once one lapses):")
	for i, x := range p.Expiring {
		if i == 0 || x.Org != p.Expiring[i-1].Org {
			r.line("  %s", clean(x.Org))
		}
		row := rows[i]
		days := r.paint(ansiYellow, row[2]) + strings.Repeat(" ", widths[2]-textWidth(row[2]))
		line := "    " + pad(row[0], widths[0]) + "  " + pad(row[1], widths[1]) + "  " + days + "  " + row[3]
		r.line("%s", strings.TrimRight(line, " "))
	}
}

// expiring writes one table of the exceptions about to lapse, by org.
func (m *mdWriter) expiring(p *Plan) {
	if len(p.Expiring) == 0 {
		return
	}
	m.line("")
	m.line("#### Expiring exceptions (%d)", len(p.Expiring))
	m.line("")
	m.line("In `full` mode the member is removed once its exception lapses.")
	m.line("")
	m.line("| org | email | until | last day | reason |")
	m.line("|---|---|---|---|---|")
	capped(m, p.Expiring, func(x Expiring) {
		m.line("| %s | %s | %s | %s | %s |", mdEscape(x.Org), mdEscape(x.Email), mdEscape(x.Until), mdEscape(spec.DaysLeftText(x.DaysLeft)), mdEscape(expiringNote(x.Reason, x)))
	})
}
