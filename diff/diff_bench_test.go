package diff_test

import (
	"io"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

type benchData struct {
	tenant    *tenant.Tenant
	converged *spec.Spec // the tenant's own configuration: no changes
	changed   *spec.Spec // gen.WithChanges: full mode, hq re-tiered
	plan      *diff.Plan // the changed spec's plan
}

var (
	benchOnce sync.Once
	bench     *benchData
)

// tierM returns the M tier (gen, seed 1), its specs and the plan of the
// changed one, built once per test binary and only when a benchmark asks.
func tierM(b *testing.B) *benchData {
	b.Helper()
	benchOnce.Do(func() {
		snap, err := gen.Generate(gen.M.Params(), 1)
		if err != nil {
			b.Fatal(err)
		}
		d := &benchData{}
		if d.tenant, err = tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members); err != nil {
			b.Fatal(err)
		}
		load := func(change bool) *spec.Spec {
			s, err := gen.Spec(snap)
			if err != nil {
				b.Fatal(err)
			}
			if change {
				gen.WithChanges(s)
			}
			s.Target = spec.Target{File: "tenant.json"}
			y, err := yaml.Marshal(s)
			if err != nil {
				b.Fatal(err)
			}
			loaded, diags, err := spec.LoadBytes("bench.yaml", y)
			if err != nil || diags.HasErrors() {
				b.Fatalf("loading the generated spec: %v %v", err, diags)
			}
			return loaded
		}
		d.converged, d.changed = load(false), load(true)
		if d.plan, err = diff.Compute(d.changed, d.tenant, gen.Epoch); err != nil {
			b.Fatal(err)
		}
		bench = d
	})
	if bench == nil {
		b.Fatal("generating the M tier failed")
	}
	return bench
}

func benchCompute(b *testing.B, s func(*benchData) *spec.Spec) {
	d := tierM(b)
	b.ReportAllocs()
	var p *diff.Plan
	for b.Loop() {
		var err error
		if p, err = diff.Compute(s(d), d.tenant, gen.Epoch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(p.Members)), "rows")
}

// BenchmarkComputeM plans the M tier's own configuration: no changes, but
// the readiness report for full provisioning still lists every jit and
// manual member.
func BenchmarkComputeM(b *testing.B) {
	benchCompute(b, func(d *benchData) *spec.Spec { return d.converged })
}

// BenchmarkComputeChangesM plans gen.WithChanges on the M tier: about 60k
// changes and 5k removals.
func BenchmarkComputeChangesM(b *testing.B) {
	benchCompute(b, func(d *benchData) *spec.Spec { return d.changed })
}

func benchRender(b *testing.B, render func(io.Writer, *diff.Plan) error) {
	d := tierM(b)
	b.ReportAllocs()
	var n countWriter
	for b.Loop() {
		n = 0
		if err := render(&n, d.plan); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(n))
}

type countWriter int

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }

// BenchmarkRenderTextM renders the plan of BenchmarkComputeChangesM as text.
func BenchmarkRenderTextM(b *testing.B) {
	benchRender(b, func(w io.Writer, p *diff.Plan) error { return diff.RenderText(w, p, diff.TextOptions{}) })
}

// BenchmarkRenderJSONM renders the same plan as JSON.
func BenchmarkRenderJSONM(b *testing.B) { benchRender(b, diff.RenderJSON) }

// BenchmarkRenderMarkdownM renders the same plan as Markdown.
func BenchmarkRenderMarkdownM(b *testing.B) { benchRender(b, diff.RenderMarkdown) }
