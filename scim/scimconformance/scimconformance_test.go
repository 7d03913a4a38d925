package scimconformance_test

import (
	"testing"

	"github.com/scimsync/scimsync/scim/scimconformance"
)

// TestFakeServer runs the suite against the fake, which checks the suite
// and the client together.
func TestFakeServer(t *testing.T) {
	scimconformance.RunListingSuite(t, scimconformance.FakeServer)
}
