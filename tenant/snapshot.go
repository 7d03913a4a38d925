package tenant

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
// old file or the new one, never a part: it writes a temporary file in the
// same directory, syncs it, renames it over path and syncs the directory.
// An existing file keeps its permissions; a new one gets 0600, since a
// tenant's snapshot lists people. On error the temporary file is removed
// and path is untouched.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	perm := os.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
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

// SnapshotSource reads a tenant from a snapshot file and, as a Writer,
// patches it with the server semantics of DESIGN §4 and §5: an If-Match
// version check, the patch applied atomically (ApplyOrgPatch), a new
// version, members recomputed (Recompute), and the file rewritten
// atomically.
//
// Writes are serialized within one SnapshotSource; two processes patching
// one file at once are not guarded against.
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
		return "", err
	}
	snap, err := ReadSnapshot(s.Path)
	if err != nil {
		return "", err
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
	if err := ApplyOrgPatch(org, ops); err != nil {
		return "", fmt.Errorf("patching organization %s in %s: %w", id, s.Path, err)
	}
	if err := CheckOrgWrite(*org, snap.Organizations, snap.Groups); err != nil {
		return "", fmt.Errorf("patching organization %s in %s: %w", id, s.Path, err)
	}
	org.Meta.Version = NextVersion(org.Meta.Version)
	org.Meta.LastModified = at.UTC().Format(time.RFC3339)
	newVersion := org.Meta.Version
	if _, err := Recompute(snap, at); err != nil {
		return "", fmt.Errorf("patching organization %s in %s: %w", id, s.Path, err)
	}
	if err := WriteSnapshot(s.Path, snap); err != nil {
		return "", fmt.Errorf("patching organization %s: %w", id, err)
	}
	return newVersion, nil
}

// ErrOrgNotFound is returned by SnapshotSource.PatchOrganization for an id
// the snapshot lacks.
var ErrOrgNotFound = errors.New("no such organization")

// NextVersion returns the weak ETag that follows v: W/"n+1" when v is W/"n"
// or "n" with n a decimal number, else W/"1".
func NextVersion(v string) string {
	s := strings.TrimPrefix(v, "W/")
	s = strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		n = 0
	}
	return `W/"` + strconv.FormatUint(n+1, 10) + `"`
}
