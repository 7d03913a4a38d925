package scim

import (
	"bytes"
	"testing"
)

// A body that cannot hold the token is passed on as it is, without a copy:
// the read path pays a few bytes.Contains calls.
func TestRedactBodyLeavesOtherBodiesAlone(t *testing.T) {
	c, err := New(Config{BaseURL: "https://scim.example.gov/scim/v2", Token: "tok-3f9a1c7e5b2d4a6f8e0c"})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"totalResults":1,"Resources":[{"id":"u1","userName":"a@x.gov","meta":{"version":"W/\"1\""}}]}`,
		`{"id":"u1","displayName":"R\u0026D"}`, // a \u escape is decoded to check, and left alone
		`{"id":"tok-3f9a1c7e5b2d4a6f8e0"}`,     // all but the last character
	} {
		in := []byte(body)
		got, err := c.redactBody(in)
		if err != nil || !bytes.Equal(got, in) || &got[0] != &in[0] {
			t.Errorf("redactBody(%s) = %s, %v; want it unchanged", body, got, err)
		}
	}
	if c.forms.mayHold([]byte(`{"totalResults":1,"Resources":[{"id":"u1","meta":{"version":"W/\"1\""}}]}`)) {
		t.Error("a body without the token or a \\u escape goes through the slow check")
	}
	c2, _ := New(Config{BaseURL: "https://scim.example.gov/scim/v2", Token: `a/b"c`})
	if !c2.forms.mayHold([]byte(`{"x":"a\/b\"c"}`)) {
		t.Error("an escaped form of a token with / and \" is not caught")
	}
	got, err := c2.redactBody([]byte(`{"x":"<a\/b\"c>","a\/b\"c":1}`))
	if err != nil || string(got) != `{"x":"<[REDACTED]>","[REDACTED]":1}` {
		t.Errorf("redactBody = %s, %v", got, err)
	}
}
