package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A file the YAML layer refuses only parts of (a duplicate key, a tag, a
// key that is not a string) is still checked by the schema and semantic
// layers, and every diagnostic is reported together (DESIGN §2: never stop
// at the first; review, 2026-12-07). What was refused is quiet: the mapping
// holding it (or, at the top level and in policy, the field) gets no
// further diagnostic, since what it means is in doubt. A syntax error and a
// merge key still stop the load.
func TestYAMLErrorsDoNotHideOtherLayers(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"duplicate key and a semantic error elsewhere",
			strings.Replace(strings.Replace(valid, "{group: users,", "{group: users, group: admins,", 1), "org: hq,", "org: west,", 1),
			[]string{
				`a.yaml:14:24: organizations[0].mappings[1].group: duplicate key "group" (first at a.yaml:14:10); remove one of them`,
				`a.yaml:18:35: policy.exceptions[0].org: "west" is not an organization in this spec; name one of the organizations in this spec`,
			}},
		{"duplicate key and a schema error elsewhere",
			strings.Replace(valid, "{group: users,", "{group: users, group: admins,", 1) + "  colour: blue\n",
			[]string{
				`a.yaml:14:24: organizations[0].mappings[1].group: duplicate key "group" (first at a.yaml:14:10); remove one of them`,
				`a.yaml:19:3: policy.colour: unknown field "colour"; known fields: exceptionNoticeDays, exceptions, exclusiveOrgs, maxRemovalPercent, maxRemovals, ownerGroups, protectedUsers`,
			}},
		// The mapping holding the duplicate is quiet: its bad role is not
		// reported, as which group it is granted from is in doubt.
		{"the mapping with the duplicate is quiet",
			strings.Replace(valid, "{group: users, role: member,", "{group: users, group: admins, role: boss,", 1),
			[]string{
				`a.yaml:14:24: organizations[0].mappings[1].group: duplicate key "group" (first at a.yaml:14:10); remove one of them`,
			}},
		// At the top level only the duplicated field is quiet.
		{"top-level duplicate",
			strings.Replace(valid, "name: hq", "name: hq\n    colour: blue", 1) + "policy:\n  maxRemovals: 3\n",
			[]string{
				`a.yaml:11:5: organizations[0].colour: unknown field "colour"; known fields: mappings, name, seats`,
				`a.yaml:20:1: policy: duplicate key "policy" (first at a.yaml:16:1); remove one of them`,
			}},
		{"tag and a schema error elsewhere",
			strings.Replace(valid, "name: hq", "name: !!str hq", 1) + "  maxRemovals: -1\n",
			[]string{
				`a.yaml:10:11: organizations[0].name: tags are not allowed in a scimsync spec (found "!!str"); remove the tag and write the value itself (quote it to make it a string)`,
				`a.yaml:19:16: policy.maxRemovals: must be at least 0, not -1`,
			}},
		{"key that is not a string and a semantic error elsewhere",
			strings.Replace(strings.Replace(valid, "seats: {standard: 10,", "seats: {[a]: 1, standard: 10,", 1), "org: hq,", "org: west,", 1),
			[]string{
				`a.yaml:11:13: organizations[0].seats: a key must be a plain string, not a list`,
				`a.yaml:18:35: policy.exceptions[0].org: "west" is not an organization in this spec; name one of the organizations in this spec`,
			}},
		{"merge key still stops",
			strings.Replace(valid, "name: hq", "name: hq\n    <<: {x: 1}", 1) + "  colour: blue\n",
			[]string{
				`a.yaml:11:5: organizations[0]: merge keys (<<) are not supported; write the fields out; the spec does not support YAML merge keys`,
			}},
		{"syntax error still stops",
			strings.Replace(valid, "{group: users,", "{group: users, group: admins,", 1) + "  colour: [blue\n",
			[]string{
				`a.yaml:19:11: invalid YAML: did not find expected ',' or ']'; close the flow collection opened on this line`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDiags(t, tt.in, tt.want)
		})
	}
}

// Across files: a duplicate key in one file hides neither the other file's
// diagnostics nor the rest of its own; a duplicate in policy, which each
// file may hold, quiets that field only.
func TestYAMLErrorsDoNotHideOtherFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.yaml": strings.Replace(valid, "org: hq,", "org: west,", 1),
		"b.yaml": "organizations:\n  - name: east\n    name: south\n    seats: {gold: 1}\n  - name: north\n    seats: {gold: 1}\npolicy:\n  maxRemovals: 1\n  maxRemovals: 2\n  protectedUsers: [nobody]\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, diags, err := LoadWith(LoadOptions{Now: testNow}, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	want := []string{
		a + `:18:35: policy.exceptions[0].org: "west" is not an organization in this spec; name one of the organizations in this spec`,
		b + `:3:5: organizations[0].name: duplicate key "name" (first at ` + b + `:2:5); remove one of them`,
		b + `:6:13: organizations[1].seats.gold: "gold" is not one of parent.seatTiers [standard premium]; use one of parent.seatTiers, or add the tier there`,
		b + `:9:3: policy.maxRemovals: duplicate key "maxRemovals" (first at ` + b + `:8:3); remove one of them`,
		b + `:10:20: policy.protectedUsers[0]: "nobody" is not an email address; write a full address such as someone@example.gov`,
	}
	if diff := cmp.Diff(want, diagLines(diags)); diff != "" {
		for _, l := range diagLines(diags) {
			t.Logf("GOT %q", l)
		}
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}
