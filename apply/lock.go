package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Lock keeps two applies on one machine from interleaving their writes to
// the same tenant. It is a file holding the holder's PID and host name; see
// the package comment for how a stale lock is told apart from a live one.
type Lock struct {
	path string
	f    *os.File
	// Stale is the holder of a lock left behind by a process that is no
	// longer running, which Acquire took over; nil when there was none.
	Stale *LockHolder
}

// LockHolder is the process a lock file names.
type LockHolder struct {
	PID  int
	Host string
}

func (h LockHolder) String() string {
	if h.Host == "" {
		return "pid " + strconv.Itoa(h.PID)
	}
	return fmt.Sprintf("pid %d on %s", h.PID, h.Host)
}

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
// when a running process holds it.
func AcquireLock(path string) (*Lock, error) { return acquireLock(path) }

// Release removes the lock file and lets it go.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	rerr := os.Remove(l.path)
	cerr := l.f.Close()
	l.f = nil
	if rerr != nil {
		return fmt.Errorf("releasing lock: %w", rerr)
	}
	if cerr != nil {
		return fmt.Errorf("releasing lock: %w", cerr)
	}
	return nil
}

func holderLine() []byte {
	host, _ := os.Hostname()
	return []byte(fmt.Sprintf("%d %s\n", os.Getpid(), host))
}

// parseHolder reads "PID HOST" from a lock file's content; ok is false when
// it names no PID.
func parseHolder(b []byte) (LockHolder, bool) {
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return LockHolder{}, false
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return LockHolder{}, false
	}
	h := LockHolder{PID: pid}
	if len(fields) > 1 {
		h.Host = fields[1]
	}
	return h, true
}
