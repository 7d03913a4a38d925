//go:build race

package e2e

// raceEnabled reports whether the race detector is on. Under it, JSON
// decoding is about ten times slower, so the one case that decodes 50 MB
// decodes less.
const raceEnabled = true
