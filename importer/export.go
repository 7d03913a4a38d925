package importer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// PlaceholderParent is the parent's name MembersExport writes when
// Options.ParentName is empty: a members export does not name it.
const PlaceholderParent = "CHANGE-ME"

// MembersExport writes the spec of a tenant known only through the admin
// console's members export (the rows of tenant.ParseMembersCSV): what the
// export can tell, and, plainly, what it cannot.
//
// The export tells the child organizations' names and the seat tiers in
// use. It does not hold the mappings, the seats purchased, the exceptions,
// the mode, the order of the seat tiers or the parent's name: the spec
// names no mapping and no seats, takes mode jit (which changes nobody),
// lists the tiers by name, and says so in comments and in Result.Notes.
// Its current: block describes the same configuration, so plan finds none
// to change until the operator fills both in from the console.
func MembersExport(rows []tenant.MemberRow, opts Options) (*Result, error) {
	type orgStat struct {
		name                   string
		members, admins, owner int
	}
	byName := map[string]*orgStat{}
	var orgs []*orgStat
	var tiers []string
	for _, r := range rows {
		k := match.Name(r.Org)
		o := byName[k]
		if o == nil {
			o = &orgStat{name: r.Org}
			byName[k] = o
			orgs = append(orgs, o)
		}
		o.members++
		switch r.Role {
		case resolve.RoleAdmin:
			o.admins++
		case resolve.RoleOwner, resolve.RolePrimaryOwner:
			o.owner++
		}
		if !slices.Contains(tiers, r.SeatTier) {
			tiers = append(tiers, r.SeatTier)
		}
	}
	if len(orgs) == 0 {
		return nil, fmt.Errorf("importing members export: the export lists no member, so no organization")
	}
	slices.SortFunc(orgs, func(a, b *orgStat) int {
		return cmp.Or(cmp.Compare(match.Name(a.name), match.Name(b.name)), cmp.Compare(a.name, b.name))
	})
	slices.Sort(tiers)

	res := &Result{Notes: []string{
		"a members export does not hold the mappings, the seats purchased, the exceptions or the mode: " +
			"the spec maps no group, buys no seats, holds no exception and takes mode jit; " +
			"copy each from the admin console into both the spec and its current: block",
		"the seat tiers are listed by name: put them in order, lowest first",
	}}
	root := mapping()
	addPair(root, "version", intNode(spec.Version), "")
	addPair(root, "target", targetNode(opts.Target), "Where the tenant lives, as given to import: /Users and /Groups from the\nserver, the members from the console's export.")

	parent := mapping()
	name := str(cmp.Or(opts.ParentName, PlaceholderParent))
	if opts.ParentName == "" {
		name.LineComment = "not in a members export: the parent organization's name as the console shows it"
		res.Notes = append(res.Notes, "the parent organization's name is not in a members export: set parent.name")
	}
	addPairNode(parent, str("name"), name, "")
	tierNode := flowSeq(tiers)
	tierNode.LineComment = "the tiers the export uses, by name: order them lowest first"
	addPairNode(parent, str("seatTiers"), tierNode, "")
	mode := str(string(spec.DefaultMode))
	mode.LineComment = "not in a members export: jit changes nobody; set the console's mode (here and in current:)"
	addPairNode(parent, str("mode"), mode, "")
	addPair(root, "parent", parent, "The parent organization: identity settings every child organization shares.")

	specOrgs, curOrgs := seq(), seq()
	for _, o := range orgs {
		on := mapping()
		addPair(on, "name", str(o.name), "")
		on.Content[0].LineComment = fmt.Sprintf("in the export: %s, of whom %s and %s", plural(o.members, "member"), plural(o.admins, "admin"), plural(o.owner, "owner"))
		specOrgs.Content = append(specOrgs.Content, on)
		cn := mapping()
		cn.Style = yaml.FlowStyle
		addPair(cn, "name", str(o.name), "")
		curOrgs.Content = append(curOrgs.Content, cn)
	}
	addPair(root, "organizations", specOrgs, "The child organizations the export lists, by name. Their mappings and seats\n"+
		"are not in a members export: add them from the console (and to current:), e.g.\n"+
		"  seats: {standard: 900, premium: 60}\n  mappings:\n    - {group: claude-hq-users, role: member, seatTier: standard}")
	addPair(root, "policy", policyNode(nil, nil), "Safety rails for plan and apply: the defaults.")

	cur := mapping()
	cp := mapping()
	cp.Style = yaml.FlowStyle
	addPair(cp, "mode", str(string(spec.DefaultMode)), "")
	addPair(cur, "parent", cp, "")
	addPair(cur, "organizations", curOrgs, "")
	cur.Content[len(cur.Content)-2].FootComment = "Not in a members export: the exceptions the console lists, e.g.\nexceptions:\n  - {email: auditor@example.gov, org: hq, until: 2027-03-31, reason: \"external audit\"}"
	addPair(root, "current", cur, "The configuration the server holds today, which it cannot report: plan\nreads it from here. What a members export cannot tell (mappings, seats,\nexceptions, mode) is left empty: fill it in as the console shows it.")

	out, err := encode(root, opts.Schema, 0)
	if err != nil {
		return nil, err
	}
	res.YAML = out
	return res, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, strings.TrimSuffix(word, "s"))
}
