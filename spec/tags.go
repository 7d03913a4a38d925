package spec

import (
	"bytes"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// A spec holds no YAML tags. A tag changes what a value means in ways YAML
// tools do not agree on, and that no reader of the spec sees at a glance:
// `!!binary dXNlcnM=` is the bytes "users" to one tool and the string
// "dXNlcnM=" to another; `!!int "10"` makes a quoted string a number;
// `!!null users` makes a name empty; the non-specific `! 10` is the string
// "10" to YAML 1.2 and the number 10 to yaml.v3. Every tag is refused, at
// its place.

// tagMarks finds the non-specific tag "!", which yaml.v3 drops without a
// trace on the node: it records where each '!' and '&' of the source
// stands, in yaml.v3's lines and columns, so that a node starting at a
// '!', or at an anchor followed by one, is known to carry it.
type tagMarks struct {
	data []byte
	at   map[[2]int]int // line, column (1-based, in characters) → byte offset
}

// newTagMarks indexes data; nil when data holds no '!', so that no tag can
// hide in it.
func newTagMarks(data []byte) *tagMarks {
	if bytes.IndexByte(data, '!') < 0 {
		return nil
	}
	m := &tagMarks{data: data, at: map[[2]int]int{}}
	line, col := 1, 1
	for i := 0; i < len(data); {
		c := data[i]
		// yaml.v3 breaks lines, as libyaml does, at CR LF, CR, LF, NEL,
		// U+2028 and U+2029.
		switch {
		case c == '\r' && i+1 < len(data) && data[i+1] == '\n':
			line, col, i = line+1, 1, i+2
			continue
		case c == '\r' || c == '\n':
			line, col, i = line+1, 1, i+1
			continue
		case c == '!' || c == '&':
			m.at[[2]int{line, col}] = i
		}
		r, size := utf8.DecodeRune(data[i:])
		i += size
		if r == '\u0085' || r == '\u2028' || r == '\u2029' {
			line, col = line+1, 1
			continue
		}
		col++
	}
	return m
}

// nonSpecific reports whether n carries the non-specific tag "!".
func (m *tagMarks) nonSpecific(n *yaml.Node) bool {
	if m == nil {
		return false
	}
	off, ok := m.at[[2]int{n.Line, n.Column}]
	if !ok {
		return false
	}
	if m.data[off] == '!' {
		return true
	}
	if n.Anchor == "" {
		return false
	}
	// An anchor: the tag, if any, follows it, past blanks, line breaks and
	// comments.
	i := off + 1 + len(n.Anchor)
	for i < len(m.data) {
		switch c := m.data[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '#':
			for i < len(m.data) && m.data[i] != '\n' && m.data[i] != '\r' {
				i++
			}
		default:
			return c == '!'
		}
	}
	return false
}

// tagOf returns the tag n carries explicitly, and whether it carries one.
func (m *tagMarks) tagOf(n *yaml.Node) (string, bool) {
	if n.Style&yaml.TaggedStyle != 0 {
		return n.Tag, true
	}
	if m.nonSpecific(n) {
		return "!", true
	}
	return "", false
}
