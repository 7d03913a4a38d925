package spec

import (
	"strings"

	"github.com/scimsync/scimsync/internal/match"
)

// suggest returns the candidate closest to s, compared case-insensitively,
// when it is close enough to be a likely typo; "" otherwise.
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := match.Distance(ls, strings.ToLower(c))
		if d == 0 && c != s {
			return c // differs only in case
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, min(3, len([]rune(s))/3))
	if bestD < 1 || bestD > limit {
		return ""
	}
	return best
}
