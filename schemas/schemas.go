// Package schemas embeds the JSON Schema of the scimsync spec, so that the
// binary validates offline and editors can point at the same file.
package schemas

import _ "embed"

// SpecURL is the $id of the spec schema.
const SpecURL = "https://github.com/scimsync/scimsync/schemas/scimsync.schema.json"

// Spec is the JSON Schema (draft 2020-12) of the scimsync spec.
//
//go:embed scimsync.schema.json
var Spec []byte
