package tenant_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/tenant"
)

var (
	tierSOnce sync.Once
	tierSSnap *tenant.Snapshot
	tierSFile []byte
)

// tierS returns the S tier (gen, seed 1: 5k users, 25k memberships) and
// its snapshot file, generated once per test binary.
func tierS(tb testing.TB) (*tenant.Snapshot, []byte) {
	tb.Helper()
	tierSOnce.Do(func() {
		snap, err := gen.Generate(gen.S.Params(), 1)
		if err != nil {
			tb.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tenant.EncodeSnapshot(&buf, snap); err != nil {
			tb.Fatal(err)
		}
		tierSSnap, tierSFile = snap, buf.Bytes()
	})
	if tierSSnap == nil {
		tb.Fatal("generating the S tier failed")
	}
	return tierSSnap, tierSFile
}

func writeFile(tb testing.TB, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "tenant.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestSnapshotCodecGenerated: a generated tenant decodes to what was
// encoded, and a snapshot-file target reads the tenant FromSCIM makes of
// the whole resources.
func TestSnapshotCodecGenerated(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		snap, err := gen.Generate(gen.S.Params(), seed)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tenant.EncodeSnapshot(&buf, snap); err != nil { // sorts snap
			t.Fatal(err)
		}
		got, err := tenant.DecodeSnapshot(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(snap, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("seed %d: decoded snapshot (-encoded +decoded):\n%s", seed, diff)
		}
		want, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
		if err != nil {
			t.Fatal(err)
		}
		want.Kind = tenant.KindSnapshot
		tn, err := (&tenant.SnapshotSource{Path: writeFile(t, buf.Bytes())}).Read(context.Background(), tenant.ReadRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, tn, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("seed %d: tenant read from the file (-FromSCIM +read):\n%s", seed, diff)
		}
	}
}

// BenchmarkDecodeSnapshotS decodes the S tier's snapshot file into whole
// resources (DecodeSnapshot: scimsync serve --state, a file target's
// writes).
func BenchmarkDecodeSnapshotS(b *testing.B) {
	_, file := tierS(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := tenant.DecodeSnapshot(bytes.NewReader(file)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotSourceReadS reads the S tier's snapshot file as a plan
// does (target.file): decoded as a stream, only what planning needs kept.
func BenchmarkSnapshotSourceReadS(b *testing.B) {
	_, file := tierS(b)
	src := &tenant.SnapshotSource{Path: writeFile(b, file)}
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := src.Read(context.Background(), tenant.ReadRequest{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotSourceReadM is BenchmarkSnapshotSourceReadS at the M
// tier (about 150 MB). It takes a minute to set up, so it runs only when
// -bench names it: go test ./tenant -run '^$' -bench SnapshotSourceReadM
// -benchmem.
func BenchmarkSnapshotSourceReadM(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "ReadM") {
		b.Skip("runs only when -bench names it")
	}
	_, file := tierM(b)
	src := &tenant.SnapshotSource{Path: writeFile(b, file)}
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := src.Read(context.Background(), tenant.ReadRequest{}); err != nil {
			b.Fatal(err)
		}
	}
}
