// Package deploy holds no code: only the deployment recipes beside this
// file and the test that keeps them honest.
//
// The test parses every YAML file, checks the systemd units (with
// systemd-analyze when the machine has it), and checks that every
// `scimsync <command> --flag` the recipes and the README run names a command
// and flags the CLI really has. Flags are checked against the real
// FlagSets: each is passed to the built binary followed by -h, which parses
// the flags and stops before doing anything.
package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/internal/testtool"
)

// binary is the scimsync binary built for the test.
var binary string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "scimsync-deploy-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "scimsync")
	cmd := exec.Command("go", "build", "-o", binary, "github.com/scimsync/scimsync/cmd/scimsync")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building scimsync: %v\n", err)
		return 1
	}
	return m.Run()
}

// recipes lists the files of this directory, except the test itself.
func recipes(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, "_test.go") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 8 {
		t.Fatalf("found only %d recipe files: %v", len(out), out)
	}
	return out
}

func isYAML(p string) bool { return strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml") }

func isUnit(p string) bool {
	return strings.HasSuffix(p, ".service") || strings.HasSuffix(p, ".timer")
}

func TestYAMLParses(t *testing.T) {
	n := 0
	for _, p := range recipes(t) {
		if !isYAML(p) {
			continue
		}
		n++
		docs := yamlDocs(t, p)
		if len(docs) == 0 {
			t.Errorf("%s: no YAML document", p)
		}
	}
	if n < 4 {
		t.Errorf("checked %d YAML files, want the GitHub, GitLab and Kubernetes ones", n)
	}
}

// yamlDocs decodes every document of a YAML file.
func yamlDocs(t *testing.T, p string) []*yaml.Node {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return docs
		}
		docs = append(docs, &doc)
	}
	return docs
}

func TestKubernetesManifests(t *testing.T) {
	kinds := map[string]bool{}
	for _, p := range recipes(t) {
		if !isYAML(p) || !strings.HasPrefix(p, "kubernetes"+string(filepath.Separator)) {
			continue
		}
		for _, doc := range yamlDocs(t, p) {
			var obj struct {
				APIVersion string         `yaml:"apiVersion"`
				Kind       string         `yaml:"kind"`
				Metadata   map[string]any `yaml:"metadata"`
			}
			if err := doc.Decode(&obj); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if obj.APIVersion == "" || obj.Kind == "" || obj.Metadata["name"] == nil {
				t.Errorf("%s: a document lacks apiVersion, kind or metadata.name", p)
			}
			kinds[obj.Kind] = true
			for _, c := range containers(doc) {
				sc, _ := c["securityContext"].(map[string]any)
				if sc["allowPrivilegeEscalation"] != false || sc["readOnlyRootFilesystem"] != true {
					t.Errorf("%s: container %v is not locked down: %v", p, c["name"], sc)
				}
				if obj.Kind == "Deployment" {
					for _, probe := range []string{"livenessProbe", "readinessProbe"} {
						if c[probe] == nil {
							t.Errorf("%s: the agent has no %s", p, probe)
						}
					}
				}
			}
		}
	}
	for _, k := range []string{"CronJob", "Deployment"} {
		if !kinds[k] {
			t.Errorf("no %s among the Kubernetes manifests", k)
		}
	}
}

// containers returns the container maps of a workload document.
func containers(doc *yaml.Node) []map[string]any {
	var v any
	if err := doc.Decode(&v); err != nil {
		return nil
	}
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "containers" {
					if list, ok := x.([]any); ok {
						for _, c := range list {
							if m, ok := c.(map[string]any); ok {
								out = append(out, m)
							}
						}
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// unit is a parsed systemd unit: section → key → values.
type unit map[string]map[string][]string

// parseUnit reads a systemd unit file as systemd does: [Section] headers,
// Key=Value lines, # and ; comments, and backslash continuations.
func parseUnit(data []byte) (unit, error) {
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	lineNo := 0
	var pending string
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if pending == "" && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: unterminated section header", lineNo)
			}
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("line %d: key outside any section", lineNo)
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("line %d: %q is not Key=Value", lineNo, line)
		}
		u[section][k] = append(u[section][k], strings.TrimSpace(v))
	}
	if pending != "" {
		return nil, errors.New("file ends in a line continuation")
	}
	return u, sc.Err()
}

func TestSystemdUnits(t *testing.T) {
	var units []string
	for _, p := range recipes(t) {
		if !isUnit(p) {
			continue
		}
		units = append(units, p)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		u, err := parseUnit(data)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(u["Unit"]["Description"]) == 0 {
			t.Errorf("%s: no [Unit] Description", p)
		}
		switch filepath.Ext(p) {
		case ".service":
			if len(u["Service"]["ExecStart"]) != 1 {
				t.Errorf("%s: want exactly one ExecStart", p)
			}
		case ".timer":
			if len(u["Timer"]["OnCalendar"]) == 0 {
				t.Errorf("%s: no OnCalendar", p)
			}
			if svc := u["Timer"]["Unit"]; len(svc) != 1 || !slices.Contains(units, filepath.Join(filepath.Dir(p), svc[0])) && !fileExists(filepath.Join(filepath.Dir(p), svc[0])) {
				t.Errorf("%s: Unit=%v is not a unit beside it", p, svc)
			}
		}
	}
	if len(units) < 3 {
		t.Fatalf("found %d systemd units, want the plan service and timer and the agent service", len(units))
	}
	t.Run("systemd-analyze", func(t *testing.T) { verifyUnits(t, units) })
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// verifyUnits runs systemd-analyze verify on copies of the units whose
// ExecStart points at the test binary (verify checks the executable
// exists). Any diagnostic about the units fails the test.
func verifyUnits(t *testing.T, units []string) {
	analyze := testtool.Find(t, "SYSTEMD_ANALYZE", "apt-get install systemd", "systemd-analyze")
	dir := t.TempDir()
	var paths []string
	for _, p := range units {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("/usr/local/bin/scimsync"), []byte(binary))
		dst := filepath.Join(dir, filepath.Base(p))
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, dst)
	}
	out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	var problems []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, dir) {
			problems = append(problems, l)
		}
	}
	if err != nil || len(problems) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, strings.Join(problems, "\n"))
	}
}

// invocation is one scimsync command line found in a recipe.
type invocation struct {
	where string   // file and a hint of where
	args  []string // after "scimsync"
}

func TestInvocationsUseRealCommandsAndFlags(t *testing.T) {
	var invs []invocation
	// The top-level README's commands are checked too: they are what a
	// newcomer pastes first.
	for _, p := range append(recipes(t), "../../README.md", actionPath) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case isYAML(p):
			for _, doc := range yamlDocs(t, p) {
				invs = append(invs, yamlInvocations(p, doc)...)
			}
		case isUnit(p):
			u, err := parseUnit(data)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			for _, sec := range u {
				for _, k := range []string{"ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop"} {
					for _, v := range sec[k] {
						invs = append(invs, shellInvocations(p+": "+k, v)...)
					}
				}
			}
		case strings.HasSuffix(p, ".md"):
			for _, block := range codeBlocks(string(data)) {
				invs = append(invs, shellInvocations(p, block)...)
			}
		}
	}
	commands := map[string]int{}
	for _, inv := range invs {
		commands[inv.args[0]]++
	}
	// The recipes must at least plan, apply and run the agent.
	for _, c := range []string{"plan", "apply", "agent", "validate"} {
		if commands[c] == 0 {
			t.Errorf("no recipe runs scimsync %s (found %v)", c, commands)
		}
	}
	checked := map[string]bool{}
	for _, inv := range invs {
		cmd := inv.args[0]
		if !checked[cmd] {
			checked[cmd] = true
			if out, err := exec.Command(binary, "help", cmd).CombinedOutput(); err != nil {
				t.Errorf("%s: scimsync %s: not a command: %v\n%s", inv.where, cmd, err, out)
				continue
			}
		}
		for _, f := range flagsOf(inv.args[1:]) {
			key := cmd + " " + f.name
			if checked[key] {
				continue
			}
			checked[key] = true
			if err := probeFlag(cmd, f); err != nil {
				t.Errorf("%s: scimsync %s: %v", inv.where, strings.Join(inv.args, " "), err)
			}
		}
	}
	t.Logf("checked %d invocations: %v", len(invs), commands)
}

// flag is one flag of an invocation: its name and the values it might
// take (the text after = or the next argument).
type flagUse struct {
	name   string
	values []string
}

func flagsOf(args []string) []flagUse {
	var out []flagUse
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue // a positional argument, or a flag's value
		}
		name := strings.TrimLeft(a, "-")
		f := flagUse{}
		if n, v, ok := strings.Cut(name, "="); ok {
			f.name, f.values = n, []string{v}
		} else {
			f.name = name
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				f.values = []string{args[i+1]}
			}
		}
		out = append(out, f)
	}
	return out
}

// probeFlag passes --name=value -h to the real command for a few values. The
// flag is real when the command parses it (whatever the value's type) and
// then prints its help.
func probeFlag(cmd string, f flagUse) error {
	values := append(f.values, "true", "1", "1s", "x")
	var last string
	for _, v := range values {
		c := exec.Command(binary, cmd, "--"+f.name+"="+v, "-h")
		c.Dir = os.TempDir()
		out, err := c.CombinedOutput()
		if strings.Contains(string(out), "flag provided but not defined") {
			return fmt.Errorf("flag --%s is not defined", f.name)
		}
		if err == nil {
			return nil
		}
		last = strings.TrimSpace(string(out))
	}
	return fmt.Errorf("flag --%s: no value was accepted (%s)", f.name, last)
}

// yamlInvocations finds scimsync command lines in a YAML document: in any
// string (CI scripts) and in container args of an image named scimsync.
func yamlInvocations(p string, doc *yaml.Node) []invocation {
	var out []invocation
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			var image string
			var args, command []string
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				switch {
				case k == "image" && v.Kind == yaml.ScalarNode:
					image = v.Value
				case (k == "args" || k == "command") && v.Kind == yaml.SequenceNode:
					var list []string
					for _, s := range v.Content {
						list = append(list, s.Value)
					}
					if k == "args" {
						args = list
					} else {
						command = list
					}
					continue
				}
				walk(v)
			}
			if strings.Contains(image, "scimsync") {
				full := append(command, args...)
				if len(command) > 0 && filepath.Base(command[0]) == "scimsync" {
					full = full[1:]
				}
				if len(full) > 0 {
					out = append(out, invocation{where: fmt.Sprintf("%s:%d (container args)", p, n.Line), args: full})
				}
			}
		case yaml.ScalarNode:
			out = append(out, shellInvocations(fmt.Sprintf("%s:%d", p, n.Line), n.Value)...)
		}
	}
	walk(doc)
	return out
}

var fenceRE = regexp.MustCompile("(?ms)^```[a-z]*\\n(.*?)^```")

// codeBlocks returns the fenced code blocks of a Markdown document.
func codeBlocks(md string) []string {
	var out []string
	for _, m := range fenceRE.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

// shellInvocations finds `scimsync <command> ...` in shell text: each
// command line, split at shell operators, whose first word is scimsync
// (or a path to it).
func shellInvocations(where, text string) []invocation {
	text = strings.ReplaceAll(text, "\\\n", " ")
	var out []invocation
	for _, line := range strings.Split(text, "\n") {
		for _, words := range shellWords(line) {
			for i, w := range words {
				if (w == "scimsync" || strings.HasSuffix(w, "/scimsync")) && i+1 < len(words) {
					sub := words[i+1]
					if sub == "" || strings.HasPrefix(sub, "-") || !regexp.MustCompile(`^[a-z]+$`).MatchString(sub) {
						continue
					}
					out = append(out, invocation{where: where, args: words[i+1:]})
					break
				}
			}
		}
	}
	return out
}

// shellWords splits one shell line into simple commands (at |, ||, &&, ;,
// redirections, $( and )), each a list of words with quotes removed. A # at
// the start of a word begins a comment.
func shellWords(line string) [][]string {
	var cmds [][]string
	var words []string
	var cur strings.Builder
	inWord := false
	flushWord := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	flushCmd := func() {
		flushWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				j = len(line) - i - 1
			}
			cur.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
				cur.WriteByte(line[j])
			}
			inWord = true
			i = j
		case c == '#' && !inWord:
			flushCmd()
			return cmds
		case c == ' ' || c == '\t':
			flushWord()
		case strings.IndexByte("|&;<>()", c) >= 0:
			flushCmd()
			// A redirection's target is not part of the command.
			if c == '>' || c == '<' {
				for i+1 < len(line) && (line[i+1] == '>' || line[i+1] == '&' || line[i+1] == ' ') {
					i++
				}
				for i+1 < len(line) && line[i+1] != ' ' && strings.IndexByte("|&;", line[i+1]) < 0 {
					i++
				}
			}
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			flushCmd()
			i++
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flushCmd()
	return cmds
}

func TestShellWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][]string
	}{
		{`scimsync plan -f "$SPEC" -o plan.json --detailed-exitcode`, [][]string{{"scimsync", "plan", "-f", "$SPEC", "-o", "plan.json", "--detailed-exitcode"}}},
		{`scimsync show plan.json > plan.md && cat plan.md`, [][]string{{"scimsync", "show", "plan.json"}, {"cat", "plan.md"}}},
		{`x=$(scimsync version) # scimsync nothing`, [][]string{{"x="}, {"scimsync", "version"}}},
		{`scimsync agent --schedule '*/10 * * * *' 2>&1 | tee log`, [][]string{{"scimsync", "agent", "--schedule", "*/10 * * * *", "2"}, {"tee", "log"}}},
	} {
		got := shellWords(tc.in)
		if !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("shellWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The finder skips prose and go install paths.
	got := shellInvocations("t", "go install github.com/scimsync/scimsync/cmd/scimsync@latest\necho \"scimsync plan failed\"\n/usr/local/bin/scimsync apply --yes plan.json")
	if len(got) != 1 || !slices.Equal(got[0].args, []string{"apply", "--yes", "plan.json"}) {
		t.Errorf("shellInvocations = %+v", got)
	}
}
