package scim

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Redacted replaces the token wherever a server echoes it.
const Redacted = "[REDACTED]"

// A server may echo the bearer token in any string it returns: a member's
// email, a display name, an ETag. Whatever scim returns then ends up in a
// plan, a saved plan, a snapshot or a log. So every success body is
// checked before it is decoded, and every string that holds the token,
// however the JSON escapes it, is rewritten with Redacted; response headers
// too. A body that cannot hold it (the common case) is checked with a few
// bytes.Contains calls and passed on untouched.

// tokenForms are what a body holding the token must contain: the token
// itself, or, when the token has characters JSON may escape with a
// backslash (" \ /), its longest run without them, or a \u escape.
type tokenForms struct {
	token []byte
	piece []byte // the longest run of the token without " \ /; nil when there is none to look for
	// escapable: the token holds " \ or /, so that it may appear with
	// those escaped.
	escapable bool
}

func newTokenForms(token string) tokenForms {
	f := tokenForms{token: []byte(token)}
	if !strings.ContainsAny(token, `"\/`) {
		return f
	}
	f.escapable = true
	for _, p := range strings.FieldsFunc(token, func(r rune) bool { return r == '"' || r == '\\' || r == '/' }) {
		if len(p) > len(f.piece) {
			f.piece = []byte(p)
		}
	}
	return f
}

// mayHold tells whether body may hold the token in a JSON string.
func (f tokenForms) mayHold(body []byte) bool {
	switch {
	case len(f.token) == 0:
		return false
	case bytes.Contains(body, f.token):
		return true
	case bytes.Contains(body, []byte(`\u`)):
		// Any character may be escaped as \uXXXX; decode to know.
		return true
	case f.escapable && len(f.piece) > 0:
		return bytes.Contains(body, f.piece)
	case f.escapable:
		return bytes.IndexByte(body, '\\') >= 0
	}
	return false
}

// redactBody returns body with the token replaced by Redacted in every
// string, object names included, or body itself when no string holds it.
// body is valid JSON (checkJSON passed).
func (c *Client) redactBody(body []byte) ([]byte, error) {
	if !c.forms.mayHold(body) {
		return body, nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body), decodeOptions)
	var out bytes.Buffer
	enc := jsontext.NewEncoder(&out, decodeOptions)
	changed := false
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalid(err)
		}
		if tok.Kind() == '"' {
			if s := tok.String(); strings.Contains(s, c.token) {
				tok = jsontext.String(redactString(s, c.token))
				changed = true
				c.nredacted.Add(1)
			}
		}
		if err := enc.WriteToken(tok); err != nil {
			return nil, invalid(err)
		}
	}
	if !changed {
		return body, nil
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// redactString replaces token in s with Redacted. When the token overlaps
// the text around it so that it appears again (a token such as "ED]x"), the
// whole of s goes.
func redactString(s, token string) string {
	if token == "" {
		return s
	}
	r := strings.ReplaceAll(s, token, Redacted)
	if !strings.Contains(r, token) {
		return r
	}
	if !strings.Contains(Redacted, token) {
		return Redacted
	}
	return ""
}

// redactHeader replaces the token in every response header value (an ETag
// becomes a meta.version, which plans show).
func (c *Client) redactHeader(h http.Header) {
	for k, vs := range h {
		for i, v := range vs {
			if strings.Contains(v, c.token) {
				h[k][i] = redactString(v, c.token)
				c.nredacted.Add(1)
			}
		}
	}
}

// Redactions reports how many strings of the server's answers held the
// token and were redacted since the client was made. A caller that must
// not store altered data (a snapshot) refuses when it is not 0.
func (c *Client) Redactions() int64 { return c.nredacted.Load() }
