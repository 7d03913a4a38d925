package agent

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/spec"
)

// BenchmarkAgentThousandTicksS runs the agent's tick 1,000 times against
// the reference server holding a tier S tenant (5,000 users, 25,000
// memberships), with a spec full of changes so that every run plans real
// drift (issue 18: "the agent's RSS stays flat over 1,000 ticks on tier
// S"). Each tick is what the schedule fires: re-read the spec, read the
// tenant, plan, record, update the metrics and the readiness page's
// history. It reports the Go heap in use and the process's resident set
// after tick 100 and after tick 1,000 (each after a GC), and their growth:
// a leak per run shows as growth; a flat agent grows by noise only.
// BENCHMARKS.md records the figures.
func BenchmarkAgentThousandTicksS(b *testing.B) {
	ticks := 1000
	if s := os.Getenv("SCIMSYNC_BENCH_TICKS"); s != "" {
		ticks, _ = strconv.Atoi(s)
	}
	snap, err := gen.Generate(gen.S.Params(), 1)
	if err != nil {
		b.Fatal(err)
	}
	srv := scimtest.NewTestServer(b, snap, scimtest.Options{})
	s, err := gen.Spec(snap)
	if err != nil {
		b.Fatal(err)
	}
	gen.WithChanges(s)
	s.Target = spec.Target{URL: srv.URL, TokenEnv: refTokenEnv}
	y, err := yaml.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "scimsync.yaml")
	if err := os.WriteFile(path, y, 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := New(Config{
		SpecPaths: []string{path},
		Schedule:  "@every 1h",
		Plan:      refPlan,
		Addr:      "127.0.0.1:0",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var heap100, rss100 float64
	b.ResetTimer()
	for b.Loop() {
		for i := 1; i <= ticks; i++ {
			a.runOnce(ctx)
			if i == 1 {
				if st := a.Status(); st.LastRun == nil || st.LastRun.Result != ResultDrift {
					b.Fatalf("the first tick did not plan drift: %+v", st.LastRun)
				}
			}
			if i == min(100, ticks) {
				heap100, rss100 = memNow()
			}
		}
	}
	heap, rss := memNow()
	b.ReportMetric(float64(ticks), "ticks")
	b.ReportMetric(heap100, "heapMiB@100")
	b.ReportMetric(heap, "heapMiB@end")
	b.ReportMetric(rss100, "rssMiB@100")
	b.ReportMetric(rss, "rssMiB@end")
	b.ReportMetric(heap-heap100, "heapGrowthMiB")
}

// memNow returns the Go heap in use and the process's resident set, in
// MiB, after a GC. The resident set is read from /proc (Linux); elsewhere
// it is 0.
func memNow() (heapMiB, rssMiB float64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapMiB = float64(ms.HeapInuse) / (1 << 20)
	if data, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
				rssMiB = float64(kb) / 1024
			}
		}
	}
	return heapMiB, rssMiB
}
