package tenant

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/orgwrite"
	"github.com/scimsync/scimsync/scim"
)

var testNow = time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC)

func email(v string, primary bool) scim.Email {
	return scim.Email{Value: v, Type: "work", Primary: scim.Bool(primary)}
}

func users(u ...scim.User) []scim.User { return u }

// sample is a small staged tenant: a parent, two children, nested groups,
// an alias, an inactive user, members of every origin and a primary owner.
func sample() *Snapshot {
	return &Snapshot{
		Users: users(
			scim.User{ID: "u-ann", UserName: "ann@x.gov", Active: true, Emails: []scim.Email{email("ann@x.gov", true)}},
			scim.User{ID: "u-bob", UserName: "bob", Active: true, Emails: []scim.Email{email("bob.alias@x.gov", false), email("Bob@X.gov", true)}},
			scim.User{ID: "u-cat", UserName: "cat@x.gov", Active: false, Emails: []scim.Email{email("cat@x.gov", true)}},
		),
		Groups: []scim.Group{
			{ID: "g-users", DisplayName: "claude-users", Members: []scim.GroupMember{{Value: "u-ann", Type: "User"}, {Value: "g-admins", Type: "Group"}}},
			{ID: "g-admins", DisplayName: "claude-admins", Members: []scim.GroupMember{{Value: "u-bob", Type: "User"}, {Value: "u-cat", Type: "User"}}},
			{ID: "g-other", DisplayName: "other"},
		},
		Organizations: []scim.Organization{
			{ID: "o-hq", Name: "hq", Parent: "o-p",
				Mappings: []scim.Mapping{{Group: "g-users", Role: "member", SeatTier: "standard"}, {Group: "g-admins", Role: "admin", SeatTier: "premium"}},
				Seats:    map[string]int{"standard": 10, "premium": 2},
				Meta:     scim.Meta{Version: `W/"3"`}},
			{ID: "o-p", Name: "agency", Mode: "staged", SeatTiers: []string{"standard", "premium"}, LoginDomains: []string{"x.gov"}, Meta: scim.Meta{Version: `W/"7"`}},
			{ID: "o-west", Name: "west", Parent: "o-p", Meta: scim.Meta{Version: `W/"1"`}},
		},
		Members: []scim.Member{
			{ID: "m-owner", Organization: "o-hq", Email: "boss@x.gov", Role: "primary-owner", SeatTier: "premium", Origin: "manual"},
			{ID: "m-ann", Organization: "o-hq", Email: "ann@x.gov", UserID: "u-ann", Role: "member", SeatTier: "standard", Origin: "scim"},
			{ID: "m-bob", Organization: "o-hq", Email: "BOB@x.gov", Role: "admin", SeatTier: "premium", Origin: "jit"},
			{ID: "m-dan", Organization: "o-hq", Email: "dan@x.gov", Role: "member", SeatTier: "standard", Origin: "jit"},
			{ID: "m-eve", Organization: "o-west", Email: "eve@x.gov", Role: "owner", SeatTier: "standard", Origin: "manual", Meta: scim.Meta{LastModified: "2026-01-02T03:04:05Z"}},
		},
	}
}

func writeSample(t *testing.T, s *Snapshot) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenant.json")
	if err := WriteSnapshot(path, s); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := sample()
	path := writeSample(t, s)
	got, err := ReadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sample()
	want.Sort()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Writing what was read gives the same bytes: the order is canonical.
	first, _ := os.ReadFile(path)
	if err := WriteSnapshot(path, got); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(path)
	if !bytes.Equal(first, second) {
		t.Error("rewriting a snapshot changed its bytes")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("new snapshot mode %v, want 0600", st.Mode().Perm())
	}
	for _, want := range []string{`"schemas": [`, SchemaSnapshot, `"Users": {`, `"totalResults": 3`, `"Resources": [`} {
		if !bytes.Contains(first, []byte(want)) {
			t.Errorf("snapshot lacks %q", want)
		}
	}
}

func TestSnapshotDeterministicOrder(t *testing.T) {
	a, b := sample(), sample()
	// Reverse every list of b.
	for i, j := 0, len(b.Users)-1; i < j; i, j = i+1, j-1 {
		b.Users[i], b.Users[j] = b.Users[j], b.Users[i]
	}
	for i, j := 0, len(b.Members)-1; i < j; i, j = i+1, j-1 {
		b.Members[i], b.Members[j] = b.Members[j], b.Members[i]
	}
	b.Groups[0].Members[0], b.Groups[0].Members[1] = b.Groups[0].Members[1], b.Groups[0].Members[0]
	var ba, bb bytes.Buffer
	if err := EncodeSnapshot(&ba, a); err != nil {
		t.Fatal(err)
	}
	if err := EncodeSnapshot(&bb, b); err != nil {
		t.Fatal(err)
	}
	if ba.String() != bb.String() {
		t.Error("the same tenant in another order encodes differently")
	}
}

func TestDecodeSnapshotErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not json", `{"schemas":`, "decoding snapshot"},
		{"no schema", `{"Users":{"totalResults":0,"Resources":[]}}`, "lacks " + SchemaSnapshot},
		{"missing list", `{"schemas":["` + SchemaSnapshot + `"],"Users":{"totalResults":0,"Resources":[]},"Groups":{"totalResults":0,"Resources":[]},"Organizations":{"totalResults":0,"Resources":[]}}`, "no Members list"},
		{"short list", `{"schemas":["` + SchemaSnapshot + `"],"Users":{"totalResults":2,"Resources":[{"id":"a"}]},"Groups":{"totalResults":0,"Resources":[]},"Organizations":{"totalResults":0,"Resources":[]},"Members":{"totalResults":0,"Resources":[]}}`, "Users: totalResults is 2 but 1 resources follow"},
		{"trailing data", `{"schemas":["` + SchemaSnapshot + `"],"Users":{"totalResults":0,"Resources":[]},"Groups":{"totalResults":0,"Resources":[]},"Organizations":{"totalResults":0,"Resources":[]},"Members":{"totalResults":0,"Resources":[]}} {}`, "data after the document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeSnapshot(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeSnapshotCaseInsensitiveAndStringBooleans(t *testing.T) {
	doc := `{"schemas":["` + SchemaSnapshot + `"],
	"users":{"totalresults":1,"resources":[{"ID":"u1","USERNAME":"a@x.gov","Active":"True"}]},
	"groups":{"totalResults":0,"Resources":[]},
	"organizations":{"totalResults":1,"Resources":[{"id":"p","name":"agency","mode":"jit"}]},
	"members":{"totalResults":0,"Resources":[]}}`
	s, err := DecodeSnapshot(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []scim.User{{ID: "u1", UserName: "a@x.gov", Active: true}}
	if diff := cmp.Diff(want, s.Users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
}

func TestWriteFileAtomicLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tenant.json")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	// A directory in the way of the rename makes the write fail late, after
	// the temporary file was written.
	blocked := filepath.Join(dir, "blocked")
	if err := os.Mkdir(blocked, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(blocked, []byte("new")); err == nil {
		t.Fatal("writing over a non-empty directory succeeded")
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "t.json"), []byte("new")); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	if err := WriteFileAtomic(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"blocked", "tenant.json"}, names); diff != "" {
		t.Errorf("directory after writes (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("content %q", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old 0640 kept", st.Mode().Perm())
	}
}

func TestSnapshotSourceRead(t *testing.T) {
	path := writeSample(t, sample())
	var progress []string
	src := &SnapshotSource{Path: path}
	tn, err := src.Read(context.Background(), ReadRequest{Progress: func(kind string, done, total int) {
		progress = append(progress, kind)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Kind != KindSnapshot || tn.ReadOnly {
		t.Errorf("Kind %q ReadOnly %v", tn.Kind, tn.ReadOnly)
	}
	if tn.Parent.ID != "o-p" || len(tn.Orgs) != 2 || len(tn.Members) != 5 {
		t.Errorf("parent %q, %d orgs, %d members", tn.Parent.ID, len(tn.Orgs), len(tn.Members))
	}
	if diff := cmp.Diff([]string{"users", "groups", "organizations", "members"}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if _, err := (&SnapshotSource{Path: filepath.Join(t.TempDir(), "none.json")}).Read(context.Background(), ReadRequest{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestSnapshotSourcePatch(t *testing.T) {
	path := writeSample(t, sample())
	src := &SnapshotSource{Path: path, Now: func() time.Time { return testNow }}
	ctx := context.Background()

	v, err := src.PatchOrganization(ctx, "o-p", `W/"7"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}})
	if err != nil {
		t.Fatal(err)
	}
	if v != `W/"8"` {
		t.Errorf("new version %s, want W/\"8\"", v)
	}
	got, err := ReadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got.Members {
		ids = append(ids, m.ID+" "+m.Origin)
	}
	// Full: bob (jit) is linked to u-bob through the nested group; dan (jit,
	// no SCIM user) and eve (manual, in west, which maps nothing) are
	// removed; the primary owner stays.
	want := []string{"m-ann scim", "m-bob scim", "m-owner manual"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("members after switching to full (-want +got):\n%s", diff)
	}
	p := got.Organizations[1] // sorted by id: o-hq, o-p, o-west
	if p.ID != "o-p" || p.Mode != "full" || p.Meta.Version != `W/"8"` || p.Meta.LastModified != "2027-03-31T12:00:00Z" {
		t.Errorf("parent after patch: %+v", p)
	}
}

func TestSnapshotSourcePatchStaleOrInvalidChangesNothing(t *testing.T) {
	path := writeSample(t, sample())
	before, _ := os.ReadFile(path)
	src := &SnapshotSource{Path: path, Now: func() time.Time { return testNow }}
	ctx := context.Background()

	_, err := src.PatchOrganization(ctx, "o-p", `W/"6"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "full"}})
	if !errors.Is(err, scim.ErrPrecondition) {
		t.Errorf("stale version: err = %v, want scim.ErrPrecondition", err)
	}
	_, err = src.PatchOrganization(ctx, "o-p", `W/"7"`, []scim.PatchOp{{Op: "replace", Path: "mode", Value: "fully"}})
	var pe *PatchError
	if !errors.As(err, &pe) || pe.SCIMType != "invalidValue" || !errors.Is(err, ErrNotWritten) {
		t.Errorf("bad mode: err = %v, want an invalidValue *PatchError matching ErrNotWritten", err)
	}
	// A write the tenant's consistency refuses (a child org still uses
	// the tiers) is known not to be written: apply reports it as failed,
	// not as an unknown outcome.
	_, err = src.PatchOrganization(ctx, "o-p", `W/"7"`, []scim.PatchOp{{Op: "replace", Path: "seatTiers", Value: []string{}}})
	if !errors.Is(err, ErrInvalidOrg) || !errors.Is(err, ErrNotWritten) {
		t.Errorf("tiers in use dropped: err = %v, want one matching ErrInvalidOrg and ErrNotWritten", err)
	}
	_, err = src.PatchOrganization(ctx, "o-nope", `W/"7"`, nil)
	if !errors.Is(err, ErrOrgNotFound) {
		t.Errorf("unknown org: err = %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a refused patch changed the file")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files in the snapshot's directory, want 1", len(entries))
	}
}

func TestRecompute(t *testing.T) {
	s := sample()
	s.Organizations[1].Mode = "staged"
	res, err := Recompute(s, testNow)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]scim.Member{}
	for _, m := range s.Members {
		byID[m.ID] = m
	}
	// Staged: bob (jit) is linked to u-bob, keeping his role and tier, with
	// a new lastModified and version; the others stay byte for byte.
	bob := byID["m-bob"]
	if bob.Origin != "scim" || bob.UserID != "u-bob" || bob.Meta.LastModified != "2027-03-31T12:00:00Z" || bob.Meta.Version == "" {
		t.Errorf("bob after recompute: %+v", bob)
	}
	want := sample().Members
	for _, m := range want {
		if m.ID == "m-bob" {
			continue
		}
		if diff := cmp.Diff(m, byID[m.ID]); diff != "" {
			t.Errorf("member %s changed (-want +got):\n%s", m.ID, diff)
		}
	}
	if len(s.Members) != len(want) {
		t.Errorf("%d members, want %d", len(s.Members), len(want))
	}
	var actions []string
	for _, oc := range res.Outcomes {
		actions = append(actions, string(oc.Action)+" "+oc.Email)
	}
	if diff := cmp.Diff([]string{"keep ann@x.gov", "link bob@x.gov", "keep boss@x.gov", "keep dan@x.gov", "keep eve@x.gov"}, actions); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}

	// Recomputing again changes nothing.
	again := *s
	again.Members = append([]scim.Member(nil), s.Members...)
	if _, err := Recompute(&again, testNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s.Members, again.Members); diff != "" {
		t.Errorf("second recompute (-first +second):\n%s", diff)
	}
}

func TestRecomputeAddsWithDeterministicIDs(t *testing.T) {
	s := sample()
	s.Members = nil
	if _, err := Recompute(s, testNow); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range s.Members {
		got = append(got, m.ID+" "+m.Email+" "+m.Role+" "+m.SeatTier)
		if m.Meta.Created != "2027-03-31T12:00:00Z" || m.Meta.Version == "" || m.Origin != "scim" {
			t.Errorf("added member %+v", m)
		}
	}
	want := []string{
		orgwrite.MemberID("o-hq", "ann@x.gov") + " ann@x.gov member standard",
		orgwrite.MemberID("o-hq", "bob@x.gov") + " bob@x.gov admin premium",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("added members (-want +got):\n%s", diff)
	}
	if orgwrite.MemberID("o-hq", " BOB@x.gov") != orgwrite.MemberID("o-hq", "bob@x.gov") || orgwrite.MemberID("o-hq", "bob@x.gov") == orgwrite.MemberID("o-west", "bob@x.gov") {
		t.Error("MemberID does not normalize the email or ignores the org")
	}
}

func TestRecomputeRefusesInvalidSnapshot(t *testing.T) {
	s := sample()
	s.Members = append(s.Members, scim.Member{ID: "m-x", Organization: "o-p", Email: "x@x.gov", Role: "member", SeatTier: "standard", Origin: "jit"})
	before := append([]scim.Member(nil), s.Members...)
	if _, err := Recompute(s, testNow); err == nil || !strings.Contains(err.Error(), `organization "o-p" is not a child organization`) {
		t.Errorf("err = %v", err)
	}
	if diff := cmp.Diff(before, s.Members); diff != "" {
		t.Errorf("members changed (-before +after):\n%s", diff)
	}
}
