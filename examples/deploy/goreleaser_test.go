package deploy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The release configuration at the repository root, checked structurally
// (`goreleaser check` is not run: see docs/DECISIONS.md): every platform,
// checksums, and ldflags that really stamp cmd/scimsync's version
// variables.

const goreleaserPath = "../../.goreleaser.yaml"

type goreleaserConfig struct {
	Version int `yaml:"version"`
	Builds  []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		Formats []string `yaml:"formats"`
		Files   []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
}

func readGoreleaser(t *testing.T) goreleaserConfig {
	t.Helper()
	data, err := os.ReadFile(goreleaserPath)
	if err != nil {
		t.Fatal(err)
	}
	var c goreleaserConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	return c
}

// versionVars lists the package-level string variables of
// cmd/scimsync/version.go.
func versionVars(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../../cmd/scimsync/version.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				out = append(out, n.Name)
			}
		}
	}
	return out
}

var ldflagXRE = regexp.MustCompile(`-X\s+main\.(\w+)=(\S+)`)

func TestGoreleaserConfig(t *testing.T) {
	c := readGoreleaser(t)
	if c.Version != 2 {
		t.Errorf("version %d, want the v2 schema", c.Version)
	}
	if len(c.Builds) != 1 {
		t.Fatalf("%d builds, want one", len(c.Builds))
	}
	b := c.Builds[0]
	if b.Main != "./cmd/scimsync" || b.Binary != "scimsync" {
		t.Errorf("build main %q binary %q", b.Main, b.Binary)
	}
	if fi, err := os.Stat(filepath.Join("../..", b.Main)); err != nil || !fi.IsDir() {
		t.Errorf("main %s: %v", b.Main, err)
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") {
		t.Errorf("env %v flags %v: want static, trimmed builds", b.Env, b.Flags)
	}
	for _, os := range []string{"linux", "darwin", "windows"} {
		if !slices.Contains(b.Goos, os) {
			t.Errorf("no %s build", os)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if !slices.Contains(b.Goarch, arch) {
			t.Errorf("no %s build", arch)
		}
	}
	if c.Checksum.NameTemplate == "" || c.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum %+v", c.Checksum)
	}
	for _, a := range c.Archives {
		for _, pattern := range a.Files {
			if m, _ := filepath.Glob(filepath.Join("../..", pattern)); len(m) == 0 {
				t.Errorf("archive file %q matches nothing", pattern)
			}
		}
	}

	// The ldflags name version.go's variables, version, commit and date.
	vars := versionVars(t)
	stamped := map[string]string{}
	for _, m := range ldflagXRE.FindAllStringSubmatch(strings.Join(b.Ldflags, " "), -1) {
		stamped[m[1]] = m[2]
		if !slices.Contains(vars, m[1]) {
			t.Errorf("ldflags set main.%s, which cmd/scimsync/version.go does not declare (%v)", m[1], vars)
		}
	}
	for v, tmpl := range map[string]string{"buildVersion": ".Version", "buildCommit": "Commit", "buildDate": "Date"} {
		if !strings.Contains(stamped[v], tmpl) {
			t.Errorf("ldflags main.%s = %q, want a template with %s", v, stamped[v], tmpl)
		}
	}

	// Rendered with sample values, the ldflags stamp what version prints.
	sample := map[string]string{"buildVersion": "1.2.3", "buildCommit": "0123456789abcdef0123456789abcdef01234567", "buildDate": "2026-12-01T10:00:00Z"}
	var ld []string
	for _, f := range b.Ldflags {
		ld = append(ld, ldflagXRE.ReplaceAllStringFunc(f, func(s string) string {
			m := ldflagXRE.FindStringSubmatch(s)
			return "-X main." + m[1] + "=" + sample[m[1]]
		}))
	}
	bin := filepath.Join(t.TempDir(), "scimsync")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", strings.Join(ld, " "), "-o", bin, "github.com/scimsync/scimsync/cmd/scimsync")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building with the release ldflags: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("version --json: %v\n%s", err, out)
	}
	if v["version"] != "1.2.3" || v["commit"] != sample["buildCommit"] || v["date"] != sample["buildDate"] {
		t.Errorf("version --json of a release build = %s", out)
	}
}
