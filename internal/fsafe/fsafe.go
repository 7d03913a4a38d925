// Package fsafe opens, creates, replaces and locks the files scimsync keeps
// beside a tenant (journals, audit logs, lock files, snapshot files) without
// following a symbolic link planted at their path and without truncating a
// file scimsync did not create.
//
// Where the platform has O_NOFOLLOW the kernel refuses a link at the last
// component of the path; elsewhere the path is checked with Lstat first.
// Every error names the path.
package fsafe

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrSymlink is matched by the error for a path that is a symbolic link.
var ErrSymlink = errors.New("is a symbolic link, which scimsync does not follow; remove it or give the file itself")

// ErrNotRegular is matched by the error for a path that is not a regular
// file (a directory, a FIFO, a device).
var ErrNotRegular = errors.New("is not a regular file")

// OpenAppend opens path for appending (and reading), creating it (with
// mode 0600) when it is missing. A symbolic link at path, dangling or not,
// is refused and left as it is; so is anything but a regular file.
func OpenAppend(path string) (*os.File, error) {
	f, err := openNoFollow(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(f, path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// OpenLog opens a log of lines at path as OpenAppend does and makes sure
// that the next write starts a line: when the file does not end in '\n' (a
// write cut off by a crash or a full disk), it appends one, so that the
// torn line stays alone on its line and the next one is whole.
func OpenLog(path string) (*os.File, error) {
	f, err := OpenAppend(path)
	if err != nil {
		return nil, err
	}
	ok, err := EndsInNewline(f)
	if err == nil && !ok {
		if _, err = f.Write([]byte{'\n'}); err == nil {
			err = f.Sync()
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return f, nil
}

// CreateExclusive creates path, which must not exist: anything at path, a
// symbolic link included, makes it fail with an error matching
// fs.ErrExist.
func CreateExclusive(path string, perm fs.FileMode) (*os.File, error) {
	return openNoFollow(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
}

// OpenExisting opens an existing regular file at path with flag (O_RDONLY,
// O_RDWR…, never O_CREATE or O_TRUNC), refusing a symbolic link.
func OpenExisting(path string, flag int) (*os.File, error) {
	f, err := openNoFollow(path, flag&^(os.O_CREATE|os.O_TRUNC|os.O_EXCL), 0)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(f, path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func checkRegular(f *os.File, path string) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("opening %s: %w", path, ErrNotRegular)
	}
	return nil
}

// openErr turns the error of an open refused because of a symbolic link
// into one that says so.
func openErr(path string, err error) error {
	if isLinkErr(err) {
		return fmt.Errorf("opening %s: %w", path, ErrSymlink)
	}
	return fmt.Errorf("opening %s: %w", path, err)
}

// EndsInNewline reports whether the file f is empty or ends in '\n'.
func EndsInNewline(f *os.File) (bool, error) {
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if st.Size() == 0 {
		return true, nil
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, st.Size()-1); err != nil {
		return false, err
	}
	return b[0] == '\n', nil
}

// TempPrefix is how the temporary files of WriteFileAtomic for path begin:
// ".<name>.tmp-".
func TempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// WriteFileAtomic replaces path with data so that a reader sees either the
// old file or the new one, never a part: it creates a temporary file in the
// same directory (exclusively, never following a link), writes and syncs
// it, renames it over path and syncs the directory. An existing file keeps
// its permissions; a new one gets perm. A symbolic link at path is refused
// (ErrSymlink): the rename would replace the link, not its target.
//
// Every error happens before the rename, so on error path is untouched and
// the temporary file is removed.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return WriteAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic is WriteFileAtomic with the content written by write, into
// the temporary file: a large file need not be held in memory. An error
// from write is returned, wrapped, and leaves path untouched.
func WriteAtomic(path string, perm fs.FileMode, write func(io.Writer) error) (err error) {
	if st, lerr := os.Lstat(path); lerr == nil {
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("writing %s: %w", path, ErrSymlink)
		case !st.Mode().IsRegular():
			return fmt.Errorf("writing %s: %w", path, ErrNotRegular)
		}
		perm = st.Mode().Perm()
	} else if !errors.Is(lerr, fs.ErrNotExist) {
		return fmt.Errorf("writing %s: %w", path, lerr)
	}
	dir := filepath.Dir(path)
	var tmp *os.File
	for range 10 {
		var rb [6]byte
		if _, err := rand.Read(rb[:]); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		name := filepath.Join(dir, TempPrefix(path)+hex.EncodeToString(rb[:]))
		tmp, err = CreateExclusive(name, 0o600)
		if err == nil || !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		// The temporary file's name would only puzzle: the error is
		// about path's directory.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing %s: syncing: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// The rename is durable once the directory is synced; not every
	// platform can sync a directory, and the file is in place either way.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// RemoveStaleTemps removes the temporary files WriteFileAtomic left beside
// path when its process was killed mid-write: the entries of path's
// directory named TempPrefix(path) followed by hex digits that are regular
// files (never a link, a directory or anything else). It returns the paths
// removed. Call it only while holding the lock that every writer of path
// holds, so that no temporary file is still being written.
func RemoveStaleTemps(path string) ([]string, error) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cleaning temporary files of %s: %w", path, err)
	}
	prefix := TempPrefix(path)
	var removed []string
	for _, e := range entries {
		name := e.Name()
		suffix, ok := strings.CutPrefix(name, prefix)
		if !ok || !isHex(suffix) {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("cleaning temporary files of %s: %w", path, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// isHex reports whether s is a non-empty run of hex digits or decimal
// digits (os.CreateTemp's names, which older versions used).
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// PeekEnds reads up to n bytes from each end of the file at path, for a
// check of what it holds before it is overwritten (a saved plan, a
// snapshot): exists is false when nothing is there, and a path that is not
// a regular file, a link included, gives an error wrapping ErrNotRegular.
// Only the two ends are read; for a file of at most n bytes both are the
// whole file.
func PeekEnds(path string, n int) (head, tail []byte, exists bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, true, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, true, fmt.Errorf("%s %w", path, ErrNotRegular)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, true, err
	}
	defer f.Close()
	head = make([]byte, n)
	m, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, nil, true, err
	}
	head, tail = head[:m], head[:m]
	if size := fi.Size(); size > int64(n) {
		tail = make([]byte, n)
		if _, err := f.ReadAt(tail, size-int64(n)); err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, true, err
		}
	}
	return head, tail, true, nil
}
