package scim

import (
	"bytes"
	stdjson "encoding/json"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeMatchesEncodingJSON checks the client's decoder against
// encoding/json, which it replaced for speed: on any body without a
// repeated name, the two accept the same resources and decode them to the
// same values. (A repeated array is replaced by the client and merged
// element by element by encoding/json; the last name wins in both.)
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, b := range pageBodies {
		f.Add([]byte(b))
	}
	f.Add([]byte(`{"id":"u1","userName":"a\u00e9","emails":[{"value":"a@x","primary":true}],"active":"TRUE","name":{"givenName":"A"},"meta":{"version":"W/\"1\""}}`))
	f.Add([]byte(`{"id":"o1","mappings":[{"group":"g","role":"admin","seatTier":"premium"}],"seats":{"premium":3},"exceptions":[{"email":"a@x","until":"2027-01-01"}]}`))
	f.Add([]byte(`{"id":"g1","members":[{"value":"u1","type":"User","$ref":"../Users/u1"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if jsontext.Value(body).IsValid(jsontext.AllowInvalidUTF8(true)) == false &&
			jsontext.Value(body).IsValid(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)) {
			t.Skip("a repeated name")
		}
		compareDecoders[User](t, body)
		compareDecoders[Group](t, body)
		compareDecoders[Organization](t, body)
		compareDecoders[Member](t, body)
		compareDecoders[ListResponse[User]](t, body)
	})
}

func compareDecoders[T any](t *testing.T, body []byte) {
	t.Helper()
	var got, want T
	errGot := unmarshal(body, &got)
	errWant := stdjson.Unmarshal(body, &want)
	if (errGot == nil) != (errWant == nil) {
		t.Fatalf("%T %q: client decoder error %v, encoding/json error %v", got, body, errGot, errWant)
	}
	if errGot == nil && !cmp.Equal(got, want) {
		t.Errorf("%T %q: decoders differ (-encoding/json +client):\n%s", got, body, cmp.Diff(want, got))
	}
}

// TestCheckJSON covers the validity check every success body goes through.
func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		body       string
		incomplete bool
		ok         bool
	}{
		{body: ``, ok: true},
		{body: " \n", ok: true},
		{body: `{"a":1}`, ok: true},
		{body: `{"a":1,"a":2}`, ok: true},
		{body: "{\"a\":\"\xff\"}", ok: true},
		{body: `{"a":1} `, ok: true},
		{body: `{"a":1`, incomplete: true},
		{body: `{"a":"b`, incomplete: true},
		{body: `[1,2`, incomplete: true},
		{body: `{"a":1} x`},
		{body: `{"a":1} {}`},
		{body: `{"a":}`},
		{body: `<html>`},
	} {
		err := checkJSON([]byte(tc.body))
		switch {
		case tc.ok && err != nil:
			t.Errorf("checkJSON(%q) = %v, want nil", tc.body, err)
		case !tc.ok && err == nil:
			t.Errorf("checkJSON(%q) = nil, want an error", tc.body)
		case !tc.ok && tc.incomplete != bytes.Contains([]byte(err.Error()), []byte(ErrIncompleteRead.Error())):
			t.Errorf("checkJSON(%q) = %v, incomplete read %v", tc.body, err, tc.incomplete)
		}
	}
}
