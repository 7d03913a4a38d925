package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/internal/testtool"
)

// The GitHub Action (action.yml at the repository root) and the workflow
// that uses it.

const actionPath = "../../action.yml"

type actionFile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Inputs      map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			Name  string            `yaml:"name"`
			ID    string            `yaml:"id"`
			Shell string            `yaml:"shell"`
			Env   map[string]string `yaml:"env"`
			Run   string            `yaml:"run"`
			Uses  string            `yaml:"uses"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	data, err := os.ReadFile(actionPath)
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(false)
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

func TestActionIsConsistent(t *testing.T) {
	a := readAction(t)
	if a.Name == "" || a.Description == "" || a.Runs.Using != "composite" {
		t.Fatalf("action.yml: name %q, description %q, runs.using %q: want a composite action", a.Name, a.Description, a.Runs.Using)
	}
	for _, in := range []string{"spec", "command", "args"} {
		if _, ok := a.Inputs[in]; !ok {
			t.Errorf("no input %s", in)
		}
	}
	for _, out := range []string{"exit-code", "summary", "plan-file"} {
		if _, ok := a.Outputs[out]; !ok {
			t.Errorf("no output %s", out)
		}
	}
	steps := map[string]string{} // id → script
	var all strings.Builder
	for _, s := range a.Runs.Steps {
		if s.Run != "" && s.Shell != "bash" {
			t.Errorf("step %q: a composite run step needs shell: bash", s.Name)
		}
		if s.ID != "" {
			steps[s.ID] = s.Run
		}
		all.WriteString(s.Name + "\n" + s.Run + "\n")
		for _, v := range s.Env {
			all.WriteString(v + "\n")
		}
		// Inputs reach scripts through env, never spliced into the script.
		if m := exprRE.FindString(s.Run); m != "" {
			t.Errorf("step %q: the script holds %s; pass it through env", s.Name, m)
		}
	}
	// Every ${{ inputs.x }} names an input.
	for _, m := range exprRE.FindAllStringSubmatch(all.String(), -1) {
		if name, ok := strings.CutPrefix(m[1], "inputs."); ok {
			if _, ok := a.Inputs[name]; !ok {
				t.Errorf("action.yml uses ${{ inputs.%s }}, which is not an input", name)
			}
		}
	}
	// Every output is set by the step it names.
	for name, o := range a.Outputs {
		m := regexp.MustCompile(`^\$\{\{ steps\.([a-z-]+)\.outputs\.([a-z-]+) \}\}$`).FindStringSubmatch(o.Value)
		if m == nil || m[2] != name {
			t.Errorf("output %s: value %q, want ${{ steps.<id>.outputs.%s }}", name, o.Value, name)
			continue
		}
		script, ok := steps[m[1]]
		if !ok {
			t.Errorf("output %s: no step %s", name, m[1])
			continue
		}
		if !strings.Contains(script, `echo "`+name+`=`) && !strings.Contains(script, `echo "`+name+`<<`) {
			t.Errorf("output %s: step %s never writes it to $GITHUB_OUTPUT", name, m[1])
		}
	}
}

// workflowUsesOfAction finds the steps of a workflow that use the scimsync
// action: their ids and with: keys.
func TestWorkflowUsesTheAction(t *testing.T) {
	a := readAction(t)
	const wf = "github-actions/scimsync.yml"
	data, err := os.ReadFile(wf)
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		Jobs map[string]struct {
			Steps []struct {
				ID   string            `yaml:"id"`
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	commands := map[string]bool{}
	for job, j := range w.Jobs {
		for _, s := range j.Steps {
			if s.Uses != "./" && !strings.HasPrefix(s.Uses, "scimsync/scimsync@") {
				continue
			}
			if s.ID == "" {
				t.Errorf("job %s: the scimsync step has no id, so its outputs cannot be read", job)
			}
			ids[s.ID] = true
			for k := range s.With {
				if _, ok := a.Inputs[k]; !ok {
					t.Errorf("job %s: with: %s is not an input of action.yml", job, k)
				}
			}
			commands[s.With["command"]] = true
		}
	}
	if !commands["plan"] || !commands["apply"] {
		t.Errorf("the workflow uses the action for %v, want plan and apply", commands)
	}
	for _, m := range regexp.MustCompile(`steps\.([a-z-]+)\.outputs\.([a-z-]+)`).FindAllStringSubmatch(string(data), -1) {
		if !ids[m[1]] {
			continue // another step's output
		}
		if _, ok := a.Outputs[m[2]]; !ok {
			t.Errorf("the workflow reads steps.%s.outputs.%s, which action.yml does not have", m[1], m[2])
		}
	}
	if len(ids) < 2 {
		t.Errorf("found %d steps using the action", len(ids))
	}
}

// actionRun runs the action's shell steps as the runner would: each step's
// script with bash -e (GitHub's bash shell is bash --noprofile --norc -eo
// pipefail {0}), inputs in env, fake GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and
// GITHUB_PATH, and the test's binary first on PATH. It returns the outputs,
// the job summary and whether every step succeeded.
func actionRun(t *testing.T, dir string, inputs map[string]string) (outputs map[string]string, summary string, ok bool) {
	t.Helper()
	a := readAction(t)
	tmp := t.TempDir()
	files := map[string]string{}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH"} {
		files[k] = filepath.Join(tmp, k)
		if err := os.WriteFile(files[k], nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, _ := filepath.Abs("../..")
	ok = true
	for _, s := range a.Runs.Steps {
		if s.Run == "" {
			continue
		}
		script := filepath.Join(tmp, "step.sh")
		if err := os.WriteFile(script, []byte(s.Run), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Dir = dir
		env := append(os.Environ(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"),
			"RUNNER_TEMP="+tmp, "NO_COLOR=1")
		for k, p := range files {
			env = append(env, k+"="+p)
		}
		for k, v := range s.Env {
			m := exprRE.FindStringSubmatch(v)
			switch {
			case m == nil:
			case strings.HasPrefix(m[1], "inputs."):
				name := strings.TrimPrefix(m[1], "inputs.")
				val, set := inputs[name]
				if !set && a.Inputs[name].Default != nil {
					val = *a.Inputs[name].Default
				}
				v = val
			case m[1] == "github.action_path":
				v = root
			default:
				t.Fatalf("step %q: env %s=%s: the test does not know this expression", s.Name, k, v)
			}
			env = append(env, k+"="+v)
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		t.Logf("step %q:\n%s", s.Name, out)
		if err != nil {
			ok = false
			break
		}
	}
	outputs = parseGitHubOutput(t, files["GITHUB_OUTPUT"])
	b, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	return outputs, string(b), ok
}

// parseGitHubOutput reads name=value and name<<DELIM … DELIM entries.
func parseGitHubOutput(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			for sc.Scan() && sc.Text() != delim {
				val = append(val, sc.Text())
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT line %q is neither name=value nor name<<delimiter", line)
		}
		out[name] = val
	}
	return out
}

func TestActionStepsRunAgainstTheExample(t *testing.T) {
	testtool.Find(t, "", "apt-get install bash", "bash")
	dir := t.TempDir()
	for _, f := range []string{"scimsync.yaml", "tenant.json"} {
		data, err := os.ReadFile(filepath.Join("..", "multi-org", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// plan: changes pending, exit code 2, the step still succeeds.
	out, summary, ok := actionRun(t, dir, map[string]string{"command": "plan"})
	if !ok {
		t.Fatal("the plan steps failed")
	}
	want := map[string]string{
		"exit-code": "2",
		"plan-file": "scimsync-plan.json",
		"summary":   "Plan: 0 to add, 10 to change, 0 to remove; 3 configuration changes (regional-east, regional-west).",
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("plan output %s = %q, want %q", k, out[k], v)
		}
	}
	if !strings.HasPrefix(summary, "### scimsync plan: example\\-agency") || !strings.Contains(summary, "#### Full enablement readiness") {
		t.Errorf("the job summary is not the Markdown plan:\n%s", summary)
	}
	if md, err := os.ReadFile(out["markdown-file"]); err != nil || string(md) != summary {
		t.Errorf("markdown-file %q does not hold the summary's plan: %v", out["markdown-file"], err)
	}
	if _, err := os.Stat(filepath.Join(dir, "scimsync-plan.json")); err != nil {
		t.Errorf("no saved plan: %v", err)
	}

	// apply the saved plan: exit 0, apply's last line.
	out, summary, ok = actionRun(t, dir, map[string]string{"command": "apply"})
	if !ok || out["exit-code"] != "0" || !regexp.MustCompile(`^Apply complete: \d+ writes\.$`).MatchString(out["summary"]) {
		t.Fatalf("apply: ok %v, outputs %v", ok, out)
	}
	if !strings.HasPrefix(summary, "### scimsync apply\n") || !strings.Contains(summary, "verified:") {
		t.Errorf("apply's job summary:\n%s", summary)
	}

	// plan again: in sync.
	if err := os.Remove(filepath.Join(dir, "scimsync-plan.json")); err != nil {
		t.Fatal(err)
	}
	out, _, ok = actionRun(t, dir, map[string]string{"command": "plan", "plan-file": "again.json", "args": "--insecure-skip-tls-verify"})
	if !ok || out["exit-code"] != "0" || out["summary"] != "No changes. The tenant matches the spec." || out["plan-file"] != "again.json" {
		t.Errorf("plan after apply: ok %v, outputs %v", ok, out)
	}

	// Refusals fail the step: an unknown command, apply without a saved
	// plan, a flag the command lacks (exit 1).
	for _, in := range []map[string]string{
		{"command": "destroy"},
		{"command": "apply", "plan-file": "missing.json"},
		{"command": "plan", "args": "--no-such-flag"},
	} {
		out, _, ok := actionRun(t, dir, in)
		if ok || out["exit-code"] != "1" {
			t.Errorf("%v: ok %v, outputs %v; want the step to fail with exit-code 1", in, ok, out)
		}
	}
}
