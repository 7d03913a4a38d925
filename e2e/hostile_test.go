package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// Hostile strings a server might hold. Each reaches the plan through
// another path: a user's userName and emails (a member added), a member's
// email (readiness: who would be removed), a group's displayName (a mapping
// the spec removes), an exception's email and reason (an exception the spec
// removes).
const (
	// ANSI: clear the screen, move the cursor home, colour, and an OSC 8
	// hyperlink ending in BEL.
	hostileUser = "mallory\x1b[2J\x1b[H\x1b[31m@example.gov"
	// A CR and a fake summary line, to overwrite what was printed, and a
	// bidirectional override.
	hostileMember = "eve\r\nPlan: 0 to add, 0 to change, 0 to remove.\u202e@example.gov"
	// Markdown and HTML that would render as a table break, a link, an
	// image, a mention and a script.
	hostileGroup = "ops | <script>alert(1)</script> [click](http://evil.example) ![x](http://evil.example/x.png) @everyone **bold** `code`"
	// An OSC 8 hyperlink, a zero-width joiner, a NUL and a DEL.
	hostileReason   = "badge\x1b]8;;http://evil.example\x07pending\x1b]8;;\x07\u200d\x00\x7f</details><details open>"
	hostileExcEmail = "trent\x1b[8m@partner-agency.gov"
)

// hostileSnapshot is the fixture tenant with the hostile strings planted
// where the fixture spec's plan will show them.
func hostileSnapshot(t testing.TB) *tenant.Snapshot {
	t.Helper()
	snap := readSnapshot(t, fixtureTenant)
	// A new active user in claude-west-admins, a group the spec maps in
	// regional-west and the server does not yet: added there.
	snap.Users = append(snap.Users, scim.User{
		Schemas:  []string{scim.SchemaUser},
		ID:       "u-mallory",
		UserName: hostileUser,
		Emails:   []scim.Email{{Value: hostileUser, Primary: true}},
		Active:   true,
	})
	var hq, east *scim.Organization
	for i := range snap.Organizations {
		switch snap.Organizations[i].Name {
		case "hq":
			hq = &snap.Organizations[i]
		case "regional-east":
			east = &snap.Organizations[i]
		}
	}
	for i := range snap.Groups {
		if snap.Groups[i].DisplayName == "claude-west-admins" {
			snap.Groups[i].Members = append(snap.Groups[i].Members, scim.GroupMember{Value: "u-mallory", Type: "User"})
		}
	}
	// A group mapped in hq on the server but not in the spec: the plan
	// removes the mapping and names the group.
	snap.Groups = append(snap.Groups, scim.Group{Schemas: []string{scim.SchemaGroup}, ID: "g-hostile", DisplayName: hostileGroup})
	hq.Mappings = append(hq.Mappings, scim.Mapping{Group: "g-hostile", Role: "member", SeatTier: "standard"})
	// A JIT member of hq: not SCIM-backed, so it would go under full.
	snap.Members = append(snap.Members, scim.Member{
		Schemas: []string{scim.SchemaMember}, ID: "m-eve", Organization: hq.ID,
		Email: hostileMember, Role: "member", SeatTier: "standard", Origin: "jit",
	})
	// An exception the spec does not hold: the plan removes it.
	east.Exceptions = []scim.Exception{{Email: hostileExcEmail, Until: "2027-02-28", Reason: hostileReason}}
	// The server recomputes members itself; do the same so that the
	// snapshot is one a server could hold.
	if _, err := tenant.Recompute(snap, testNow); err != nil {
		t.Fatal(err)
	}
	return snap
}

// escapedText is how the text renderer shows a hostile string: each
// control or format character as its \x or \u escape, lower-cased where
// the plan lower-cases emails.
var escapedForms = []string{
	`mallory\x1b[2j\x1b[h\x1b[31m@example.gov`,
	`eve\x0d\x0aplan: 0 to add, 0 to change, 0 to remove.\u202e@example.gov`,
	`badge\x1b]8;;http://evil.example\x07pending`,
}

// inert checks that out, a plan rendered for a terminal or a Markdown
// viewer, holds no control or format character besides newlines, and, in
// colour, no escape sequence other than SGR colour codes.
func inert(t *testing.T, what, out string, colour bool) {
	t.Helper()
	if colour {
		out = sgr.ReplaceAllString(out, "")
	}
	for i, r := range out {
		if r == '\n' {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			lo := max(0, i-40)
			t.Errorf("%s: %U at byte %d: …%q…", what, r, i, out[lo:min(len(out), i+40)])
			return
		}
	}
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// markdownInert checks what Markdown output must not let through: raw HTML
// other than the renderer's own details/summary, links and images, live
// mentions, and table rows with more cells than their header.
func markdownInert(t *testing.T, what, md string) {
	t.Helper()
	inert(t, what, md, false)
	own := regexp.MustCompile(`</?(details|summary)>|<details open>|<br>`)
	for n, line := range strings.Split(md, "\n") {
		bare := own.ReplaceAllString(line, "")
		if strings.ContainsAny(unescaped(bare), "<>") {
			t.Errorf("%s: line %d holds raw HTML: %q", what, n+1, line)
		}
		if regexp.MustCompile(`\]\(`).MatchString(unescaped(line)) {
			t.Errorf("%s: line %d holds a link: %q", what, n+1, line)
		}
		if regexp.MustCompile(`(^|[^\\&#\w])@\w`).MatchString(line) {
			t.Errorf("%s: line %d holds a live mention: %q", what, n+1, line)
		}
	}
	// Every row of a table has as many cells as the table's header.
	cells := -1
	for n, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cells = -1
			continue
		}
		c := strings.Count(unescaped(line), "|")
		if cells < 0 {
			cells = c
		} else if c != cells {
			t.Errorf("%s: line %d has %d cell borders, its table %d: %q", what, n+1, c, cells, line)
		}
	}
}

// unescaped drops every backslash-escaped character from a Markdown line,
// leaving what Markdown interprets.
func unescaped(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hostilePlan plans the fixture spec against the hostile tenant, offline.
func hostilePlan(t *testing.T) (*diff.Plan, string) {
	t.Helper()
	dir := t.TempDir()
	if err := tenant.WriteSnapshot(filepath.Join(dir, "tenant.json"), hostileSnapshot(t)); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(fixtureSpec, "url: $SCIM_URL", "file: tenant.json", 1)
	path := writeSpec(t, dir, text, "")
	s := loadSpec(t, path)
	src := &tenant.SnapshotSource{Path: filepath.Join(dir, "tenant.json")}
	tn, err := src.Read(t.Context(), tenant.RequestFor(s))
	if err != nil {
		t.Fatal(err)
	}
	p, err := diff.Compute(s, tn, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return p, dir
}

func TestHostileStringsRenderers(t *testing.T) {
	p, _ := hostilePlan(t)

	// The JSON form carries the strings as they are (JSON escapes control
	// characters): it is for programs, and they must see the real data.
	var js bytes.Buffer
	if err := diff.RenderJSON(&js, p); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Members []struct {
			Email  string `json:"email"`
			Action string `json:"action"`
		} `json:"members"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("the JSON plan does not decode: %v", err)
	}
	found := false
	for _, m := range doc.Members {
		found = found || (m.Email == strings.ToLower(hostileUser) && m.Action == "add")
	}
	if !found {
		t.Fatalf("the hostile user is not added in the JSON plan; the fixture does not reach the renderers:\n%s", js.String())
	}

	for _, colour := range []bool{false, true} {
		var b bytes.Buffer
		if err := diff.RenderText(&b, p, diff.TextOptions{Color: colour}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		inert(t, "text", out, colour)
		for _, want := range escapedForms {
			if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
				t.Errorf("text (colour %v) does not show %q, escaped:\n%s", colour, want, out)
			}
		}
		if n := strings.Count(out, "Plan: "); n != 1 {
			t.Errorf("text (colour %v) holds %d summary lines; a server string forged one", colour, n)
		}
	}

	var md bytes.Buffer
	if err := diff.RenderMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	markdownInert(t, "markdown", md.String())
	for _, want := range []string{`mallory`, `ops \| \<script\>`, `@everyone`} {
		if !strings.Contains(md.String(), want) && !strings.Contains(md.String(), strings.ReplaceAll(want, "@", `\@`)) {
			t.Errorf("markdown does not show %q:\n%s", want, md.String())
		}
	}
}

// The same through the command: plan prints nothing a terminal or a
// Markdown viewer would act on, on stdout or stderr.
func TestHostileStringsCLI(t *testing.T) {
	_, dir := hostilePlan(t)
	for _, format := range []string{"text", "markdown", "json"} {
		r := runCLI(t, dir, nil, "plan", "-f", "scimsync.yaml", "--format", format)
		if r.code != 2 && r.code != 3 {
			t.Fatalf("want exit 2 or 3 (changes):\n%s", r)
		}
		inert(t, format+" stderr", r.stderr, false)
		switch format {
		case "text":
			inert(t, "text", r.stdout, false)
			for _, want := range escapedForms {
				if !strings.Contains(strings.ToLower(r.stdout), strings.ToLower(want)) {
					t.Errorf("text does not show %q, escaped:\n%s", want, r.stdout)
				}
			}
		case "markdown":
			markdownInert(t, "markdown", r.stdout)
		case "json":
			if !json.Valid([]byte(r.stdout)) {
				t.Errorf("json output is not JSON:\n%s", r.stdout)
			}
			// JSON escapes every C0 control character, ESC included;
			// DEL and format characters pass, as data for programs.
			if i := strings.IndexFunc(r.stdout, func(r rune) bool { return r < 0x20 && r != '\n' }); i >= 0 {
				t.Errorf("json output holds a control character at byte %d", i)
			}
		}
	}
	// A saved plan keeps the data; applying it prints the same inert text.
	if r := runCLI(t, dir, nil, "plan", "-f", "scimsync.yaml", "-o", "plan.json"); r.code != 2 && r.code != 3 {
		t.Fatalf("plan -o:\n%s", r)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "plan.json")); err != nil || !json.Valid(b) {
		t.Fatalf("saved plan: %v", err)
	}
}
