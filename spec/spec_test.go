package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"syscall"
	"time"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDirectoryMerges(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"10-base.yaml": `version: 1
target: {file: tenant.json}
parent: {name: a, seatTiers: [standard], mode: staged}
organizations:
  - name: hq
    seats: {standard: 5}
    mappings: [{group: g1, role: member, seatTier: standard}]
policy:
  protectedUsers: [bg@example.gov]
`,
		"20-west.yml": `version: 1
organizations:
  - name: west
    seats: {standard: 5}
    mappings: [{group: g2, role: member, seatTier: gold}]
  - name: HQ
target: {file: other.json}
policy:
  maxRemovals: 3
  protectedUsers: [bg2@example.gov]
`,
		"notes.txt": "not a spec",
	})
	s, diags, err := LoadWith(LoadOptions{Now: testNow}, dir)
	if err != nil {
		t.Fatal(err)
	}
	f2 := filepath.Join(dir, "20-west.yml")
	want := []string{
		f2 + `:5:52: organizations[0].mappings[0].seatTier: "gold" is not one of parent.seatTiers [standard]; use one of parent.seatTiers, or add the tier there`,
		f2 + `:6:11: organizations[1].name: duplicate organization "HQ" (first at ` + filepath.Join(dir, "10-base.yaml") + `:5:11); merge the two entries, or rename one`,
		f2 + `:7:1: target: target is also set in ` + filepath.Join(dir, "10-base.yaml") + `:2:1; set it in one file only`,
	}
	if diff := cmp.Diff(want, diagLines(diags)); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	var names []string
	for _, o := range s.Organizations {
		names = append(names, o.Name)
	}
	if diff := cmp.Diff([]string{"hq", "west", "HQ"}, names); diff != "" {
		t.Errorf("merged organizations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"bg@example.gov", "bg2@example.gov"}, s.Policy.ProtectedUsers); diff != "" {
		t.Errorf("merged protectedUsers (-want +got):\n%s", diff)
	}
	if got := *s.Policy.MaxRemovals; got != 3 {
		t.Errorf("maxRemovals = %d, want 3", got)
	}
	if got, want := s.Organizations[1].Pos, (Pos{File: f2, Line: 3, Col: 5}); got != want {
		t.Errorf("organizations[1].Pos = %v, want %v", got, want)
	}
	if got, want := s.Target.File, "tenant.json"; got != want {
		t.Errorf("target.file = %q, want the first file's %q", got, want)
	}
}

func TestLoadMultiplePathsAndStdin(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yaml": valid})
	stdin := "version: 1\norganizations:\n  - name: west\n"
	s, diags, err := LoadWith(LoadOptions{Now: testNow, Stdin: strings.NewReader(stdin)}, filepath.Join(dir, "a.yaml"), "-")
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		t.Fatalf("unexpected errors:\n%v", diags)
	}
	if got, want := s.Organizations[1].Pos, (Pos{File: "<stdin>", Line: 3, Col: 5}); got != want {
		t.Errorf("stdin org Pos = %v, want %v", got, want)
	}
	if got, want := s.Source, filepath.Join(dir, "a.yaml")+",-"; got != want {
		t.Errorf("Source = %q, want %q", got, want)
	}
}

func TestLoadIOErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"README": "x"})
	for _, tt := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.yaml")}, "no such file"},
		{"directory without yaml", []string{dir}, "no *.yaml files in directory"},
		{"no path", nil, "no path given"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(tt.paths...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadRefusesLargeFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.yaml")
	big := append([]byte("version: 1\n# "), bytes.Repeat([]byte("x"), MaxFileSize)...)
	if err := os.WriteFile(p, big, 0o644); err != nil {
		t.Fatal(err)
	}
	s, diags, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{p + ":1:1: file is larger than the 2 MiB limit for a spec; check the path: a scimsync spec is its target, organizations, mappings and policy, far smaller than this"}
	if diff := cmp.Diff(want, diagLines(diags)); diff != "" || s != nil {
		t.Errorf("spec %v, diagnostics (-want +got):\n%s", s, diff)
	}
}

// Secrets written into the spec are refused and never repeated in any
// diagnostic.
func TestSecretsNeverEchoed(t *testing.T) {
	const secret = "Zx81LmQpW2rT7vY4kB9nC3dF"
	for _, target := range []string{
		"  url: https://scim.example.gov/v2\n  token: " + secret + "\n",
		"  url: https://scim.example.gov/v2\n  bearerToken: " + secret + "\n",
		"  url: https://scim.example.gov/v2\n  tokenEnv: " + secret + "\n",
		"  url: https://scim.example.gov/v2\n  tokenEnv: \"Bearer " + secret + "\"\n",
		"  url: https://scim.example.gov/v2\n  tokenFile: " + secret + "\n",
		"  url: https://user:" + secret + "@scim.example.gov/v2\n",
		"  url: https://scim.example.gov/v2?access_token=" + secret + "\n",
		"  url: http://scim.example.gov/" + secret + "\n",
		"  url: " + secret + "\n",
		"  url: 42\n  tokenEnv: [" + secret + "]\n",
	} {
		in := strings.Replace(valid, "  file: tenant.json\n", target, 1)
		_, diags, err := LoadBytesWith(LoadOptions{Now: testNow}, "a.yaml", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if !diags.HasErrors() {
			t.Errorf("target %q: no error", target)
		}
		if strings.Contains(diags.Error(), secret) {
			t.Errorf("target %q: a diagnostic repeats the secret:\n%v", target, diags)
		}
	}
}

func TestDefaults(t *testing.T) {
	in := `version: 1
target: {url: https://scim.example.gov/v2}
parent: {name: a, seatTiers: [standard]}
organizations: [{name: hq}]
`
	s, diags, err := LoadBytes("a.yaml", []byte(in))
	if err != nil || diags.HasErrors() {
		t.Fatalf("err %v, diags %v", err, diags)
	}
	got := struct {
		Mode, TokenEnv    string
		MaxRemovals       int
		MaxRemovalPercent float64
	}{string(s.Parent.Mode), s.Target.TokenEnv, *s.Policy.MaxRemovals, *s.Policy.MaxRemovalPercent}
	want := struct {
		Mode, TokenEnv    string
		MaxRemovals       int
		MaxRemovalPercent float64
	}{string(DefaultMode), DefaultTokenEnv, DefaultMaxRemovals, DefaultMaxRemovalPercent}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}

	// Explicit zeros are kept, not defaulted.
	s, _, _ = LoadBytes("a.yaml", []byte(in+"policy: {maxRemovals: 0, maxRemovalPercent: 0}\n"))
	if *s.Policy.MaxRemovals != 0 || *s.Policy.MaxRemovalPercent != 0 {
		t.Errorf("explicit zeros became %d, %v", *s.Policy.MaxRemovals, *s.Policy.MaxRemovalPercent)
	}
}

func TestHash(t *testing.T) {
	hash := func(t *testing.T, in string) string {
		t.Helper()
		s, diags, err := LoadBytesWith(LoadOptions{Now: testNow}, "x.yaml", []byte(in))
		if err != nil || diags.HasErrors() {
			t.Fatalf("err %v, diags %v", err, diags)
		}
		return s.Hash()
	}
	base := hash(t, valid)
	same := map[string]string{
		"comments and blank lines": "# a comment\n\n" + strings.ReplaceAll(valid, "\n  mode:", "\n\n  # staged now\n  mode:"),
		"block style":              strings.Replace(valid, "seatTiers: [standard, premium]", "seatTiers:\n    - standard\n    - premium", 1),
		"mapping order":            strings.Replace(strings.Replace(valid, "      - {group: admins, role: owner, seatTier: premium}\n", "", 1), "seatTier: standard}\n", "seatTier: standard}\n      - {seatTier: premium, group: admins, role: owner}\n", 1),
		"defaults written out":     valid + "  maxRemovals: 10\n  maxRemovalPercent: 10\n",
		"mode default":             strings.Replace(strings.Replace(valid, "mode: staged", "mode: jit", 1), "", "", 1),
	}
	jit := hash(t, strings.Replace(valid, "  mode: staged\n", "", 1))
	if got := hash(t, same["mode default"]); got != jit {
		t.Errorf("an unset mode hashes differently from mode: jit")
	}
	delete(same, "mode default")
	for name, in := range same {
		if got := hash(t, in); got != base {
			t.Errorf("%s: hash changed", name)
		}
	}
	different := map[string]string{
		"seat count": strings.Replace(valid, "standard: 10", "standard: 11", 1),
		"group":      strings.Replace(valid, "{group: users,", "{group: users2,", 1),
		"mode":       strings.Replace(valid, "mode: staged", "mode: full", 1),
		"exception":  strings.Replace(valid, "2027-03-31", "2027-04-01", 1),
		"tier order": strings.Replace(valid, "[standard, premium]", "[premium, standard]", 1),
	}
	for name, in := range different {
		if in == valid {
			t.Fatalf("%s: the edit did not apply", name)
		}
		s, _, err := LoadBytesWith(LoadOptions{Now: testNow}, "x.yaml", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if s.Hash() == base {
			t.Errorf("%s: hash did not change", name)
		}
	}
	s, _, _ := LoadBytes("one.yaml", []byte(valid))
	s2, _, _ := LoadBytes("two.yaml", []byte(valid))
	if s.Hash() != s2.Hash() {
		t.Errorf("the file name changes the hash")
	}
}

func TestExamplesValidate(t *testing.T) {
	paths, err := filepath.Glob("../examples/*/scimsync.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 3 {
		t.Fatalf("found %d examples, want at least 3", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p)), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitN(string(data), "\n", 3)
			if lines[0] != "# yaml-language-server: $schema=../../schemas/scimsync.schema.json" {
				t.Errorf("first line is %q, want the yaml-language-server schema comment", lines[0])
			}
			if !strings.HasPrefix(lines[1], "# ") {
				t.Errorf("second line is %q, want a comment saying what the example shows", lines[1])
			}
			_, diags, err := LoadWith(LoadOptions{Now: testNow}, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(diags) > 0 {
				t.Errorf("diagnostics:\n%v", diags)
			}
		})
	}
}

func TestValidateBuiltSpec(t *testing.T) {
	s := &Spec{
		Version: 1,
		Source:  "built",
		Target:  Target{File: "t.json"},
		Parent:  Parent{Name: "a", SeatTiers: []string{"standard"}},
		Organizations: []Organization{{Name: "hq", Seats: map[string]int{"standard": 1},
			Mappings: []Mapping{{Group: "g", Role: "member", SeatTier: "gold"}}}},
	}
	want := []string{`built: organizations[0].mappings[0].seatTier: "gold" is not one of parent.seatTiers [standard]; use one of parent.seatTiers, or add the tier there`}
	if diff := cmp.Diff(want, diagLines(s.Validate(testNow))); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
}

func TestPositions(t *testing.T) {
	s, _, err := LoadBytesWith(LoadOptions{Now: testNow}, "a.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	got := []Pos{s.Organizations[0].Pos, s.Organizations[0].Mappings[1].Pos, s.Policy.Exceptions[0].Pos,
		s.PosOf("organizations[0].seats.premium"), s.PosOf("policy.maxRemovals")}
	want := []Pos{{"a.yaml", 10, 5}, {"a.yaml", 14, 9}, {"a.yaml", 18, 7}, {"a.yaml", 11, 36}, {"a.yaml", 15, 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}

func TestDiagnosticString(t *testing.T) {
	tests := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{Severity: Error, Pos: Pos{"agency.yaml", 14, 23}, Path: "organizations[0].mappings[1].seatTier",
			Summary: `"gold" is not one of parent.seatTiers [standard premium]`},
			`agency.yaml:14:23: organizations[0].mappings[1].seatTier: "gold" is not one of parent.seatTiers [standard premium]`},
		{Diagnostic{Severity: Warning, Pos: Pos{File: "a.yaml", Line: 3}, Summary: "s", Fix: "f"}, `a.yaml:3: warning: s; f`},
		{Diagnostic{Severity: Error, Pos: Pos{File: "a.yaml"}, Summary: "s"}, `a.yaml: s`},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	ds := Diagnostics{tests[0].d, tests[1].d}
	if !ds.HasErrors() || len(ds.Errors()) != 1 || len(ds.Warnings()) != 1 || ds.Warnings().HasErrors() {
		t.Errorf("Errors/Warnings split wrong: %v", ds)
	}
	if got, want := ds.Error(), tests[0].want+"\n"+tests[1].want; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"group", "groupId", "role", "seatTier"}
	for in, want := range map[string]string{
		"seatTeir": "seatTier", "seattier": "seatTier", "grop": "group", "groupid": "groupId",
		"roles": "role", "colour": "", "x": "", "seatTierss": "seatTier",
	} {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolvePath(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"10-orgs.yaml": "version: 1\norganizations: [{name: hq}]\n",
		"20-target.yaml": `version: 1
target: {url: https://x.example.gov/v2, tokenFile: secrets/token, caFile: /etc/ca.pem, membersCsv: ../members.csv}
parent: {name: a, seatTiers: [standard]}
current: {organizations: [{name: hq}]}
`,
	})
	s, diags, err := Load(dir)
	if err != nil || diags.HasErrors() {
		t.Fatalf("err %v, diags %v", err, diags)
	}
	got := []string{s.ResolvePath("target.tokenFile"), s.ResolvePath("target.caFile"),
		s.ResolvePath("target.membersCsv"), s.ResolvePath("target.file"), s.ResolvePath("parent.name")}
	want := []string{filepath.Join(dir, "secrets", "token"), "/etc/ca.pem",
		filepath.Join(filepath.Dir(dir), "members.csv"), "", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ResolvePath (-want +got):\n%s", diff)
	}

	s, _, err = LoadWith(LoadOptions{Stdin: strings.NewReader(valid)}, "-")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ResolvePath("target.file"); got != "tenant.json" {
		t.Errorf("stdin: ResolvePath = %q, want tenant.json as written", got)
	}
}

// A FIFO among a spec directory's files is refused by name, promptly: it
// used to block the load for ever.
func TestLoadRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "x.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := Load(dir); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("err = %v, want one naming %s as a named pipe", err, fifo)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load blocked on a FIFO")
	}
}

// The size cap is on the whole spec: files each under it, together over
// it, are refused.
func TestLoadRefusesDirectoryOverCap(t *testing.T) {
	dir := t.TempDir()
	part := append([]byte("version: 1\n# "), bytes.Repeat([]byte("x"), MaxSpecSize/3)...)
	for _, n := range []string{"a.yaml", "b.yaml", "c.yaml", "d.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, n), part, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, diags, err := Load(dir)
	if err != nil || s != nil || len(diags) != 1 || !strings.Contains(diags[0].Summary, "add up to more than the 2 MiB limit") {
		t.Errorf("spec %v, err %v, diags %v", s, err, diags)
	}
}

// A directory spec reads *.yaml and *.yml in any case, never a hidden file
// (an editor's backup or lock file); a file named twice, directly or
// through its directory, is refused rather than merged with itself.
func TestLoadDirectoryFilesAndFilesNamedTwice(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"10-base.YAML": `version: 1
target: {file: tenant.json}
parent: {name: a, seatTiers: [standard], mode: staged}
organizations:
  - name: hq
    seats: {standard: 5}
`,
		".#10-base.yaml": "organizations: [{name: hq}]\n",
		".old.yml":       "not: [valid\n",
	})
	s, diags, err := LoadWith(LoadOptions{Now: testNow}, dir)
	if err != nil || diags.HasErrors() || s == nil || len(s.Organizations) != 1 {
		t.Fatalf("Load(dir) = %v, %v, %v", s, diags, err)
	}
	f := filepath.Join(dir, "10-base.YAML")
	for _, paths := range [][]string{{f, f}, {dir, f}} {
		_, _, err := LoadWith(LoadOptions{Now: testNow}, paths...)
		if err == nil || !strings.Contains(err.Error(), "is given twice") {
			t.Errorf("Load(%v): err = %v, want the file given twice", paths, err)
		}
	}
}
