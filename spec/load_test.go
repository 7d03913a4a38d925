package spec

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// valid is a small spec without diagnostics; cases edit it.
const valid = `version: 1
target:
  file: tenant.json
parent:
  name: example-agency
  loginDomains: [example.gov]
  seatTiers: [standard, premium]
  mode: staged
organizations:
  - name: hq
    seats: {standard: 10, premium: 2}
    mappings:
      - {group: admins, role: owner, seatTier: premium}
      - {group: users, role: member, seatTier: standard}
policy:
  ownerGroups: [admins]
  exceptions:
    - {email: c@example.gov, org: hq, until: 2027-03-31, reason: badge}
`

func diagLines(ds Diagnostics) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

func TestLoadBytesDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"valid", valid, []string{}},
		{"malformed", "version: 1\ntarget: {file: t.json\nparent: x\n",
			[]string{
				`a.yaml:2:9: invalid YAML: did not find expected ',' or '}'; close the flow collection opened on this line`,
			}},
		{"bad indentation", strings.Replace(valid, "    seats:", "     seats:", 1),
			[]string{
				`a.yaml:11:11: invalid YAML: mapping values are not allowed in this context; quote the value, or put the nested mapping on its own indented line`,
			}},
		{"mapping in scalar", "version: 1\ntarget: file: t.json\n",
			[]string{`a.yaml:2:13: invalid YAML: mapping values are not allowed in this context; quote the value, or put the nested mapping on its own indented line`}},
		{"tabs", "version: 1\ntarget:\n\tfile: t.json\nparent:\n  \tname: x\n",
			[]string{
				`a.yaml:3:1: tab character in indentation; indent with spaces; YAML does not allow tabs`,
				`a.yaml:5:3: tab character in indentation; indent with spaces; YAML does not allow tabs`,
			}},
		{"duplicate keys", strings.Replace(valid, "  mode: staged\n", "  mode: staged\n  mode: full\n", 1),
			[]string{`a.yaml:9:3: parent.mode: duplicate key "mode" (first at a.yaml:8:3); remove one of them`}},
		{"empty", "", []string{`a.yaml:1:1: file is empty; a spec starts with version: 1`}},
		{"comments only", "# nothing\n\n", []string{`a.yaml:1:1: file is empty; a spec starts with version: 1`}},
		{"null document", "---\n~\n", []string{`a.yaml:1:1: file is empty; a spec starts with version: 1`}},
		{"not a mapping", "- a\n- b\n", []string{`a.yaml:1:1: the top level is a list; a spec is a mapping of fields (version, target, parent…); start the file with version: 1`}},
		{"two documents", valid + "---\nversion: 1\n", []string{
			`a.yaml:19:1: more than one YAML document in the file; remove the --- separator; split a spec across files in a directory instead`,
		}},
		{"not utf-8", "version: 1\nparent:\n  name: caf\xe9\n", []string{`a.yaml:3:12: invalid UTF-8 (byte 0xe9); save the file as UTF-8`}},
		{"merge key", "version: 1\nbase: &b {file: t.json}\ntarget:\n  <<: *b\n",
			[]string{`a.yaml:4:3: target: merge keys (<<) are not supported; write the fields out; the spec does not support YAML merge keys`}},
		{"unknown field with suggestion", strings.Replace(valid, "seatTier: standard}", "seatTeir: standard}", 1),
			[]string{
				`a.yaml:14:9: organizations[0].mappings[1]: missing required field "seatTier"`,
				`a.yaml:14:38: organizations[0].mappings[1].seatTeir: unknown field "seatTeir"; did you mean "seatTier"?`,
			}},
		{"unknown field without suggestion", strings.Replace(valid, "  mode: staged\n", "  mode: staged\n  colour: blue\n", 1),
			[]string{`a.yaml:9:3: parent.colour: unknown field "colour"; known fields: loginDomains, mode, name, seatTiers`}},
		{"inline token", strings.Replace(valid, "  file: tenant.json\n", "  url: https://scim.example.gov/v2\n  token: s3cr3t-VALUE-never-shown\n", 1),
			[]string{`a.yaml:4:3: target.token: "token" holds a secret inline; secrets never live in the spec, so the value is refused and not shown; put the token in an environment variable named by tokenEnv, or in a file named by tokenFile`}},
		{"token in tokenEnv", strings.Replace(valid, "  file: tenant.json\n", "  url: https://scim.example.gov/v2\n  tokenEnv: Zx81LmQpW2rT7vY4kB9nC3dF\n", 1),
			[]string{`a.yaml:4:13: target.tokenEnv: looks like a token, not the name of an environment variable; secrets never live in the spec, so the value is not shown; put the token in an environment variable and write that variable's name here`}},
		{"bearer token in tokenEnv", strings.Replace(valid, "  file: tenant.json\n", "  url: https://scim.example.gov/v2\n  tokenEnv: Bearer abc.def\n", 1),
			[]string{`a.yaml:4:13: target.tokenEnv: must be the name of an environment variable (letters, digits and _, not starting with a digit), never the token itself`}},
		{"credentials in url", strings.Replace(valid, "  file: tenant.json\n", "  url: https://admin:hunter2@scim.example.gov/v2\n", 1),
			[]string{`a.yaml:3:8: target.url: must not contain credentials; secrets never live in the spec, so the value is not shown; remove user:password@; the token comes from tokenEnv or tokenFile`}},
		{"plain http", strings.Replace(valid, "  file: tenant.json\n", "  url: http://scim.example.gov/v2\n", 1),
			[]string{`a.yaml:3:8: target.url: sends the bearer token over plain http; use https; plain http is allowed for loopback addresses only`}},
		{"http on loopback", strings.Replace(valid, "  file: tenant.json\n", "  url: http://127.0.0.1:8080/scim/v2\n", 1), []string{}},
		{"url and file", strings.Replace(valid, "  file: tenant.json\n", "  file: tenant.json\n  url: https://x.example.gov/v2\n", 1),
			[]string{`a.yaml:3:9: target.file: url and file are mutually exclusive; keep url for a live server, or file for an offline snapshot`}},
		{"wrong types", strings.Replace(strings.Replace(valid, "standard: 10,", "standard: ten,", 1), "  seatTiers: [standard, premium]", "  seatTiers: standard", 1),
			[]string{
				`a.yaml:7:14: parent.seatTiers: must be a list, not a string`,
				`a.yaml:11:23: organizations[0].seats.standard: must be an integer, not a string`,
			}},
		{"unknown mode", strings.Replace(valid, "mode: staged", "mode: stagd", 1),
			[]string{`a.yaml:8:9: parent.mode: "stagd" is not one of [jit staged full]; did you mean "staged"?`}},
		{"version", strings.Replace(valid, "version: 1", "version: 2", 1),
			[]string{`a.yaml:1:10: version: 2 is not supported; this scimsync reads version 1; set version: 1`}},
		{"missing required", "version: 1\ntarget: {file: t.json}\nparent: {name: a}\norganizations: []\n",
			[]string{
				`a.yaml:3:9: parent: missing required field "seatTiers"`,
				`a.yaml:4:16: organizations: must name at least one organization`,
			}},
		{"seat tier not in seatTiers", strings.Replace(valid, "seatTier: standard}", "seatTier: gold}", 1),
			[]string{
				`a.yaml:14:48: organizations[0].mappings[1].seatTier: "gold" is not one of parent.seatTiers [standard premium]; use one of parent.seatTiers, or add the tier there`,
			}},
		{"seat tier typo", strings.Replace(valid, "seatTier: standard}", "seatTier: standrd}", 1),
			[]string{
				`a.yaml:14:48: organizations[0].mappings[1].seatTier: "standrd" is not one of parent.seatTiers [standard premium]; did you mean "standard"?`,
			}},
		{"seats for unknown tier", strings.Replace(valid, "premium: 2}", "premium: 2, gold: 1}", 1),
			[]string{
				`a.yaml:11:39: organizations[0].seats.gold: "gold" is not one of parent.seatTiers [standard premium]; use one of parent.seatTiers, or add the tier there`,
			}},
		{"mapped tier without seats", strings.Replace(valid, ", premium: 2}", "}", 1),
			[]string{
				`a.yaml:13:48: warning: organizations[0].mappings[0].seatTier: hq buys no "premium" seats, so every user this mapping entitles overcommits; add seats: {premium: N} to the organization`,
			}},
		{"role outside enum", strings.Replace(valid, "role: member", "role: viewer", 1),
			[]string{
				`a.yaml:14:30: organizations[0].mappings[1].role: "viewer" is not one of [member admin owner]`,
			}},
		{"primary-owner", strings.Replace(valid, "role: member", "role: primary-owner", 1),
			[]string{
				`a.yaml:14:30: organizations[0].mappings[1].role: "primary-owner" is not one of [member admin owner]; primary-owner is never granted by a mapping: the server keeps each org's primary owner as it is; grant owner instead`,
			}},
		{"duplicate orgs", strings.Replace(valid, "policy:", "  - name: HQ\npolicy:", 1), []string{
			"a.yaml:15:11: organizations[1].name: duplicate organization \"HQ\" (first at a.yaml:10:11); merge the two entries, or rename one",
		}},
		{"group mapped twice", strings.Replace(valid, "{group: users,", "{group: Admins,", 1),
			[]string{`a.yaml:14:9: organizations[0].mappings[1]: group "Admins" is mapped twice in hq (first at a.yaml:13:9); keep one mapping per group; a user's role is the highest of their groups' anyway`}},
		{"group and groupId", strings.Replace(valid, "{group: users,", "{group: users, groupId: g-1,", 1),
			[]string{
				`a.yaml:14:33: organizations[0].mappings[1].groupId: group and groupId are mutually exclusive; keep one of them`,
			}},
		{"no group", strings.Replace(valid, "{group: users, ", "{", 1),
			[]string{`a.yaml:14:9: organizations[0].mappings[1]: names no group; name the IdP group by group (its displayName) or groupId`}},
		{"owner outside ownerGroups", strings.Replace(valid, "role: member", "role: admin", 1),
			[]string{
				`a.yaml:14:30: organizations[0].mappings[1].role: admin granted from group "users", which is not in policy.ownerGroups [admins]; grant member, or add the group to policy.ownerGroups`,
			}},
		{"maxRemovalPercent", valid + "  maxRemovalPercent: 101\n",
			[]string{
				`a.yaml:19:22: policy.maxRemovalPercent: must be between 0 and 100, not 101`,
			}},
		{"negative maxRemovals", valid + "  maxRemovals: -1\n",
			[]string{
				`a.yaml:19:16: policy.maxRemovals: must be at least 0, not -1`,
			}},
		{"exception malformed date", strings.Replace(valid, "until: 2027-03-31", "until: 31/03/2027", 1),
			[]string{`a.yaml:18:46: policy.exceptions[0].until: "31/03/2027" is not a date (YYYY-MM-DD); write the date as YYYY-MM-DD`}},
		// A date written YYYY-MM-DD that names no day is not a format
		// mistake (issue 15).
		{"exception impossible date", strings.Replace(valid, "until: 2027-03-31", "until: 2027-02-30", 1),
			[]string{`a.yaml:18:46: policy.exceptions[0].until: "2027-02-30" is not a valid date; February 2027 has 28 days`}},
		{"exception impossible leap day", strings.Replace(valid, "until: 2027-03-31", "until: 2028-02-30", 1),
			[]string{`a.yaml:18:46: policy.exceptions[0].until: "2028-02-30" is not a valid date; February 2028 has 29 days`}},
		{"exception impossible month", strings.Replace(valid, "until: 2027-03-31", "until: 2027-13-01", 1),
			[]string{`a.yaml:18:46: policy.exceptions[0].until: "2027-13-01" is not a valid date; months go from 01 to 12`}},
		{"exception date without leading zeros", strings.Replace(valid, "until: 2027-03-31", "until: 2027-2-3", 1),
			[]string{`a.yaml:18:46: policy.exceptions[0].until: "2027-2-3" is not a date (YYYY-MM-DD); write the date as YYYY-MM-DD`}},
		{"exception expired", strings.Replace(valid, "until: 2027-03-31", "until: 2026-11-26", 1),
			[]string{`a.yaml:18:46: warning: policy.exceptions[0].until: expired on 2026-11-26; the exception keeps nobody; remove the exception, or move until to a later date`}},
		// until is inclusive: on its last day an exception is live, and
		// announced (the notice window, default 14 days).
		{"exception until today is live", strings.Replace(valid, "until: 2027-03-31", "until: 2026-11-27", 1),
			[]string{`a.yaml:18:46: warning: policy.exceptions[0].until: lapses soon: last day 2026-11-27 (today); from 2026-11-28 the exception keeps nobody; extend until, or provision the member through SCIM`}},
		{"exception lapses tomorrow", strings.Replace(valid, "until: 2027-03-31", "until: 2026-11-28", 1),
			[]string{`a.yaml:18:46: warning: policy.exceptions[0].until: lapses soon: last day 2026-11-28 (tomorrow); from 2026-11-29 the exception keeps nobody; extend until, or provision the member through SCIM`}},
		{"exception at the window's edge", strings.Replace(valid, "until: 2027-03-31", "until: 2026-12-11", 1),
			[]string{`a.yaml:18:46: warning: policy.exceptions[0].until: lapses soon: last day 2026-12-11 (in 14 days); from 2026-12-12 the exception keeps nobody; extend until, or provision the member through SCIM`}},
		{"exception beyond the window", strings.Replace(valid, "until: 2027-03-31", "until: 2026-12-12", 1), []string{}},
		{"notice window widened", strings.Replace(valid, "until: 2027-03-31", "until: 2026-12-12", 1) + "  exceptionNoticeDays: 15\n",
			[]string{`a.yaml:18:46: warning: policy.exceptions[0].until: lapses soon: last day 2026-12-12 (in 15 days); from 2026-12-13 the exception keeps nobody; extend until, or provision the member through SCIM`}},
		{"notice window of 0 days", strings.Replace(valid, "until: 2027-03-31", "until: 2026-11-28", 1) + "  exceptionNoticeDays: 0\n", []string{}},
		{"negative notice window", valid + "  exceptionNoticeDays: -1\n",
			[]string{`a.yaml:19:24: policy.exceptionNoticeDays: must be at least 0, not -1`}},
		// YAML reads a number beyond a float's range as a string; the
		// message says so rather than "not a string" (review, 2026-12-07).
		{"a percentage beyond a float's range", valid + "  maxRemovalPercent: 1e400\n",
			[]string{`a.yaml:19:22: policy.maxRemovalPercent: must be a number; 1e400 is out of range`}},
		{"fractional notice window", valid + "  exceptionNoticeDays: 1.5\n",
			[]string{`a.yaml:19:24: policy.exceptionNoticeDays: must be an integer, not a number with a fraction`}},
		{"exception unknown org", strings.Replace(valid, "org: hq,", "org: hqq,", 1),
			[]string{
				`a.yaml:18:35: policy.exceptions[0].org: "hqq" is not an organization in this spec; did you mean "hq"?`,
			}},
		// Org and group names compare by the one name rule too
		// (internal/match): a Kelvin sign does not name the org "kilo".
		{"exception org by a look-alike name", strings.Replace(strings.Replace(valid, "name: hq", "name: kilo", 1), "org: hq,", "org: \"\u212ailo\",", 1),
			[]string{`a.yaml:18:35: policy.exceptions[0].org: "Kilo" is not an organization in this spec; did you mean "kilo"?`}},
		{"duplicate exceptions", valid + "    - {email: C@Example.gov, org: hq, until: 2027-01-01, reason: again}\n",
			[]string{`a.yaml:19:15: policy.exceptions[1].email: duplicate exception for "C@Example.gov" in hq (first at a.yaml:18:7); keep one exception per member and organization`}},
		// Emails compare by the one rule (internal/match, DESIGN §5): a
		// Kelvin sign is not a k, so these are two people (issue 15) ...
		{"exceptions for look-alike addresses", strings.Replace(valid, "c@example.gov", "kim@example.gov", 1) + "    - {email: \"\u212aim@example.gov\", org: hq, until: 2027-01-01, reason: again}\n",
			[]string{}},
		{"protected look-alike addresses", valid + "  protectedUsers: [kim@example.gov, \"\u212aim@example.gov\"]\n", []string{}},
		// ... while an é written decomposed is the é written composed: one
		// person, two exceptions (the plan would write both).
		{"duplicate exceptions, one decomposed", strings.Replace(valid, "c@example.gov", "ren\u00e9@example.gov", 1) + "    - {email: \"rene\u0301@example.gov\", org: hq, until: 2027-01-01, reason: again}\n",
			[]string{"a.yaml:19:15: policy.exceptions[1].email: duplicate exception for \"rene\u0301@example.gov\" in hq (first at a.yaml:18:7); keep one exception per member and organization"}},
		{"duplicate protected users, one decomposed", valid + "  protectedUsers: [\"ren\u00e9@example.gov\", \"rene\u0301@example.gov\"]\n",
			[]string{
				"a.yaml:19:40: policy.protectedUsers[1]: duplicate protected user \"rene\u0301@example.gov\" (first at a.yaml:19:20); remove one of them",
			}},
		{"duplicate protected users", valid + "  protectedUsers: [bg@example.gov, BG@example.gov ]\n",
			[]string{
				`a.yaml:19:36: policy.protectedUsers[1]: duplicate protected user "BG@example.gov" (first at a.yaml:19:20); remove one of them`,
			}},
		{"protected user not an email", valid + "  protectedUsers: [breakglass]\n",
			[]string{
				`a.yaml:19:20: policy.protectedUsers[0]: "breakglass" is not an email address; write a full address such as someone@example.gov`,
			}},
		{"email outside loginDomains", strings.Replace(valid, "c@example.gov", "c@contractor.com", 1),
			[]string{`a.yaml:18:15: warning: policy.exceptions[0].email: "c@contractor.com" is outside parent.loginDomains [example.gov]; check the address, or add the domain to parent.loginDomains`}},
		{"exclusive orgs", strings.Replace(valid, "policy:", "  - name: west\n    seats: {standard: 1}\n    mappings: [{group: USERS, role: member, seatTier: standard}]\npolicy:\n  exclusiveOrgs: true", 1), []string{
			"a.yaml:17:16: organizations[1].mappings[0]: group \"USERS\" is also mapped in hq (at a.yaml:14:9), but policy.exclusiveOrgs is true; map each group in one organization only, or set policy.exclusiveOrgs: false",
		}},
		{"alias bomb", aliasBomb(),
			[]string{
				`a.yaml:6:8: excessive aliasing: the document expands to more than 10408 values; write the values out instead of nesting aliases`,
			}},
		{"membersCsv without current", strings.Replace(valid, "  file: tenant.json\n", "  url: https://x.example.gov/v2\n  membersCsv: members.csv\n", 1),
			[]string{`a.yaml:4:15: target.membersCsv: the members-export source needs the spec's current: block; add a current: block with the live parent and organizations`}},
		{"current without membersCsv", valid + "current:\n  organizations: [{name: hq}]\n",
			[]string{
				`a.yaml:19:1: warning: current: is read only with target.membersCsv; it is ignored; remove it, or set target.membersCsv`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDiags(t, tt.in, tt.want)
		})
	}
}

func aliasBomb() string {
	lines := []string{"version: 1", `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`}
	prev := "a"
	for _, n := range "bcdefghi" {
		refs := strings.Repeat("*"+prev+",", 8) + "*" + prev
		lines = append(lines, string(n)+": &"+string(n)+" ["+refs+"]")
		prev = string(n)
	}
	return strings.Join(lines, "\n") + "\n"
}

// validExport is a members-export spec whose current.exceptions match its
// policy.exceptions; cases edit the current: block (from line 20).
const validExport = `version: 1
target:
  url: https://scim.example.gov/v2
  membersCsv: members.csv
parent:
  name: example-agency
  loginDomains: [example.gov]
  seatTiers: [standard, premium]
  mode: staged
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: users, role: member, seatTier: standard}
  - name: west
    seats: {standard: 5}
policy:
  exceptions:
    - {email: c@example.gov, org: hq, until: 2027-03-31, reason: badge}
current:
  organizations:
    - name: hq
      seats: {standard: 10}
      mappings:
        - {group: users, role: member, seatTier: standard}
  exceptions:
    - {email: c@example.gov, org: hq, until: 2027-03-31, reason: badge}
`

// current.exceptions is checked like policy.exceptions where that makes
// sense for the tenant's state: its org must be one of current.organizations
// and its date a date, but an expired date, a missing reason or an address
// outside parent.loginDomains is what the tenant holds, not a mistake.
func TestCurrentExceptionsDiagnostics(t *testing.T) {
	const line = "    - {email: c@example.gov, org: hq, until: 2027-03-31, reason: badge}\n"
	cur := func(repl string) string {
		i := strings.LastIndex(validExport, line)
		return validExport[:i] + repl
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"valid", validExport, []string{}},
		{"expired is the tenant's state", cur("    - {email: c@example.gov, org: hq, until: 2026-01-31, reason: badge}\n"), []string{}},
		{"until today", cur("    - {email: c@example.gov, org: hq, until: 2026-11-27}\n"), []string{}},
		{"no reason", cur("    - {email: c@example.gov, org: hq, until: 2027-03-31}\n"), []string{}},
		{"outside loginDomains", cur("    - {email: c@contractor.com, org: HQ, until: 2027-03-31}\n"), []string{}},
		{"malformed until", cur("    - {email: c@example.gov, org: hq, until: 31/03/2027}\n"),
			[]string{`a.yaml:27:46: current.exceptions[0].until: "31/03/2027" is not a date (YYYY-MM-DD); write the date as YYYY-MM-DD`}},
		{"impossible until", cur("    - {email: c@example.gov, org: hq, until: 2027-02-30}\n"),
			[]string{`a.yaml:27:46: current.exceptions[0].until: "2027-02-30" is not a valid date; February 2027 has 28 days`}},
		// current.exceptions describe the tenant: no notice for them.
		{"until within the notice window", cur("    - {email: c@example.gov, org: hq, until: 2026-11-28}\n"), []string{}},
		{"until not a string", cur("    - {email: c@example.gov, org: hq, until: [2027]}\n"),
			[]string{`a.yaml:27:46: current.exceptions[0].until: must be a string, not a list; write the date as YYYY-MM-DD`}},
		{"org typo", cur("    - {email: c@example.gov, org: hqq, until: 2027-03-31}\n"),
			[]string{`a.yaml:27:35: current.exceptions[0].org: "hqq" is not an organization in current.organizations; did you mean "hq"?`}},
		{"spec org not in current", cur("    - {email: c@example.gov, org: west, until: 2027-03-31}\n"),
			[]string{`a.yaml:27:35: current.exceptions[0].org: "west" is not an organization in current.organizations; describe west as it is now in current.organizations`}},
		{"unknown org", cur("    - {email: c@example.gov, org: finance, until: 2027-03-31}\n"),
			[]string{`a.yaml:27:35: current.exceptions[0].org: "finance" is not an organization in current.organizations; name one of current.organizations`}},
		{"not an email", cur("    - {email: contractor, org: hq, until: 2027-03-31}\n"),
			[]string{`a.yaml:27:15: current.exceptions[0].email: "contractor" is not an email address; write a full address such as someone@example.gov`}},
		{"duplicate", validExport + "    - {email: C@Example.gov, org: HQ, until: 2027-01-01}\n",
			[]string{`a.yaml:28:15: current.exceptions[1].email: duplicate exception for "C@Example.gov" in HQ (first at a.yaml:27:7); keep one exception per member and organization`}},
		{"missing until", cur("    - {email: c@example.gov, org: hq}\n"),
			[]string{`a.yaml:27:7: current.exceptions[0]: missing required field "until"`}},
		{"unknown field", cur("    - {email: c@example.gov, org: hq, until: 2027-03-31, note: x}\n"),
			[]string{`a.yaml:27:58: current.exceptions[0].note: unknown field "note"; known fields: email, org, reason, until`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == validExport && tt.name != "valid" {
				t.Fatal("the edit did not apply")
			}
			checkDiags(t, tt.in, tt.want)
		})
	}
}

// current.exceptions is part of the spec's meaning: Hash changes with it,
// not with its order, and each entry knows where it is written.
func TestCurrentExceptionsHashAndPositions(t *testing.T) {
	load := func(t *testing.T, in string) *Spec {
		t.Helper()
		s, diags, err := LoadBytesWith(LoadOptions{Now: testNow}, "a.yaml", []byte(in))
		if err != nil || diags.HasErrors() {
			t.Fatalf("err %v, diags %v", err, diags)
		}
		return s
	}
	two := validExport + "    - {email: d@example.gov, org: hq, until: 2027-05-01, reason: audit}\n"
	base := load(t, two)
	if got, want := base.Current.Exceptions[1].Pos, (Pos{File: "a.yaml", Line: 28, Col: 7}); got != want {
		t.Errorf("current.exceptions[1] at %v, want %v", got, want)
	}
	reordered := strings.Replace(two,
		"    - {email: c@example.gov, org: hq, until: 2027-03-31, reason: badge}\n    - {email: d@example.gov, org: hq, until: 2027-05-01, reason: audit}\n",
		"    - {email: d@example.gov, org: hq, until: 2027-05-01, reason: audit}\n    - {email: c@example.gov, org: hq, until: 2027-03-31, reason: badge}\n", 1)
	if reordered == two {
		t.Fatal("the reorder did not apply")
	}
	if load(t, reordered).Hash() != base.Hash() {
		t.Error("reordering current.exceptions changed the hash")
	}
	for name, in := range map[string]string{
		"until":   strings.Replace(two, "2027-05-01", "2027-05-02", 1),
		"reason":  strings.Replace(two, "reason: audit", "reason: audits", 1),
		"removed": validExport,
	} {
		if load(t, in).Hash() == base.Hash() {
			t.Errorf("%s: hash did not change", name)
		}
	}
}

// A spec holding only version and target loads clean with TargetOnly (for
// snapshot, import and doctor) and is refused, as before, without it.
func TestLoadTargetOnly(t *testing.T) {
	const targetOnly = "version: 1\ntarget:\n  url: https://scim.example.gov/v2\n"
	load := func(t *testing.T, opts LoadOptions, in string) (*Spec, []string) {
		t.Helper()
		opts.Now = testNow
		s, diags, err := LoadBytesWith(opts, "a.yaml", []byte(in))
		if err != nil {
			t.Fatalf("LoadBytes: %v", err)
		}
		return s, diagLines(diags)
	}
	t.Run("target only", func(t *testing.T) {
		s, got := load(t, LoadOptions{TargetOnly: true}, targetOnly)
		if diff := cmp.Diff([]string{}, got); diff != "" {
			t.Errorf("diagnostics (-want +got):\n%s", diff)
		}
		if s == nil || s.Target.URL != "https://scim.example.gov/v2" || s.Target.TokenEnv != DefaultTokenEnv {
			t.Fatalf("spec = %+v, want the target, defaulted", s)
		}
		if s.Parent.Mode != DefaultMode || s.Policy.MaxRemovals == nil {
			t.Errorf("defaults not applied: %+v", s)
		}
	})
	t.Run("without TargetOnly", func(t *testing.T) {
		_, got := load(t, LoadOptions{}, targetOnly)
		want := []string{
			`a.yaml:1:1: missing required field "parent"`,
			`a.yaml:1:1: missing required field "organizations"`,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("diagnostics (-want +got):\n%s", diff)
		}
	})
	t.Run("version and target still required", func(t *testing.T) {
		_, got := load(t, LoadOptions{TargetOnly: true}, "version: 1\n")
		if diff := cmp.Diff([]string{`a.yaml:1:1: missing required field "target"`}, got); diff != "" {
			t.Errorf("diagnostics (-want +got):\n%s", diff)
		}
	})
	t.Run("present fields checked as usual", func(t *testing.T) {
		in := targetOnly + "parent: {name: a}\norganizations: []\npolicy:\n  maxRemovals: -1\n"
		_, got := load(t, LoadOptions{TargetOnly: true}, in)
		want := []string{
			`a.yaml:4:9: parent: missing required field "seatTiers"`,
			`a.yaml:5:16: organizations: must name at least one organization`,
			`a.yaml:7:16: policy.maxRemovals: must be at least 0, not -1`,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("diagnostics (-want +got):\n%s", diff)
		}
	})
	t.Run("full spec loads the same in both modes", func(t *testing.T) {
		a, da := load(t, LoadOptions{}, valid)
		b, db := load(t, LoadOptions{TargetOnly: true}, valid)
		if diff := cmp.Diff(da, db); diff != "" {
			t.Errorf("diagnostics differ (-full +target-only):\n%s", diff)
		}
		if a.Hash() != b.Hash() {
			t.Error("hash differs between the modes")
		}
	})
	t.Run("target problems still reported", func(t *testing.T) {
		_, got := load(t, LoadOptions{TargetOnly: true}, "version: 1\ntarget: {}\n")
		if diff := cmp.Diff([]string{`a.yaml:2:9: target: names neither url nor file; set url (a SCIM server) or file (an offline snapshot)`}, got); diff != "" {
			t.Errorf("diagnostics (-want +got):\n%s", diff)
		}
	})
}

func TestTargetKind(t *testing.T) {
	tests := []struct {
		t             Target
		kind          TargetKind
		field         string // of Problem, "" when none
		write, snapOK bool
	}{
		{Target{URL: "https://x/v2"}, TargetSCIM, "", true, true},
		{Target{URL: "https://x/v2", TokenFile: "tok", CAFile: "ca.pem"}, TargetSCIM, "", true, true},
		{Target{File: "tenant.json"}, TargetSnapshot, "", true, false},
		{Target{URL: "https://x/v2", MembersCSV: "m.csv"}, TargetMembersExport, "", false, false},
		{Target{}, TargetInvalid, "target", false, false},
		{Target{URL: "https://x/v2", File: "t.json"}, TargetInvalid, "target.file", false, false},
		{Target{File: "t.json", MembersCSV: "m.csv"}, TargetInvalid, "target.membersCsv", false, false},
		{Target{MembersCSV: "m.csv"}, TargetInvalid, "target", false, false},
	}
	for _, tt := range tests {
		k := tt.t.Kind()
		if k != tt.kind || k.Writable() != tt.write || k.Snapshottable() != tt.snapOK {
			t.Errorf("%+v: kind %v (writable %v, snapshottable %v), want %v (%v, %v)",
				tt.t, k, k.Writable(), k.Snapshottable(), tt.kind, tt.write, tt.snapOK)
		}
		p := tt.t.Problem()
		switch {
		case tt.field == "" && p != nil:
			t.Errorf("%+v: problem %v, want none", tt.t, p)
		case tt.field != "" && (p == nil || p.Field != tt.field):
			t.Errorf("%+v: problem %v, want one at %s", tt.t, p, tt.field)
		}
		if (p != nil) != (k == TargetInvalid) {
			t.Errorf("%+v: Problem and Kind disagree", tt.t)
		}
	}
	if got := (Target{}).Problem().Error(); got != "target: names neither url nor file; set url (a SCIM server) or file (an offline snapshot)" {
		t.Errorf("Problem().Error() = %q", got)
	}
}

// A syntax error at the end of a large spec is located from the one parse
// of the file (it was re-parsed up to 400 times).
func TestSyntaxErrorOneParse(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\ntarget: {file: t.json}\nparent: {name: p, seatTiers: [s]}\norganizations:\n")
	for i := 0; b.Len() < 1<<20; i++ {
		b.WriteString("  - name: org\n    seats: {s: 1}\n")
	}
	for _, end := range []string{"  - name: x\n   bad: [\n", "  - name: x\n    mappings: *nope\n", "  - name: x: y\n"} {
		n := 0
		onParse = func() { n++ }
		_, diags, err := LoadBytes("a.yaml", []byte(b.String()+end))
		onParse = nil
		if err != nil || !diags.HasErrors() {
			t.Fatalf("%q: err %v, diags %v", end, err, diags)
		}
		if n != 1 {
			t.Errorf("%q: %d parses, want 1", end, n)
		}
		if d := diags[0]; d.Pos.Line < 30000 {
			t.Errorf("%q: error placed at %v, want at the end of the file", end, d.Pos)
		}
	}
}

// Seat tiers compare exactly in validate, as the planner and the server
// compare them: a tier that matches one of parent.seatTiers only in another
// case is refused, with the exact spelling (review, 2026-12-07). Two
// seatTiers differing only in case stay refused as duplicates.
func TestSeatTiersCompareExactly(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"seats in another case", strings.Replace(valid, "premium: 2}", "Premium: 2}", 1), []string{
			`a.yaml:11:27: organizations[0].seats.Premium: "Premium" is not one of parent.seatTiers [standard premium]; did you mean "premium"?`,
			`a.yaml:13:48: warning: organizations[0].mappings[0].seatTier: hq buys no "premium" seats, so every user this mapping entitles overcommits; add seats: {premium: N} to the organization`,
		}},
		{"mapping in another case", strings.Replace(valid, "seatTier: premium}", "seatTier: Premium}", 1), []string{
			`a.yaml:13:48: organizations[0].mappings[0].seatTier: "Premium" is not one of parent.seatTiers [standard premium]; did you mean "premium"?`,
		}},
		{"seatTiers differing only in case", strings.Replace(valid, "seatTiers: [standard, premium]", "seatTiers: [standard, premium, Premium]", 1), []string{
			`a.yaml:7:34: parent.seatTiers[2]: duplicate seat tier "Premium" (first at a.yaml:7:25); remove one of them`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDiags(t, tt.in, tt.want)
		})
	}
}

// checkDiags loads in, as a.yaml at testNow, and checks its diagnostics
// are want, logging each line got when they differ.
func checkDiags(t *testing.T, in string, want []string) {
	t.Helper()
	_, diags, err := LoadBytesWith(LoadOptions{Now: testNow}, "a.yaml", []byte(in))
	if err != nil {
		t.Fatalf("LoadBytes: %v", err)
	}
	if diff := cmp.Diff(want, diagLines(diags)); diff != "" {
		for _, l := range diagLines(diags) {
			t.Logf("GOT %q", l)
		}
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}
