package fsafe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// Lock is a held lock file: a file that exists while its holder runs and
// holds the holder's PID and host name (for people and error messages).
// Where flock(2) exists the file is also flock'ed, and the kernel releases
// that lock when its process dies: a lock file whose flock is free is stale
// and is taken over. Elsewhere a lock file naming this host and a PID that
// no longer runs is stale.
//
// A lock file is never truncated or rewritten: a stale one is removed and
// a new one created exclusively, so a symbolic or hard link planted at the
// path can never make the lock write into another file. A path holding a
// link, or a file that does not read as a lock (a PID and a host), is
// refused with an error naming it.
type Lock struct {
	path string
	f    *os.File
	// Stale is the holder named by a stale lock file this lock replaced;
	// nil when there was none.
	Stale *Holder
}

// Holder is the process a lock file names.
type Holder struct {
	PID  int
	Host string
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "another process"
	}
	if h.Host == "" {
		return "pid " + strconv.Itoa(h.PID)
	}
	return fmt.Sprintf("pid %d on %s", h.PID, h.Host)
}

// BusyError says a running process holds the lock.
type BusyError struct {
	Path   string
	Holder Holder
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%s is held by %s", e.Path, e.Holder)
}

// ErrNotALock is matched by the error for a lock path holding a file that
// scimsync did not make: it is left as it is.
var ErrNotALock = errors.New("holds something other than a scimsync lock; remove it if no scimsync process is running")

// TryLock takes the lock file at path, or fails at once with a *BusyError
// when a running process holds it.
func TryLock(path string) (*Lock, error) {
	var stale *Holder
	for range 20 {
		l, retry, err := tryLock(path, &stale)
		if err != nil || !retry {
			if l != nil {
				l.Stale = stale
			}
			return l, err
		}
	}
	return nil, fmt.Errorf("locking %s: it keeps changing under us", path)
}

// WaitLock takes the lock file at path, waiting while another process
// holds it, until ctx is done or wait has passed; then it fails with the
// *BusyError.
func WaitLock(ctx context.Context, path string, wait time.Duration) (*Lock, error) {
	deadline := time.Now().Add(wait)
	delay := time.Millisecond
	for {
		l, err := TryLock(path)
		var busy *BusyError
		if !errors.As(err, &busy) || time.Now().After(deadline) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", err, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// Path is the lock file's path.
func (l *Lock) Path() string { return l.path }

// Release removes the lock file and lets it go. A lock file removed or
// replaced by someone else meanwhile is an error (and the other file is
// left alone).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	defer func() { l.f.Close(); l.f = nil }()
	fst, ferr := l.f.Stat()
	pst, perr := os.Lstat(l.path)
	switch {
	case perr != nil:
		return fmt.Errorf("releasing lock: %w", perr)
	case ferr != nil:
		return fmt.Errorf("releasing lock: %w", ferr)
	case !os.SameFile(fst, pst):
		return fmt.Errorf("releasing lock: %s was replaced by another file while held; left it", l.path)
	}
	if err := os.Remove(l.path); err != nil {
		return fmt.Errorf("releasing lock: %w", err)
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("releasing lock: %w", err)
	}
	return nil
}

// create makes a new, empty lock file at path, exclusively. retry is true
// when something appeared at path meanwhile.
func create(path string) (f *os.File, retry bool, err error) {
	f, err = CreateExclusive(path, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, false, nil
}

// writeHolder writes this process's holder line into the new lock file f
// and syncs it; on error it removes the file.
func writeHolder(f *os.File, path string) error {
	host, _ := os.Hostname()
	_, err := fmt.Fprintf(f, "%d %s\n", os.Getpid(), host)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("locking %s: %w", path, err)
	}
	return nil
}

// openExisting opens the lock file at path, which exists, refusing a link
// and a file that is not one scimsync made (not regular, linked elsewhere,
// or not a holder line). f is nil, without error, when path vanished.
func openExisting(path string) (*os.File, Holder, error) {
	f, err := openNoFollow(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Holder{}, nil
	}
	if err != nil {
		return nil, Holder{}, fmt.Errorf("locking: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Holder{}, fmt.Errorf("locking %s: %w", path, err)
	}
	if !st.Mode().IsRegular() || linkCount(st) > 1 || st.Size() > 4096 {
		f.Close()
		return nil, Holder{}, fmt.Errorf("locking: %s %w", path, ErrNotALock)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, Holder{}, fmt.Errorf("locking %s: %w", path, err)
	}
	h, ok := ParseHolder(b)
	// An empty file is a lock whose holder died between creating it and
	// writing its line.
	if !ok && len(b) > 0 {
		f.Close()
		return nil, Holder{}, fmt.Errorf("locking: %s %w", path, ErrNotALock)
	}
	return f, h, nil
}

// sameAsPath reports whether f is still the file at path.
func sameAsPath(f *os.File, path string) bool {
	fst, ferr := f.Stat()
	pst, perr := os.Lstat(path)
	return ferr == nil && perr == nil && os.SameFile(fst, pst)
}

// ParseHolder reads "PID HOST" from a lock file's content; ok is false when
// it names no PID.
func ParseHolder(b []byte) (Holder, bool) {
	fields := strings.Fields(string(b))
	if len(fields) == 0 || len(fields) > 2 {
		return Holder{}, false
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return Holder{}, false
	}
	h := Holder{PID: pid}
	if len(fields) > 1 {
		h.Host = fields[1]
	}
	return h, true
}
