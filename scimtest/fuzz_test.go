package scimtest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
)

// FuzzFilter checks that any filter either compiles and evaluates on every
// fixture resource without panicking, or is refused as invalidFilter.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "a"`, `emails[type eq "work" and value co "@x"]`, `not (active eq true) or meta.lastModified gt "2026-01-01T00:00:00Z"`,
		`name.givenName sw "A"`, `emails pr`, `userName eq "a \"b\" \\ c"`, `members[value eq "u"]`, `((userName eq "a"))`, `x eq 1.5e3`,
	} {
		f.Add(s)
	}
	docs := []map[string]any{}
	for _, u := range fixture().Users {
		docs = append(docs, toDoc(u))
	}
	f.Fuzz(func(t *testing.T, raw string) {
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				panic(fmt.Sprintf("compiling filter %q takes over 2s", raw))
			}
		}()
		defer close(done)
		pred, e := compileFilter(raw, userSchema)
		if e != nil {
			if e.status != 400 || e.scimType != typeInvalidFilter {
				t.Fatalf("filter %q: error %v, want 400 invalidFilter", raw, e)
			}
			return
		}
		for _, d := range docs {
			pred(d)
		}
	})
}

// FuzzPatch checks that any single operation on a user either applies,
// leaving a user that still encodes, or fails with a 400 SCIM error.
func FuzzPatch(f *testing.F) {
	for _, s := range [][3]string{
		{"add", "emails", `[{"value":"x@y"}]`},
		{"replace", `emails[value eq "bob@example.gov"].type`, `"home"`},
		{"remove", `emails[type eq "work"]`, ``},
		{"replace", ``, `{"active":"False","name":{"givenName":"B"}}`},
		{"add", "name.familyName", `"B"`},
		{"remove", "members", `[{"value":"u"}]`},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, op, path, value string) {
		var v any
		if value != "" {
			var err error
			if v, err = decodeValue([]byte(value)); err != nil {
				return
			}
		}
		doc := toDoc(fixture().Users[1])
		if e := applyPatch(doc, userSchema, []scim.PatchOp{{Op: op, Path: path, Value: v}}); e != nil {
			if e.status != 400 || e.scimType == "" {
				t.Fatalf("%s %q %s: error %v, want 400 with a scimType", op, path, value, e)
			}
			return
		}
		if _, err := json.Marshal(doc); err != nil {
			t.Fatalf("%s %q %s: the patched user does not encode: %v", op, path, value, err)
		}
	})
}
