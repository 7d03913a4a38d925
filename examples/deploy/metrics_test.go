package deploy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/internal/testtool"
)

// exportedMetrics reads the names the agent registers from
// agent/metrics.go: every Name in a prometheus.New…(…Opts{…}) call, with
// a histogram's _bucket, _sum and _count series.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../../agent/metrics.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !strings.HasPrefix(sel.Sel.Name, "New") {
			return true
		}
		lit, ok := call.Args[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if k, _ := kv.Key.(*ast.Ident); !ok || k == nil || k.Name != "Name" {
				continue
			}
			bl, ok := kv.Value.(*ast.BasicLit)
			if !ok {
				continue
			}
			name, err := strconv.Unquote(bl.Value)
			if err != nil {
				t.Fatal(err)
			}
			names[name] = true
			if strings.HasPrefix(sel.Sel.Name, "NewHistogram") {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[name+s] = true
				}
			}
		}
		return true
	})
	if len(names) < 10 || !names["scimsync_drift"] {
		t.Fatalf("read only %d metric names from agent/metrics.go: %v", len(names), names)
	}
	return names
}

var metricRE = regexp.MustCompile(`\bscimsync_[a-z0-9_]+`)

// alertRules reads the rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

const rulesPath = "prometheus/scimsync-alerts.yaml"

func readRules(t *testing.T) ruleFile {
	t.Helper()
	data, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("%s: %v", rulesPath, err)
	}
	return rf
}

func TestAlertRules(t *testing.T) {
	exported := exportedMetrics(t)
	rf := readRules(t)
	alerts := map[string]string{}
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("a group without a name or rules: %+v", g)
		}
		for _, r := range g.Rules {
			if r.Alert == "" || strings.TrimSpace(r.Expr) == "" {
				t.Errorf("a rule without alert or expr: %+v", r)
				continue
			}
			if _, dup := alerts[r.Alert]; dup {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			alerts[r.Alert] = r.Expr
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: wants a severity label and summary and description annotations", r.Alert)
			}
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("%s: unbalanced parentheses in %q", r.Alert, r.Expr)
			}
			for _, m := range metricRE.FindAllString(r.Expr, -1) {
				if !exported[m] {
					t.Errorf("%s: %s is not a metric the agent exports", r.Alert, m)
				}
			}
		}
	}
	// What the recipes promise to alert on, each by the metric that says it.
	for alert, metric := range map[string]string{
		"ScimsyncDriftPersists":          "scimsync_drift_detected",
		"ScimsyncWouldRemoveWhileStaged": "scimsync_would_remove",
		"ScimsyncRunsFailing":            "scimsync_runs_total",
		"ScimsyncNoSuccessfulRun":        "scimsync_last_success_timestamp_seconds",
		"ScimsyncExceptionsExpiring":     "scimsync_exceptions_expiring",
		"ScimsyncSeatOvercommit":         "scimsync_seats_purchased",
		"ScimsyncAutoApplyStopped":       "scimsync_auto_apply_stopped",
		"ScimsyncAgentDown":              "up{",
		"ScimsyncAgentAbsent":            "absent(scimsync_last_run_timestamp_seconds",
		"ScimsyncAgentStalled":           "scimsync_last_run_timestamp_seconds",
	} {
		if expr, ok := alerts[alert]; !ok || !strings.Contains(expr, metric) {
			t.Errorf("alert %s missing or not on %s: %q", alert, metric, expr)
		}
	}
	if !strings.Contains(alerts["ScimsyncWouldRemoveWhileStaged"], `scimsync_mode{mode="staged"}`) {
		t.Errorf("ScimsyncWouldRemoveWhileStaged does not require staged mode")
	}
}

// TestAlertRulesPromtool runs promtool check rules when promtool is on
// PATH (or $PROMTOOL): .ci/run does not build it (see the README).
func TestAlertRulesPromtool(t *testing.T) {
	bin := testtool.Find(t, "PROMTOOL", ".ci/run builds it: go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0", "promtool")
	out, err := exec.Command(bin, "check", "rules", rulesPath).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func TestGrafanaDashboard(t *testing.T) {
	exported := exportedMetrics(t)
	data, err := os.ReadFile("grafana/scimsync-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Schema     int    `json:"schemaVersion"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int                      `json:"id"`
			Title   string                   `json:"title"`
			Type    string                   `json:"type"`
			GridPos struct{ X, Y, W, H int } `json:"gridPos"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || dash.Schema == 0 {
		t.Errorf("title %q uid %q schemaVersion %d", dash.Title, dash.UID, dash.Schema)
	}
	vars := map[string]bool{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
	}
	if !vars["datasource"] || !vars["instance"] {
		t.Errorf("templating variables %v, want datasource and instance", vars)
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if p.Title == "" || p.Type == "" || len(p.Targets) == 0 || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %d %q: wants a title, type, targets and a grid position within 24 columns", p.ID, p.Title)
		}
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			if tg.RefID == "" || strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") {
				t.Errorf("panel %q: target %+v", p.Title, tg)
			}
			for _, m := range metricRE.FindAllString(tg.Expr, -1) {
				used[m] = true
				if !exported[m] {
					t.Errorf("panel %q: %s is not a metric the agent exports", p.Title, m)
				}
			}
			for _, v := range regexp.MustCompile(`\$([a-z_]+)`).FindAllStringSubmatch(tg.Expr, -1) {
				if !vars[v[1]] && v[1] != "__rate_interval" {
					t.Errorf("panel %q: $%s is not a dashboard variable", p.Title, v[1])
				}
			}
		}
	}
	// Every per-org metric of the agent has a panel.
	for _, m := range []string{"scimsync_drift", "scimsync_would_remove", "scimsync_members", "scimsync_seats_used", "scimsync_seats_purchased", "scimsync_exceptions_expiring", "scimsync_runs_total", "scimsync_run_duration_seconds_bucket"} {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for m := range used {
			if !yield(m) {
				return
			}
		}
	})
	t.Logf("dashboard metrics: %v", names)
}
