package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/internal/termsafe"
)

// index ties field paths of the merged spec to YAML nodes, and so to
// file:line:col. Paths of the merged spec ("organizations[3]") are
// translated back to paths in the file that holds them ("organizations[0]"
// of the second file) for display.
type index struct {
	first string                // first file, for positions of synthetic nodes
	file  map[*yaml.Node]string // node → file holding it
	nodes map[string]*yaml.Node // merged path → value node
	keys  map[string]*yaml.Node // merged path → key node, for mapping fields
	lists map[string][]segment  // merged path of a concatenated list → its parts
}

// segment is the part of a concatenated list that came from one file.
type segment struct {
	start int // index in the merged list of the file's first item
	n     int
}

func newIndex(first string) *index {
	return &index{
		first: first,
		file:  map[*yaml.Node]string{},
		nodes: map[string]*yaml.Node{},
		keys:  map[string]*yaml.Node{},
		lists: map[string][]segment{},
	}
}

func (x *index) nodePos(n *yaml.Node) Pos {
	f, ok := x.file[n]
	if !ok {
		f = x.first
	}
	return Pos{File: f, Line: n.Line, Col: n.Column}
}

// locate returns the position and display path of a merged path. A path with
// no node of its own (an unset field) is placed at its nearest ancestor.
// With key set, a mapping field is placed at its key rather than its value;
// an ancestor always is.
func (x *index) locate(path string, key bool) (Pos, string) {
	disp := x.display(path)
	if x == nil {
		return Pos{}, disp
	}
	for p := path; ; p = parentPath(p) {
		if key || p != path {
			if n, ok := x.keys[p]; ok {
				return x.nodePos(n), disp
			}
		}
		if n, ok := x.nodes[p]; ok {
			return x.nodePos(n), disp
		}
		if p == "" {
			return Pos{File: x.first, Line: 1, Col: 1}, disp
		}
	}
}

// display translates indexes into concatenated lists back to the index in
// the file that holds the item.
func (x *index) display(path string) string {
	if x == nil {
		return path
	}
	for lp, segs := range x.lists {
		rest, ok := strings.CutPrefix(path, lp+"[")
		if !ok || len(segs) < 2 {
			continue
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			continue
		}
		i, err := strconv.Atoi(rest[:end])
		if err != nil {
			continue
		}
		for _, s := range segs {
			if i >= s.start && i < s.start+s.n {
				return lp + "[" + strconv.Itoa(i-s.start) + "]" + rest[end+1:]
			}
		}
	}
	return path
}

// parentPath drops the last element of a path: a.b[2].c → a.b[2] → a.b → a → "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// converter turns the merged YAML tree into JSON values for the schema and
// the decoder, filling the index. Aliases are expanded against a budget, so
// an alias bomb is refused instead of exhausting memory.
type converter struct {
	idx    *index
	budget int
	outer  *yaml.Node // the outermost alias being expanded
	failed *yaml.Node // where the budget ran out: the outermost alias
	// odd holds, by merged path, the numbers not written in plain decimal
	// (number.go); the checker refuses those where a number belongs.
	odd map[string]oddNumber
}

var errAliasBudget = fmt.Errorf("excessive aliasing")

func (c *converter) value(n *yaml.Node, key *yaml.Node, path string) (any, error) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, fmt.Errorf("alias without anchor")
		}
		alias := n
		n = n.Alias
		if _, ok := c.idx.file[n]; !ok {
			c.idx.file[n] = c.idx.file[alias]
		}
		if c.outer == nil {
			c.outer = alias
			defer func() { c.outer = nil }()
		}
	}
	if c.budget--; c.budget < 0 {
		c.failed = n
		if c.outer != nil {
			c.failed = c.outer
		}
		return nil, errAliasBudget
	}
	c.idx.nodes[path] = n
	if key != nil {
		c.idx.keys[path] = key
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := keyPath(path, k.Value)
			val, err := c.value(v, k, kp)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, e := range n.Content {
			val, err := c.value(e, nil, indexPath(path, i))
			if err != nil {
				return nil, err
			}
			s[i] = val
		}
		return s, nil
	case yaml.ScalarNode:
		v := scalar(n)
		if _, num := v.(json.Number); num && n.Style == 0 && !plainDecimal(n.Value) {
			if c.odd == nil {
				c.odd = map[string]oddNumber{}
			}
			c.odd[path] = oddNumber{node: n, text: n.Value, fix: numberFix(n.Value)}
		}
		return v, nil
	}
	return nil, nil
}

// scalar converts a YAML scalar to its JSON value. Timestamps stay strings
// (until: 2027-03-31 is a date string to the spec); numbers that JSON cannot
// hold (NaN, ±Inf) stay strings too, so the schema reports their type.
func scalar(n *yaml.Node) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return n.Value
}

// Top-level lists concatenated when a spec spans several files, and the
// mapping fields whose own lists are.
var (
	mergedLists = map[string]bool{
		"organizations":         true,
		"policy.ownerGroups":    true,
		"policy.protectedUsers": true,
		"policy.exceptions":     true,
		"current.organizations": true,
		"current.exceptions":    true,
	}
	mergedMaps = map[string]bool{"policy": true, "current": true}
)

// merge joins the files' top-level mappings into one tree. Lists in
// mergedLists are concatenated (a duplicate org then shows up as one, naming
// both places); any other field may be set in one file only. version must
// agree across files.
func merge(files []parsedFile, idx *index) (*yaml.Node, Diagnostics) {
	if len(files) == 1 {
		root := files[0].root
		return root, nil
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
	idx.file[root] = files[0].name
	var diags Diagnostics
	var mergeInto func(dst *yaml.Node, src *yaml.Node, path string)
	mergeInto = func(dst, src *yaml.Node, path string) {
		for i := 0; i+1 < len(src.Content); i += 2 {
			k, v := src.Content[i], src.Content[i+1]
			kp := keyPath(path, k.Value)
			j := findKey(dst, k.Value)
			if j < 0 {
				switch {
				case mergedLists[kp] && v.Kind == yaml.SequenceNode:
					seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: v.Tag, Style: v.Style, Line: v.Line, Column: v.Column,
						Content: slices.Clone(v.Content)}
					idx.file[seq] = idx.file[v]
					idx.lists[kp] = append(idx.lists[kp], segment{start: 0, n: len(v.Content)})
					dst.Content = append(dst.Content, k, seq)
				case mergedMaps[kp] && v.Kind == yaml.MappingNode:
					m := &yaml.Node{Kind: yaml.MappingNode, Tag: v.Tag, Style: v.Style, Line: v.Line, Column: v.Column}
					idx.file[m] = idx.file[v]
					dst.Content = append(dst.Content, k, m)
					mergeInto(m, v, kp)
				default:
					dst.Content = append(dst.Content, k, v)
				}
				continue
			}
			prevKey, prev := dst.Content[j], dst.Content[j+1]
			switch {
			case mergedLists[kp] && v.Kind == yaml.SequenceNode && prev.Kind == yaml.SequenceNode:
				idx.lists[kp] = append(idx.lists[kp], segment{start: len(prev.Content), n: len(v.Content)})
				prev.Content = append(prev.Content, v.Content...)
			case mergedMaps[kp] && v.Kind == yaml.MappingNode && prev.Kind == yaml.MappingNode:
				mergeInto(prev, v, kp)
			case kp == "version" && v.Kind == yaml.ScalarNode && prev.Kind == yaml.ScalarNode && v.Value == prev.Value:
				// every file may say which version it is written in
			default:
				pos := idx.nodePos(prevKey)
				summary := fmt.Sprintf("%s is also set in %s", kp, pos)
				if kp == "version" {
					summary = fmt.Sprintf("version %s differs from version %s at %s", termsafe.Clean(v.Value), termsafe.Clean(prev.Value), pos)
				}
				diags = append(diags, Diagnostic{Severity: Error, Pos: idx.nodePos(k), Path: kp,
					Summary: summary, Fix: "set it in one file only"})
			}
		}
	}
	for _, f := range files {
		mergeInto(root, f.root, "")
	}
	return root, diags
}

// findKey returns the index of key name in mapping m's Content, or -1.
func findKey(m *yaml.Node, name string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return i
		}
	}
	return -1
}
