package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/scimsync/scimsync/spec"

	"github.com/scimsync/scimsync/internal/match"
)

// MismatchError says that a spec names things the server does not have (or
// has twice), so no plan can be computed: a child organization missing on
// the server, a mapped group that does not exist or whose displayName
// matches two groups, a group mapped twice in one org (by name and by id), a
// parent whose name differs from the server's.
// Problems holds every one found, each pinned to the spec where possible.
type MismatchError struct {
	Problems spec.Diagnostics
}

// Error lists the problems, one per line, after a one-line summary.
func (e *MismatchError) Error() string {
	n := len(e.Problems)
	noun := "problems"
	if n == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("the spec does not match the server (%d %s):\n%s", n, noun, e.Problems.Error())
}

// suggest returns up to three names from candidates closest to name by edit
// distance (case-insensitively), closest first: those within a quarter of
// the name's length (at least 2 edits), or containing it.
func suggest(name string, candidates []string) []string {
	target := match.Name(name)
	limit := max(2, len([]rune(target))/4)
	type scored struct {
		name string
		d    int
	}
	var hits []scored
	seen := map[string]bool{}
	for _, c := range candidates {
		lc := match.Name(c)
		if seen[lc] {
			continue
		}
		seen[lc] = true
		d := match.Distance(target, lc)
		if d <= limit || (len(target) >= 3 && strings.Contains(lc, target)) {
			hits = append(hits, scored{c, d})
		}
	}
	slices.SortFunc(hits, func(a, b scored) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.name, b.name)) })
	var out []string
	for _, h := range hits[:min(3, len(hits))] {
		out = append(out, h.name)
	}
	return out
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
