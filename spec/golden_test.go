package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/scimsync/scimsync/internal/golden"
)

// The canonical form of each example, and its hash, are pinned: plan files
// record Spec.Hash, so a change here invalidates every saved plan and must
// be deliberate (go test -update rewrites the goldens).
func TestCanonicalGolden(t *testing.T) {
	paths, err := filepath.Glob("../examples/*/scimsync.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p))
		t.Run(name, func(t *testing.T) {
			s, diags, err := LoadWith(LoadOptions{Now: testNow}, p)
			if err != nil || diags.HasErrors() {
				t.Fatalf("err %v, diags %v", err, diags)
			}
			got, err := json.MarshalIndent(struct {
				Hash      string `json:"hash"`
				Canonical *Spec  `json:"canonical"`
			}{s.Hash(), canonical(s)}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			goldenPath := filepath.Join("testdata", "canonical", name+".json")
			if golden.Update() {
				if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(want, got) {
				t.Errorf("canonical form of %s changed; if deliberate, run go test -update\n--- want\n%s\n--- got\n%s", name, want, got)
			}
		})
	}
}
