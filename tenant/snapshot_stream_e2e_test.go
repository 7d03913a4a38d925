package tenant_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/tenant"
)

// TestSnapshotStreamTierS reads the S tier from the reference server (5000
// users, 25k group memberships, pages of 97, so that no page boundary is
// round) both ways: the streamed snapshot must be byte for byte the one
// EncodeSnapshot writes of ReadSnapshot's result.
func TestSnapshotStreamTierS(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the S tier")
	}
	_, ts := serveTierS(t, 3, 97)
	c, err := scim.New(scim.Config{BaseURL: ts.URL, Token: ts.Token})
	if err != nil {
		t.Fatal(err)
	}
	src := &tenant.SCIMSource{Client: c}
	req := tenant.ReadRequest{AllGroupMembers: true}
	st, err := src.ReadSnapshotStream(context.Background(), req, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got bytes.Buffer
	if _, err := st.WriteTo(&got); err != nil {
		t.Fatal(err)
	}
	whole, err := src.ReadSnapshot(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := tenant.EncodeSnapshot(&want, whole); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("the streamed snapshot (%d bytes) differs from EncodeSnapshot's (%d bytes)", got.Len(), want.Len())
	}
	if st.Users != len(whole.Users) || st.Groups != len(whole.Groups) || st.Members != len(whole.Members) {
		t.Errorf("counts %d, %d, %d; want %d, %d, %d", st.Users, st.Groups, st.Members, len(whole.Users), len(whole.Groups), len(whole.Members))
	}
}

// serveTierS serves the S tier of seed on the reference server, at most
// pageCap resources per page, for the test's length.
func serveTierS(t *testing.T, seed int64, pageCap int) (*tenant.Snapshot, *scimtest.TestServer) {
	t.Helper()
	snap, err := gen.Generate(gen.S.Params(), seed)
	if err != nil {
		t.Fatal(err)
	}
	return snap, scimtest.NewTestServer(t, snap, scimtest.Options{PageCap: pageCap})
}
