package diff

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/tenant"
)

// narrowSpec: a tenant in full mode with three child orgs. hq and west
// each drop a mapping (2 removals each, 4 in all, over maxRemovals 3);
// east lowers its seats below what is entitled (an overcommit) and removes
// nobody.
const narrowSpec = specHead + `  mode: full
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: hq-users, role: member, seatTier: standard}
  - name: west
    seats: {standard: 10}
    mappings:
      - {group: west-users, role: member, seatTier: standard}
  - name: east
    seats: {standard: 1}
    mappings:
      - {group: east-users, role: member, seatTier: standard}
policy:
  maxRemovals: 3
  maxRemovalPercent: 100
`

func narrowTenant() *tenant.Tenant {
	b := newTenant(resolve.ModeFull)
	for _, u := range []string{"h1", "h2", "h3", "h4", "w1", "w2", "w3", "w4", "e1", "e2"} {
		b.user(u, u+"@example.gov", true)
	}
	b.group("g-hq", "hq-users", "h1", "h2").group("g-hq-old", "hq-old", "h3", "h4").
		group("g-west", "west-users", "w1", "w2").group("g-west-old", "west-old", "w3", "w4").
		group("g-east", "east-users", "e1", "e2")
	b.org("o-hq", "HQ", map[string]int{"standard": 10}, mp("g-hq", member, "standard"), mp("g-hq-old", member, "standard")).
		org("o-west", "west", map[string]int{"standard": 10}, mp("g-west", member, "standard"), mp("g-west-old", member, "standard")).
		org("o-east", "east", map[string]int{"standard": 10}, mp("g-east", member, "standard"))
	for _, m := range []struct{ org, u string }{{"o-hq", "h1"}, {"o-hq", "h2"}, {"o-hq", "h3"}, {"o-hq", "h4"},
		{"o-west", "w1"}, {"o-west", "w2"}, {"o-west", "w3"}, {"o-west", "w4"}, {"o-east", "e1"}, {"o-east", "e2"}} {
		b.member(m.org, m.u+"@example.gov", member, "standard", scimO, m.u)
	}
	return b.t
}

func findingKinds(p *Plan) []string {
	var out []string
	for _, f := range p.Findings {
		s := string(f.Kind)
		if f.Org != "" {
			s += " " + f.Org
		}
		if f.Override != OverrideNone {
			s += " " + string(f.Override)
		}
		out = append(out, s)
	}
	return out
}

func TestNarrow(t *testing.T) {
	s := loadSpec(t, "narrow", narrowSpec)
	tn := narrowTenant()
	whole, err := Compute(s, tn, scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"max-removals --allow-removals=4", "overcommit east"}, findingKinds(whole)); d != "" {
		t.Fatalf("whole plan's findings (-want +got):\n%s", d)
	}

	hq, err := ComputeWith(s, tn, scenarioNow, Options{Orgs: []string{" hq ", "HQ"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"hq"}, hq.OrgFilter); d != "" {
		t.Errorf("OrgFilter (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{
		"hq - h3@example.gov member/standard/scim -> : in no mapped group of this org",
		"hq - h4@example.gov member/standard/scim -> : in no mapped group of this org",
	}, briefMembers(hq)); d != "" {
		t.Errorf("members (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"hq mapping hq-old: member/standard -> "}, briefConfig(hq)); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
	if want := (Summary{Remove: 2, Config: 1}); hq.Summary != want {
		t.Errorf("summary %+v, want %+v", hq.Summary, want)
	}
	orgsOf := func(n int, org func(int) string) []string {
		var out []string
		for i := range n {
			out = append(out, org(i))
		}
		return slices.Compact(out)
	}
	for name, got := range map[string][]string{
		"writes":    orgsOf(len(hq.Writes), func(i int) string { return hq.Writes[i].OrgID }),
		"predicted": orgsOf(len(hq.Predicted), func(i int) string { return hq.Predicted[i].OrgID }),
		"readiness": orgsOf(len(hq.Readiness), func(i int) string { return "o-" + hq.Readiness[i].Org }),
		"seats":     orgsOf(len(hq.Seats), func(i int) string { return "o-" + hq.Seats[i].Org }),
		"groups":    orgsOf(len(hq.GroupSizes), func(i int) string { return "o-" + strings.TrimSuffix(hq.GroupSizes[i].Name, "-users") }),
	} {
		if d := cmp.Diff([]string{"o-hq"}, got); d != "" {
			t.Errorf("%s: orgs (-want +got):\n%s", name, d)
		}
	}
	// maxRemovals is a limit on the whole tenant: hq's 2 removals are
	// within 3, but the tenant's 4 are not, so the narrowed plan is still
	// blocked, and lifted by its own count. east's overcommit is not hq's.
	if d := cmp.Diff([]string{"max-removals --allow-removals=2"}, findingKinds(hq)); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if want := "4 removals across the tenant exceed policy.maxRemovals (3), a limit on the whole tenant; narrowed to hq, this plan removes 2 of them"; hq.Findings[0].Message != want {
		t.Errorf("message %q, want %q", hq.Findings[0].Message, want)
	}
	if hq.Verdict() != VerdictDangerous {
		t.Errorf("verdict %v", hq.Verdict())
	}
	if want := "Plan (hq only): 0 to add, 0 to change, 2 to remove (hq 2); 1 configuration change (hq); 1 blocking finding (maxRemovals)."; SummaryLine(hq) != want {
		t.Errorf("summary line\n%s\nwant\n%s", SummaryLine(hq), want)
	}
	if hq.Fingerprint.Hash != whole.Fingerprint.Hash || !slices.Equal(hq.ReadGroupIDs, whole.ReadGroupIDs) {
		t.Errorf("a narrowed plan's fingerprint and read are the whole tenant's")
	}

	// east removes nobody: the tenant-wide limit cannot be exceeded by it;
	// its own overcommit stays.
	east, err := ComputeWith(s, tn, scenarioNow, Options{Orgs: []string{"east"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"overcommit east"}, findingKinds(east)); d != "" {
		t.Errorf("east findings (-want +got):\n%s", d)
	}

	// Two orgs: both are kept, the limit's override is their removals.
	two, err := ComputeWith(s, tn, scenarioNow, Options{Orgs: []string{"west", "hq"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"max-removals --allow-removals=4"}, findingKinds(two)); d != "" {
		t.Errorf("hq+west findings (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(SummaryLine(two), "Plan (hq, west only): 0 to add, 0 to change, 4 to remove (hq 2, west 2)") {
		t.Errorf("summary line %q", SummaryLine(two))
	}

	// Recomputing (as apply does) gives the same narrowed plan.
	again, err := ComputeWith(s, tn, scenarioNow, Options{Orgs: hq.OrgFilter})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := Differences(hq, again); err != nil || len(d) > 0 {
		t.Errorf("recomputed narrowed plan differs: %v %v", d, err)
	}
	if d, _ := Differences(hq, whole); !slices.Contains(d, "org_filter") {
		t.Errorf("Differences(narrowed, whole) = %v, want org_filter among them", d)
	}
}

// The narrowed plan's writes, applied alone, give exactly the members it
// predicts, touch no other org, and leave the rest of the whole plan to do.
func TestNarrowConverges(t *testing.T) {
	s := loadSpec(t, "narrow", narrowSpec)
	tn := narrowTenant()
	hq, err := ComputeWith(s, tn, scenarioNow, Options{Orgs: []string{"hq"}})
	if err != nil {
		t.Fatal(err)
	}
	after := applySteps(t, tn, hq.Steps)
	checkPredicted(t, after, hq)
	for i := range tn.Orgs {
		if tn.Orgs[i].ID != "o-hq" && after.Orgs[i].Version != tn.Orgs[i].Version {
			t.Errorf("org %s was written", tn.Orgs[i].Name)
		}
	}
	hqAgain, err := ComputeWith(s, after, scenarioNow, Options{Orgs: []string{"hq"}})
	if err != nil {
		t.Fatal(err)
	}
	if hqAgain.HasChanges() || len(hqAgain.Writes) > 0 {
		t.Errorf("hq still changes: %v %v", briefConfig(hqAgain), briefMembers(hqAgain))
	}
	if want := "No changes (hq only). The tenant matches the spec there."; SummaryLine(hqAgain) != want {
		t.Errorf("summary line %q, want %q", SummaryLine(hqAgain), want)
	}
	rest, err := Compute(s, after, scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"east seats standard: 10 -> 1", "west mapping west-old: member/standard -> "}, briefConfig(rest)); d != "" {
		t.Errorf("what remains (-want +got):\n%s", d)
	}
	// west's 2 removals are now within maxRemovals: the first narrowed
	// apply needed --allow-removals=2, so 4 removals never passed unapproved.
	if d := cmp.Diff([]string{"overcommit east"}, findingKinds(rest)); d != "" {
		t.Errorf("findings of what remains (-want +got):\n%s", d)
	}
}

func TestNarrowRefuses(t *testing.T) {
	s := loadSpec(t, "narrow", narrowSpec)
	tn := narrowTenant()
	_, err := ComputeWith(s, tn, scenarioNow, Options{Orgs: []string{"wset"}})
	var unknown *UnknownOrgError
	if !errors.As(err, &unknown) {
		t.Fatalf("err = %v, want an *UnknownOrgError", err)
	}
	if want := `narrowing the plan: no child organization named "wset" on the server; did you mean "west"?`; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}

	// A change of the parent applies to every child org: not narrowable.
	for _, change := range []struct{ old, new, says string }{
		{"mode: full", "mode: staged", "mode full → staged"},
		{"loginDomains: [example.gov]", "loginDomains: [example.gov, example.org]", "loginDomains example.gov → example.gov, example.org"},
		{"seatTiers: [standard, premium]", "seatTiers: [standard, premium, enterprise]", "seatTiers standard, premium → standard, premium, enterprise"},
	} {
		ps := loadSpec(t, "parent", strings.Replace(narrowSpec, change.old, change.new, 1))
		_, err := ComputeWith(ps, tn, scenarioNow, Options{Orgs: []string{"hq"}})
		var pc *ParentChangeError
		if !errors.As(err, &pc) {
			t.Fatalf("%s: err = %v, want a *ParentChangeError", change.new, err)
		}
		if want := "cannot narrow the plan to hq: it changes the parent organization example-agency (" + change.says + "), which applies to every child org"; err.Error() != want {
			t.Errorf("err = %q\nwant  %q", err, want)
		}
		if _, err := Compute(ps, tn, scenarioNow); err != nil {
			t.Errorf("the whole plan: %v", err)
		}
	}

	// Two server orgs named alike cannot be told apart by name.
	dup := narrowTenant()
	dup.Orgs = append(dup.Orgs, resolve.Org{ID: "o-n1", Name: "north", Parent: "p"}, resolve.Org{ID: "o-n2", Name: "North", Parent: "p"})
	_, err = ComputeWith(s, dup, scenarioNow, Options{Orgs: []string{"NORTH"}})
	if !errors.As(err, &unknown) || unknown.Ambiguous != 2 {
		t.Errorf("err = %v, want an ambiguous *UnknownOrgError", err)
	}
}

// A saved narrowed plan keeps its org filter, covered by its hash.
func TestNarrowedPlanFile(t *testing.T) {
	s := loadSpec(t, "narrow", narrowSpec)
	hq, err := ComputeWith(s, narrowTenant(), scenarioNow, Options{Orgs: []string{"hq"}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "p.json")
	if err := WritePlanFile(path, hq); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPlanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := Differences(hq, back); err != nil || len(d) > 0 {
		t.Errorf("read back differs: %v %v", d, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"org_filter": [
    "hq"
  ]`, `"org_filter": [
    "west"
  ]`, 1)
	if edited == string(data) {
		t.Fatal("no org_filter in the file")
	}
	if _, err := UnmarshalPlanFile([]byte(edited)); !errors.Is(err, ErrPlanModified) {
		t.Errorf("edited org filter: err = %v, want ErrPlanModified", err)
	}
}

func TestCheckOverwrite(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.json")
	if err := WritePlanFile(plan, samplePlan()); err != nil {
		t.Fatal(err)
	}
	// A saved plan is replaced; a missing file is created.
	if err := WritePlanFile(plan, samplePlan()); err != nil {
		t.Errorf("overwriting a saved plan: %v", err)
	}
	if err := CheckOverwrite(filepath.Join(dir, "new.json")); err != nil {
		t.Errorf("a new file: %v", err)
	}
	// A big saved plan: its hash is only at the end.
	big := samplePlan()
	for range 2000 {
		big.Members = append(big.Members, MemberChange{Org: "hq", Email: "x@example.gov", Action: ActionAdd})
	}
	if err := WritePlanFile(plan, big); err != nil {
		t.Errorf("overwriting with a big plan: %v", err)
	}
	if err := CheckOverwrite(plan); err != nil {
		t.Errorf("a big saved plan: %v", err)
	}
	var rendered strings.Builder
	if err := RenderJSON(&rendered, samplePlan()); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"spec.yaml":  "version: 1\ntarget: {file: tenant.json}\n",
		"plain.json": rendered.String(), // plan --format json: no plan_hash
		"empty":      "",
		"notes.txt":  `{"format_version": "1"} but "plan_hash": no`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := WritePlanFile(path, samplePlan()); !errors.Is(err, ErrOverwrite) {
			t.Errorf("%s: err = %v, want ErrOverwrite", name, err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("%s was changed", name)
		}
	}
	if err := CheckOverwrite(dir); !errors.Is(err, ErrOverwrite) {
		t.Errorf("a directory: err = %v, want ErrOverwrite", err)
	}
}

func TestSpecPaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("repo/ci", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("repo/scimsync.yaml", []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sps, err := SpecPathsFor("repo/ci/plan.json", []string{"repo/./scimsync.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "repo", "scimsync.yaml")
	if d := cmp.Diff([]SpecPath{{Path: abs, FromPlan: "../scimsync.yaml"}}, sps); d != "" {
		t.Errorf("spec paths (-want +got):\n%s", d)
	}
	if got, err := sps[0].Resolve("repo/ci/plan.json"); err != nil || got != abs {
		t.Errorf("Resolve = %q, %v; want %q", got, err, abs)
	}
	if sps, err := SpecPathsFor("p.json", []string{"a.yaml", "-"}); err != nil || sps != nil {
		t.Errorf("stdin: %v, %v; want none", sps, err)
	}
	// The repository moved: the path relative to the plan still finds it.
	if err := os.Rename("repo", "moved"); err != nil {
		t.Fatal(err)
	}
	if got, err := sps[0].Resolve("moved/ci/plan.json"); err != nil || got != filepath.Join(dir, "moved", "scimsync.yaml") {
		t.Errorf("moved: Resolve = %q, %v", got, err)
	}
	if _, err := sps[0].Resolve("elsewhere/plan.json"); err == nil || !strings.Contains(err.Error(), abs) {
		t.Errorf("nowhere: err = %v, want one naming %s", err, abs)
	}
}

// --summary keeps the header, the counts per org, the findings (and the
// exceptions about to lapse, none here) and the summary line, in text and
// Markdown, and nothing else.
func TestRenderSummary(t *testing.T) {
	s := loadSpec(t, "narrow", narrowSpec)
	p, err := Compute(s, narrowTenant(), scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	var text, md strings.Builder
	if err := RenderText(&text, p, TextOptions{Summary: true}); err != nil {
		t.Fatal(err)
	}
	want := `Tenant example-agency, mode full, planned at 2026-03-15 12:00:00 UTC.

Changes per org:
  org   config  add  change  remove  link  flagged
  east       1    0       0       0     0        0
  hq         1    0       0       2     0        0
  west       1    0       0       2     0        0

Findings:
  ! error: 4 removals exceed policy.maxRemovals (3)
  ! error: east: 2 users entitled to standard seats, 1 purchased

Plan: 0 to add, 0 to change, 4 to remove (hq 2, west 2); 3 configuration changes (east, hq, west); 2 blocking findings (maxRemovals; seats: east).
`
	if d := cmp.Diff(want, text.String()); d != "" {
		t.Errorf("text (-want +got):\n%s", d)
	}
	if err := RenderMarkdownWith(&md, p, MarkdownOptions{Summary: true}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"#### Removals", "#### Configuration changes", "#### Member changes", "#### Full enablement", "#### Seats"} {
		if strings.Contains(md.String(), gone) {
			t.Errorf("summary Markdown holds %q", gone)
		}
	}
	for _, kept := range []string{"**Plan\\: 0 to add", "| hq | 1 | 0 | 0 | 2 | 0 | 0 |", "#### Findings"} {
		if !strings.Contains(md.String(), kept) {
			t.Errorf("summary Markdown lacks %q:\n%s", kept, md.String())
		}
	}
	var full strings.Builder
	if err := RenderMarkdown(&full, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(full.String(), "#### Removals") {
		t.Errorf("the full Markdown lost its removals")
	}
}

// TestGroupNamesMatchByTheOneRule: a spec's group name is matched to the
// server's by internal/match's Name, the rule every package uses (issue 13,
// issue 14 #3): ASCII case and spaces are ignored, but a look-alike
// character names another group. With strings.ToLower, as the planner once
// compared names, the Kelvin sign (U+212A) in "west-\u212Aiosk" became a k
// and the mapping took the group "west-kiosk".
func TestGroupNamesMatchByTheOneRule(t *testing.T) {
	tn := narrowTenant()
	for i := range tn.Groups {
		if tn.Groups[i].ID == "g-west" {
			tn.Groups[i].DisplayName = "west-kiosk"
		}
	}
	ok := loadSpec(t, "case", strings.Replace(narrowSpec, "{group: west-users,", "{group: ' WEST-KIOSK ',", 1))
	if _, err := Compute(ok, tn, scenarioNow); err != nil {
		t.Fatalf("a name differing in ASCII case and spaces: %v", err)
	}
	alike := loadSpec(t, "alike", strings.Replace(narrowSpec, "{group: west-users,", "{group: \"west-\u212Aiosk\",", 1))
	_, err := Compute(alike, tn, scenarioNow)
	var mm *MismatchError
	if !errors.As(err, &mm) || !strings.Contains(err.Error(), "no group named") {
		t.Fatalf("a look-alike group name matched: err = %v", err)
	}
}
