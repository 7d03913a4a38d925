// Package golden holds the -update flag of the module's tests, so that
//
//	go test ./... -update
//
// rewrites every golden file, and every test binary accepts the flag,
// whether or not its package has golden files. A test package imports it
// for Update, or blank-imports it just to accept the flag.
package golden

import "flag"

var update = flag.Bool("update", false, "rewrite golden files instead of comparing with them")

// Update reports whether the tests were run with -update.
func Update() bool { return *update }
