package tenant_test

import (
	"encoding/json"
	"testing"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// liveBodies are the M tier as the live source reads it: list pages of
// 1000 users and of 1000 members, and every group read with its members.
type liveBodiesM struct {
	users, members, groups [][]byte
	userBytes, memberBytes int64
	groupBytes             int64
}

var liveM *liveBodiesM

func tierMBodies(b *testing.B) *liveBodiesM {
	b.Helper()
	if liveM != nil {
		return liveM
	}
	snap, _ := tierM(b)
	out := &liveBodiesM{}
	page := func(total int, resources any) []byte {
		body, err := json.Marshal(map[string]any{"schemas": []string{scim.SchemaListResponse}, "totalResults": total, "itemsPerPage": 1000, "Resources": resources})
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	for i := 0; i < len(snap.Users); i += 1000 {
		body := page(len(snap.Users), snap.Users[i:min(i+1000, len(snap.Users))])
		out.users, out.userBytes = append(out.users, body), out.userBytes+int64(len(body))
	}
	for i := 0; i < len(snap.Members); i += 1000 {
		body := page(len(snap.Members), snap.Members[i:min(i+1000, len(snap.Members))])
		out.members, out.memberBytes = append(out.members, body), out.memberBytes+int64(len(body))
	}
	for _, g := range snap.Groups {
		body, err := json.Marshal(g)
		if err != nil {
			b.Fatal(err)
		}
		out.groups, out.groupBytes = append(out.groups, body), out.groupBytes+int64(len(body))
	}
	liveM = out
	return out
}

// BenchmarkDecodeLiveUsersM decodes the M tier's 100 pages of users
// straight into the model (live), and as the wire decoding does, into
// scim.User then converted (wire).
func BenchmarkDecodeLiveUsersM(b *testing.B) {
	d := tierMBodies(b)
	b.Run("live", func(b *testing.B) {
		benchPages(b, d.users, d.userBytes, func(body []byte) bool {
			_, us, _, ok := tenant.DecodeLiveUsersPage(body)
			return ok && len(us) > 0
		})
	})
	b.Run("wire", func(b *testing.B) {
		benchPages(b, d.users, d.userBytes, func(body []byte) bool {
			_, us, _, err := scim.DecodeListPage[scim.User](body)
			out := make([]resolve.User, len(us))
			for i := range us {
				out[i] = resolve.User{ID: us[i].ID, UserName: us[i].UserName, Active: bool(us[i].Active)}
			}
			return err == nil && len(out) > 0
		})
	})
}

// BenchmarkDecodeLiveMembersM does the same for the 101 pages of members.
func BenchmarkDecodeLiveMembersM(b *testing.B) {
	d := tierMBodies(b)
	b.Run("live", func(b *testing.B) {
		benchPages(b, d.members, d.memberBytes, func(body []byte) bool {
			_, ms, _, ok := tenant.DecodeLiveMembersPage(body)
			return ok && len(ms) > 0
		})
	})
	b.Run("wire", func(b *testing.B) {
		benchPages(b, d.members, d.memberBytes, func(body []byte) bool {
			_, ms, _, err := scim.DecodeListPage[scim.Member](body)
			return err == nil && len(ms) > 0
		})
	})
}

// BenchmarkDecodeLiveGroupsM decodes the M tier's 2000 group reads (1M
// memberships).
func BenchmarkDecodeLiveGroupsM(b *testing.B) {
	d := tierMBodies(b)
	b.Run("live", func(b *testing.B) {
		benchPages(b, d.groups, d.groupBytes, func(body []byte) bool {
			_, ok := tenant.DecodeLiveGroup(body)
			return ok
		})
	})
	b.Run("wire", func(b *testing.B) {
		benchPages(b, d.groups, d.groupBytes, func(body []byte) bool {
			var g scim.Group
			if err := json.Unmarshal(body, &g); err != nil {
				return false
			}
			tenant.ConvertWireGroup(&g)
			return true
		})
	})
}

func benchPages(b *testing.B, bodies [][]byte, n int64, decode func([]byte) bool) {
	b.ReportAllocs()
	b.SetBytes(n)
	for b.Loop() {
		for _, body := range bodies {
			if !decode(body) {
				b.Fatal("a page was declined or refused")
			}
		}
	}
}
