//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fsafe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// tryLock makes one attempt: create the lock file exclusively. Without
// flock(2), a lock naming this host and a PID that no longer runs is stale
// and is removed; a lock from another host is never taken over.
func tryLock(path string, stale **Holder) (*Lock, bool, error) {
	f, retry, err := create(path)
	if err != nil {
		return nil, false, err
	}
	if f != nil {
		if err := writeHolder(f, path); err != nil {
			return nil, false, err
		}
		return &Lock{path: path, f: f}, false, nil
	}
	if !retry {
		return nil, false, nil
	}
	g, h, err := openExisting(path)
	if err != nil || g == nil {
		return nil, err == nil, err
	}
	g.Close()
	host, _ := os.Hostname()
	if h.PID != 0 && (h.Host != host || processAlive(h.PID)) {
		return nil, false, &BusyError{Path: path, Holder: h}
	}
	if h.PID != 0 {
		*stale = &h
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("locking %s: removing a stale lock: %w", path, err)
	}
	return nil, true, nil
}

func processAlive(pid int) bool {
	_, err := os.FindProcess(pid)
	return err == nil
}

func linkCount(fs.FileInfo) uint64 { return 1 }
