package canonjson

import (
	"bytes"
	"encoding/json"
	"testing"
)

// roundTrip is the form hashes used before: encoded, decoded into any
// with numbers kept, encoded again.
func roundTrip(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var g any
	if err := dec.Decode(&g); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type op struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

func TestCanonicalMatchesTheRoundTripOnPlainValues(t *testing.T) {
	// What plans and PATCH operations hold: ASCII names, integers, dates,
	// a percentage. Here the canonical form is the old one byte for byte,
	// so hashes keep their values.
	for _, v := range []any{
		[]op{{Op: "replace", Path: "seats", Value: map[string]int{"standard": 901, "premium": 60}}},
		[]op{{Op: "replace", Path: "mappings", Value: []map[string]string{{"group": "g1", "role": "owner", "seatTier": "premium"}}}},
		map[string]any{"format_version": "1", "summary": map[string]int{"add": 3, "remove": 4}, "percent": 14.7, "until": "2027-03-31", "ok": true, "none": nil},
	} {
		got, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if want := roundTrip(t, v); !bytes.Equal(got, want) {
			t.Errorf("canonical %s\nround trip %s", got, want)
		}
	}
}

func TestCanonicalForm(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b": 1, "a": [true, null, "x"]}`, `{"a":[true,null,"x"],"b":1}`},
		// encoding/json's HTML escapes are undone: one form per string.
		{`{"email":"a\u003cb\u003e\u0026c@x.gov"}`, `{"email":"a<b>&c@x.gov"}`},
		{`{"n": 1.50, "e": 1E3, "big": 12345678901234567890}`, `{"big":12345678901234567890,"e":1000,"n":1.5}`},
		// Keys sort by UTF-16 code units (RFC 8785 §3.2.3).
		{`{"\ud83d\ude00":1,"\ufb01":2}`, `{"😀":1,"ﬁ":2}`},
	}
	for _, tt := range tests {
		got, err := Canonical([]byte(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Errorf("Canonical(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if _, err := Canonical([]byte(`{"a":1,"a":2}`)); err == nil {
		t.Error("a repeated name is accepted")
	}
	if _, err := Canonical([]byte(`{"a":`)); err == nil {
		t.Error("truncated JSON is accepted")
	}
}

func TestSum256(t *testing.T) {
	a, err := Sum256(map[string]int{"x": 1, "y": 2})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Sum256(json.RawMessage(`{ "y": 2, "x": 1.0 }`))
	if a != b || len(a) != 64 {
		t.Errorf("Sum256 = %s and %s, want one hash of the same value", a, b)
	}
}
