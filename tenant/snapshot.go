package tenant

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/scimsync/scimsync/internal/fsafe"
	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/scim"
)

// SchemaSnapshot is the schema URN of a snapshot document.
const SchemaSnapshot = "urn:scimsync:params:scim:api:messages:2.0:Snapshot"

// Snapshot is a whole tenant as wire resources: what `scimsync snapshot`
// writes, what a target.file holds and what the reference server loads and
// saves. Groups carry their members.
//
// On disk it is one JSON document:
//
//	{
//	  "schemas": ["urn:scimsync:params:scim:api:messages:2.0:Snapshot"],
//	  "Users":         {ListResponse of User},
//	  "Groups":        {ListResponse of Group, with members},
//	  "Organizations": {ListResponse of Organization},
//	  "Members":       {ListResponse of Member}
//	}
//
// It never holds a token: none of its types has a place for one.
type Snapshot struct {
	Users         []scim.User
	Groups        []scim.Group
	Organizations []scim.Organization
	Members       []scim.Member
}

type snapshotFile struct {
	Schemas       []string                              `json:"schemas"`
	Users         *scim.ListResponse[scim.User]         `json:"Users"`
	Groups        *scim.ListResponse[scim.Group]        `json:"Groups"`
	Organizations *scim.ListResponse[scim.Organization] `json:"Organizations"`
	Members       *scim.ListResponse[scim.Member]       `json:"Members"`
}

func listOf[T any](items []T) *scim.ListResponse[T] {
	if items == nil {
		items = []T{}
	}
	return &scim.ListResponse[T]{
		Schemas:      []string{scim.SchemaListResponse},
		TotalResults: len(items),
		StartIndex:   1,
		ItemsPerPage: len(items),
		Resources:    items,
	}
}

// Sort puts s in its canonical order: every list by id, and each group's
// members by value. Mappings, exceptions and emails keep their order, which
// carries meaning.
func (s *Snapshot) Sort() {
	slices.SortFunc(s.Users, func(a, b scim.User) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.Groups, func(a, b scim.Group) int { return cmp.Compare(a.ID, b.ID) })
	for i := range s.Groups {
		slices.SortFunc(s.Groups[i].Members, func(a, b scim.GroupMember) int {
			return cmp.Or(cmp.Compare(a.Value, b.Value), cmp.Compare(a.Type, b.Type))
		})
	}
	slices.SortFunc(s.Organizations, func(a, b scim.Organization) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(s.Members, func(a, b scim.Member) int { return cmp.Compare(a.ID, b.ID) })
}

// EncodeSnapshot writes s to w as an indented snapshot document, in
// canonical order (it sorts s).
func EncodeSnapshot(w io.Writer, s *Snapshot) error {
	s.Sort()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	err := enc.Encode(snapshotFile{
		Schemas:       []string{SchemaSnapshot},
		Users:         listOf(s.Users),
		Groups:        listOf(s.Groups),
		Organizations: listOf(s.Organizations),
		Members:       listOf(s.Members),
	})
	if err != nil {
		return fmt.Errorf("encoding snapshot: %w", err)
	}
	return nil
}

// DecodeSnapshot reads a snapshot document. It must carry the snapshot
// schema and all four lists, each with totalResults equal to the number of
// resources it holds, and nothing may follow it. The document is read as a
// stream, each resource decoded as it is reached (decodeSnapshotDoc):
// attribute names match exactly or case-insensitively, and SCIM booleans
// may be strings, as the SCIM client reads them.
func DecodeSnapshot(r io.Reader) (*Snapshot, error) {
	var sink wholeSink
	if err := decodeSnapshotDoc(r, &sink); err != nil {
		return nil, err
	}
	return &sink.s, nil
}

// ReadSnapshot reads the snapshot file at path.
func ReadSnapshot(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	defer f.Close()
	s, err := DecodeSnapshot(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// WriteSnapshot writes s to path atomically (see WriteFileAtomic), in
// canonical order (it sorts s).
func WriteSnapshot(path string, s *Snapshot) error {
	var buf bytes.Buffer
	if err := EncodeSnapshot(&buf, s); err != nil {
		return err
	}
	return WriteFileAtomic(path, buf.Bytes())
}

// WriteFileAtomic replaces path with data so that a reader sees either the
// old file or the new one, never a part: holding the file's lock
// (SnapshotLockPath), it writes a temporary file in the same directory
// (created exclusively, never through a link), syncs it, renames it over
// path and syncs the directory. An existing file keeps its permissions; a
// new one gets 0600, since a tenant's snapshot lists people. A symbolic
// link at path is refused. On error the temporary file is removed, path is
// untouched, and the error matches ErrNotWritten.
func WriteFileAtomic(path string, data []byte) error {
	if err := dirExists(path); err != nil {
		return err
	}
	unlock, err := lockSnapshot(context.Background(), path)
	if err != nil {
		return err
	}
	if err := writeLocked(path, data); err != nil {
		unlock()
		return err
	}
	return unlock()
}

// WriteFileAtomicFunc is WriteFileAtomic with the content written by write
// into the temporary file, so that a large snapshot is never held in
// memory whole. An error from write leaves path untouched, and the error
// returned wraps it and matches ErrNotWritten.
func WriteFileAtomicFunc(path string, write func(io.Writer) error) error {
	if err := dirExists(path); err != nil {
		return err
	}
	unlock, err := lockSnapshot(context.Background(), path)
	if err != nil {
		return err
	}
	if err := fsafe.WriteAtomic(path, 0o600, write); err != nil {
		unlock()
		return fmt.Errorf("%w: %w", err, ErrNotWritten)
	}
	return unlock()
}

// dirExists fails, matching ErrNotWritten, when the directory path is to
// be written in is missing or not a directory: said as such, before a lock
// file's path in it is named.
func dirExists(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("writing %s: the directory %s does not exist; create it, or give another path: %w", path, dir, ErrNotWritten)
	case err != nil:
		return fmt.Errorf("writing %s: %w: %w", path, err, ErrNotWritten)
	case !fi.IsDir():
		return fmt.Errorf("writing %s: %s is not a directory: %w", path, dir, ErrNotWritten)
	}
	return nil
}

// ErrNotWritten is matched by the error of a write to a snapshot file that
// failed before it changed the file: the file is as it was.
var ErrNotWritten = errors.New("the file was left as it was")

// SnapshotLockPath is the lock file that every scimsync process writing the
// snapshot file at path holds from reading it (the If-Match version check
// of a PATCH) to renaming the new file over it: ".<name>.lock" in the same
// directory.
func SnapshotLockPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
}

// snapshotLockWait is how long a writer waits for another to finish with
// the file; a write holds it for the time of one read and one write.
const snapshotLockWait = 30 * time.Second

// lockSnapshot takes the lock of the snapshot file at path, waiting for
// another writer to finish, and removes the temporary files a killed writer
// left (under the lock, none is being written). unlock releases it.
func lockSnapshot(ctx context.Context, path string) (unlock func() error, err error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("writing %s: %w: %w", path, fsafe.ErrSymlink, ErrNotWritten)
	}
	l, err := fsafe.WaitLock(ctx, SnapshotLockPath(path), snapshotLockWait)
	var busy *fsafe.BusyError
	if errors.As(err, &busy) {
		return nil, fmt.Errorf("writing %s: another scimsync is writing it: %w: %w", path, err, ErrNotWritten)
	}
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w: %w", path, err, ErrNotWritten)
	}
	if _, err := fsafe.RemoveStaleTemps(path); err != nil {
		l.Release()
		return nil, fmt.Errorf("writing %s: %w: %w", path, err, ErrNotWritten)
	}
	return l.Release, nil
}

// writeLocked replaces path with data; the caller holds its lock.
func writeLocked(path string, data []byte) error {
	if err := fsafe.WriteFileAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("%w: %w", err, ErrNotWritten)
	}
	return nil
}

// SnapshotSource reads a tenant from a snapshot file and, as a Writer,
// patches it with the server semantics of DESIGN §4 and §5 (package
// orgwrite): an If-Match version check, the patch applied atomically
// (orgwrite.ApplyOrgPatch) and checked against the tenant
// (orgwrite.CheckOrgWrite), a new version, members recomputed (Recompute),
// and the file rewritten atomically.
//
// Each write holds the file's lock (SnapshotLockPath) from the version
// check to the rename, so that of two writers with the same If-Match, in
// one process or two, exactly one succeeds and the other gets
// scim.ErrPrecondition. The file is never written through a symbolic link.
type SnapshotSource struct {
	// Path is the snapshot file.
	Path string
	// Now is the clock that judges exceptions and stamps changes when a
	// patch recomputes members; time.Now when nil.
	Now func() time.Time

	mu sync.Mutex
}

// Read implements Source. Every group of a snapshot carries its members, so
// MembersRead holds every group.
func (s *SnapshotSource) Read(ctx context.Context, req ReadRequest) (*Tenant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t, err := readSnapshotTenant(s.Path)
	if err != nil {
		return nil, err
	}
	t.Kind = KindSnapshot
	if req.Progress != nil {
		req.Progress("users", len(t.Users), len(t.Users))
		req.Progress("groups", len(t.Groups), len(t.Groups))
		req.Progress("organizations", 1+len(t.Orgs), 1+len(t.Orgs))
		req.Progress("members", len(t.Members), len(t.Members))
	}
	return t, nil
}

// PatchOrganization implements Writer. A version that is not the
// organization's meta.version fails with an error matching
// scim.ErrPrecondition and leaves the file as it was; so does any invalid
// operation (with a *PatchError) or a patch that leaves the tenant invalid.
func (s *SnapshotSource) PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("patching organization %s: %w: %w", id, err, ErrNotWritten)
	}
	unlock, err := lockSnapshot(ctx, s.Path)
	if err != nil {
		return "", fmt.Errorf("patching organization %s: %w", id, err)
	}
	v, err := s.patchLocked(id, version, ops)
	if uerr := unlock(); uerr != nil && err == nil {
		// The new file is in place; only the lock file was lost.
		return v, fmt.Errorf("patching organization %s: %w", id, uerr)
	}
	return v, err
}

// patchLocked is PatchOrganization once the file's lock is held. Every
// error it returns left the file as it was.
func (s *SnapshotSource) patchLocked(id, version string, ops []scim.PatchOp) (string, error) {
	snap, err := ReadSnapshot(s.Path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", err, ErrNotWritten)
	}
	i := slices.IndexFunc(snap.Organizations, func(o scim.Organization) bool { return o.ID == id })
	if i < 0 {
		return "", fmt.Errorf("patching organization %s in %s: %w", id, s.Path, ErrOrgNotFound)
	}
	org := &snap.Organizations[i]
	if version != org.Meta.Version && version != "*" {
		return "", fmt.Errorf("patching organization %s in %s: If-Match %s, but the version is %s: %w", id, s.Path, version, org.Meta.Version, scim.ErrPrecondition)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	at := now()
	if err := orgwrite.ApplyOrgPatch(org, ops); err != nil {
		return "", fmt.Errorf("patching organization %s in %s: %w: %w", id, s.Path, err, ErrNotWritten)
	}
	if err := orgwrite.CheckOrgWrite(*org, snap.Organizations, snap.Groups); err != nil {
		return "", fmt.Errorf("patching organization %s in %s: %w: %w", id, s.Path, err, ErrNotWritten)
	}
	org.Meta.Version = orgwrite.NextVersion(org.Meta.Version)
	org.Meta.LastModified = at.UTC().Format(time.RFC3339)
	newVersion := org.Meta.Version
	if _, err := Recompute(snap, at); err != nil {
		return "", fmt.Errorf("patching organization %s in %s: %w: %w", id, s.Path, err, ErrNotWritten)
	}
	var buf bytes.Buffer
	if err := EncodeSnapshot(&buf, snap); err != nil {
		return "", fmt.Errorf("patching organization %s: %w: %w", id, err, ErrNotWritten)
	}
	if err := writeLocked(s.Path, buf.Bytes()); err != nil {
		return "", fmt.Errorf("patching organization %s: %w", id, err)
	}
	return newVersion, nil
}

// ErrOrgNotFound is returned by SnapshotSource.PatchOrganization for an id
// the snapshot lacks.
var ErrOrgNotFound = errors.New("no such organization")

// ErrOverwriteNotSnapshot means a snapshot was to be written over a file
// that is not one.
var ErrOverwriteNotSnapshot = errors.New("the file exists and is not a snapshot, so it was not overwritten; choose another path, or remove the file first")

// CheckSnapshotOverwrite returns nil when path does not exist or holds a
// snapshot (a JSON object naming SchemaSnapshot in its first 4 KiB, as
// WriteSnapshot writes it), and an error wrapping ErrOverwriteNotSnapshot
// otherwise: a directory, a spec (the one a snapshot is read with, say),
// any other file. `scimsync snapshot -o` checks it before reading the
// tenant; nothing else of the file is read.
func CheckSnapshotOverwrite(path string) error {
	head, _, exists, err := fsafe.PeekEnds(path, 4096)
	switch {
	case !exists:
		return nil
	case errors.Is(err, fsafe.ErrNotRegular):
		return fmt.Errorf("writing snapshot %s: %w", path, ErrOverwriteNotSnapshot)
	case err != nil:
		return fmt.Errorf("writing snapshot %s: %w", path, err)
	}
	h := bytes.TrimSpace(head)
	if !bytes.HasPrefix(h, []byte("{")) || !bytes.Contains(h, []byte(`"`+SchemaSnapshot+`"`)) {
		return fmt.Errorf("writing snapshot %s: %w", path, ErrOverwriteNotSnapshot)
	}
	return nil
}

// CheckWritable reports why apply could not write the snapshot file, before
// it tries: the file is a symbolic link, which no write of scimsync
// follows (internal/fsafe), or cannot be examined. Without it, the first
// step would fail, and every rerun the same way.
func (s *SnapshotSource) CheckWritable() error {
	fi, err := os.Lstat(s.Path)
	if err != nil {
		return fmt.Errorf("target file %s: %w", s.Path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		dest, _ := os.Readlink(s.Path)
		return fmt.Errorf("target file %s is a symbolic link (to %s), and scimsync never writes through one: point target.file at the file itself", s.Path, dest)
	}
	return nil
}
