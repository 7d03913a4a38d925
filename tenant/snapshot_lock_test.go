package tenant

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

// Two SnapshotSources on one file (two applies, each with its own source,
// as two processes have) write the same organization with the same
// If-Match at once: exactly one succeeds, the other gets ErrPrecondition,
// and the file holds the winner's write (issue 14, #2). Before the file was
// locked from the version check to the rename, both succeeded and one write
// was lost.
func TestSnapshotWritersRaceOneWins(t *testing.T) {
	for trial := range 20 {
		path := writeSample(t, sample())
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		seats := []int{11, 22}
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				src := &SnapshotSource{Path: path, Now: func() time.Time { return testNow }}
				<-start
				_, errs[i] = src.PatchOrganization(context.Background(), "o-hq", `W/"3"`,
					[]scim.PatchOp{{Op: "replace", Path: "seats", Value: map[string]int{"standard": seats[i], "premium": 2}}})
			}()
		}
		close(start)
		wg.Wait()
		winner := 0
		if errs[0] != nil {
			winner = 1
		}
		if errs[winner] != nil || !errors.Is(errs[1-winner], scim.ErrPrecondition) {
			t.Fatalf("trial %d: errors %v / %v, want one success and one ErrPrecondition", trial, errs[0], errs[1])
		}
		got, err := ReadSnapshot(path)
		if err != nil {
			t.Fatal(err)
		}
		if hq := got.Organizations[0]; hq.Seats["standard"] != seats[winner] || hq.Meta.Version != `W/"4"` {
			t.Fatalf("trial %d: hq %+v, want the winner's %d seats at W/\"4\"", trial, hq.Seats, seats[winner])
		}
		if _, err := os.Lstat(SnapshotLockPath(path)); !os.IsNotExist(err) {
			t.Errorf("lock file left behind: %v", err)
		}
	}
}

// A writer waits for the lock another holds, and gives up, having written
// nothing, when its context ends.
func TestSnapshotWriteWaitsForTheLock(t *testing.T) {
	path := writeSample(t, sample())
	before, _ := os.ReadFile(path)
	unlock, err := lockSnapshot(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	src := &SnapshotSource{Path: path, Now: func() time.Time { return testNow }}
	_, err = src.PatchOrganization(ctx, "o-p", `W/"7"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}})
	if !errors.Is(err, ErrNotWritten) || !strings.Contains(err.Error(), "another scimsync is writing it") {
		t.Fatalf("err = %v, want the held lock, nothing written", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the file changed")
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := src.PatchOrganization(context.Background(), "o-p", `W/"7"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}}); err != nil {
		t.Fatalf("after the lock was released: %v", err)
	}
}

// A kill -9 mid-write leaves a temporary file; the next write removes it,
// but never a link, a directory or a file of another name (issue 14, low).
func TestSnapshotWriteCleansStaleTemps(t *testing.T) {
	path := writeSample(t, sample())
	dir := filepath.Dir(path)
	stale := filepath.Join(dir, ".tenant.json.tmp-1234567890")
	staleHex := filepath.Join(dir, ".tenant.json.tmp-0a1b2c3d4e5f")
	for _, p := range []string{stale, staleHex} {
		if err := os.WriteFile(p, []byte(`{"partial`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	link := filepath.Join(dir, ".tenant.json.tmp-99")
	if err := os.Symlink(victim, link); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
	subdir := filepath.Join(dir, ".tenant.json.tmp-77")
	os.Mkdir(subdir, 0o700)
	others := []string{filepath.Join(dir, ".tenant.json.tmp-notours"), filepath.Join(dir, ".other.json.tmp-12")}
	for _, p := range others {
		os.WriteFile(p, []byte("x"), 0o600)
	}

	src := &SnapshotSource{Path: path, Now: func() time.Time { return testNow }}
	if _, err := src.PatchOrganization(context.Background(), "o-p", `W/"7"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stale, staleHex} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s not cleaned: %v", p, err)
		}
	}
	for _, p := range append([]string{link, subdir}, others...) {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("victim %q", b)
	}
}

// A snapshot path that is a symbolic link is read, but not written
// through: the link and its target stay as they are.
func TestSnapshotWriteRefusesALink(t *testing.T) {
	real := writeSample(t, sample())
	before, _ := os.ReadFile(real)
	link := filepath.Join(t.TempDir(), "tenant.json")
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
	src := &SnapshotSource{Path: link, Now: func() time.Time { return testNow }}
	if _, err := src.Read(context.Background(), ReadRequest{}); err != nil {
		t.Fatalf("reading through the link: %v", err)
	}
	_, err := src.PatchOrganization(context.Background(), "o-p", `W/"7"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}})
	if !errors.Is(err, ErrNotWritten) || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), link) {
		t.Fatalf("err = %v, want the link refused by name", err)
	}
	if after, _ := os.ReadFile(real); !bytes.Equal(before, after) {
		t.Error("the target changed")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
}
