package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// The YAML layer: reading one file into a yaml.Node tree and refusing what a
// spec must never contain, each refusal positioned.

// onParse, when set (by tests), is called each time a YAML parse of spec
// bytes starts.
var onParse func()

func newDecoder(r io.Reader) *yaml.Decoder {
	if onParse != nil {
		onParse()
	}
	return yaml.NewDecoder(r)
}

// parsedFile is one spec file parsed into a YAML tree.
type parsedFile struct {
	name  string
	root  *yaml.Node // the top-level mapping; nil when unusable
	nodes int        // nodes in the tree, aliases not expanded
	// quiet are the nodes, and quietKeys the mapping keys, of what the YAML
	// layer refused in a file still checked further: the later layers say
	// nothing about them, and nothing about what they hold.
	quiet, quietKeys []*yaml.Node
}

// parseFile parses one source. It never panics on any input: every problem
// becomes a diagnostic, and root is nil when the file cannot be used: when
// it is not YAML, not one document, not a mapping, or uses a merge key.
// A file whose tree the walker only refused parts of (a duplicate key, a
// tag, a key that is not a string) is still used, so that the schema and
// semantic layers report on the rest (DESIGN §2: never stop at the first).
func parseFile(src source, idx *index) (parsedFile, Diagnostics) {
	pf := parsedFile{name: src.name}
	at := func(line, col int) Pos { return Pos{File: src.name, Line: line, Col: col} }
	data := bytes.TrimPrefix(src.data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		off := invalidUTF8Offset(data)
		line, col := lineCol(data, off)
		return pf, Diagnostics{{Severity: Error, Pos: at(line, col),
			Summary: fmt.Sprintf("invalid UTF-8 (byte 0x%02x)", data[off]),
			Fix:     "save the file as UTF-8"}}
	}
	fr := &frontierReader{data: data}
	dec := newDecoder(fr)
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		return pf, Diagnostics{emptyFile(src.name)}
	}
	if err != nil {
		return pf, syntaxDiags(src.name, data, err, fr.off)
	}
	var diags Diagnostics
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		diags = append(diags, syntaxDiags(src.name, data, err, fr.off)...)
	default:
		diags = append(diags, Diagnostic{Severity: Error, Pos: at(next.Line, next.Column),
			Summary: "more than one YAML document in the file",
			Fix:     "remove the --- separator; split a spec across files in a directory instead"})
	}
	if len(doc.Content) == 0 {
		return pf, append(diags, emptyFile(src.name))
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return pf, append(diags, emptyFile(src.name))
	}
	if root.Kind != yaml.MappingNode {
		return pf, append(diags, Diagnostic{Severity: Error, Pos: at(root.Line, root.Column),
			Summary: fmt.Sprintf("the top level is %s; a spec is a mapping of fields (version, target, parent…)", kindName(root)),
			Fix:     "start the file with version: 1"})
	}
	w := walker{file: src.name, idx: idx, tags: newTagMarks(data)}
	w.walk(root, "", false)
	pf.nodes = w.count
	if w.fatal || len(diags) > 0 {
		return pf, append(diags, w.diags...)
	}
	pf.root, pf.quiet, pf.quietKeys = root, w.quiet, w.quietKeys
	return pf, w.diags
}

func emptyFile(name string) Diagnostic {
	return Diagnostic{Severity: Error, Pos: Pos{File: name, Line: 1, Col: 1},
		Summary: "file is empty", Fix: "a spec starts with version: 1"}
}

// walker checks one file's tree for what yaml.v3 lets through: duplicate
// keys, merge keys, non-scalar keys and tags. It records which file each
// node belongs to. Aliases are not followed here; their targets are walked
// where they are defined.
//
// A duplicate key and a non-scalar key are taken out of the tree (the first
// of duplicates stays), and the mapping that held them is made quiet, as is
// the mapping holding a tagged key or value; a tagged list item is made
// quiet. The tree is then checked further. At the top level, and in policy
// and current (which several files may each hold), the field (the first
// duplicate's, the tagged one) is made quiet instead of its mapping, so that
// the rest of the spec is still checked. A merge key makes the file
// unusable (fatal): what the mapping holds without it is not what was
// meant.
type walker struct {
	file  string
	idx   *index
	tags  *tagMarks
	count int
	diags Diagnostics
	fatal bool
	quiet []*yaml.Node
	// quietKeys are mapping keys whose field is made quiet.
	quietKeys []*yaml.Node
}

// walk checks n, at path. A mapping checks the tags of its keys and values
// itself (tagChecked).
func (w *walker) walk(n *yaml.Node, path string, tagChecked bool) {
	w.count++
	w.idx.file[n] = w.file
	if !tagChecked && w.noTag(n, path) {
		w.quiet = append(w.quiet, n)
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, c := range n.Content {
			w.walk(c, indexPath(path, i), false)
		}
	case yaml.MappingNode:
		// shared: the mapping is the top level, or one several files may
		// each hold and that is merged field by field.
		shared := path == "" || mergedMaps[path]
		seen := map[string]*yaml.Node{}
		kept := make([]*yaml.Node, 0, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			w.idx.file[k] = w.file
			w.count++
			if k.Kind != yaml.ScalarNode {
				w.errorf(k, path, "", "a key must be a plain string, not %s", kindName(k))
				if !shared {
					w.quiet = append(w.quiet, n)
				}
				continue
			}
			kp := keyPath(path, k.Value)
			// Not || : each tag is reported.
			if tagged := w.noTag(k, kp); w.noTag(v, kp) || tagged {
				if shared {
					w.quietKeys = append(w.quietKeys, k)
				} else {
					w.quiet = append(w.quiet, n)
				}
			}
			if k.Tag == "!!merge" {
				w.errorf(k, path, "write the fields out; the spec does not support YAML merge keys", "merge keys (<<) are not supported")
				w.fatal = true
				continue
			}
			if first, dup := seen[k.Value]; dup {
				w.errorf(k, kp, "remove one of them",
					"duplicate key %q (first at %s)", k.Value, Pos{File: w.file, Line: first.Line, Col: first.Column})
				if shared {
					w.quietKeys = append(w.quietKeys, first)
				} else {
					w.quiet = append(w.quiet, n)
				}
				continue
			}
			seen[k.Value] = k
			kept = append(kept, k, v)
			w.walk(v, kp, true)
		}
		n.Content = kept
	}
}

// noTag refuses an explicit tag on n (tags.go), and reports whether it
// did.
func (w *walker) noTag(n *yaml.Node, path string) bool {
	tag, ok := w.tags.tagOf(n)
	if ok {
		w.errorf(n, path, "remove the tag and write the value itself (quote it to make it a string)",
			"tags are not allowed in a scimsync spec (found %q)", tag)
	}
	return ok
}

func (w *walker) errorf(n *yaml.Node, path, fix, format string, args ...any) {
	w.diags = append(w.diags, Diagnostic{Severity: Error,
		Pos:  Pos{File: w.file, Line: n.Line, Col: n.Column},
		Path: path, Summary: fmt.Sprintf(format, args...), Fix: fix})
}

var yamlErrRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// frontierReader hands yaml.v3 one byte per Read, so that when a parse
// fails, off (the bytes read so far) is where the scanner stood, give or
// take its few characters of lookahead. That locates a syntax error from
// the one parse of the file: yaml.v3's message carries only a line, often
// the line where the enclosing construct started. The cost is one method
// call per byte, a few milliseconds per megabyte.
type frontierReader struct {
	data []byte
	off  int
}

func (r *frontierReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.data[r.off]
	r.off++
	return 1, nil
}

// parserProblems are the messages of yaml.v3's parser (as opposed to its
// scanner). The line in a parser error is 0-based and names the start of
// the enclosing construct when there is one; the line in a scanner error is
// 1-based.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

var anchorRE = regexp.MustCompile(`'([^']*)'`)

// syntaxDiags turns a yaml.v3 parse error into a positioned diagnostic,
// without parsing again: from the message, the line it names and frontier,
// the offset in data the parser had read when it failed.
func syntaxDiags(name string, data []byte, err error, frontier int) Diagnostics {
	lines := splitLines(data)
	if tabs := tabDiags(name, lines); len(tabs) > 0 {
		return tabs
	}
	msg := err.Error()
	reported := 0 // 1-based; 0 when the message names no line
	if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
		msg = m[2]
		if m[1] != "" {
			reported, _ = strconv.Atoi(m[1])
		}
	}
	pos := syntaxPos(data, lines, msg, reported, frontier)
	return Diagnostics{{Severity: Error, Pos: Pos{File: name, Line: pos.Line, Col: pos.Col},
		Summary: "invalid YAML: " + msg, Fix: syntaxFix(msg)}}
}

// syntaxPos places a syntax error: at the opening bracket of a flow
// collection left open, at the offending ':' or '-' of a misplaced mapping
// value or sequence entry, at the alias of an unknown anchor, at the start
// of the construct a scanner error names (a quoted scalar, a simple key),
// and otherwise at the first character of the last line the parser read.
func syntaxPos(data []byte, lines []string, msg string, reported, frontier int) Pos {
	if len(lines) == 0 {
		return Pos{Line: 1, Col: 1}
	}
	frontier = min(max(frontier, 0), len(data))
	parser := parserProblems[msg]
	if parser && reported > 0 {
		reported++ // the parser counts lines from 0
	}
	if reported > len(lines) {
		reported = len(lines)
	}
	text := func(l int) string { return strings.TrimRight(lines[l-1], "\r\n") }
	col := func(l int, byteOff int) Pos {
		return Pos{Line: l, Col: utf8.RuneCountInString(text(l)[:byteOff]) + 1}
	}
	// The line holding the frontier, and the frontier's byte offset in it.
	fLine, fOff := frontierLine(lines, frontier)
	// lastBefore is the last index of any of chars in line l before the
	// frontier (anywhere in the line when the frontier is past it).
	lastBefore := func(l int, chars string) int {
		t := text(l)
		if l == fLine {
			t = t[:min(fOff, len(t))]
		}
		return strings.LastIndexAny(t, chars)
	}

	switch {
	case msg == "did not find expected ',' or ']'" || msg == "did not find expected ',' or '}'":
		open := "["
		if strings.HasSuffix(msg, "'}'") {
			open = "{"
		}
		for _, l := range []int{reported, 1} {
			if l >= 1 {
				if i := lastBefore(l, open); i >= 0 {
					return col(l, i)
				}
			}
		}
	case strings.HasPrefix(msg, "unknown anchor") || strings.HasPrefix(msg, "anchor '"):
		// The composer's errors name no line: find the alias.
		if m := anchorRE.FindStringSubmatch(msg); m != nil {
			if off := aliasOffset(data, m[1]); off >= 0 {
				l, c := lineCol(data, off)
				return Pos{Line: l, Col: c}
			}
		}
		return Pos{Line: 1, Col: 1}
	case msg == "mapping values are not allowed in this context" && reported > 0:
		if i := lastBefore(reported, ":"); i >= 0 {
			return col(reported, i)
		}
	case msg == "block sequence entries are not allowed in this context" && reported > 0:
		if i := lastBefore(reported, "-"); i >= 0 {
			return col(reported, i)
		}
	case !parser && reported > 0:
		// A scanner error names the line of the construct it was scanning
		// (a quoted scalar, a simple key…) or of the problem itself.
		t := text(reported)
		if strings.Contains(msg, "end of stream") || strings.Contains(msg, "escape") {
			if i := lastBefore(reported, "\"'"); i >= 0 {
				return col(reported, i)
			}
		}
		if reported == fLine && fOff > 0 {
			// Before it decides what a token is, the scanner reads four
			// characters ahead (the length of "--- "): the problem is about
			// four characters before the frontier, at the token it starts.
			end := min(fOff, len(t))
			i := end
			for n := 0; n < 4 && i > 0; n++ {
				_, size := utf8.DecodeLastRuneInString(t[:i])
				i -= size
			}
			for i < end-1 && (t[i] == ' ' || t[i] == '\t') {
				i++
			}
			return col(reported, i)
		}
		return col(reported, len(t)-len(strings.TrimLeft(t, " \t")))
	}
	// A parser error: the offending token is one of the last read. The
	// scanner reads a token past it when it might be a simple key, so when
	// the last line read holds only the start of one key or entry, at an
	// indentation the file already uses and no deeper than the line before,
	// the offending token is the last one of that line before.
	read := func(l int) string {
		t := text(l)
		if l == fLine {
			t = t[:min(fOff, len(t))]
		}
		return t
	}
	l := fLine
	for l > 1 && isBlankYAML(read(l)) {
		l--
	}
	p := l - 1
	for p >= 1 && isBlankYAML(text(p)) {
		p--
	}
	if p >= 1 && p >= reported && onlyFirstToken(read(l)) && indentOf(text(l)) <= indentOf(text(p)) && indentUsed(lines, p, indentOf(text(l))) {
		return col(p, lastTokenStart(text(p)))
	}
	if reported > 0 && l < reported {
		l = reported
	}
	return col(l, indentOf(text(l)))
}

// isBlankYAML reports whether a line holds nothing but spaces and a
// comment.
func isBlankYAML(t string) bool {
	t = strings.TrimLeft(t, " \t")
	return t == "" || t[0] == '#'
}

func indentOf(t string) int { return len(t) - len(strings.TrimLeft(t, " ")) }

// indentUsed reports whether a content line before line p+1 (1-based) is
// indented by n.
func indentUsed(lines []string, p, n int) bool {
	for i := p - 1; i >= 0; i-- {
		t := strings.TrimRight(lines[i], "\r\n")
		if !isBlankYAML(t) && indentOf(t) == n {
			return true
		}
	}
	return false
}

// onlyFirstToken reports whether t, the part of a line the scanner read,
// holds no more than its first key or entry indicator and the few
// characters of lookahead after it.
func onlyFirstToken(t string) bool {
	t = stripComment(strings.TrimLeft(t, " "))
	i := strings.IndexAny(t, " :")
	if i < 0 {
		return true
	}
	if t[i] == ':' {
		i++
	}
	return len(strings.TrimRight(t[i:], " ")) <= 4
}

// stripComment drops a trailing " # comment".
func stripComment(t string) string {
	if strings.HasPrefix(t, "#") {
		return ""
	}
	if i := strings.Index(t, " #"); i >= 0 {
		return t[:i]
	}
	return t
}

// lastTokenStart returns the byte offset of the last token of a line: its
// last flow indicator, or the start of its last word.
func lastTokenStart(t string) int {
	t = strings.TrimRight(stripComment(t), " \t")
	if t == "" {
		return 0
	}
	i := len(t) - 1
	if strings.IndexByte("[]{},", t[i]) >= 0 {
		return i
	}
	for i > 0 && strings.IndexByte(" \t[]{},", t[i-1]) < 0 {
		i--
	}
	return i
}

// frontierLine returns the 1-based line holding byte offset off of the
// file split into lines, and off's byte offset in that line. An offset at
// the very end belongs to the last line.
func frontierLine(lines []string, off int) (int, int) {
	start := 0
	for i, l := range lines {
		if off < start+len(l) || i == len(lines)-1 {
			return i + 1, off - start
		}
		start += len(l)
	}
	return 1, 0
}

// isAnchorChar reports whether c may be part of an anchor name, as
// yaml.v3 scans them.
func isAnchorChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == '-' || c >= 0x80
}

// aliasOffset returns the offset of the first alias *name in data, or -1.
func aliasOffset(data []byte, name string) int {
	needle := []byte("*" + name)
	for from := 0; ; {
		i := bytes.Index(data[from:], needle)
		if i < 0 {
			return -1
		}
		at := from + i
		end := at + len(needle)
		if end == len(data) || !isAnchorChar(data[end]) {
			return at
		}
		from = at + 1
	}
}

func syntaxFix(msg string) string {
	switch {
	case strings.Contains(msg, "did not find expected key"):
		return "check the indentation of this line against the lines above"
	case strings.Contains(msg, "mapping values are not allowed"):
		return "quote the value, or put the nested mapping on its own indented line"
	case strings.Contains(msg, "did not find expected ',' or"):
		return "close the flow collection opened on this line"
	case strings.Contains(msg, "found unexpected end of stream"):
		return "close the quote or bracket opened on this line"
	}
	return ""
}

// tabDiags reports every line indented with a tab, the usual cause of a
// YAML syntax error in hand-edited files.
func tabDiags(name string, lines []string) Diagnostics {
	var out Diagnostics
	for i, l := range lines {
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if j := strings.IndexByte(indent, '\t'); j >= 0 {
			if strings.TrimSpace(l) == "" {
				continue
			}
			out = append(out, Diagnostic{Severity: Error, Pos: Pos{File: name, Line: i + 1, Col: j + 1},
				Summary: "tab character in indentation", Fix: "indent with spaces; YAML does not allow tabs"})
		}
	}
	return out
}

func splitLines(data []byte) []string {
	s := string(data)
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func invalidUTF8Offset(data []byte) int {
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size <= 1 {
			return off
		}
		off += size
	}
	return 0
}

// lineCol converts a byte offset to a 1-based line and character column.
func lineCol(data []byte, off int) (int, int) {
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return "a scalar"
	}
	return "a document"
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// keyPath appends a mapping key to a field path: parent.key, or
// parent["odd key"] when the key is not a plain identifier.
func keyPath(path, key string) string {
	if !identRE.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
