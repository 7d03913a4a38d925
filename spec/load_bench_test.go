package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The benchmarks below time `validate` (LoadWith: read, parse, schema,
// semantics, policy) on the worst inputs Load accepts or must refuse: at
// the size and value caps, with an error on the last line, and split over
// a directory. Issue 14 #7 asks for each in at most 1 s; BENCHMARKS.md
// records the figures. The inputs are generated, never committed.

// bigSpec is a valid spec of about size bytes: many child orgs, each with
// a few mappings, and a long protectedUsers list.
func bigSpec(size int) string {
	var b strings.Builder
	b.WriteString("version: 1\ntarget:\n  file: tenant.json\nparent:\n  name: agency\n  loginDomains: [example.gov]\n  seatTiers: [standard, premium]\n  mode: staged\norganizations:\n")
	var users strings.Builder
	users.WriteString("policy:\n  maxRemovals: 25\n  protectedUsers:\n")
	for i := 0; b.Len()+users.Len() < size-400; i++ {
		fmt.Fprintf(&b, "  - name: org-%05d\n    seats: {standard: 900, premium: 60}\n    mappings:\n      - {group: g-%05d-admins, role: admin, seatTier: premium}\n      - {group: g-%05d-users, role: member, seatTier: standard}\n", i, i, i)
		fmt.Fprintf(&users, "    - person.%05d@example.gov\n", i)
	}
	b.WriteString(users.String())
	return b.String()
}

// manyValues is a valid spec holding about n YAML values, nearly all of
// them in one flow sequence of protected users.
func manyValues(n int) string {
	var b strings.Builder
	b.WriteString("version: 1\ntarget:\n  file: tenant.json\nparent:\n  name: agency\n  seatTiers: [standard]\norganizations:\n  - name: hq\n    mappings:\n      - {group: g, role: member, seatTier: standard}\npolicy:\n  protectedUsers: [")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "u%d@example.gov", i)
	}
	b.WriteString("]\n")
	return b.String()
}

func benchLoad(b *testing.B, paths ...string) {
	b.Helper()
	var size int64
	for _, p := range paths {
		filepath.WalkDir(p, func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil {
					size += fi.Size()
				}
			}
			return nil
		})
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := LoadWith(LoadOptions{}, paths...); err != nil {
			b.Fatal(err)
		}
	}
}

func writeSpec(b *testing.B, dir, name, body string) string {
	b.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkValidateAtSizeCap: a valid spec just under MaxSpecSize.
func BenchmarkValidateAtSizeCap(b *testing.B) {
	body := bigSpec(MaxSpecSize - 1024)
	p := writeSpec(b, b.TempDir(), "scimsync.yaml", body)
	if _, diags, err := Load(p); err != nil || diags.HasErrors() {
		b.Fatalf("the generated spec is not valid: %v %v", err, diags)
	}
	benchLoad(b, p)
}

// BenchmarkValidateSyntaxErrorOnLastLine: the same spec, broken on its
// last line (the input that once made the loader parse 400 times).
func BenchmarkValidateSyntaxErrorOnLastLine(b *testing.B) {
	body := bigSpec(MaxSpecSize-1024) + "  - [unclosed\n"
	p := writeSpec(b, b.TempDir(), "scimsync.yaml", body)
	if _, diags, err := Load(p); err != nil || !diags.HasErrors() {
		b.Fatalf("the broken spec was accepted: %v", err)
	}
	benchLoad(b, p)
}

// BenchmarkValidateValueCap: a spec of nearly MaxSpecValues values.
func BenchmarkValidateValueCap(b *testing.B) {
	body := manyValues(MaxSpecValues - 100)
	if len(body) > MaxSpecSize {
		body = manyValues((MaxSpecValues - 100) * MaxSpecSize / len(body) * 9 / 10)
	}
	p := writeSpec(b, b.TempDir(), "scimsync.yaml", body)
	if _, _, err := Load(p); err != nil {
		b.Fatal(err)
	}
	benchLoad(b, p)
}

// BenchmarkValidateDirectoryOverCap: four files that together pass
// MaxSpecSize, refused once the total is reached.
func BenchmarkValidateDirectoryOverCap(b *testing.B) {
	dir := b.TempDir()
	chunk := strings.Repeat("# padding to reach the directory cap\n", MaxSpecSize/3/37)
	writeSpec(b, dir, "00-base.yaml", "version: 1\ntarget:\n  file: tenant.json\n"+chunk)
	for i := 1; i < 4; i++ {
		writeSpec(b, dir, fmt.Sprintf("%02d-more.yaml", i), chunk)
	}
	if _, diags, err := Load(dir); err != nil || !diags.HasErrors() {
		b.Fatalf("a directory over the cap was accepted: %v", err)
	}
	benchLoad(b, dir)
}
