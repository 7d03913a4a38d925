package apply

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimsync/scimsync/tenant"
)

// plantLink makes path a symbolic link to target.
func plantLink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Skipf("cannot make symbolic links here: %v", err)
	}
}

// A symbolic link planted at the lock, the journal or the audit log path —
// to an existing file, or dangling — is refused before anything is
// written: the file it points to is unchanged (or not created), the tenant
// too, and the error names the path (issue 14, #5).
func TestPlantedLinksAreRefused(t *testing.T) {
	const victimText = "precious: do not truncate\n"
	for _, which := range []string{"lock", "journal", "audit log"} {
		for _, dangling := range []bool{false, true} {
			name := which + "/to a file"
			if dangling {
				name = which + "/dangling"
			}
			t.Run(name, func(t *testing.T) {
				f := newFixture(t, baseSpec, fixtureSnapshot(t))
				p := f.plan()
				o := f.opts()
				path := map[string]string{"lock": o.LockPath, "journal": o.Journal, "audit log": o.AuditLog}[which]
				victim := filepath.Join(t.TempDir(), "victim")
				if !dangling {
					if err := os.WriteFile(victim, []byte(victimText), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				plantLink(t, victim, path)
				before := f.snapshotBytes()
				_, err := Run(context.Background(), p, o)
				if err == nil {
					t.Fatal("Run went through a symbolic link")
				}
				if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "symbolic link") {
					t.Errorf("error %q does not name %s as a symbolic link", err, path)
				}
				if !bytes.Equal(before, f.snapshotBytes()) {
					t.Error("the tenant changed")
				}
				b, verr := os.ReadFile(victim)
				switch {
				case dangling && !errors.Is(verr, os.ErrNotExist):
					t.Errorf("the dangling link's target was created: %q, %v", b, verr)
				case !dangling && string(b) != victimText:
					t.Errorf("the victim holds %q, want it unchanged", b)
				}
				if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the link at %s was replaced: %v", path, err)
				}
			})
		}
	}
}

// A file at the lock path that is not a lock scimsync made (a hard link to
// another file, or other content) is refused and left as it is.
func TestLockRefusesAFileItDidNotMake(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	const text = "not a lock\n"
	if err := os.WriteFile(victim, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.lock")
	if err := os.Link(victim, hard); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	other := filepath.Join(dir, "other.lock")
	if err := os.WriteFile(other, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{hard, other} {
		l, err := AcquireLock(path)
		if err == nil {
			l.Release()
			t.Fatalf("%s: locked", path)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name %s", err, path)
		}
		if b, _ := os.ReadFile(path); string(b) != text {
			t.Errorf("%s holds %q, want it unchanged", path, b)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != text {
		t.Errorf("victim holds %q", b)
	}
}

// A journal whose last line was torn (a kill or a full disk mid-write),
// then two applies in a row: neither fails on the journal, the second
// resumes from the first, and the journal reads whole (issue 14, #6).
func TestTornJournalThenTwoApplies(t *testing.T) {
	for _, shared := range []bool{false, true} {
		name := "plan journal"
		if shared {
			name = "shared journal"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, baseSpec, fixtureSnapshot(t))
			p := f.plan()
			o := f.opts()
			if shared {
				o.Journal = filepath.Join(f.dir, "scimsync-apply.journal")
			}
			// Another plan's run, killed while writing a line.
			torn := `{"time":"2026-10-01T00:00:00Z","event":"begin","plan_hash":"00aa"}` + "\n" +
				`{"time":"2026-10-01T00:00:01Z","event":"step","plan_hash":"00aa","step":1,"org_id":"o-hq","st`
			if err := os.WriteFile(o.Journal, []byte(torn), 0o600); err != nil {
				t.Fatal(err)
			}
			// The first apply fails at its second step.
			first := o
			first.Writer = &faultWriter{w: f.src, failAt: 2, err: &tenantRefusal{}}
			if _, err := Run(context.Background(), p, first); err == nil || strings.Contains(err.Error(), "reading journal") {
				t.Fatalf("first apply: %v, want a failed write, not a journal error", err)
			}
			rep, err := Run(context.Background(), p, o)
			if err != nil {
				t.Fatalf("second apply: %v", err)
			}
			if got, want := statuses(rep), "hq:skipped west:done agency:done"; got != want {
				t.Errorf("second apply's steps %q, want %q", got, want)
			}
			entries, err := ReadJournal(o.Journal)
			if err != nil {
				t.Fatalf("journal after two applies: %v", err)
			}
			var tornN, ends int
			for _, e := range entries {
				switch e.Event {
				case EventTorn:
					tornN++
					if e.Status != StepUnknown || e.PlanHash != "00aa" || e.Step != 1 {
						t.Errorf("torn entry %+v, want step 1 of plan 00aa, unknown", e)
					}
				case EventEnd:
					ends++
				}
			}
			if tornN != 1 || ends != 2 {
				t.Errorf("%d torn entries and %d ends, want 1 and 2", tornN, ends)
			}
			st := stateFor(entries, "00aa")
			if _, ok := st.Interrupted[1]; !ok {
				t.Errorf("the torn step is not of unknown outcome: %+v", st)
			}
		})
	}
}

// tenantRefusal is a write the target refused: nothing changed.
type tenantRefusal struct{}

func (*tenantRefusal) Error() string { return "refused" }
func (*tenantRefusal) Unwrap() error { return tenant.ErrNotWritten }

// An audit log that cannot be opened for appending refuses the apply
// before anything is written (issue 14, #9).
func TestUnwritableAuditLogRefuses(t *testing.T) {
	for _, name := range []string{"a directory", "in a missing directory", "under a file"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, baseSpec, fixtureSnapshot(t))
			p := f.plan()
			o := f.opts()
			switch name {
			case "a directory":
				o.AuditLog = t.TempDir()
			case "in a missing directory":
				o.AuditLog = filepath.Join(f.dir, "missing", "audit.jsonl")
			case "under a file":
				o.AuditLog = filepath.Join(f.snapPath, "audit.jsonl")
			}
			o.Writer = failWriter{t}
			before := f.snapshotBytes()
			rep, err := Run(context.Background(), p, o)
			if err == nil || !strings.Contains(err.Error(), "audit log") || !strings.Contains(err.Error(), o.AuditLog) {
				t.Fatalf("err = %v, want the audit log named", err)
			}
			if rep.Result != ResultRefused {
				t.Errorf("result %q, want refused", rep.Result)
			}
			if !bytes.Equal(before, f.snapshotBytes()) {
				t.Error("the tenant changed")
			}
			if _, err := os.Stat(o.Journal); !os.IsNotExist(err) {
				t.Errorf("a journal was written: %v", err)
			}
		})
	}
}

// A write of the tenant file that fails (here: its temporary file's name is
// too long for the file system, which stops root too) wrote nothing: the
// step is failed, not of unknown outcome (issue 14, low).
func TestFailedSnapshotWriteIsAFailedStep(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("t", 240)+".json")
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	if err := os.Rename(f.snapPath, long); err != nil {
		t.Skipf("cannot make a file with a long name here: %v", err)
	}
	f.snapPath = long
	f.src = &tenant.SnapshotSource{Path: long, Now: f.src.Now}
	p := f.plan()
	before := f.snapshotBytes()
	rep, err := Run(context.Background(), p, f.opts())
	var werr *WriteError
	if !errors.As(err, &werr) || werr.Step.Step != 1 {
		t.Fatalf("err = %v, want a *WriteError at step 1", err)
	}
	if got, want := statuses(rep), "hq:failed west:not-run agency:not-run"; got != want {
		t.Errorf("steps %q, want %q", got, want)
	}
	if !bytes.Equal(before, f.snapshotBytes()) {
		t.Error("the tenant changed")
	}
	entries, _ := ReadJournal(f.opts().Journal)
	if st := stateFor(entries, p.PlanHash); len(st.Interrupted) != 0 {
		t.Errorf("journal: steps of unknown outcome %v, want none", st.Interrupted)
	}
}

// The same through a read-only directory, for an unprivileged user.
func TestSnapshotWriteInAReadOnlyDirIsAFailedStep(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into a read-only directory; TestFailedSnapshotWriteIsAFailedStep covers this")
	}
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	o := f.opts()
	// The journal, lock and audit log elsewhere; the tenant's directory
	// read-only.
	other := t.TempDir()
	o.Journal, o.AuditLog, o.LockPath = filepath.Join(other, "j"), filepath.Join(other, "a"), filepath.Join(other, "l")
	if err := os.Chmod(f.dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(f.dir, 0o700)
	rep, err := Run(context.Background(), p, o)
	if err == nil || statuses(rep) != "hq:failed west:not-run agency:not-run" {
		t.Fatalf("err = %v, steps %s, want step 1 failed", err, statuses(rep))
	}
}
