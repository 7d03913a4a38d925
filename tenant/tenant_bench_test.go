package tenant_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/tenant"
)

var (
	benchOnce sync.Once
	benchSnap *tenant.Snapshot
	benchFile []byte
)

// tierM returns the M tier (gen, seed 1) and its snapshot file, generated
// once per test binary and only when a benchmark asks for them.
func tierM(b *testing.B) (*tenant.Snapshot, []byte) {
	b.Helper()
	benchOnce.Do(func() {
		snap, err := gen.Generate(gen.M.Params(), 1)
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := tenant.EncodeSnapshot(&buf, snap); err != nil {
			b.Fatal(err)
		}
		benchSnap, benchFile = snap, buf.Bytes()
	})
	if benchSnap == nil {
		b.Fatal("generating the M tier failed")
	}
	return benchSnap, benchFile
}

// BenchmarkDecodeSnapshotM decodes the M tier's snapshot file (about
// 150 MB: 100k users, 2k groups with 1M members, 100k members).
func BenchmarkDecodeSnapshotM(b *testing.B) {
	_, file := tierM(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if _, err := tenant.DecodeSnapshot(bytes.NewReader(file)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromSCIMM converts the M tier from wire resources to the model.
func BenchmarkFromSCIMM(b *testing.B) {
	snap, _ := tierM(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFingerprintM hashes the M tier, every group's members read.
func BenchmarkFingerprintM(b *testing.B) {
	snap, _ := tierM(b)
	t, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		t.Fingerprint()
	}
}
