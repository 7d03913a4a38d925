//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package apply

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// acquireLock creates the lock file exclusively. Where flock(2) is missing,
// a lock naming this host and a PID that no longer runs is stale and is
// taken over; a lock from another host is never taken over.
func acquireLock(path string) (*Lock, error) {
	var stale *LockHolder
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			if _, err := f.Write(holderLine()); err != nil {
				f.Close()
				os.Remove(path)
				return nil, fmt.Errorf("locking tenant: %w", err)
			}
			if err := f.Sync(); err != nil {
				f.Close()
				os.Remove(path)
				return nil, fmt.Errorf("locking tenant: %w", err)
			}
			return &Lock{path: path, f: f, Stale: stale}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("locking tenant: %w", err)
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("locking tenant: %w", err)
		}
		h, ok := parseHolder(b)
		host, _ := os.Hostname()
		if ok && (h.Host != host || processAlive(h.PID)) {
			return nil, &LockedError{Path: path, Holder: h}
		}
		stale = &h
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("locking tenant: removing stale lock: %w", err)
		}
	}
	return nil, fmt.Errorf("locking tenant: %s keeps changing under us", path)
}

func processAlive(pid int) bool {
	_, err := os.FindProcess(pid)
	return err == nil
}
