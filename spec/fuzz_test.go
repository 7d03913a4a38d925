package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the loader and validator. Whatever the
// input, Load must not panic, must explain every refusal with a positioned
// diagnostic, and a spec it accepts must validate again unchanged and hash
// deterministically. Seeds: the examples and the corpus in testdata/fuzz.
func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*/scimsync.yaml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(valid))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, diags, err := LoadBytesWith(LoadOptions{Now: testNow}, "f.yaml", data)
		if err != nil {
			t.Fatalf("LoadBytes returned an error for in-memory input: %v", err)
		}
		if s == nil && !diags.HasErrors() {
			t.Fatalf("no spec and no error")
		}
		for _, d := range diags {
			if d.Pos.File != "f.yaml" || d.Pos.Line < 1 || d.Pos.Col < 1 {
				t.Errorf("diagnostic without a full position: %#v", d)
			}
			if d.Summary == "" || (d.Severity != Error && d.Severity != Warning) {
				t.Errorf("malformed diagnostic: %#v", d)
			}
		}
		if s == nil {
			return
		}
		h := s.Hash()
		if len(h) != 64 || h != s.Hash() {
			t.Fatalf("Hash is not a stable sha256: %q", h)
		}
		if !diags.HasErrors() {
			if again := s.Validate(testNow); again.HasErrors() {
				t.Fatalf("a loaded, defaulted spec no longer validates:\n%v", again)
			}
		}
	})
}
