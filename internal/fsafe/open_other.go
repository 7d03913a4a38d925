//go:build !unix

package fsafe

import (
	"errors"
	"io/fs"
	"os"
)

var errLink = errors.New("symbolic link")

// openNoFollow refuses a symbolic link at path, checked with Lstat before
// the open (this platform has no O_NOFOLLOW).
func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		if flag&os.O_EXCL != 0 {
			return nil, &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
		}
		return nil, openErr(path, errLink)
	}
	f, err := os.OpenFile(path, flag, perm)
	if err != nil {
		if flag&os.O_EXCL != 0 {
			return nil, err
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, openErr(path, err)
	}
	return f, nil
}

func isLinkErr(err error) bool { return errors.Is(err, errLink) }
