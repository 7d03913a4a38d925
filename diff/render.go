package diff

// section is one part of a rendered plan.
type section int

// The sections of a rendered plan.
const (
	// sectionHeader: the tenant, its mode, the plan's instant (text: and
	// the legend; Markdown: and the summary line, first for a reviewer).
	sectionHeader section = iota
	// sectionCounts: per org, how many changes of each kind (Markdown).
	sectionCounts
	// sectionFindings: policy findings, blocking ones first to read.
	sectionFindings
	// sectionRemovals: every removal in one list (Markdown; the text
	// shows them among the member changes).
	sectionRemovals
	sectionConfig
	sectionMembers
	sectionReadiness
	// sectionExpiring: the exceptions about to lapse, per org (a notice,
	// in --summary too).
	sectionExpiring
	sectionSeats
	// sectionSummary: the summary line, last (text).
	sectionSummary
)

// planSections is the order of a rendered plan's sections, the one list
// every renderer follows. A renderer writes each section it has a
// function for (textSections, mdSections), in this order.
var planSections = []section{
	sectionHeader,
	sectionCounts,
	sectionFindings,
	sectionRemovals,
	sectionConfig,
	sectionMembers,
	sectionReadiness,
	sectionExpiring,
	sectionSeats,
	sectionSummary,
}

// summarySections are the sections plan --summary keeps: the header, the
// counts per org, the findings, the exceptions about to lapse (a notice,
// like the findings: docs/DECISIONS.md) and the summary line.
var summarySections = map[section]bool{
	sectionHeader:   true,
	sectionCounts:   true,
	sectionFindings: true,
	sectionExpiring: true,
	sectionSummary:  true,
}
