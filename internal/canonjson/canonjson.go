// Package canonjson encodes and hashes values in the canonical JSON form
// of RFC 8785 (JCS), through jsontext's Value.Canonicalize: object members
// sorted, no white space, numbers and strings in their one shortest form.
// It replaces hashing a value by encoding it, decoding that into any and
// encoding again, which sorted keys only and kept encoding/json's HTML
// escapes.
package canonjson

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/go-json-experiment/json/jsontext"
)

// Canonical returns the JSON text data in canonical form. Integers are
// kept exactly as written, even beyond 2⁵³, where JCS would round them
// through a float64.
func Canonical(data []byte) ([]byte, error) {
	v := jsontext.Value(bytes.Clone(data))
	if err := v.Canonicalize(jsontext.CanonicalizeRawInts(false)); err != nil {
		return nil, fmt.Errorf("canonicalizing JSON: %w", err)
	}
	return v, nil
}

// Marshal encodes v with encoding/json (so its types' tags and methods
// apply) and returns it in canonical form.
func Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	return Canonical(b)
}

// Sum256 is the sha256, in hex, of v in canonical form.
func Sum256(v any) (string, error) {
	b, err := Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
