package tenant

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeSnapshot feeds arbitrary bytes to the snapshot reader (a
// target.file, or the state of scimsync serve) and what it accepts on to
// the conversion into the model and the server's recomputation of members.
// Nothing may panic; an accepted snapshot re-encodes to a document that is
// accepted again and encodes the same. Seeds: the examples' snapshots and
// the corpus in testdata/fuzz.
func FuzzDecodeSnapshot(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*/tenant.json")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	var small bytes.Buffer
	if err := EncodeSnapshot(&small, sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(small.Bytes())
	f.Add([]byte(`{"schemas":["` + SchemaSnapshot + `"],"Users":{"totalResults":0,"Resources":[]},"Groups":{"totalResults":0,"Resources":[]},"Organizations":{"totalResults":0,"Resources":[]},"Members":{"totalResults":0,"Resources":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSnapshot(bytes.NewReader(data))
		if err != nil {
			if s != nil {
				t.Fatalf("a snapshot and an error: %v", err)
			}
			return
		}
		var once bytes.Buffer
		if err := EncodeSnapshot(&once, s); err != nil {
			t.Fatalf("re-encoding an accepted snapshot: %v", err)
		}
		s2, err := DecodeSnapshot(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("a re-encoded snapshot is refused: %v\n%s", err, once.Bytes())
		}
		var twice bytes.Buffer
		if err := EncodeSnapshot(&twice, s2); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("re-encoding is not stable:\n%s\n%s", once.Bytes(), twice.Bytes())
		}
		tn, err := FromSCIM(s.Users, s.Groups, s.Organizations, s.Members)
		if err != nil {
			return
		}
		if fp := tn.Fingerprint(); fp.Hash != tn.Fingerprint().Hash {
			t.Fatalf("the fingerprint is not deterministic")
		}
		if _, err := Recompute(s, testNow); err != nil {
			return
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatalf("a recomputed snapshot does not encode: %v", err)
		}
	})
}
