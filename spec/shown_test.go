package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// escSpec holds names with an ANSI escape and a bidirectional override in
// every place a message shows a name unquoted: an organization, a seat
// tier list, ownerGroups, loginDomains, an exception's org.
const escSpec = `version: 1
target: {file: t.json}
parent:
  name: a
  loginDomains: [example.gov, "ev\x1b[31mil.gov"]
  seatTiers: [standard, "pre\u202emium"]
  mode: staged
organizations:
  - name: "hq\x1b[31m"
    seats: {standard: 1}
    mappings:
      - {group: users, role: member, seatTier: standard}
      - {group: USERS, role: member, seatTier: standard}
      - {group: admins, role: owner, seatTier: "pre\u202emium"}
      - {group: g2, role: member, seatTier: gold}
  - name: "west\u202e"
    seats: {standard: 1}
    mappings:
      - {group: users, role: member, seatTier: standard}
policy:
  exclusiveOrgs: true
  ownerGroups: ["ow\x1b[31mners", users]
  exceptions:
    - {email: c@other.gov, org: "hq\x1b[31m", until: 2027-03-31, reason: x}
    - {email: c@other.gov, org: "hq\x1b[31m", until: 2027-03-31, reason: x}
current:
  organizations: [{name: other}]
  exceptions:
    - {email: c@example.gov, org: "hq\x1b[31m", until: 2027-03-31, reason: x}
`

// No message shows a name from the spec raw: an escape or an override in a
// name would drive the terminal that shows the message (review,
// 2026-12-07). Names a message shows unquoted are escaped by
// internal/termsafe's rule.
func TestMessagesNeverShowControlCharacters(t *testing.T) {
	_, diags, err := LoadBytesWith(LoadOptions{Now: testNow}, "a.yaml", []byte(escSpec))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, v := range map[string]string{"a.yaml": "1", "b.yaml": "\"\\x1b[31m\\u202e\""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("version: "+v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, more, err := LoadWith(LoadOptions{Now: testNow}, dir)
	if err != nil {
		t.Fatal(err)
	}
	diags = append(diags, more...)
	var text []string
	for _, d := range diags {
		line := d.String()
		text = append(text, line)
		if strings.ContainsAny(line, "\x1b\u202e") {
			t.Errorf("raw control character in %q", line)
		}
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{
		`is not one of parent.seatTiers [standard pre\u202emium]`,
		`group "USERS" is mapped twice in hq\x1b[31m (first at`,
		`hq\x1b[31m buys no "pre\u202emium" seats`,
		`add seats: {pre\u202emium: N} to the organization`,
		`which is not in policy.ownerGroups [ow\x1b[31mners users]`,
		`is also mapped in hq\x1b[31m (at`,
		`is outside parent.loginDomains [example.gov ev\x1b[31mil.gov]`,
		`duplicate exception for "c@other.gov" in hq\x1b[31m (first at`,
		`describe hq\x1b[31m as it is now in current.organizations`,
		`version \x1b[31m\u202e differs from version 1 at`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no message holds %s", want)
		}
	}
	if t.Failed() {
		t.Logf("messages:\n%s", all)
	}
}
