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

// maxSyntaxProbes bounds the re-parses used to find the line of a syntax error.
const maxSyntaxProbes = 200

// parsedFile is one spec file parsed into a YAML tree.
type parsedFile struct {
	name  string
	root  *yaml.Node // the top-level mapping; nil when unusable
	nodes int        // nodes in the tree, aliases not expanded
}

// parseFile parses one source. It never panics on any input: every problem
// becomes a diagnostic, and root is nil when the file cannot be used.
func parseFile(src source, idx *index) (parsedFile, Diagnostics) {
	pf := parsedFile{name: src.name}
	at := func(line, col int) Pos { return Pos{File: src.name, Line: line, Col: col} }
	if src.size > MaxFileSize {
		return pf, Diagnostics{{Severity: Error, Pos: at(1, 1),
			Summary: fmt.Sprintf("file is larger than the %d MiB limit", MaxFileSize>>20),
			Fix:     "split the spec into a directory of files"}}
	}
	data := bytes.TrimPrefix(src.data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		off := invalidUTF8Offset(data)
		line, col := lineCol(data, off)
		return pf, Diagnostics{{Severity: Error, Pos: at(line, col),
			Summary: fmt.Sprintf("invalid UTF-8 (byte 0x%02x)", data[off]),
			Fix:     "save the file as UTF-8"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		return pf, Diagnostics{emptyFile(src.name)}
	}
	if err != nil {
		return pf, syntaxDiags(src.name, data, err)
	}
	var diags Diagnostics
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		diags = append(diags, syntaxDiags(src.name, data, err)...)
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
	w := walker{file: src.name, idx: idx}
	w.walk(root, "")
	pf.nodes = w.count
	if len(w.diags) > 0 || len(diags) > 0 {
		return pf, append(diags, w.diags...)
	}
	pf.root = root
	return pf, nil
}

func emptyFile(name string) Diagnostic {
	return Diagnostic{Severity: Error, Pos: Pos{File: name, Line: 1, Col: 1},
		Summary: "file is empty", Fix: "a spec starts with version: 1"}
}

// walker checks one file's tree for what yaml.v3 lets through: duplicate
// keys, merge keys and non-scalar keys. It records which file each node
// belongs to. Aliases are not followed here; their targets are walked where
// they are defined.
type walker struct {
	file  string
	idx   *index
	count int
	diags Diagnostics
}

func (w *walker) walk(n *yaml.Node, path string) {
	w.count++
	w.idx.file[n] = w.file
	switch n.Kind {
	case yaml.SequenceNode:
		for i, c := range n.Content {
			w.walk(c, indexPath(path, i))
		}
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			w.idx.file[k] = w.file
			w.count++
			if k.Kind != yaml.ScalarNode {
				w.errorf(k, path, "", "a key must be a plain string, not %s", kindName(k))
				continue
			}
			if k.Tag == "!!merge" {
				w.errorf(k, path, "write the fields out; the spec does not support YAML merge keys", "merge keys (<<) are not supported")
				continue
			}
			kp := keyPath(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				w.errorf(k, kp, "remove one of them",
					"duplicate key %q (first at %s)", k.Value, Pos{File: w.file, Line: first.Line, Col: first.Column})
				continue
			}
			seen[k.Value] = k
			w.walk(v, kp)
		}
	}
}

func (w *walker) errorf(n *yaml.Node, path, fix, format string, args ...any) {
	w.diags = append(w.diags, Diagnostic{Severity: Error,
		Pos:  Pos{File: w.file, Line: n.Line, Col: n.Column},
		Path: path, Summary: fmt.Sprintf(format, args...), Fix: fix})
}

var yamlErrRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// syntaxDiags turns a yaml.v3 parse error into positioned diagnostics.
// yaml.v3 reports the line where the enclosing construct started and no
// column, so the line is found by parsing ever longer prefixes of the file
// until the same error appears, and the column from the offending line.
func syntaxDiags(name string, data []byte, err error) Diagnostics {
	lines := splitLines(data)
	if tabs := tabDiags(name, lines); len(tabs) > 0 {
		return tabs
	}
	msg := err.Error()
	reported := 1
	if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
		msg = m[2]
		if m[1] != "" {
			reported, _ = strconv.Atoi(m[1])
		}
	}
	line := min(max(reported, 1), max(len(lines), 1))
	for l, probes := max(reported-2, 1), 0; l <= len(lines) && probes < maxSyntaxProbes; l, probes = l+1, probes+1 {
		end := 0
		for _, s := range lines[:l] {
			end += len(s)
		}
		if perr := parseAll(data[:end]); perr != nil && sameYAMLError(perr.Error(), msg) {
			line = l
			break
		}
	}
	col := 1
	if line-1 < len(lines) {
		col = syntaxCol(data, lines, line, msg)
	}
	return Diagnostics{{Severity: Error, Pos: Pos{File: name, Line: line, Col: col},
		Summary: "invalid YAML: " + msg, Fix: syntaxFix(msg)}}
}

func sameYAMLError(got, msg string) bool {
	if m := yamlErrRE.FindStringSubmatch(got); m != nil {
		got = m[2]
	}
	return got == msg
}

// parseAll parses every document in data and returns the first error.
func parseAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// syntaxCol finds the column (1-based, in characters) of a syntax error on
// line: the first character at which a prefix of the file ending there
// fails with the same message. Failing that, it guesses from the message.
func syntaxCol(data []byte, lines []string, line int, msg string) int {
	start := 0
	for _, l := range lines[:line-1] {
		start += len(l)
	}
	text := strings.TrimRight(lines[line-1], "\r\n")
	if m := regexp.MustCompile(`did not find expected ',' or '([\]}])'`).FindStringSubmatch(msg); m != nil {
		open := map[string]string{"]": "[", "}": "{"}[m[1]]
		if i := strings.LastIndex(text, open); i >= 0 {
			return utf8.RuneCountInString(text[:i]) + 1
		}
	}
	probes := 0
	for off, r := range text {
		if probes++; probes > maxSyntaxProbes {
			break
		}
		end := start + off + utf8.RuneLen(r)
		if err := parseAll(data[:end]); err != nil && sameYAMLError(err.Error(), msg) {
			return utf8.RuneCountInString(text[:off]) + 1
		}
	}
	off := -1
	if strings.HasPrefix(msg, "unknown anchor") {
		if m := regexp.MustCompile(`'([^']*)'`).FindStringSubmatch(msg); m != nil {
			off = strings.Index(text, "*"+m[1])
		}
	}
	if off < 0 {
		off = len(text) - len(strings.TrimLeft(text, " \t"))
	}
	return utf8.RuneCountInString(text[:off]) + 1
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
