package diff

// sortRuns sorts s by cmp when s is made of at most maxRuns ascending runs,
// and reports whether it did; otherwise it leaves s alone. It merges the
// runs pairwise, taking the left element of equal ones, so it is stable:
// on data that arrives in a few sorted runs it compares each element a few
// times where a sort would compare it log n times.
func sortRuns[T any](s []T, cmp func(a, b T) int, maxRuns int) bool {
	bounds := []int{0}
	for i := 1; i < len(s); i++ {
		if cmp(s[i-1], s[i]) > 0 {
			if len(bounds) == maxRuns {
				return false
			}
			bounds = append(bounds, i)
		}
	}
	bounds = append(bounds, len(s))
	if len(bounds) <= 2 {
		return true
	}
	src, dst := s, make([]T, len(s))
	for len(bounds) > 2 {
		merged := bounds[:1]
		for k := 0; k+1 < len(bounds); k += 2 {
			lo, mid := bounds[k], bounds[k+1]
			hi := mid
			if k+2 < len(bounds) {
				hi = bounds[k+2]
			}
			mergeInto(dst[lo:hi], src[lo:mid], src[mid:hi], cmp)
			merged = append(merged, hi)
		}
		bounds = merged
		src, dst = dst, src
	}
	if &src[0] != &s[0] {
		copy(s, src)
	}
	return true
}

// mergeInto merges the sorted a and b into dst, a's element first of equal
// ones.
func mergeInto[T any](dst, a, b []T, cmp func(a, b T) int) {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		if cmp(b[j], a[i]) < 0 {
			dst[k] = b[j]
			j++
		} else {
			dst[k] = a[i]
			i++
		}
		k++
	}
	k += copy(dst[k:], a[i:])
	copy(dst[k:], b[j:])
}
