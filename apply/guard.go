package apply

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// ErrNotConfirmed is what a Guard returns for every write it refuses: the
// apply was not confirmed, so nothing may leave the process.
var ErrNotConfirmed = errors.New("write refused: the apply was not confirmed")

// Guard is the one place where dry-run is enforced. It wraps the tenant's
// Writer and refuses every write until it is armed, so no code path above it
// can write by forgetting a flag. Run arms it only when the apply was
// confirmed and every precondition passed.
type Guard struct {
	w     tenant.Writer
	armed atomic.Bool
}

// NewGuard returns a disarmed Guard around w.
func NewGuard(w tenant.Writer) *Guard { return &Guard{w: w} }

// Arm lets writes through from now on.
func (g *Guard) Arm() { g.armed.Store(true) }

// Armed reports whether writes go through.
func (g *Guard) Armed() bool { return g.armed.Load() }

// PatchOrganization implements tenant.Writer. While the guard is disarmed it
// sends nothing and returns ErrNotConfirmed.
func (g *Guard) PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (string, error) {
	if !g.armed.Load() {
		return "", fmt.Errorf("PATCH /Organizations/%s: %w", id, ErrNotConfirmed)
	}
	return g.w.PatchOrganization(ctx, id, version, ops)
}
