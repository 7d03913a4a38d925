package scim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

var pageBodies = []string{
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"Resources":[{"id":"u1","userName":"a@x.gov","active":true,"emails":[{"value":"a@x.gov","primary":"True"}]},{"id":"u2","userName":"b@x.gov","active":"false"}]}`,
	`{"TOTALRESULTS":1,"resources":[{"ID":"u1","USERNAME":"a"}]}`,
	`{"totalResults":0,"Resources":null}`,
	`{"totalResults":0}`,
	`{"totalResults":3,"Resources":[]}`,
	`{"totalResults":1,"Resources":[{"userName":"no id"}]}`,
	`{"totalResults":1,"Resources":[{"id":""}]}`,
	`{"totalResults":1,"Resources":[{"id":5}]}`,
	`{"totalResults":1,"Resources":[null]}`,
	`{"totalResults":1,"Resources":[{"id":"u1","active":"maybe"}]}`,
	`{"totalResults":-1,"Resources":[]}`,
	`{"Resources":[{"id":"u1"}]}`,
	`{"schemas":5,"totalResults":1,"Resources":[{"id":"u1"}]}`,
	`{"totalResults":1,"Resources":{"id":"u1"}}`,
	`{"totalResults":2,"Resources":[{"id":"u1"}],"Resources":[{"id":"u2"},{"id":"u3"}]}`,
	`{"totalResults":1,"Resources":[{"id":"u1","id":"u9"}]}`,
	`{"totalResults":1,"Resources":[{"id":"u1"}]} trailing`,
	`[]`,
	``,
}

// TestDecodePageFastMatchesSlow checks that the one-pass decoder accepts
// only what the general one accepts, with the same result.
func TestDecodePageFastMatchesSlow(t *testing.T) {
	if _, ok := decodePageFast[User]([]byte(pageBodies[0])); !ok {
		t.Error("the fast path refuses a plain page of users")
	}
	if _, ok := decodePageFast[map[string]any]([]byte(pageBodies[0])); ok {
		t.Error("the fast path takes a resource type without a known id")
	}
	for _, body := range pageBodies {
		comparePaths[User](t, []byte(body))
		comparePaths[Group](t, []byte(body))
		comparePaths[Member](t, []byte(body))
	}
}

func comparePaths[T any](t *testing.T, body []byte) {
	t.Helper()
	fast, ok := decodePageFast[T](body)
	slow, err := decodePageSlow[T](body)
	if !ok {
		// The general path then decides; nothing to compare.
		return
	}
	if err != nil {
		t.Fatalf("%T %s: the fast path accepts what the general one refuses: %v", fast.items, body, err)
	}
	if fast.total != slow.total || !cmp.Equal(fast.ids, slow.ids) || !cmp.Equal(fast.items, slow.items) {
		t.Errorf("%T %s: fast %+v, slow %+v", fast.items, body, fast, slow)
	}
}

// FuzzDecodePageFast compares the two decoding paths on any body.
func FuzzDecodePageFast(f *testing.F) {
	for _, b := range pageBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		comparePaths[User](t, body)
		comparePaths[Group](t, body)
		comparePaths[Organization](t, body)
		comparePaths[Member](t, body)
	})
}
