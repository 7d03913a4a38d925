//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package apply

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// acquireLock opens (or creates) the lock file and takes an exclusive
// flock(2) on it. The kernel drops a flock when its process dies, so a file
// whose flock is free is stale by definition, whatever PID it names: the PID
// is there for people and for the error message. After locking, the file
// must still be the one at path (a releasing holder may have unlinked it
// meanwhile); otherwise the attempt starts again.
func acquireLock(path string) (*Lock, error) {
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("locking tenant: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			prev, _ := io.ReadAll(f)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				h, _ := parseHolder(prev)
				return nil, &LockedError{Path: path, Holder: h}
			}
			return nil, fmt.Errorf("locking tenant: %s: %w", path, err)
		}
		fst, ferr := f.Stat()
		pst, perr := os.Stat(path)
		if ferr != nil || perr != nil || !os.SameFile(fst, pst) {
			f.Close()
			continue
		}
		l := &Lock{path: path, f: f}
		prev, err := io.ReadAll(f)
		if err == nil {
			if h, ok := parseHolder(prev); ok {
				l.Stale = &h
			}
		}
		if err := writeHolder(f); err != nil {
			f.Close()
			return nil, err
		}
		return l, nil
	}
	return nil, fmt.Errorf("locking tenant: %s keeps changing under us", path)
}

func writeHolder(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("locking tenant: %w", err)
	}
	if _, err := f.WriteAt(holderLine(), 0); err != nil {
		return fmt.Errorf("locking tenant: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("locking tenant: %w", err)
	}
	return nil
}
