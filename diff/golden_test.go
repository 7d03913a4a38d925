package diff

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimsync/scimsync/internal/golden"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// checkGolden compares got with testdata/golden/name, or rewrites the file
// with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if golden.Update() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./diff -run %s -update to create it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); run go test ./diff -update if the change is intended:\n%s", path, diff)
	}
}

// renderAll renders p in every form and checks each against its golden.
func renderAll(t *testing.T, name string, p *Plan) {
	t.Helper()
	var text, color, js, md bytes.Buffer
	if err := RenderText(&text, p, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := RenderText(&color, p, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if err := RenderJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	if err := RenderMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, name+".txt", text.Bytes())
	checkGolden(t, name+".json", js.Bytes())
	checkGolden(t, name+".md", md.Bytes())
	if bytes.Contains(text.Bytes(), []byte("\x1b")) || bytes.Contains(md.Bytes(), []byte("\x1b")) || bytes.Contains(js.Bytes(), []byte("\x1b")) {
		t.Errorf("escape sequences without Color")
	}
	if p.HasChanges() && !bytes.Contains(color.Bytes(), []byte(ansiBold)) {
		t.Errorf("Color: true printed no colour")
	}
	if got, want := stripANSI(color.String()), text.String(); got != want {
		t.Errorf("coloured text differs from plain text beyond colours:\n%s", cmp.Diff(want, got))
	}
}

func stripANSI(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestGoldenScenarios(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			p, err := Compute(sc.load(t), sc.tenant, scenarioNow)
			if err != nil {
				t.Fatal(err)
			}
			renderAll(t, sc.name, p)
		})
	}
}

// TestGoldenExamples plans every example in examples/ on its snapshot.
func TestGoldenExamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "examples", "*", "scimsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no examples found")
	}
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			s, diags, err := spec.LoadWith(spec.LoadOptions{Now: scenarioNow}, path)
			if err != nil {
				t.Fatal(err)
			}
			if diags.HasErrors() {
				t.Fatalf("%s:\n%v", path, diags.Errors())
			}
			if s.Target.File == "" {
				t.Skipf("%s has no target.file", path)
			}
			snap := filepath.Join(filepath.Dir(path), s.Target.File)
			if _, err := os.Stat(snap); os.IsNotExist(err) {
				t.Skipf("%s: no snapshot %s yet", path, snap)
			}
			src := &tenant.SnapshotSource{Path: snap}
			tn, err := src.Read(context.Background(), tenant.ReadRequest{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compute(s, tn, scenarioNow)
			if err != nil {
				t.Fatal(err)
			}
			renderAll(t, "example-"+name, p)
		})
	}
}

// TestGoldenExampleExpiring plans examples/staged-to-full on 2027-03-25,
// six days before the auditor's exception ends (2027-03-31): every format
// shows it under Expiring (issue 15).
func TestGoldenExampleExpiring(t *testing.T) {
	now := time.Date(2027, 3, 25, 9, 0, 0, 0, time.UTC)
	path := filepath.Join("..", "examples", "staged-to-full", "scimsync.yaml")
	s, diags, err := spec.LoadWith(spec.LoadOptions{Now: now}, path)
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		t.Fatalf("%s:\n%v", path, diags.Errors())
	}
	src := &tenant.SnapshotSource{Path: filepath.Join(filepath.Dir(path), s.Target.File)}
	tn, err := src.Read(context.Background(), tenant.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compute(s, tn, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Expiring) != 1 || p.Expiring[0].Email != "auditor@example.gov" || p.Expiring[0].DaysLeft != 6 {
		t.Errorf("Expiring = %+v, want the auditor's, 6 days left", p.Expiring)
	}
	renderAll(t, "example-staged-to-full-expiring", p)
}
