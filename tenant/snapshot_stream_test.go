package tenant

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

// streamed reads snap from a fake server as `scimsync snapshot` does, with
// the stream, and returns the document it writes.
func streamed(t *testing.T, f *fakeServer, req ReadRequest) ([]byte, *SnapshotStream) {
	t.Helper()
	st, err := newSCIMSource(t, f).ReadSnapshotStream(context.Background(), req, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var buf bytes.Buffer
	n, err := st.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes(), st
}

// whole reads the same as ReadSnapshot and EncodeSnapshot: what snapshot
// wrote before it streamed.
func whole(t *testing.T, f *fakeServer, req ReadRequest) []byte {
	t.Helper()
	snap, err := newSCIMSource(t, f).ReadSnapshot(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := EncodeSnapshot(&buf, snap); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awkwardSample is nestedSample with what an encoder may get wrong: HTML
// characters, escapes and non-ASCII text, meta.location (which a snapshot
// drops), ids out of order, group members out of order and repeated, a
// member with a $ref and display, names and externalIds.
func awkwardSample() *Snapshot {
	s := nestedSample()
	s.Users[0].Name = &scim.Name{GivenName: "Zoë <b>&</b>", FamilyName: "O'Brien \u2028 \"quoted\" \\ tab\t"}
	s.Users[0].Meta = scim.Meta{ResourceType: "User", Location: "https://server/Users/" + s.Users[0].ID, Version: `W/"1"`}
	s.Users[1].ExternalID = "ext-1"
	s.Users[1].Emails = append(s.Users[1].Emails, scim.Email{Value: "b+tag@x.gov", Type: "home"})
	// Reversed, so that no list arrives sorted.
	for i, j := 0, len(s.Users)-1; i < j; i, j = i+1, j-1 {
		s.Users[i], s.Users[j] = s.Users[j], s.Users[i]
	}
	for i, j := 0, len(s.Members)-1; i < j; i, j = i+1, j-1 {
		s.Members[i], s.Members[j] = s.Members[j], s.Members[i]
	}
	s.Groups[0].Members = append(s.Groups[0].Members,
		scim.GroupMember{Value: "u-deep", Ref: "../Users/u-deep", Display: "Deep <one>"},
		scim.GroupMember{Value: "u-deep", Ref: "../Users/u-deep", Display: "again"},
		scim.GroupMember{Value: "a-first"})
	s.Groups[0].Meta.Location = "https://server/Groups/" + s.Groups[0].ID
	s.Organizations[0].Meta.Location = "https://server/Organizations/x"
	s.Members[0].Meta.Location = "https://server/Members/x"
	return s
}

// TestSnapshotStreamMatchesEncodeSnapshot holds the streamed snapshot to
// the bytes EncodeSnapshot writes of the whole read, over page sizes that
// split the lists differently and over reads of some or all groups.
func TestSnapshotStreamMatchesEncodeSnapshot(t *testing.T) {
	for _, pageSize := range []int{1, 2, 3, 100} {
		for _, req := range []ReadRequest{{AllGroupMembers: true}, {}} {
			f := func() *fakeServer { return &fakeServer{snap: awkwardSample(), pageSize: pageSize} }
			got, st := streamed(t, f(), req)
			want := whole(t, f(), req)
			if !bytes.Equal(got, want) {
				t.Errorf("page size %d, all groups %v: the streamed snapshot differs:\n%s", pageSize, req.AllGroupMembers, firstDiff(got, want))
			}
			if st.Users != 4 || st.Groups != 5 || st.ChildOrganizations != 2 || st.Members != 5 {
				t.Errorf("counts %d users, %d groups, %d children, %d members", st.Users, st.Groups, st.ChildOrganizations, st.Members)
			}
			if bytes.Contains(got, []byte("https://server")) {
				t.Errorf("meta.location kept")
			}
			var again bytes.Buffer
			if _, err := st.WriteTo(&again); err != nil || !bytes.Equal(again.Bytes(), got) {
				t.Errorf("a second WriteTo differs (%v)", err)
			}
		}
	}
}

// TestSnapshotStreamEmptyLists checks the frame of empty lists: no
// itemsPerPage, and "[]".
func TestSnapshotStreamEmptyLists(t *testing.T) {
	s := sample()
	s.Groups, s.Members = nil, nil
	for i := range s.Organizations {
		s.Organizations[i].Mappings = nil
	}
	f := func() *fakeServer { return &fakeServer{snap: s, pageSize: 2} }
	got, _ := streamed(t, f(), ReadRequest{AllGroupMembers: true})
	if want := whole(t, f(), ReadRequest{AllGroupMembers: true}); !bytes.Equal(got, want) {
		t.Errorf("the streamed snapshot differs:\n%s", firstDiff(got, want))
	}
	if _, err := DecodeSnapshot(bytes.NewReader(got)); err != nil {
		t.Errorf("the streamed snapshot does not decode: %v", err)
	}
}

// TestSnapshotStreamRefuses checks that the stream refuses what
// ReadSnapshot refuses, with its error: a partial read, and a tenant that
// FromSCIM rejects.
func TestSnapshotStreamRefuses(t *testing.T) {
	bad := sample()
	bad.Members[0].Role = "emperor"
	failing := &fakeServer{snap: sample(), pageSize: 2, fail: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == basePath+"/Members" && r.URL.Query().Get("startIndex") == "3" {
			scimError(w, http.StatusInternalServerError, "database on fire")
			return true
		}
		return false
	}}
	// A group member with only a $ref: refused, not dropped.
	noValue := sample()
	noValue.Groups[0].Members = append(noValue.Groups[0].Members, scim.GroupMember{Ref: "https://idp.example/Users/u-9", Type: "User"})
	for name, f := range map[string]*fakeServer{"invalid": {snap: bad, pageSize: 2}, "partial": failing, "member without value": {snap: noValue, pageSize: 2}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := newSCIMSource(t, f).ReadSnapshotStream(context.Background(), ReadRequest{AllGroupMembers: true}, dir)
			_, want := newSCIMSource(t, f).ReadSnapshot(context.Background(), ReadRequest{AllGroupMembers: true})
			if err == nil || want == nil || err.Error() != want.Error() {
				t.Errorf("error %v, want %v", err, want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("left %v in the directory", ents)
			}
		})
	}
}

// TestSnapshotStreamSpillFailure checks that a spill that cannot be
// written fails the read.
func TestSnapshotStreamSpillFailure(t *testing.T) {
	st, err := newSnapshotStream(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st.spill.Close() // every write now fails
	users := []scim.User{{ID: "u1", UserName: "a@x.gov"}}
	if err := spillPage(st, listUsers, users, func(u *scim.User) string { return u.ID }); err == nil {
		t.Error("spilling to a closed file succeeded")
	}
	if _, err := newSnapshotStream(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a spill in a missing directory")
	}
}

// TestSnapshotStreamLeavesNoFile checks that the spill file is gone from
// its directory while the stream is open (where the platform allows) and
// once it is closed.
func TestSnapshotStreamLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	st, err := newSCIMSource(t, &fakeServer{snap: sample(), pageSize: 2}).ReadSnapshotStream(context.Background(), ReadRequest{AllGroupMembers: true}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 && runtime.GOOS != "windows" {
		t.Errorf("while open: %v in the directory", ents)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("after Close: %v in the directory", ents)
	}
}

// TestWriteFileAtomicFuncLeavesNothingOnError checks that a write that
// fails leaves the file as it was, and no temporary file.
func TestWriteFileAtomicFuncLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFileAtomicFunc(path, func(w io.Writer) error {
		w.Write([]byte("half of the new"))
		return boom
	})
	if !errors.Is(err, boom) || !errors.Is(err, ErrNotWritten) {
		t.Errorf("error %v, want one matching boom and ErrNotWritten", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("file holds %q", b)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "t.json" && !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("left %s", e.Name())
		}
	}
}

// firstDiff shows where a and b first differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-120)
	return "got:  ..." + string(a[lo:min(len(a), i+80)]) + "\nwant: ..." + string(b[lo:min(len(b), i+80)])
}
