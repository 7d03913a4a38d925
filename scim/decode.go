package scim

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// The client decodes every response with the JSON v2 implementation
// (github.com/go-json-experiment/json, the module that became Go 1.27's
// encoding/json/v2): it validates and decodes in a single pass, where
// encoding/json checks a whole body before decoding it, and a list page of
// 1000 users decodes about five times faster (BENCHMARKS.md, issue 8).
//
// decodeOptions keep what servers in the field need and what encoding/json
// did:
//   - attribute names match case-insensitively (RFC 7643 §2.1), an exact
//     match first, and nothing looser: JSON v2's case-insensitive matching
//     also ignores "_" and "-", so that "_id" would be read as id and
//     "act_ive" as active, the last one winning (issue 14).
//     MatchCaseSensitiveDelimiter restricts it to strings.EqualFold, as in
//     encoding/json;
//   - a name repeated in an object is not an error, and the last one wins.
//     An array given twice is replaced, not merged element by element;
//   - invalid UTF-8 in a string becomes U+FFFD instead of failing the page.
//
// Unknown attributes are ignored, and null leaves a value at its zero.
var decodeOptions = json.JoinOptions(
	json.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// unmarshal decodes one JSON value in data into v, with decodeOptions.
func unmarshal(data []byte, v any) error {
	return json.Unmarshal(data, v, decodeOptions)
}

// checkJSON rejects a success body that is not one JSON value; a value cut
// short is an incomplete read. An empty body passes: a 204, or a 200 that
// the caller decides about.
func checkJSON(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body), decodeOptions)
	err := dec.SkipValue()
	if err == nil {
		if _, err = dec.ReadToken(); err == io.EOF {
			return nil
		}
		err = fmt.Errorf("data after the JSON value at offset %d", dec.InputOffset())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: JSON body ends after %d bytes", ErrIncompleteRead, len(body))
	}
	return invalid(fmt.Errorf("decoding response body: %w", err))
}

// UnmarshalJSONFrom decodes a SCIM boolean from a JSON v2 decoder, as
// UnmarshalJSON does, without first copying the value.
func (b *Bool) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 't', 'f', 'n':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*b = tok.Kind() == 't'
		return nil
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	return b.UnmarshalJSON(v)
}
