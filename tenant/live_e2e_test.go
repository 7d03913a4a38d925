package tenant_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// TestLiveDecodersTakeReferencePages reads every page and group of the S
// tier from the reference server as the source does: the live decoders
// take each one (none falls back to the wire decoding) and decode it as the
// wire decoding does.
func TestLiveDecodersTakeReferencePages(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the S tier")
	}
	snap, ts := serveTierS(t, 5, 500)
	get := func(path string, q url.Values) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+ts.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return b
	}
	page := func(start int) url.Values {
		return url.Values{"startIndex": {fmt.Sprint(start)}, "count": {"500"}}
	}
	for start := 1; start <= len(snap.Users); start += 500 {
		if !tenant.CheckLiveUsersPage(t, get("/Users", page(start))) {
			t.Fatalf("users page at %d declined", start)
		}
	}
	for _, o := range snap.Organizations {
		if o.Parent == "" {
			continue
		}
		for start := 1; ; start += 500 {
			q := page(start)
			q.Set("filter", scim.Filter("organization", "eq", o.ID))
			body := get("/Members", q)
			if !tenant.CheckLiveMembersPage(t, body) {
				t.Fatalf("members page of %s at %d declined", o.ID, start)
			}
			if start+500 > tenant.LiveMembersTotal(body) {
				break
			}
		}
	}
	for _, g := range snap.Groups {
		if !tenant.CheckLiveGroup(t, get("/Groups/"+url.PathEscape(g.ID), nil)) {
			t.Fatalf("group %s declined", g.ID)
		}
	}
}

// TestReadModelMatchesReadWire reads the S tier both ways: straight into
// the model (Read over a *scim.Client) and as slim wire resources then
// converted (readWire); the tenants are the same.
func TestReadModelMatchesReadWire(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the S tier")
	}
	snap, ts := serveTierS(t, 7, 97)
	c, err := scim.New(scim.Config{BaseURL: ts.URL, Token: ts.Token})
	if err != nil {
		t.Fatal(err)
	}
	src := &tenant.SCIMSource{Client: c}
	for _, req := range []tenant.ReadRequest{{}, {AllGroupMembers: true}} {
		got, err := src.Read(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		want, err := src.ReadWire(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("AllGroupMembers %v: the model read differs (-wire +model):\n%s", req.AllGroupMembers, diff)
		}
		if len(got.Users) != len(snap.Users) || len(got.Members) != len(snap.Members) {
			t.Fatalf("read %d users, %d members", len(got.Users), len(got.Members))
		}
	}
}
