// Package match holds the project's matching rules, one function each:
// how two email addresses compare (Email), how a group or organization name
// in a spec matches one on the server (Name), when two addresses look alike
// (Skeleton), and how close a typo is to what was meant (Distance, Closest).
//
// Every package that compares emails or names calls these; none lower-cases
// by itself. DESIGN §5: emails are trimmed and case-folded, except that a
// non-ASCII character never folds into an ASCII one, so the Kelvin sign K
// (U+212A) is not k and İ (U+0130) is not i, while É still matches é.
package match

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Email is the comparison key of an email address: trimmed of white space,
// ASCII letters lower-cased, and every non-ASCII character in NFC and
// case-folded unless its folding would produce an ASCII character, in which
// case it is kept as it is. Two addresses are the same person's when their
// keys are equal.
func Email(s string) string { return fold(s) }

// SameEmail reports whether a and b are the same address under Email.
func SameEmail(a, b string) bool { return Email(a) == Email(b) }

// Name is the comparison key of a group's displayName or an organization's
// name: the same folding as Email, so a look-alike name cannot claim another
// group's mapping either.
func Name(s string) string { return fold(s) }

// SameName reports whether a and b name the same group or organization.
func SameName(a, b string) bool { return Name(a) == Name(b) }

func fold(s string) string {
	s = strings.TrimSpace(s)
	upper := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return foldUnicode(s)
		}
		if upper < 0 && 'A' <= c && c <= 'Z' {
			upper = i
		}
	}
	if upper < 0 {
		return s
	}
	return foldASCII(s, upper)
}

// foldASCII lower-cases an all-ASCII s whose first upper-case letter is at i.
func foldASCII(s string, i int) string {
	b := make([]byte, len(s))
	copy(b, s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b)
}

// A cases.Caser keeps state and may not be shared between goroutines.
var folders = sync.Pool{New: func() any { c := cases.Fold(); return &c }}

func caseFold(s string) string {
	c := folders.Get().(*cases.Caser)
	defer folders.Put(c)
	return c.String(s)
}

// foldUnicode folds an s that holds non-ASCII characters. A protected
// character (one whose canonical form or case fold holds an ASCII
// character, such as the Kelvin sign or İ) is kept exactly as it is; the
// runs between protected characters are put in NFC (so a decomposed É
// matches é) and case-folded.
func foldUnicode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := 0
	for i, r := range s {
		if r >= utf8.RuneSelf && protected(r) {
			foldRun(&b, s[start:i])
			b.WriteRune(r)
			start = i + utf8.RuneLen(r)
		}
	}
	foldRun(&b, s[start:])
	return b.String()
}

// protected reports whether the non-ASCII r would turn into ASCII under
// NFC or case folding.
func protected(r rune) bool {
	if r == utf8.RuneError {
		return false
	}
	one := string(r)
	return hasASCII(norm.NFC.String(one)) || hasASCII(caseFold(one))
}

func foldRun(b *strings.Builder, run string) {
	if run == "" {
		return
	}
	for _, r := range norm.NFC.String(run) {
		switch {
		case 'A' <= r && r <= 'Z':
			b.WriteByte(byte(r) + 'a' - 'A')
		case r < utf8.RuneSelf || r == utf8.RuneError:
			b.WriteRune(r)
		default:
			if f := caseFold(string(r)); !hasASCII(f) {
				b.WriteString(f)
			} else {
				b.WriteRune(r)
			}
		}
	}
}

func hasASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < utf8.RuneSelf {
			return true
		}
	}
	return false
}

// Skeleton is the confusable skeleton of s (Unicode TS #39 §4) after
// Email's folding and a full case fold: two different addresses with the
// same skeleton look alike to a person (contractor.kim and contractor.Kim
// with a Kelvin sign, paypal and pаypal with a Cyrillic а).
func Skeleton(s string) string {
	s = strings.TrimSpace(s)
	if k, ok := asciiSkeleton(s); ok {
		return k
	}
	return skeleton(s)
}

// skeleton is Skeleton of a trimmed s, by the book.
func skeleton(s string) string {
	return confusables.Skeleton(caseFold(norm.NFKC.String(s)))
}

// asciiSkel holds, for each ASCII byte, Skeleton of that one character
// when it is ASCII, and "" when it is not (or the byte is a control
// character, left to the general path); same marks the characters that are
// their own skeleton. Most addresses are ASCII: their NFKC form is
// themselves, their case fold lower-cases the letters, and the confusables
// table maps each character on its own, so their skeleton is the
// concatenation of their characters' (issue 18: the general path was a
// sixth of planning a 100k-member tenant).
var asciiSkel = sync.OnceValue(func() *asciiSkeletons {
	t := new(asciiSkeletons)
	for c := byte(' '); c < utf8.RuneSelf; c++ {
		if k := skeleton(string(rune(c))); k != "" && ASCII(k) {
			t.skel[c], t.same[c] = k, k == string(rune(c))
		}
	}
	return t
})

type asciiSkeletons struct {
	skel [utf8.RuneSelf]string
	same [utf8.RuneSelf]bool
}

// asciiSkeleton is Skeleton of an all-ASCII s, built from asciiSkel; false
// when s holds any other character.
func asciiSkeleton(s string) (string, bool) {
	t := asciiSkel()
	n, same := 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || t.skel[c] == "" {
			return "", false
		}
		n += len(t.skel[c])
		same = same && t.same[c]
	}
	if same {
		return s, true
	}
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < len(s); i++ {
		b.WriteString(t.skel[s[i]])
	}
	return b.String(), true
}

// ASCII reports whether s holds ASCII characters only. Two ASCII
// addresses can look alike too (rn and m), but the look-alike check
// compares the addresses of an organization only when one of them is not
// ASCII (diff's lookalikeFindings).
func ASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// LookAlike reports whether a and b are different addresses under Email that
// a person cannot tell apart.
func LookAlike(a, b string) bool {
	return Email(a) != Email(b) && Skeleton(a) == Skeleton(b)
}

// Distance is the optimal string alignment distance between a and b, in
// runes: insertions, deletions, substitutions and transpositions of
// adjacent characters each cost one, so "seatTeir" is one edit from
// "seatTier". Strings longer than 256 runes that differ count as their
// greater length, to bound the work.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 256 || len(rb) > 256 {
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	// Three rows of the dynamic programme: two back, one back, current.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Closest returns up to n candidates close enough to s to be a likely typo
// of it, nearest first (ties by name), compared under Name's folding. A
// candidate is close when it is within max(1, min(3, len(s)/3)) edits, or,
// for an s of three runes or more, when it contains s.
func Closest(s string, candidates []string, n int) []string {
	type scored struct {
		name string
		d    int
	}
	target := Name(s)
	limit := max(1, min(3, utf8.RuneCountInString(target)/3))
	var hits []scored
	seen := map[string]bool{}
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		lc := Name(c)
		d := Distance(target, lc)
		if d <= limit || (utf8.RuneCountInString(target) >= 3 && strings.Contains(lc, target)) {
			hits = append(hits, scored{c, d})
		}
	}
	slices.SortFunc(hits, func(a, b scored) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.name, b.name)) })
	out := make([]string, 0, min(n, len(hits)))
	for _, h := range hits[:min(n, len(hits))] {
		out = append(out, h.name)
	}
	return out
}
