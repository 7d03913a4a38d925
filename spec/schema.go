package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/scimsync/scimsync/schemas"
)

// The schema layer: the embedded JSON Schema checks the merged document, and
// each failure is rewritten as a diagnostic at the YAML node it concerns.

// compiledSchema is the embedded schema compiled for one load mode.
type compiledSchema struct {
	once   sync.Once
	schema *jsonschema.Schema
	doc    map[string]any // the schema itself, to read properties/required/enum
	err    error
}

// compiled holds the schema as written (index 0) and its target-only
// variant (index 1), each compiled on first use.
var compiled [2]compiledSchema

// targetOnlyRequired are the top-level fields a target-only spec
// (LoadOptions.TargetOnly) must have; every other field is checked as usual
// when present.
var targetOnlyRequired = []any{"version", "target"}

// specSchema compiles the embedded schema once per mode. The target-only
// variant is the same schema with the top-level required list cut down to
// targetOnlyRequired. The compiler may load nothing from outside:
// validation is offline.
func specSchema(targetOnly bool) (*jsonschema.Schema, map[string]any, error) {
	i := 0
	if targetOnly {
		i = 1
	}
	cs := &compiled[i]
	cs.once.Do(func() {
		var doc map[string]any
		if err := json.Unmarshal(schemas.Spec, &doc); err != nil {
			cs.err = fmt.Errorf("decoding spec schema: %w", err)
			return
		}
		raw, url := schemas.Spec, schemas.SpecURL
		if targetOnly {
			url = strings.TrimSuffix(schemas.SpecURL, ".schema.json") + ".target-only.schema.json"
			doc["$id"] = url
			doc["required"] = targetOnlyRequired
			b, err := json.Marshal(doc)
			if err != nil {
				cs.err = fmt.Errorf("encoding target-only spec schema: %w", err)
				return
			}
			raw = b
		}
		c := jsonschema.NewCompiler()
		c.Draft = jsonschema.Draft2020
		c.LoadURL = func(u string) (io.ReadCloser, error) {
			return nil, fmt.Errorf("loading %s: refused, the spec schema is embedded and validation is offline", u)
		}
		if err := c.AddResource(url, bytes.NewReader(raw)); err != nil {
			cs.err = fmt.Errorf("adding spec schema: %w", err)
			return
		}
		s, err := c.Compile(url)
		if err != nil {
			cs.err = fmt.Errorf("compiling spec schema: %w", err)
			return
		}
		cs.doc, cs.schema = doc, s
	})
	return cs.schema, cs.doc, cs.err
}

// checkSchema validates doc (the merged spec as JSON values) and reports each
// failure through c.
func (c *checker) checkSchema(doc any) error {
	sch, sdoc, err := specSchema(c.targetOnly)
	if err != nil {
		return err
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("validating against the spec schema: %w", err)
	}
	for _, leaf := range leaves(ve, nil) {
		c.schemaLeaf(doc, sdoc, leaf)
	}
	return nil
}

// numbers refuses each number not written in plain decimal, where a number
// belongs: not where the schema found a value of the wrong type (a name
// written 010 is a name to quote, not a number to fix) or an unknown field.
func (c *checker) numbers() {
	for _, p := range sortedKeys(c.odd) {
		if c.suppressed(p) {
			continue
		}
		o := c.odd[p]
		fix := o.fix
		if fix == "" {
			fix = "write the number in plain decimal"
		}
		c.layer1(Error, p, false, fix, fmt.Sprintf("%s is not a plain decimal number", o.text))
	}
}

// infOrNaN reports whether s is one of YAML's spellings of infinity or
// not-a-number.
func infOrNaN(s string) bool {
	switch strings.TrimLeft(s, "+-") {
	case ".inf", ".Inf", ".INF":
		return true
	case ".nan", ".NaN", ".NAN":
		return s[0] == '.'
	}
	return false
}

func leaves(ve *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return append(out, ve)
	}
	for _, c := range ve.Causes {
		out = leaves(c, out)
	}
	return out
}

// secretKeys are field names that would hold a credential inline.
var secretKeys = []string{"token", "bearertoken", "accesstoken", "apitoken", "apikey", "api_key",
	"password", "secret", "clientsecret", "authorization", "bearer", "credentials"}

func isSecretKey(k string) bool {
	return slices.Contains(secretKeys, strings.ToLower(strings.ReplaceAll(k, "-", "")))
}

func (c *checker) schemaLeaf(doc any, sdoc map[string]any, ve *jsonschema.ValidationError) {
	inst, path, ok := resolvePointer(doc, ve.InstanceLocation)
	if !ok {
		c.layer1(Error, path, false, "", "does not match the spec schema")
		return
	}
	kwPtr := ve.AbsoluteKeywordLocation
	if i := strings.IndexByte(kwPtr, '#'); i >= 0 {
		kwPtr = kwPtr[i+1:]
	}
	segs := pointerSegments(kwPtr)
	keyword := ""
	if len(segs) > 0 {
		keyword = segs[len(segs)-1]
	}
	var sch map[string]any
	if len(segs) > 0 {
		sch, _ = lookupSchema(sdoc, segs[:len(segs)-1])
	}
	field := lastKey(path)
	if _, odd := c.odd[path]; odd && keyword != "type" {
		// A number not written in plain decimal is refused as written
		// (numbers); what its value, as yaml.v3 read it, breaks says
		// nothing the user wrote.
		return
	}

	switch keyword {
	case "additionalProperties":
		obj, _ := inst.(map[string]any)
		props, _ := sch["properties"].(map[string]any)
		known := sortedKeys(props)
		for _, k := range sortedKeys(obj) {
			if _, ok := props[k]; ok {
				continue
			}
			kp := keyPath(path, k)
			if isSecretKey(k) {
				c.layer1(Error, kp, true,
					"put the token in an environment variable named by tokenEnv, or in a file named by tokenFile",
					fmt.Sprintf("%q holds a secret inline; secrets never live in the spec, so the value is refused and not shown", k))
				continue
			}
			fix := "known fields: " + strings.Join(known, ", ")
			if s := suggest(k, known); s != "" {
				fix = fmt.Sprintf("did you mean %q?", s)
			}
			c.layer1(Error, kp, true, fix, fmt.Sprintf("unknown field %q", k))
		}
	case "required":
		obj, _ := inst.(map[string]any)
		req, _ := sch["required"].([]any)
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := obj[name]; ok {
				continue
			}
			c.layer1At(Error, keyPath(path, name), path, "", fmt.Sprintf("missing required field %q", name))
		}
	case "type":
		want := typeNames(sch["type"])
		got := jsonTypeName(inst)
		summary := fmt.Sprintf("must be %s, not %s", want, got)
		if inst == nil {
			summary = fmt.Sprintf("is empty; it must be %s", want)
		}
		// YAML reads a number too large for a float (1e400) as a string:
		// say what is wrong with it.
		if str, ok := inst.(string); ok && strings.Contains(want, "number") {
			if _, err := strconv.ParseFloat(str, 64); errors.Is(err, strconv.ErrRange) {
				summary = fmt.Sprintf("must be %s; %s is out of range", want, str)
			}
			// YAML reads .inf and .nan as floats a spec cannot hold (JSON
			// has no such numbers); they reach here as strings.
			if infOrNaN(str) {
				summary = fmt.Sprintf("must be %s; %s is not a finite number", want, str)
			}
		}
		fix := ""
		if field == "until" {
			fix = "write the date as YYYY-MM-DD"
		}
		c.layer1(Error, path, false, fix, summary)
	case "enum":
		opts := stringsOf(sch["enum"])
		summary := fmt.Sprintf("%s is not one of [%s]", quoteValue(inst), strings.Join(opts, " "))
		fix := ""
		if s, ok := inst.(string); ok {
			if field == "role" && Role(s) == RolePrimaryOwner {
				fix = roleFix(RolePrimaryOwner)
			} else if m := suggest(s, opts); m != "" {
				fix = fmt.Sprintf("did you mean %q?", m)
			}
		}
		c.layer1(Error, path, false, fix, summary)
	case "const":
		if field == "version" {
			c.layer1(Error, path, false, "set version: 1",
				fmt.Sprintf("%s is not supported; this scimsync reads version %d", quoteValue(inst), Version))
			return
		}
		c.layer1(Error, path, false, "", fmt.Sprintf("must be %s", quoteValue(sch["const"])))
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
		lo, hasLo := sch["minimum"]
		hi, hasHi := sch["maximum"]
		var summary string
		switch {
		case hasLo && hasHi && numberOf(hi)-numberOf(lo) <= 100:
			summary = fmt.Sprintf("must be between %s and %s, not %s", quoteValue(lo), quoteValue(hi), quoteValue(inst))
		case keyword == "minimum":
			summary = fmt.Sprintf("must be at least %s, not %s", quoteValue(lo), quoteValue(inst))
		case keyword == "maximum":
			summary = fmt.Sprintf("must be at most %s, not %s", quoteValue(hi), quoteValue(inst))
		default:
			summary = fmt.Sprintf("is out of range (%s %s)", keyword, quoteValue(sch[keyword]))
		}
		c.layer1(Error, path, false, "", summary)
	case "minItems":
		n := sch["minItems"]
		summary := fmt.Sprintf("must have at least %v item(s)", n)
		if path == "organizations" {
			summary = "must name at least one organization"
		}
		c.layer1(Error, path, false, "", summary)
	case "minLength":
		c.layer1(Error, path, false, "", "must not be empty")
	case "pattern":
		// Never echo the value: it may be a misplaced secret.
		msg, _ := sch["patternErrorMessage"].(string)
		if msg == "" {
			msg = fmt.Sprintf("must match %v", sch["pattern"])
		}
		c.layer1(Error, path, false, "", msg)
	default:
		c.layer1(Error, path, false, "", fmt.Sprintf("does not satisfy %q in the spec schema", keyword))
	}
}

// resolvePointer follows a JSON pointer into doc and returns the value and
// the spec field path it names.
func resolvePointer(doc any, ptr string) (any, string, bool) {
	v, path := doc, ""
	for _, seg := range pointerSegments(ptr) {
		switch t := v.(type) {
		case map[string]any:
			v = t[seg]
			path = keyPath(path, seg)
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(t) {
				return nil, path, false
			}
			v = t[i]
			path = indexPath(path, i)
		default:
			return nil, path, false
		}
	}
	return v, path, true
}

func pointerSegments(ptr string) []string {
	ptr = strings.TrimPrefix(ptr, "/")
	if ptr == "" {
		return nil
	}
	segs := strings.Split(ptr, "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs
}

func lookupSchema(doc map[string]any, segs []string) (map[string]any, bool) {
	var v any = doc
	for _, s := range segs {
		switch t := v.(type) {
		case map[string]any:
			v = t[s]
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// lastKey returns the last mapping key of a path, "" when it ends in an index.
func lastKey(path string) string {
	if strings.HasSuffix(path, "]") {
		return ""
	}
	if i := strings.LastIndexAny(path, ".]"); i >= 0 {
		return path[i+1:]
	}
	return path
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func typeNames(t any) string {
	var names []string
	switch t := t.(type) {
	case string:
		names = []string{t}
	case []any:
		names = stringsOf(t)
	}
	for i, n := range names {
		names[i] = article(n)
	}
	return strings.Join(names, " or ")
}

func article(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "integer":
		return "an integer"
	case "null":
		return "empty"
	}
	return "a " + t
}

func jsonTypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "empty"
	case bool:
		return "a boolean"
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return "a number with a fraction"
		}
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func stringsOf(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func quoteValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case nil:
		return "empty"
	case json.Number:
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

func numberOf(v any) float64 {
	f, _ := v.(float64)
	return f
}
