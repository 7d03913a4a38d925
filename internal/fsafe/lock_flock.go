//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fsafe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// tryLock makes one attempt: create the lock file exclusively, or open the
// existing one; flock it; check it is still the file at path; write the
// holder into a file it created. An existing
// file whose flock was free is stale: it is removed (never rewritten) and
// the next attempt creates a new one.
func tryLock(path string, stale **Holder) (*Lock, bool, error) {
	f, retry, err := create(path)
	if err != nil {
		return nil, false, err
	}
	created := f != nil
	var h Holder
	if !created && retry {
		if f, h, err = openExisting(path); err != nil || f == nil {
			return nil, err == nil, err
		}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, false, &BusyError{Path: path, Holder: h}
		}
		if created && sameAsPath(f, path) {
			os.Remove(path)
		}
		f.Close()
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	if !sameAsPath(f, path) {
		// A releasing holder removed it (or a stale taker replaced it)
		// between our open and our flock.
		f.Close()
		return nil, true, nil
	}
	if created {
		if err := writeHolder(f, path); err != nil {
			return nil, false, err
		}
		return &Lock{path: path, f: f}, false, nil
	}
	if h.PID != 0 {
		*stale = &h
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.Close()
		return nil, false, fmt.Errorf("locking %s: removing a stale lock: %w", path, err)
	}
	f.Close()
	return nil, true, nil
}

func linkCount(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Nlink)
	}
	return 1
}
