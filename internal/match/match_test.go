package match

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestEmail(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"Jane.Doe@Example.GOV", "jane.doe@example.gov", true},
		{"  jane@example.gov\t", "jane@example.gov", true},
		{"contractor.\u212Aim@example.gov", "contractor.kim@example.gov", false}, // Kelvin sign
		{"contractor.\u212Aim@example.gov", "contractor.Kim@example.gov", false},
		{"\u0130nci@example.gov", "inci@example.gov", false},          // İ is not i
		{"\u0130nci@example.gov", "Inci@example.gov", false},          // nor I
		{"stra\u00dfe@example.gov", "strasse@example.gov", false},     // ß never becomes ss
		{"\u00c9lise@example.gov", "\u00e9lise@example.gov", true},    // É matches é
		{"E\u0301lise@example.gov", "\u00e9lise@example.gov", true},   // decomposed É too
		{"\u0421\u0435rgei@example.gov", "sergei@example.gov", false}, // Cyrillic С, е
		{"\u0421ergei@example.gov", "\u0441ergei@example.gov", true},  // Cyrillic С matches с
		{"\u017Fam@example.gov", "sam@example.gov", false},            // long s is not s
	} {
		if got := SameEmail(tc.a, tc.b); got != tc.same {
			t.Errorf("SameEmail(%+q, %+q) = %v, want %v (keys %+q, %+q)", tc.a, tc.b, got, tc.same, Email(tc.a), Email(tc.b))
		}
	}
}

func TestEmailASCIIFastPath(t *testing.T) {
	s := "already.lower@example.gov"
	if got := Email(s); got != s {
		t.Fatalf("Email(%q) = %q", s, got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Email(s) }); n != 0 {
		t.Errorf("Email of a lower-case ASCII address allocates %v times", n)
	}
}

func TestEmailIdempotent(t *testing.T) {
	for _, s := range []string{"A\u212AB", "\u0130x", "\u00c9", "MiXeD@Ex.gov", "\u03a3\u03c2"} {
		if k := Email(s); Email(k) != k {
			t.Errorf("Email(Email(%q)) = %q, want %q", s, Email(k), k)
		}
	}
}

func TestLookAlike(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"contractor.\u212Aim@example.gov", "contractor.kim@example.gov", true},
		{"p\u0430ypal@example.gov", "paypal@example.gov", true}, // Cyrillic а
		{"jane@example.gov", "Jane@Example.gov", false},         // the same address
		{"jane@example.gov", "june@example.gov", false},
		{"rn@example.gov", "m@example.gov", true}, // rn looks like m
	} {
		if got := LookAlike(tc.a, tc.b); got != tc.want {
			t.Errorf("LookAlike(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestName(t *testing.T) {
	if !SameName(" Claude-HQ-Users ", "claude-hq-users") {
		t.Error("names differing in case and spaces should match")
	}
	if SameName("claude-hq-\u212Aeys", "claude-hq-keys") {
		t.Error("a Kelvin sign must not match k in a group name")
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"seatTeir", "seatTier", 1}, // transposition
		{"kitten", "sitting", 3},
		{"plan", "pln", 1},
		{"format", "fromat", 1},
		{"héllo", "hello", 1},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"plan", "apply", "validate", "snapshot", "serve", "agent", "plan"}
	if diff := cmp.Diff([]string{"plan"}, Closest("pln", cands, 3)); diff != "" {
		t.Errorf("Closest(pln) (-want +got):\n%s", diff)
	}
	if got := Closest("zzzzzz", cands, 3); len(got) != 0 {
		t.Errorf("Closest(zzzzzz) = %q, want none", got)
	}
	emails := []string{"jane.doe@example.gov", "john.doe@example.gov", "bob@example.gov"}
	if diff := cmp.Diff([]string{"jane.doe@example.gov"}, Closest("jane.deo@example.gov", emails, 3)); diff != "" {
		t.Errorf("Closest(jane.deo) (-want +got):\n%s", diff)
	}
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"a@b", "\u212A", "\u0130", "\u00c9", "\xff", " X "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Email(s)
		if Email(k) != k {
			t.Fatalf("Email is not idempotent on %q: %q then %q", s, k, Email(k))
		}
		// An ASCII character in the key comes from an ASCII character of s.
		for i := 0; i < len(k); i++ {
			c := k[i]
			if c < 0x80 && c != ' ' {
				found := false
				for j := 0; j < len(s); j++ {
					if s[j] == c || (s[j] >= 'A' && s[j] <= 'Z' && s[j]+('a'-'A') == c) {
						found = true
						break
					}
				}
				if !found {
					t.Fatalf("Email(%q) = %q: ASCII %q folded from a non-ASCII character", s, k, c)
				}
			}
		}
	})
}

func TestEmailConcurrent(t *testing.T) {
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- true }()
			for i := 0; i < 2000; i++ {
				if Email("\u00c9LISE@Example.gov") != "\u00e9lise@example.gov" {
					t.Error("concurrent Email gave a wrong key")
					return
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

// TestSkeletonASCIIFastPath: the skeleton of an ASCII address built from
// its characters' is the one the general path computes, for every printable
// ASCII character alone and in random strings.
func TestSkeletonASCIIFastPath(t *testing.T) {
	for c := 0; c < utf8.RuneSelf; c++ {
		s := "a" + string(rune(c)) + "Z"
		if got, want := Skeleton(s), skeleton(strings.TrimSpace(s)); got != want {
			t.Errorf("Skeleton(%q) = %q, want %q", s, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(' ' + rng.IntN(utf8.RuneSelf-' '))
		}
		s := string(b)
		if got, want := Skeleton(s), skeleton(strings.TrimSpace(s)); got != want {
			t.Fatalf("Skeleton(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzSkeleton(f *testing.F) {
	for _, s := range []string{"rn@x.gov", "I1l|", "p\u0430ypal", "\u212A", " MiXeD "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Skeleton(s), skeleton(strings.TrimSpace(s)); got != want {
			t.Fatalf("Skeleton(%q) = %q, want %q", s, got, want)
		}
	})
}
