package diff

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortRuns(t *testing.T) {
	type kv struct{ k, v int }
	byK := func(a, b kv) int { return cmp.Compare(a.k, b.k) }
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		for runs := 1; runs <= 6; runs++ {
			s := make([]kv, n)
			for i := range s {
				s[i] = kv{rng.IntN(n/2 + 1), i}
			}
			// Sort each of runs slices: s is then made of at most runs runs.
			for r := range runs {
				slices.SortStableFunc(s[r*n/runs:(r+1)*n/runs], byK)
			}
			want := slices.Clone(s)
			slices.SortStableFunc(want, byK)
			got := slices.Clone(s)
			if !sortRuns(got, byK, 6) {
				t.Fatalf("n=%d runs=%d: sortRuns gave up", n, runs)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d runs=%d: got %v, want %v", n, runs, got, want)
			}
		}
		s := make([]kv, n)
		for i := range s {
			s[i] = kv{n - i, i}
		}
		if n > 3 {
			orig := slices.Clone(s)
			if sortRuns(s, byK, 3) || !slices.Equal(s, orig) {
				t.Fatalf("n=%d: sortRuns sorted %d runs with maxRuns 3, or changed them", n, n)
			}
		}
	}
}
