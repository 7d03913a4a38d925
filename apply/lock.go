package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/scimsync/scimsync/internal/fsafe"
)

// Lock keeps two applies on one machine that share a journal directory
// from interleaving their runs. It is a file holding the holder's PID and
// host name, made and checked by package fsafe: see the package comment for
// how a stale lock is told apart from a live one, and why a link planted at
// its path is refused.
type Lock struct {
	l *fsafe.Lock
	// Stale is the holder of a lock left behind by a process that is no
	// longer running, which Acquire took over; nil when there was none.
	Stale *LockHolder
}

// LockHolder is the process a lock file names.
type LockHolder = fsafe.Holder

// LockedError says another apply, still running, holds the lock.
type LockedError struct {
	Path   string
	Holder LockHolder
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("locking tenant: another apply (%s) holds %s", e.Holder, e.Path)
}

// LockPath is the lock file for target (a URL or a snapshot path) in dir.
func LockPath(dir, target string) string {
	sum := sha256.Sum256([]byte(target))
	return filepath.Join(dir, "scimsync-apply-"+hex.EncodeToString(sum[:6])+".lock")
}

// AcquireLock takes the lock file at path, or fails with a *LockedError
// when a running process holds it. A symbolic link at path, or a file there
// that is not a lock scimsync made, is refused and left as it is.
func AcquireLock(path string) (*Lock, error) {
	l, err := fsafe.TryLock(path)
	var busy *fsafe.BusyError
	if errors.As(err, &busy) {
		return nil, &LockedError{Path: path, Holder: busy.Holder}
	}
	if err != nil {
		return nil, fmt.Errorf("locking tenant: %w", err)
	}
	return &Lock{l: l, Stale: l.Stale}, nil
}

// Release removes the lock file and lets it go.
func (l *Lock) Release() error {
	if l == nil || l.l == nil {
		return nil
	}
	err := l.l.Release()
	l.l = nil
	return err
}

// parseHolder reads "PID HOST" from a lock file's content.
func parseHolder(b []byte) (LockHolder, bool) { return fsafe.ParseHolder(b) }
