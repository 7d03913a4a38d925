package scim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
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

// FuzzRedactBody checks the redaction of any valid body with any token:
// the result is valid JSON, no string of it holds the token, and a body
// that mayHold rules out is returned as it is.
func FuzzRedactBody(f *testing.F) {
	f.Add([]byte(`{"email":"x.tok-3f9a@example.gov","n":1}`), "tok-3f9a")
	f.Add([]byte(`{"email":"x.\u0074ok@x","a\/b":"a\/b"}`), "a/b")
	f.Add([]byte(`["\"q\"",{"\"q\"":null}]`), `"q"`)
	f.Fuzz(func(t *testing.T, body []byte, token string) {
		if !validToken(token) || len(token) == 0 || !jsontext.Value(body).IsValid(jsontext.AllowDuplicateNames(true)) {
			return
		}
		c := &Client{token: token, forms: newTokenForms(token)}
		got, err := c.redactBody(body)
		if err != nil {
			t.Fatalf("redactBody(%q, %q): %v", body, token, err)
		}
		if !c.forms.mayHold(body) && !bytes.Equal(got, body) {
			t.Fatalf("a body that cannot hold the token was changed: %q → %q", body, got)
		}
		if !jsontext.Value(got).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) {
			t.Fatalf("redactBody(%q, %q) = %q, not valid JSON", body, token, got)
		}
		dec := jsontext.NewDecoder(bytes.NewReader(got), decodeOptions)
		for {
			tok, err := dec.ReadToken()
			if err != nil {
				break
			}
			if tok.Kind() == '"' && strings.Contains(tok.String(), token) {
				t.Fatalf("redactBody(%q, %q) = %q: a string still holds the token", body, token, got)
			}
		}
	})
}
