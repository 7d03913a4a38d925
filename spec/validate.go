package spec

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/internal/termsafe"
)

// Validate checks s's semantics (layer 2) and policy (layer 3) relative to
// now, which decides whether an exception has expired. Load calls it; call
// it yourself for a Spec built in code. Schema-level problems (layer 1) are
// found only by Load, which sees the YAML.
func (s *Spec) Validate(now time.Time) Diagnostics {
	c := &checker{s: s, idx: s.idx, now: now}
	c.semantics()
	c.sortDiags()
	return c.diags
}

// checker collects diagnostics of all layers for one spec.
type checker struct {
	s     *Spec
	idx   *index
	now   time.Time
	diags Diagnostics
	bad   []string // merged paths that have a syntax or schema error
	// quiet are the merged paths of what the YAML layer refused in a file
	// still checked (quietPaths): no later layer reports on them either.
	quiet []string
	// odd holds the numbers not written in plain decimal, by merged path
	// (number.go).
	odd map[string]oddNumber
	// targetOnly is LoadOptions.TargetOnly: the schema's top level requires
	// only version and target.
	targetOnly bool
}

// layer1 records a schema-level diagnostic; semantic checks stay quiet about
// the path afterwards, so one mistake is reported once.
func (c *checker) layer1(sev Severity, path string, atKey bool, fix, summary string) {
	if under(path, c.quiet) {
		return
	}
	c.bad = append(c.bad, path)
	c.add(sev, path, path, atKey, fix, summary)
}

// layer1At is layer1 for a field that is missing: it is reported at its
// parent.
func (c *checker) layer1At(sev Severity, path, at, fix, summary string) {
	if under(path, c.quiet) {
		return
	}
	c.bad = append(c.bad, path)
	c.add(sev, at, at, false, fix, summary)
}

func (c *checker) add(sev Severity, path, posPath string, atKey bool, fix, summary string) {
	pos, disp := c.locate(posPath, atKey)
	if path != posPath {
		disp = c.idx.display(path)
	}
	c.diags = append(c.diags, Diagnostic{Severity: sev, Pos: pos, Path: disp, Summary: summary, Fix: fix})
}

func (c *checker) locate(path string, atKey bool) (Pos, string) {
	if c.idx == nil {
		return Pos{File: c.s.Source}, path
	}
	return c.idx.locate(path, atKey)
}

// at returns the position of a path as text, for "first at …".
func (c *checker) at(path string) string {
	p, _ := c.locate(path, false)
	return p.String()
}

func (c *checker) suppressed(path string) bool { return under(path, c.bad) }

// under reports whether path is one of paths or lies under one.
func under(path string, paths []string) bool {
	for _, b := range paths {
		if path == b || b == "" || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	return false
}

func (c *checker) report(sev Severity, path string, atKey bool, fix, format string, args ...any) {
	if c.suppressed(path) {
		return
	}
	c.add(sev, path, path, atKey, fix, fmt.Sprintf(format, args...))
}

// keyErrorf reports an error at a mapping key rather than its value.
func (c *checker) keyErrorf(path, fix, format string, args ...any) {
	c.report(Error, path, true, fix, format, args...)
}

func (c *checker) errorf(path, fix, format string, args ...any) {
	c.report(Error, path, false, fix, format, args...)
}

func (c *checker) warnf(path, fix, format string, args ...any) {
	c.report(Warning, path, false, fix, format, args...)
}

func (c *checker) semantics() {
	c.target()
	tiers := c.parent("parent", &c.s.Parent)
	c.orgs("organizations", c.s.Organizations, tiers, true)
	c.policy()
	c.current(tiers)
}

// --- target -----------------------------------------------------------------

func (c *checker) target() {
	t := c.s.Target
	kind := t.Kind()
	if p := t.Problem(); p != nil {
		c.errorf(p.Field, p.Fix, "%s", p.Summary)
	}
	if t.URL != "" {
		c.targetURL(t.URL)
	}
	if t.TokenEnv != "" && t.TokenFile != "" {
		c.errorf("target.tokenFile", "keep one of them", "tokenEnv and tokenFile are mutually exclusive")
	}
	if t.TokenEnv != "" && looksLikeToken(t.TokenEnv) {
		c.errorf("target.tokenEnv", "put the token in an environment variable and write that variable's name here",
			"looks like a token, not the name of an environment variable; secrets never live in the spec, so the value is not shown")
	}
	if t.TokenFile != "" && looksLikeToken(t.TokenFile) {
		c.errorf("target.tokenFile", "put the token in a file and write that file's path here",
			"looks like a token, not a file path; secrets never live in the spec, so the value is not shown")
	}
	if kind == TargetSnapshot {
		for _, f := range []struct{ name, v string }{{"tokenEnv", t.TokenEnv}, {"tokenFile", t.TokenFile}, {"caFile", t.CAFile}} {
			if f.v != "" {
				c.warnf("target."+f.name, "remove it", "is ignored: the target is a snapshot file")
			}
		}
	}
	if kind == TargetMembersExport && c.s.Current == nil {
		c.errorf("target.membersCsv", "add a current: block with the live parent and organizations",
			"the members-export source needs the spec's current: block")
	}
	if t.MembersCSV == "" && c.s.Current != nil {
		c.report(Warning, "current", true, "remove it, or set target.membersCsv", "is read only with target.membersCsv; it is ignored")
	}
}

func (c *checker) targetURL(raw string) {
	// The URL is never echoed: it may carry credentials.
	const p = "target.url"
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		c.errorf(p, "write the SCIM base URL, e.g. https://claude.fedstart.com/v1/scim/v2", "is not an absolute http(s) URL")
		return
	}
	if u.User != nil {
		c.errorf(p, "remove user:password@; the token comes from tokenEnv or tokenFile",
			"must not contain credentials; secrets never live in the spec, so the value is not shown")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		c.errorf(p, "remove everything from ? or #", "must not have a query string or fragment")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		c.errorf(p, "use https; plain http is allowed for loopback addresses only", "sends the bearer token over plain http")
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var (
	tokenPrefixes = []string{"bearer ", "basic ", "eyj", "ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-", "sk-", "glpat-"}
	hexTokenRE    = regexp.MustCompile(`^[0-9a-fA-F]{32,}$`)
)

// looksLikeToken reports whether v, written where a variable name or a
// path belongs, is probably the credential itself.
func looksLikeToken(v string) bool {
	lv := strings.ToLower(strings.TrimSpace(v))
	for _, p := range tokenPrefixes {
		if strings.HasPrefix(lv, p) {
			return true
		}
	}
	if hexTokenRE.MatchString(v) {
		return true
	}
	if len(v) < 20 || strings.ContainsAny(v, "/\\. ") {
		return false
	}
	var upper, lower, digit bool
	for _, r := range v {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		}
	}
	return upper && lower && digit
}

// --- parent -----------------------------------------------------------------

// parent checks a parent block and returns its seat tiers.
func (c *checker) parent(path string, p *Parent) []string {
	if p.Mode != "" && !p.Mode.Valid() {
		// Reported by the schema for a loaded spec (and so suppressed here);
		// this catches a Spec built in code.
		c.errorf(path+".mode", modeFix(p.Mode), "%q is not one of [%s]", p.Mode, joinWords(Modes()))
	}
	c.noRepeats(path+".seatTiers", "seat tier", p.SeatTiers)
	c.noRepeats(path+".loginDomains", "login domain", p.LoginDomains)
	return p.SeatTiers
}

// noRepeats reports, as an error, every entry of the list at path that
// repeats an earlier one in any case; what names an entry ("seat tier").
// Seat tiers are compared exactly everywhere else, but two that differ only
// in case are refused here: no one could tell them apart.
func (c *checker) noRepeats(path, what string, list []string) {
	seen := map[string]int{}
	for i, v := range list {
		k := strings.ToLower(v)
		if j, dup := seen[k]; dup {
			c.errorf(indexPath(path, i), "remove one of them", "duplicate %s %q (first at %s)", what, v, c.at(indexPath(path, j)))
			continue
		}
		seen[k] = i
	}
}

// --- organizations ----------------------------------------------------------

func (c *checker) orgs(path string, orgs []Organization, tiers []string, desired bool) {
	seen := map[string]int{}
	for i, o := range orgs {
		op := indexPath(path, i)
		if o.Name != "" {
			if j, dup := seen[match.Name(o.Name)]; dup {
				c.errorf(op+".name", "merge the two entries, or rename one",
					"duplicate organization %q (first at %s)", o.Name, c.at(indexPath(path, j)+".name"))
			} else {
				seen[match.Name(o.Name)] = i
			}
		}
		for _, tier := range sortedKeys(o.Seats) {
			if len(tiers) > 0 && !slices.Contains(tiers, tier) {
				c.keyErrorf(keyPath(op+".seats", tier), tierFix(tier, tiers),
					"%q is not one of parent.seatTiers [%s]", tier, shownList(tiers))
			}
		}
		c.mappings(op, o, tiers, desired)
	}
}

func (c *checker) mappings(op string, o Organization, tiers []string, desired bool) {
	seen := map[string]int{}
	warnedTier := map[string]bool{}
	for j, m := range o.Mappings {
		mp := indexPath(op+".mappings", j)
		switch {
		case m.Group == "" && m.GroupID == "":
			c.errorf(mp, "name the IdP group by group (its displayName) or groupId", "names no group")
		case m.Group != "" && m.GroupID != "":
			c.errorf(mp+".groupId", "keep one of them", "group and groupId are mutually exclusive")
		}
		if ref := groupKey(m); ref != "" {
			if k, dup := seen[ref]; dup {
				c.errorf(mp, "keep one mapping per group; a user's role is the highest of their groups' anyway",
					"group %q is mapped twice in %s (first at %s)", m.GroupRef(), orgName(o), c.at(indexPath(op+".mappings", k)))
			} else {
				seen[ref] = j
			}
		}
		if m.Role != "" && !m.Role.Grantable() {
			c.errorf(mp+".role", roleFix(m.Role), "%q is not one of [%s]", m.Role, joinWords(GrantableRoles()))
		}
		if m.SeatTier != "" && len(tiers) > 0 {
			if !slices.Contains(tiers, m.SeatTier) {
				c.errorf(mp+".seatTier", tierFix(m.SeatTier, tiers),
					"%q is not one of parent.seatTiers [%s]", m.SeatTier, shownList(tiers))
			} else if desired && !warnedTier[m.SeatTier] {
				if _, ok := o.Seats[m.SeatTier]; !ok {
					warnedTier[m.SeatTier] = true
					c.warnf(mp+".seatTier", fmt.Sprintf("add seats: {%s: N} to the organization", shown(m.SeatTier)),
						"%s buys no %q seats, so every user this mapping entitles overcommits", orgName(o), m.SeatTier)
				}
			}
		}
	}
}

// roleFix is the fix for a mapping's role that is not grantable.
func roleFix(r Role) string {
	if r == RolePrimaryOwner {
		return "primary-owner is never granted by a mapping: the server keeps each org's primary owner as it is; grant owner instead"
	}
	if s := suggest(string(r), wordsOf(GrantableRoles())); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return ""
}

// modeFix is the fix for a mode that is not one of Modes.
func modeFix(m Mode) string {
	if s := suggest(string(m), wordsOf(Modes())); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return ""
}

func wordsOf[T ~string](ws []T) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = string(w)
	}
	return out
}

func joinWords[T ~string](ws []T) string { return strings.Join(wordsOf(ws), " ") }

func groupKey(m Mapping) string {
	switch {
	case m.GroupID != "":
		return "id:" + m.GroupID
	case m.Group != "":
		return "name:" + match.Name(m.Group)
	}
	return ""
}

// orgName names an organization in a message, shown safely (shown).
func orgName(o Organization) string {
	if o.Name == "" {
		return "this organization"
	}
	return shown(o.Name)
}

// shown is a name from the spec as a message shows it unquoted: as written,
// but with every control or formatting character (an ANSI escape, U+202E)
// escaped, internal/termsafe's one rule, so that a message never drives
// the terminal. A name a message quotes goes through %q instead.
func shown(s string) string { return termsafe.Clean(s) }

// shownList is a list of names from the spec, each shown, joined by spaces.
func shownList(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = shown(s)
	}
	return strings.Join(out, " ")
}

func tierFix(tier string, tiers []string) string {
	if s := suggest(tier, tiers); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return "use one of parent.seatTiers, or add the tier there"
}

// containsFold reports whether list holds s in any case: for login
// domains, which DNS compares without case. Seat tiers compare exactly, as
// the planner and the server compare them.
func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// containsName reports whether list holds a group or organization name that
// names the same as s under internal/match's one name rule.
func containsName(list []string, s string) bool {
	return slices.ContainsFunc(list, func(e string) bool { return match.SameName(e, s) })
}

// --- policy -----------------------------------------------------------------

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

func (c *checker) policy() {
	p := c.s.Policy
	orgNames := make([]string, 0, len(c.s.Organizations))
	for _, o := range c.s.Organizations {
		orgNames = append(orgNames, o.Name)
	}

	seenU := map[string]int{}
	for i, u := range p.ProtectedUsers {
		up := indexPath("policy.protectedUsers", i)
		if !c.email(up, u) {
			continue
		}
		k := normEmail(u)
		if j, dup := seenU[k]; dup {
			c.errorf(up, "remove one of them", "duplicate protected user %q (first at %s)", u, c.at(indexPath("policy.protectedUsers", j)))
			continue
		}
		seenU[k] = i
	}

	c.exceptions("policy.exceptions", p.Exceptions, orgNames, true)
	c.expiring(p)

	// Policy lint (layer 3).
	mapped := map[string]bool{}
	var mappedNames []string
	for _, o := range c.s.Organizations {
		for _, m := range o.Mappings {
			for _, r := range []string{m.Group, m.GroupID} {
				if r != "" && !mapped[match.Name(r)] {
					mapped[match.Name(r)] = true
					mappedNames = append(mappedNames, r)
				}
			}
		}
	}
	seenG := map[string]int{}
	for i, g := range p.OwnerGroups {
		gp := indexPath("policy.ownerGroups", i)
		if j, dup := seenG[match.Name(g)]; dup {
			c.warnf(gp, "remove one of them", "duplicate owner group %q (first at %s)", g, c.at(indexPath("policy.ownerGroups", j)))
			continue
		}
		seenG[match.Name(g)] = i
		if g != "" && !mapped[match.Name(g)] {
			fix := "remove it, or map the group in an organization"
			if s := suggest(g, mappedNames); s != "" {
				fix = fmt.Sprintf("did you mean %q?", s)
			}
			c.warnf(gp, fix, "group %q is not mapped in any organization", g)
		}
	}
	if p.OwnerGroups != nil {
		for i, o := range c.s.Organizations {
			for j, m := range o.Mappings {
				if !m.Role.Privileged() {
					continue
				}
				if containsName(p.OwnerGroups, m.Group) || (m.GroupID != "" && containsName(p.OwnerGroups, m.GroupID)) {
					continue
				}
				c.errorf(indexPath(indexPath("organizations", i)+".mappings", j)+".role",
					"grant member, or add the group to policy.ownerGroups",
					"%s granted from group %q, which is not in policy.ownerGroups [%s]", m.Role, m.GroupRef(), shownList(p.OwnerGroups))
			}
		}
	}
	if p.ExclusiveOrgs {
		first := map[string]string{} // group key → path of its first mapping
		firstOrg := map[string]string{}
		for i, o := range c.s.Organizations {
			inOrg := map[string]bool{}
			for j, m := range o.Mappings {
				k := groupKey(m)
				if k == "" || inOrg[k] {
					continue
				}
				inOrg[k] = true
				mp := indexPath(indexPath("organizations", i)+".mappings", j)
				if fp, ok := first[k]; ok {
					c.errorf(mp, "map each group in one organization only, or set policy.exclusiveOrgs: false",
						"group %q is also mapped in %s (at %s), but policy.exclusiveOrgs is true", m.GroupRef(), firstOrg[k], c.at(fp))
					continue
				}
				first[k], firstOrg[k] = mp, orgName(o)
			}
		}
	}

	domains := c.s.Parent.LoginDomains
	if len(domains) > 0 {
		check := func(path, email string) {
			if !emailRE.MatchString(strings.TrimSpace(email)) {
				return
			}
			d := email[strings.LastIndexByte(email, '@')+1:]
			if !containsFold(domains, strings.TrimSpace(d)) {
				c.warnf(path, "check the address, or add the domain to parent.loginDomains",
					"%q is outside parent.loginDomains [%s]", email, shownList(domains))
			}
		}
		for i, u := range p.ProtectedUsers {
			check(indexPath("policy.protectedUsers", i), u)
		}
		for i, x := range p.Exceptions {
			check(indexPath("policy.exceptions", i)+".email", x.Email)
		}
	}
}

// exceptions checks the list of exceptions at path against the names of the
// organizations it may name. desired is true for policy.exceptions; false
// for current.exceptions, which describes the tenant as it is: an expired
// date or a missing reason is then its state, not a mistake.
func (c *checker) exceptions(path string, xs []Exception, orgNames []string, desired bool) {
	seen := map[string]int{}
	for i, x := range xs {
		xp := indexPath(path, i)
		okEmail := c.email(xp+".email", x.Email)
		if x.Org != "" && !containsName(orgNames, x.Org) {
			c.exceptionOrg(xp+".org", x.Org, orgNames, desired)
		}
		if x.Until != "" {
			switch err := DateError(x.Until); {
			case errors.Is(err, ErrDateFormat):
				c.errorf(xp+".until", "write the date as YYYY-MM-DD", "%q is not a date (YYYY-MM-DD)", x.Until)
			case errors.Is(err, ErrDateInvalid):
				c.errorf(xp+".until", invalidDateFix(x.Until), "%q is not a valid date", x.Until)
			case desired && Lapsed(x.Until, c.now):
				c.warnf(xp+".until", "remove the exception, or move until to a later date",
					"expired on %s; the exception keeps nobody", x.Until)
			}
		}
		if desired && strings.TrimSpace(x.Reason) == "" {
			c.warnf(xp, "add reason: saying why, for the audit trail", "exception has no reason")
		}
		if okEmail && x.Org != "" {
			k := normEmail(x.Email) + "\x00" + match.Name(x.Org)
			if j, dup := seen[k]; dup {
				c.errorf(xp+".email", "keep one exception per member and organization",
					"duplicate exception for %q in %s (first at %s)", x.Email, shown(x.Org), c.at(indexPath(path, j)))
			} else {
				seen[k] = i
			}
		}
	}
}

// expiring warns about each of policy.exceptions within
// policy.exceptionNoticeDays of lapsing (spec.ExpiringExceptions, the one
// rule of the window), and rejects a negative window in a spec built in code
// (Load's schema rejects it first).
func (c *checker) expiring(p Policy) {
	n := p.NoticeDays()
	if n < 0 {
		c.errorf("policy.exceptionNoticeDays", "use 0 to announce an exception on its last day only", "%d is negative", n)
		return
	}
	for _, x := range ExpiringExceptions(p.Exceptions, c.now, n) {
		c.warnf(indexPath("policy.exceptions", x.Index)+".until", "extend until, or provision the member through SCIM",
			"lapses soon: last day %s (%s); from %s the exception keeps nobody",
			x.Until, DaysLeftText(x.DaysLeft), dayAfter(x.Until))
	}
}

// DaysLeftText says when an exception's last day is, days_left days from
// today, as a person reads it: "today", "tomorrow", "in 5 days". The plan's
// renderers print it too.
func DaysLeftText(days int) string {
	switch days {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return "in " + strconv.Itoa(days) + " days"
}

// invalidDateFix says what is wrong with d, written YYYY-MM-DD but naming
// no day of the calendar: the month, or how many days it has.
func invalidDateFix(d string) string {
	y, _ := strconv.Atoi(d[:4])
	m, _ := strconv.Atoi(d[5:7])
	if m < 1 || m > 12 {
		return "months go from 01 to 12"
	}
	// Day 0 of the next month is the last day of this one.
	last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC)
	return fmt.Sprintf("%s %d has %d days", last.Month(), y, last.Day())
}

// dayAfter is the day after the valid date d, the first day its exception
// no longer holds.
func dayAfter(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

// exceptionOrg reports an exception's org that names none of orgNames: the
// spec's organizations for policy.exceptions (desired), current.organizations
// for current.exceptions.
func (c *checker) exceptionOrg(path, org string, orgNames []string, desired bool) {
	var fix string
	switch s := suggest(org, orgNames); {
	case !desired && c.specOrg(org):
		fix = fmt.Sprintf("describe %s as it is now in current.organizations", shown(org))
	case s != "":
		fix = fmt.Sprintf("did you mean %q?", s)
	case desired:
		fix = "name one of the organizations in this spec"
	default:
		fix = "name one of current.organizations"
	}
	if desired {
		c.errorf(path, fix, "%q is not an organization in this spec", org)
		return
	}
	c.errorf(path, fix, "%q is not an organization in current.organizations", org)
}

// specOrg reports whether the spec's organizations name org.
func (c *checker) specOrg(org string) bool {
	for _, o := range c.s.Organizations {
		if match.SameName(o.Name, org) {
			return true
		}
	}
	return false
}

// email reports whether v is an email address, and says so when it is not.
func (c *checker) email(path, v string) bool {
	if v == "" {
		return false
	}
	if !emailRE.MatchString(strings.TrimSpace(v)) {
		c.errorf(path, "write a full address such as someone@example.gov", "%q is not an email address", v)
		return false
	}
	return true
}

// normEmail is the comparison key of an email address: internal/match's,
// the one rule (DESIGN §5), so that validate calls two addresses the same
// person exactly when the planner and the server do (a Kelvin sign is not
// a k; a decomposed é is an é).
func normEmail(s string) string { return match.Email(s) }

// --- current ----------------------------------------------------------------

func (c *checker) current(tiers []string) {
	cur := c.s.Current
	if cur == nil {
		return
	}
	if cur.Parent != nil {
		if t := c.parent("current.parent", cur.Parent); len(t) > 0 {
			tiers = t
		}
	}
	c.orgs("current.organizations", cur.Organizations, tiers, false)
	names := make([]string, 0, len(cur.Organizations))
	for _, o := range cur.Organizations {
		names = append(names, o.Name)
	}
	c.exceptions("current.exceptions", cur.Exceptions, names, false)
}

// sortDiags orders diagnostics by file, line, column.
func (c *checker) sortDiags() { sortDiagnostics(c.diags) }
