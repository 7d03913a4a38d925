package tenant

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"unicode"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
)

// repeatsNames reports whether some object of the JSON text data holds two
// names that are equal under strings.EqualFold, or whether data is not
// JSON that jsontext can walk.
func repeatsNames(data []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	var stack []map[string]bool
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return false
		}
		switch tok.Kind() {
		case '{':
			stack = append(stack, map[string]bool{})
			continue
		case '}':
			stack = stack[:len(stack)-1]
			continue
		}
		if tok.Kind() == '"' && len(stack) > 0 && dec.StackDepth() > 0 {
			if k, n := dec.StackIndex(dec.StackDepth()); k == '{' && n%2 == 1 {
				key := foldKey(tok.String())
				if stack[len(stack)-1][key] {
					return true
				}
				stack[len(stack)-1][key] = true
			}
		}
	}
}

// foldKey maps s to a key that is equal for names strings.EqualFold
// equates.
func foldKey(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = append(out, r)
	}
	return string(out)
}

// FuzzDecodeSnapshot feeds arbitrary bytes to the snapshot reader (a
// target.file, or the state of scimsync serve) and what it accepts on to
// the conversion into the model and the server's recomputation of members.
// Nothing may panic; an accepted snapshot re-encodes to a document that is
// accepted again and encodes the same. The streamed decoder accepts what
// encoding/json accepted (decodeSnapshotV1) and decodes the same, unless
// an object repeats a name (where encoding/json merged arrays element by
// element), and the plan's slim read (decodeSnapshotTenant) gives the
// tenant FromSCIM makes of the whole resources, or the same error. Seeds:
// the examples' snapshots and the corpus in testdata/fuzz.
func FuzzDecodeSnapshot(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*/tenant.json")
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// The fuzzing engine makes no progress from seeds of 50–100 KB
		// (0 executions a second): when fuzzing, the examples are left
		// out; TestSnapshotCodecMatchesEncodingJSONOnExamples checks them.
		paths = nil
	}
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
	f.Add([]byte(`{"schemas":["` + SchemaSnapshot + `"],"users":{"totalResults":1,"Resources":[{"ID":"u1","userName":"a@x.gov","Active":"True","_id":"x","emails":[{"value":"a@x.gov","primary":true}]}]},"Groups":{"totalResults":1,"Resources":[{"id":"g","members":[{"value":"u1","type":"user"}]}]},"Organizations":{"totalResults":1,"Resources":[{"id":"p","name":"a","mode":"jit"}]},"Members":{"totalResults":0,"Resources":null}}`))
	f.Fuzz(checkSnapshotDoc)
}

// checkSnapshotDoc is FuzzDecodeSnapshot's check of one input.
func checkSnapshotDoc(t *testing.T, data []byte) {
	{
		s, err := DecodeSnapshot(bytes.NewReader(data))
		tn, decoded, slimErr := decodeSnapshotTenant(bytes.NewReader(data))
		if (err == nil) != decoded {
			t.Fatalf("DecodeSnapshot: err = %v; the slim read: decoded %v, err = %v", err, decoded, slimErr)
		}
		if !repeatsNames(data) {
			want, wantErr := decodeSnapshotV1(bytes.NewReader(data))
			if (wantErr == nil) != (err == nil) {
				t.Fatalf("DecodeSnapshot: err = %v; encoding/json: err = %v", err, wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(want, s, equateEmpty); diff != "" {
					t.Fatalf("DecodeSnapshot differs from encoding/json (-want +got):\n%s", diff)
				}
			}
		}
		if err != nil {
			if s != nil {
				t.Fatalf("a snapshot and an error: %v", err)
			}
			return
		}
		want, wantErr := FromSCIM(s.Users, s.Groups, s.Organizations, s.Members)
		switch {
		case (wantErr == nil) != (slimErr == nil):
			t.Fatalf("slim read: err = %v; FromSCIM: err = %v", slimErr, wantErr)
		case wantErr != nil && wantErr.Error() != slimErr.Error():
			t.Fatalf("slim read: err = %v; FromSCIM: err = %v", slimErr, wantErr)
		case wantErr == nil:
			if diff := cmp.Diff(want, tn, equateEmpty); diff != "" {
				t.Fatalf("slim read differs from FromSCIM (-want +got):\n%s", diff)
			}
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
		if wantErr != nil {
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
	}
}
