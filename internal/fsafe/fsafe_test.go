package fsafe

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func link(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
}

func TestOpenAppendRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	for _, target := range []string{victim, filepath.Join(dir, "missing")} {
		path := filepath.Join(dir, "log-"+filepath.Base(target))
		link(t, target, path)
		for name, open := range map[string]func(string) (*os.File, error){"OpenAppend": OpenAppend, "OpenLog": OpenLog} {
			f, err := open(path)
			if err == nil {
				f.Close()
				t.Fatalf("%s(%s) opened a link", name, path)
			}
			if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: err = %v, want ErrSymlink naming %s", name, err, path)
			}
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("victim %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a dangling link's target was created: %v", err)
	}
	if f, err := OpenAppend(dir); err == nil || !strings.Contains(err.Error(), dir) {
		if f != nil {
			f.Close()
		}
		t.Errorf("OpenAppend of a directory: %v, want an error naming it", err)
	}
}

func TestOpenLogStartsAFreshLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	os.WriteFile(path, []byte("{\"a\":1}\n{\"torn"), 0o600)
	f, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("{\"b\":2}\n"))
	f.Close()
	if b, _ := os.ReadFile(path); string(b) != "{\"a\":1}\n{\"torn\n{\"b\":2}\n" {
		t.Errorf("file %q", b)
	}
	// Whole already: nothing added.
	f, _ = OpenLog(path)
	f.Close()
	if b, _ := os.ReadFile(path); strings.Count(string(b), "\n") != 3 {
		t.Errorf("a whole file got a newline: %q", b)
	}
}

func TestCreateExclusiveRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x")
	link(t, filepath.Join(dir, "missing"), path)
	if _, err := CreateExclusive(path, 0o600); !errors.Is(err, fs.ErrExist) {
		t.Errorf("err = %v, want ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("created through the link")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tenant.json")
	if err := WriteFileAtomic(path, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
	os.Chmod(path, 0o604)
	if err := WriteFileAtomic(path, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("content %q", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o604 {
		t.Errorf("mode %v, want the existing file's", st.Mode())
	}
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	l := filepath.Join(dir, "linked.json")
	link(t, victim, l)
	if err := WriteFileAtomic(l, []byte("x"), 0o600); !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), l) {
		t.Errorf("err = %v, want ErrSymlink naming the path", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("victim %q", b)
	}
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.json")
	ours := []string{".t.json.tmp-123", ".t.json.tmp-ab12"}
	for _, n := range ours {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	keep := []string{".t.json.tmp-xyz", ".t.json.tmp-", "t.json.tmp-1", ".u.json.tmp-1"}
	for _, n := range keep {
		os.WriteFile(filepath.Join(dir, n), nil, 0o600)
	}
	os.Mkdir(filepath.Join(dir, ".t.json.tmp-55"), 0o700)
	link(t, "/etc/passwd", filepath.Join(dir, ".t.json.tmp-66"))
	removed, err := RemoveStaleTemps(path)
	if err != nil || len(removed) != 2 {
		t.Fatalf("removed %v, %v; want the 2 of ours", removed, err)
	}
	for _, n := range append(keep, ".t.json.tmp-55", ".t.json.tmp-66") {
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s removed", n)
		}
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = TryLock(path)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder.PID != os.Getpid() {
		t.Fatalf("second TryLock: %v, want busy by us", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Error("lock file left")
	}

	// A stale lock (no flock, a dead PID) is replaced by a new file, not
	// rewritten.
	os.WriteFile(path, []byte("999999 "+hostname()+"\n"), 0o600)
	l, err = TryLock(path)
	if err != nil || l.Stale == nil || l.Stale.PID != 999999 {
		t.Fatalf("stale take-over: %v %+v", err, l)
	}
	if b, _ := os.ReadFile(path); !strings.HasPrefix(string(b), strconv.Itoa(os.Getpid())+" ") {
		t.Errorf("lock file holds %q after the take-over", b)
	}
	l.Release()

	// Links and foreign files are refused and left.
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	for _, p := range []string{filepath.Join(dir, "sym.lock"), filepath.Join(dir, "dangling.lock")} {
		target := victim
		if strings.HasPrefix(filepath.Base(p), "dangling") {
			target = filepath.Join(dir, "nothing")
		}
		link(t, target, p)
		if l, err := TryLock(p); err == nil || !strings.Contains(err.Error(), p) {
			if l != nil {
				l.Release()
			}
			t.Errorf("%s: %v, want refused by name", p, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("victim %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nothing")); err == nil {
		t.Error("the dangling link's target was created")
	}
}

func hostname() string { h, _ := os.Hostname(); return h }

// A write into a directory that does not exist names the path given, not
// the temporary file it would have written first (review, 2026-12-07).
func TestWriteAtomicMissingDirectoryNamesThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "p.json")
	err := WriteFileAtomic(path, []byte("{}"), 0o600)
	if err == nil || err.Error() != "writing "+path+": no such file or directory" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

func TestPeekEnds(t *testing.T) {
	dir := t.TempDir()
	small, large := filepath.Join(dir, "small"), filepath.Join(dir, "large")
	os.WriteFile(small, []byte("abc"), 0o600)
	os.WriteFile(large, []byte("0123456789"), 0o600)
	os.Symlink("small", filepath.Join(dir, "link"))
	if _, _, exists, err := PeekEnds(filepath.Join(dir, "none"), 4); exists || err != nil {
		t.Errorf("missing: exists %v, err %v", exists, err)
	}
	if h, tl, exists, err := PeekEnds(small, 4); !exists || err != nil || string(h) != "abc" || string(tl) != "abc" {
		t.Errorf("small: %q %q %v %v", h, tl, exists, err)
	}
	if h, tl, _, err := PeekEnds(large, 4); err != nil || string(h) != "0123" || string(tl) != "6789" {
		t.Errorf("large: %q %q %v", h, tl, err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "link")} {
		if _, _, exists, err := PeekEnds(p, 4); !exists || !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: exists %v, err %v; want ErrNotRegular", p, exists, err)
		}
	}
}
