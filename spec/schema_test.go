package spec

import (
	"encoding/json"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/schemas"
)

// The embedded schema (package schemas): every field carries a description
// and every object refuses unknown fields, so editors can explain and
// autocomplete the whole spec.
func TestSchemaDescribesEveryField(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(schemas.Spec, &doc); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if got := doc["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", got)
	}
	if got := doc["$id"]; got != schemas.SpecURL {
		t.Errorf("$id = %v, want %s", got, schemas.SpecURL)
	}
	var problems []string
	var walk func(path string, s map[string]any)
	walk = func(path string, s map[string]any) {
		if _, ok := s["description"]; !ok {
			problems = append(problems, path+": no description")
		}
		if props, ok := s["properties"].(map[string]any); ok {
			if ap, ok := s["additionalProperties"]; !ok || ap != false {
				problems = append(problems, path+": additionalProperties is not false")
			}
			for name, p := range props {
				walk(path+".properties."+name, p.(map[string]any))
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			if _, ref := items["$ref"]; !ref {
				walk(path+".items", items)
			}
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			walk(path+".additionalProperties", ap)
		}
	}
	walk("#", doc)
	defs, _ := doc["$defs"].(map[string]any)
	if len(defs) == 0 {
		t.Fatal("no $defs")
	}
	for name, d := range defs {
		walk("#/$defs/"+name, d.(map[string]any))
	}
	sort.Strings(problems)
	if diff := cmp.Diff([]string(nil), problems); diff != "" {
		t.Errorf("schema problems (-want +got):\n%s", diff)
	}
}
