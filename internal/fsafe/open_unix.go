//go:build unix

package fsafe

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// openNoFollow opens path with O_NOFOLLOW: the kernel refuses a symbolic
// link at the last component of path (ELOOP), without touching its target.
func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, perm)
	if err != nil {
		// With O_CREAT|O_EXCL a link at path fails with EEXIST, as
		// anything else there would.
		if flag&os.O_EXCL == 0 && isLinkErr(err) {
			return nil, openErr(path, err)
		}
		if flag&os.O_EXCL != 0 {
			return nil, &fs.PathError{Op: "create", Path: path, Err: unwrapPath(err)}
		}
		return nil, openErr(path, unwrapPath(err))
	}
	return f, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isLinkErr reports whether err is the kernel's refusal of a symbolic link
// under O_NOFOLLOW (ELOOP; EMLINK on FreeBSD, EFTYPE on NetBSD).
func isLinkErr(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) || isEFTYPE(err)
}
