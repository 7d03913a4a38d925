// Package importer writes the spec of a tenant as it is (DESIGN §8a,
// `scimsync import`): from an observed tenant, a complete, commented spec
// whose plan changes no configuration.
//
// It is pure: it reads a tenant.Tenant (or the rows of a members export) and
// returns YAML bytes built from yaml.v3 nodes. The same tenant always gives
// the same bytes: organizations are sorted by name, seats by the parent's
// tier order, and mappings and exceptions keep the server's order, which
// carries meaning (it decides which of two equal mappings is named as
// deciding). Nothing here performs I/O, prints or exits.
package importer

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// DefaultSchema is the modeline's $schema when Options.Schema is empty: the
// JSON Schema's $id.
const DefaultSchema = "https://github.com/scimsync/scimsync/schemas/scimsync.schema.json"

// Options tune Spec and MembersExport.
type Options struct {
	// Target is written as given: the spec's target, which import started
	// from.
	Target spec.Target
	// Schema is the $schema of the yaml-language-server modeline, a path
	// relative to the written file or a URL; DefaultSchema when empty.
	Schema string
	// Now judges the exceptions: one that lapsed before Now is written with
	// a comment saying so. The zero time judges none.
	Now time.Time
	// ParentName is the parent organization's name for a members export,
	// which does not hold it; a placeholder is written when empty.
	ParentName string
}

// Result is an imported spec and what the operator should know about it.
type Result struct {
	// YAML is the spec.
	YAML []byte
	// Notes say what the import could not carry over, or what the operator
	// must check; each is one sentence. The YAML's comments say the same
	// where it applies.
	Notes []string
}

// Spec writes the spec of t, a tenant read from a server with the
// organization extension or a snapshot file: the parent (loginDomains,
// seatTiers, mode), every child organization by name with its seats and
// mappings, the exceptions the server holds as policy.exceptions, and a
// policy block with the default rails, ownerGroups set to the groups that
// grant admin or owner today, and commented examples.
//
// A mapping names its group by displayName, or by groupId when another
// group's displayName is the same under match.Name. A mapping of a group
// the server no longer has cannot be written (plan would refuse it): it is
// left out, as a comment, and a note says that plan will remove it.
func Spec(t *tenant.Tenant, opts Options) (*Result, error) {
	if t == nil {
		return nil, fmt.Errorf("importing tenant: nil tenant")
	}
	if t.Kind == tenant.KindMembersExport {
		return nil, fmt.Errorf("importing tenant: a members export holds no configuration to import; use MembersExport")
	}
	im := newImport(t)
	res := &Result{}
	root := mapping()
	addPair(root, "version", intNode(spec.Version), "")
	addPair(root, "target", targetNode(opts.Target), "Where the tenant lives, as given to import.")

	parent := mapping()
	addPair(parent, "name", str(t.Parent.Name), "")
	if len(t.Parent.LoginDomains) > 0 {
		addPair(parent, "loginDomains", flowSeq(t.Parent.LoginDomains), "")
	}
	addPair(parent, "seatTiers", flowSeq(t.Parent.SeatTiers), "")
	mode := cmp.Or(string(t.Parent.Mode), string(spec.DefaultMode))
	modeNode := str(mode)
	modeNode.LineComment = "jit | staged | full: the mode the server is in now"
	addPairNode(parent, str("mode"), modeNode, "")
	addPair(root, "parent", parent, "The parent organization: identity settings every child organization shares.\nseatTiers are listed lowest first.")

	orgs := seq()
	owners := map[string]bool{}
	var ownerRefs []string
	var exceptions []*yaml.Node
	changes := 0 // what plan will still change: see encode
	for _, o := range im.sortedOrgs() {
		on := mapping()
		addPair(on, "name", str(o.Name), "")
		if len(o.Seats) > 0 {
			addPair(on, "seats", im.seatsNode(o.Seats), "")
		}
		if len(o.Mappings) > 0 {
			ms := seq()
			var dropped []string
			for _, m := range o.Mappings {
				g, ok := im.groups[m.GroupID]
				if !ok {
					dropped = append(dropped, fmt.Sprintf("{groupId: %s, role: %s, seatTier: %s}", m.GroupID, m.Role, m.SeatTier))
					changes++
					res.Notes = append(res.Notes, fmt.Sprintf("%s maps group id %s, which the server no longer has: the mapping is left out (commented), so plan will remove it from the server", o.Name, m.GroupID))
					continue
				}
				mn := mapping()
				mn.Style = yaml.FlowStyle
				ref := g.DisplayName
				if im.ambiguous(g) {
					addPair(mn, "groupId", str(g.ID), "")
					ref = g.ID
					mn.LineComment = fmt.Sprintf("%q: another group has the same displayName", g.DisplayName)
				} else {
					addPair(mn, "group", str(g.DisplayName), "")
				}
				addPair(mn, "role", str(string(m.Role)), "")
				addPair(mn, "seatTier", str(m.SeatTier), "")
				ms.Content = append(ms.Content, mn)
				if (m.Role == resolve.RoleAdmin || m.Role == resolve.RoleOwner) && !owners[ref] {
					owners[ref] = true
					ownerRefs = append(ownerRefs, ref)
				}
			}
			if len(dropped) > 0 {
				ms.FootComment = "Left out: mapped on the server to a group that no longer exists:\n" + joinLines(dropped)
			}
			addPair(on, "mappings", ms, "")
		}
		for _, x := range o.Exceptions {
			xn := mapping()
			xn.Style = yaml.FlowStyle
			addPair(xn, "email", str(x.Email), "")
			addPair(xn, "org", str(o.Name), "")
			addPair(xn, "until", str(x.Until), "")
			if x.Reason != "" {
				addPair(xn, "reason", str(x.Reason), "")
			}
			if !opts.Now.IsZero() && x.Until < opts.Now.UTC().Format(time.DateOnly) {
				xn.LineComment = "lapsed: it keeps nobody, and plan drops it from the server; renew the date or remove it"
				res.Notes = append(res.Notes, fmt.Sprintf("the exception for %s in %s lapsed on %s", x.Email, o.Name, x.Until))
				changes++
			}
			exceptions = append(exceptions, xn)
		}
		orgs.Content = append(orgs.Content, on)
	}
	if dup := im.duplicateOrgNames(); len(dup) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("child organizations share a name (case-insensitively): %v; plan cannot tell them apart", dup))
	}
	addPair(root, "organizations", orgs, "The child organizations, by name. Each maps IdP groups (by displayName,\nor by groupId where two groups share a name) to a role and a seat tier,\nand holds the seats purchased per tier.")

	policy := policyNode(ownerRefs, exceptions)
	addPair(root, "policy", policy, "Safety rails for plan and apply. The limits are the defaults; ownerGroups\nlists the groups that grant admin or owner today.")

	out, err := encode(root, opts.Schema, changes)
	if err != nil {
		return nil, err
	}
	res.YAML = out
	return res, nil
}

// policyNode is the policy block: the default removal limits, ownerGroups,
// exclusiveOrgs off, and the exceptions, with commented examples of the
// rest.
func policyNode(ownerRefs []string, exceptions []*yaml.Node) *yaml.Node {
	p := mapping()
	addPair(p, "maxRemovals", intNode(spec.DefaultMaxRemovals), "")
	p.Content[len(p.Content)-1].LineComment = "members one apply may remove, in all"
	addPair(p, "maxRemovalPercent", floatNode(spec.DefaultMaxRemovalPercent), "")
	p.Content[len(p.Content)-1].LineComment = "of one child org's current members, per apply"
	if len(ownerRefs) > 0 {
		addPair(p, "ownerGroups", flowSeq(ownerRefs), "")
		p.Content[len(p.Content)-1].LineComment = "only these groups may grant admin or owner"
	}
	addPair(p, "exclusiveOrgs", boolNode(false), "")
	p.Content[len(p.Content)-1].LineComment = "true: a user may be entitled in one child org only"
	if len(exceptions) > 0 {
		xs := seq()
		xs.Content = exceptions
		addPair(p, "exceptions", xs, "Members kept although not provisioned through SCIM, until the date\n(inclusive), once mode is full: as the server holds them.")
	}
	foot := "Also possible:\nprotectedUsers: [breakglass@example.gov]   # a removal of these always blocks apply"
	if len(exceptions) == 0 {
		foot += "\nexceptions:\n  - {email: contractor@example.gov, org: hq, until: 2027-03-31, reason: \"badge pending\"}"
	}
	// A foot comment on the last key prints inside the block, at its
	// indentation.
	p.Content[len(p.Content)-2].FootComment = foot
	return p
}

// imported holds the lookups Spec needs.
type imported struct {
	t      *tenant.Tenant
	groups map[string]*resolve.Group
	names  map[string]int // match.Name(displayName) → groups holding it
	tiers  map[string]int // seat tier → rank in the parent's order
}

func newImport(t *tenant.Tenant) *imported {
	im := &imported{t: t, groups: make(map[string]*resolve.Group, len(t.Groups)), names: make(map[string]int, len(t.Groups)), tiers: map[string]int{}}
	for i := range t.Groups {
		g := &t.Groups[i]
		im.groups[g.ID] = g
		im.names[match.Name(g.DisplayName)]++
	}
	for i, tier := range t.Parent.SeatTiers {
		if _, dup := im.tiers[tier]; !dup {
			im.tiers[tier] = i
		}
	}
	return im
}

// ambiguous reports whether g cannot be named by its displayName: another
// group shares it under match.Name, or it has none.
func (im *imported) ambiguous(g *resolve.Group) bool {
	return match.Name(g.DisplayName) == "" || im.names[match.Name(g.DisplayName)] > 1
}

// sortedOrgs returns the child organizations by name (under match.Name,
// then as written, then by id).
func (im *imported) sortedOrgs() []resolve.Org {
	orgs := slices.Clone(im.t.Orgs)
	slices.SortFunc(orgs, func(a, b resolve.Org) int {
		return cmp.Or(cmp.Compare(match.Name(a.Name), match.Name(b.Name)), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return orgs
}

func (im *imported) duplicateOrgNames() []string {
	count := map[string]int{}
	for _, o := range im.t.Orgs {
		count[match.Name(o.Name)]++
	}
	var dup []string
	for n, c := range count {
		if c > 1 {
			dup = append(dup, n)
		}
	}
	slices.Sort(dup)
	return dup
}

// seatsNode is a flow mapping of seats, tiers in the parent's order, then
// any other tier by name.
func (im *imported) seatsNode(seats map[string]int) *yaml.Node {
	tiers := slices.Collect(maps.Keys(seats))
	slices.SortFunc(tiers, func(a, b string) int {
		ra, oka := im.tiers[a]
		rb, okb := im.tiers[b]
		switch {
		case oka && okb:
			return cmp.Compare(ra, rb)
		case oka:
			return -1
		case okb:
			return 1
		}
		return cmp.Compare(a, b)
	})
	n := mapping()
	n.Style = yaml.FlowStyle
	for _, t := range tiers {
		addPair(n, t, intNode(seats[t]), "")
	}
	return n
}

// targetNode writes the target's fields in the schema's order.
func targetNode(t spec.Target) *yaml.Node {
	n := mapping()
	for _, kv := range [][2]string{
		{"url", t.URL}, {"file", t.File}, {"tokenEnv", t.TokenEnv}, {"tokenFile", t.TokenFile},
		{"caFile", t.CAFile}, {"membersCsv", t.MembersCSV},
	} {
		if kv[1] != "" {
			addPair(n, kv[0], str(kv[1]), "")
		}
	}
	return n
}

// encode writes the document: the modeline, a header, then root.
// encode writes the spec. changes counts the configuration its plan
// still changes on the server (mappings left out, lapsed exceptions), which
// the header then owns up to.
func encode(root *yaml.Node, schema string, changes int) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	header := "Written by scimsync import from the tenant as it is: plan finds no\nconfiguration to change. Review it, then commit it."
	if changes > 0 {
		header = "Written by scimsync import from the tenant as it is: plan changes\nonly what the comments below mark, " + plural(changes, "item") + " import could not\nkeep. Review it, then commit it."
	}
	doc.HeadComment = "yaml-language-server: $schema=" + cmp.Or(schema, DefaultSchema) + "\n" + header
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("importing tenant: encoding the spec: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("importing tenant: encoding the spec: %w", err)
	}
	return buf.Bytes(), nil
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }
func seq() *yaml.Node     { return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"} }

// str is a string scalar. yaml.v3 quotes what YAML 1.2 would read as
// another type; a YAML 1.1 boolean word (yes, no, on, off, y, n) it leaves
// plain, which 1.1 tools still read as a boolean: those are quoted too.
func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "on", "off":
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func intNode(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func floatNode(f float64) *yaml.Node {
	if f == float64(int(f)) {
		return intNode(int(f))
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(f, 'f', -1, 64)}
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func flowSeq(items []string) *yaml.Node {
	n := seq()
	n.Style = yaml.FlowStyle
	for _, s := range items {
		n.Content = append(n.Content, str(s))
	}
	return n
}

// addPair appends key: value to the mapping m, with head as the key's
// comment.
func addPair(m *yaml.Node, key string, value *yaml.Node, head string) {
	addPairNode(m, str(key), value, head)
}

func addPairNode(m, key, value *yaml.Node, head string) {
	key.HeadComment = head
	m.Content = append(m.Content, key, value)
}

func joinLines(lines []string) string {
	var b bytes.Buffer
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("  " + l)
	}
	return b.String()
}
