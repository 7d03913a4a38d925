package tenant

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/scim"
)

// liveBodies are list pages and group reads in the shapes the live
// decoders take, and in many they leave to the wire decoding: kind says
// which decoder the body is for (users, members, group) and take whether
// it must take it.
var liveBodies = []struct {
	kind byte
	take bool
	body string
}{
	{'u', true, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"startIndex":1,"itemsPerPage":2,"Resources":[` +
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","externalId":"E1","userName":"a@x.gov","name":{"givenName":"A","familyName":"B"},"displayName":"A B",` +
		`"emails":[{"value":"a@x.gov","type":"work","primary":true},{"value":"a2@x.gov","type":"home"}],"active":true,"meta":{"resourceType":"User","location":"http://x/Users/u1","version":"W/\"1\""}},` +
		`{"id":"u2","userName":"EXAMPLE\\b\u00e9","emails":[{"value":"","primary":true},{"value":"b@x.gov","primary":false}],"active":false}]}`},
	{'u', true, `{"totalResults":1,"Resources":[{"active":true,"id":"u1","userName":"a","emails":[]}]}`},
	{'u', true, `{"totalResults":1,"Resources":[{"active":true,"id":"u1","userName":"a","emails":[{"value":""}]}]}`},
	{'u', true, `{"totalResults":1,"Resources":[{"active":true,"id":"u1","userName":"a","emails":[{"value":"x"}],"emails":[{"value":"y","primary":true}]}]}`},
	{'u', false, `{"totalResults":1,"Resources":[{"id":"u1","userName":"a","active":"true"}]}`},
	// active absent, or null: the wire decoding refuses the user (RFC 7643
	// gives active no default), so the live decoder leaves it the page.
	{'u', false, `{"totalResults":1,"Resources":[{"id":"u1","userName":"a"}]}`},
	{'u', false, `{"totalResults":1,"Resources":[{"id":"u1","userName":"a","active":null}]}`},
	{'u', false, `{"totalResults":1,"Resources":[{"id":"u1","USERNAME":"a"}]}`},
	{'u', false, `{"totalResults":1,"Resources":[{"id":"u1","userName":null}]}`},
	{'u', false, `{"totalResults":1,"Resources":[{"id":"u1","name":"A B"}]}`},
	{'u', false, `{"totalResults":1,"Resources":[{"id":"u1","name":{"givenName":5}}]}`},
	{'u', true, `{"totalResults":1,"Resources":[{"active":true,"id":"u1","schemas":[null,"s"],"x":{"y":[1,{"z":"\""}]}}]}`},
	{'u', true, `{"totalResults":1,"Resources":[{"active":true,"id":"u1","id":"u2"}]}`},
	{'u', false, `{"totalResults":1,"Resources":[{"id":"\u0075\ud800"}]}`},
	{'u', true, `{"totalResults":1,"Resources":[{"active":true,"id":"u1"}],"Resources":[{"active":true,"id":"u2"}]}`},
	{'u', false, `{"totalResults":1.0,"Resources":[{"id":"u1"}]}`},
	{'u', true, `{"totalResults":1,"totalResults":2,"Resources":[{"active":true,"id":"u1"},{"active":true,"id":"u2"}]}`},
	{'u', false, `{"totalResults":-1,"Resources":[]}`},
	{'u', false, `{"totalResults":0,"Resources":null}`},
	{'u', true, `{"totalResults":0}`},
	{'u', false, `{"totalResults":1,"Resources":[null]}`},
	{'u', false, `{"totalResults":1,"Resources":[{"id":""}]}`},
	{'u', false, `{"totalResults":1,"Resources":[{"userName":"no id"}]}`},
	{'u', false, `[]`},
	{'u', false, `null`},
	{'m', true, `{"totalResults":2,"Resources":[{"schemas":["urn:scimsync:params:scim:schemas:core:2.0:Member"],"id":"m1","organization":"o1","email":"a@x.gov","userId":"u1","role":"member","seatTier":"standard","origin":"scim",` +
		`"meta":{"resourceType":"Member","created":"2025-01-06T00:00:00Z","lastModified":"2025-01-06T00:00:00Z","location":"http://x/Members/m1","version":"W/\"2f\""}},` +
		`{"id":"m2","organization":"o1","email":"b@x.gov","role":"admin","seatTier":"premium","origin":"jit","meta":{"lastModified":"yesterday"},"meta":{"created":"x"}}]}`},
	{'m', false, `{"totalResults":1,"Resources":[{"id":"m1","organization":"o1","meta":null}]}`},
	{'m', false, `{"totalResults":1,"Resources":[{"id":"m1","organization":null}]}`},
	{'m', false, `{"totalResults":1,"Resources":[{"id":"m1","meta":{"LASTMODIFIED":"2025-01-06T00:00:00Z"}}]}`},
	{'g', true, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"all","members":[{"value":"u1","$ref":"http://x/Users/u1","type":"User","display":"A"},{"value":"g2","type":"group"},{"value":""},{"value":"u3","type":"Group"}],"meta":{"resourceType":"Group"}}`},
	{'g', true, `{"id":"g1","members":[{"value":"u1"}],"members":[{"value":"u2","type":"User"}]}`},
	{'g', false, `{"id":"g1","members":null}`},
	{'g', false, `{"id":"g1","members":[null]}`},
	{'g', false, `{"id":"g1","members":[{"value":"u1","type":null}]}`},
	{'g', false, `{"id":"g1","MEMBERS":[{"value":"u1"}]}`},
	{'g', false, `{"id":"g1","displayName":5}`},
}

// validJSON is what checkJSON lets through to the decoders.
func validJSON(body []byte) bool {
	if len(bytes.TrimSpace(body)) == 0 {
		return false
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body), snapshotDecodeOptions)
	if dec.SkipValue() != nil {
		return false
	}
	_, err := dec.ReadToken()
	return err == io.EOF
}

// checkLivePage checks a live page decoder against the wire decoding of
// W and convert: what it accepts, the wire decoding accepts, with the
// same result. It reports whether the decoder accepted the body.
func checkLivePage[W, T any](t *testing.T, body []byte, decode func([]byte) (int, []T, []string, bool), convert func(*W) T) bool {
	t.Helper()
	if !validJSON(body) {
		return false
	}
	total, items, ids, ok := decode(body)
	if !ok {
		return false
	}
	wt, wi, wids, err := scim.DecodeListPage[W](body)
	if err != nil {
		t.Fatalf("%T: the live decoder accepts what the wire decoding refuses (%v): %s", items, err, body)
	}
	want := make([]T, len(wi))
	for i := range wi {
		want[i] = convert(&wi[i])
	}
	if total != wt || !cmp.Equal(ids, wids) || !cmp.Equal(items, want, cmp.AllowUnexported(readGroup{})) {
		t.Fatalf("%T: live total %d ids %q %+v; wire total %d ids %q %+v: %s", items, total, ids, items, wt, wids, want, body)
	}
	return true
}

// checkLiveGroup does the same for a group read.
func checkLiveGroup(t *testing.T, body []byte) bool {
	t.Helper()
	if !validJSON(body) {
		return false
	}
	g, id, ok := decodeGroup(body)
	if !ok {
		return false
	}
	w, err := scim.DecodeResource[scim.Group](body, id)
	if err != nil {
		t.Fatalf("the live group decoder accepts what the wire decoding refuses (%v): %s", err, body)
	}
	if want := groupFromWire(w); !cmp.Equal(g, want, cmp.AllowUnexported(readGroup{})) {
		t.Fatalf("live %+v, wire %+v: %s", g, want, body)
	}
	return true
}

func checkLiveAll(t *testing.T, body []byte) {
	checkLivePage(t, body, decodeUsersPage, liveUserInto.Convert)
	checkLivePage(t, body, decodeMembersPage, liveMemberInto.Convert)
	checkLiveGroup(t, body)
}

func TestLiveDecodersMatchWire(t *testing.T) {
	for _, b := range liveBodies {
		body := []byte(b.body)
		checkLiveAll(t, body)
		var took bool
		switch b.kind {
		case 'u':
			took = checkLivePage(t, body, decodeUsersPage, liveUserInto.Convert)
		case 'm':
			took = checkLivePage(t, body, decodeMembersPage, liveMemberInto.Convert)
		default:
			took = checkLiveGroup(t, body)
		}
		if took != b.take {
			t.Errorf("the live decoder took %v, want %v: %s", took, b.take, b.body)
		}
	}
}

// FuzzLiveDecodersMatchWire compares the live decoders with the wire
// decoding on any body.
func FuzzLiveDecodersMatchWire(f *testing.F) {
	for _, b := range liveBodies {
		f.Add([]byte(b.body))
	}
	f.Fuzz(checkLiveAll)
}

// The checks, for the tests against the reference server (package
// tenant_test: scimtest imports tenant).
var (
	CheckLiveUsersPage = func(t *testing.T, body []byte) bool {
		return checkLivePage(t, body, decodeUsersPage, liveUserInto.Convert)
	}
	CheckLiveMembersPage = func(t *testing.T, body []byte) bool {
		return checkLivePage(t, body, decodeMembersPage, liveMemberInto.Convert)
	}
	CheckLiveGroup = checkLiveGroup
	// LiveMembersTotal is the totalResults of a page of members.
	LiveMembersTotal = func(body []byte) int { total, _, _, _ := decodeMembersPage(body); return total }
)

// ReadWire is Read through the Client interface, as for a client other
// than *scim.Client.
func (s *SCIMSource) ReadWire(ctx context.Context, req ReadRequest) (*Tenant, error) {
	return s.readWire(ctx, req)
}

// The live decoders, for the benchmarks (package tenant_test).
var (
	DecodeLiveUsersPage   = decodeUsersPage
	DecodeLiveMembersPage = decodeMembersPage
	DecodeLiveGroup       = func(body []byte) (int, bool) { g, _, ok := decodeGroup(body); return len(g.members), ok }
	ConvertWireGroup      = func(g *scim.Group) int { return len(groupFromWire(g).members) }
)
