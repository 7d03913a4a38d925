package spec

import (
	"strings"
	"testing"
)

// Every explicit tag is refused at its place: a tag gives a value a
// meaning YAML tools disagree on (review, 2026-12-07).
func TestTagsRefused(t *testing.T) {
	const fix = "; remove the tag and write the value itself (quote it to make it a string)"
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"binary", strings.Replace(valid, "{group: users,", "{group: !!binary dXNlcnM=,", 1), []string{
			`a.yaml:14:17: organizations[0].mappings[1].group: tags are not allowed in a scimsync spec (found "!!binary")` + fix}},
		{"int on a quoted string", strings.Replace(valid, "{standard: 10,", `{standard: !!int "10",`, 1), []string{
			`a.yaml:11:23: organizations[0].seats.standard: tags are not allowed in a scimsync spec (found "!!int")` + fix}},
		{"null", strings.Replace(valid, "{group: users,", "{group: !!null users,", 1), []string{
			`a.yaml:14:17: organizations[0].mappings[1].group: tags are not allowed in a scimsync spec (found "!!null")` + fix}},
		{"str", strings.Replace(valid, "name: hq", "name: !!str hq", 1), []string{
			`a.yaml:10:11: organizations[0].name: tags are not allowed in a scimsync spec (found "!!str")` + fix}},
		{"verbatim", strings.Replace(valid, "name: hq", "name: !<tag:yaml.org,2002:str> hq", 1), []string{
			`a.yaml:10:11: organizations[0].name: tags are not allowed in a scimsync spec (found "!!str")` + fix}},
		{"local", valid + "  maxRemovals: !custom 3\n", []string{
			`a.yaml:19:16: policy.maxRemovals: tags are not allowed in a scimsync spec (found "!custom")` + fix}},
		// yaml.v3 keeps no trace of the non-specific tag on the node: 10
		// is a string to YAML 1.2, a number to yaml.v3.
		{"non-specific", strings.Replace(valid, "{standard: 10,", "{standard: ! 10,", 1), []string{
			`a.yaml:11:23: organizations[0].seats.standard: tags are not allowed in a scimsync spec (found "!")` + fix}},
		{"non-specific after an anchor", strings.Replace(valid, "{standard: 10,", "{standard: &n ! 10,", 1), []string{
			`a.yaml:11:23: organizations[0].seats.standard: tags are not allowed in a scimsync spec (found "!")` + fix}},
		{"non-specific after an anchor and a comment", valid + "  maxRemovals: &m # three\n    ! 3\n", []string{
			`a.yaml:19:16: policy.maxRemovals: tags are not allowed in a scimsync spec (found "!")` + fix}},
		// Lines are counted as yaml.v3 counts them: U+2028 and NEL break a
		// line, CR LF is one break.
		{"non-specific after odd line breaks", strings.Replace(valid, "reason: badge}", "reason: \"a\u2028b\u0085c\"}", 1) + "  maxRemovals: ! 3\r\n", []string{
			`a.yaml:21:16: policy.maxRemovals: tags are not allowed in a scimsync spec (found "!")` + fix}},
		{"on a key", strings.Replace(valid, "  mode: staged", "  !!str mode: staged", 1), []string{
			`a.yaml:8:3: parent.mode: tags are not allowed in a scimsync spec (found "!!str")` + fix}},
		{"on a mapping", strings.Replace(valid, "seats: {", "seats: !!map {", 1), []string{
			`a.yaml:11:12: organizations[0].seats: tags are not allowed in a scimsync spec (found "!!map")` + fix}},
		{"on a list", strings.Replace(valid, "ownerGroups: [admins]", "ownerGroups: !!seq [admins]", 1), []string{
			`a.yaml:16:16: policy.ownerGroups: tags are not allowed in a scimsync spec (found "!!seq")` + fix}},
		// A '!' in a value or a comment is no tag.
		{"exclamation marks elsewhere", strings.Replace(valid, "reason: badge}", `reason: "badge!"}`, 1) + "  # ! not a tag\n  protectedUsers: [wow!@example.gov]\n", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDiags(t, tt.in, tt.want)
		})
	}
}
