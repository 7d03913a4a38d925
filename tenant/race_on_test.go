//go:build race

package tenant

// raceEnabled reports whether the race detector is on; timing bounds do not
// hold under it.
const raceEnabled = true
