package orgwrite

import (
	"errors"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

// Found by FuzzApplyOrgPatch: seats for a tier with no name were accepted.
func TestApplyOrgPatchRefusesUnnamedSeatTier(t *testing.T) {
	for _, tier := range []string{"", " "} {
		o := scim.Organization{ID: "o1", Name: "hq", Parent: "p", Seats: map[string]int{"standard": 1}}
		err := ApplyOrgPatch(&o, []scim.PatchOp{{Op: "add", Path: "seats", Value: map[string]any{tier: 0}}})
		var pe *PatchError
		if !errors.As(err, &pe) || pe.SCIMType != "invalidValue" {
			t.Errorf("seats {%q: 0}: err = %v, want invalidValue", tier, err)
		}
		if len(o.Seats) != 1 {
			t.Errorf("seats {%q: 0}: seats %v after a refused patch", tier, o.Seats)
		}
	}
}
