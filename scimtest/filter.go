package scimtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/scim2/filter-parser/v2"

	"github.com/scimsync/scimsync/internal/match"
)

// predicate reports whether a resource (or, inside a value path, one element
// of a multi-valued complex attribute) in its JSON form matches a filter.
type predicate func(doc map[string]any) bool

// lookupFunc finds an attribute by name in the scope a filter is evaluated
// in: a resource schema, or the sub-attributes of a complex attribute.
type lookupFunc func(name string) *attribute

// compileFilter parses a filter (RFC 7644 §3.4.2.2) and checks it against
// sch: every attribute it names must exist and every comparison must suit
// the attribute's type. Errors are 400 invalidFilter.
func compileFilter(raw string, sch *schema) (predicate, *scimError) {
	expr, err := parseFilter(raw)
	if err != nil {
		return nil, badRequest(typeInvalidFilter, "invalid filter %q: %v", raw, err)
	}
	p, err := compileExpr(expr, sch.ID, sch.attr, true)
	if err != nil {
		return nil, badRequest(typeInvalidFilter, "invalid filter %q: %v", raw, err)
	}
	return p, nil
}

// parseFilter guards the parser: a panic on odd input is a malformed filter,
// not a crashed server.
func parseFilter(raw string) (e filter.Expression, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("unparsable: %v", r)
		}
	}()
	return filter.ParseFilter([]byte(raw))
}

func parsePath(raw string) (p filter.Path, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = filter.Path{}, fmt.Errorf("unparsable: %v", r)
		}
	}()
	return filter.ParsePath([]byte(raw))
}

func compileExpr(e filter.Expression, urn string, lookup lookupFunc, top bool) (predicate, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, err := compileExpr(e.Left, urn, lookup, top)
		if err != nil {
			return nil, err
		}
		r, err := compileExpr(e.Right, urn, lookup, top)
		if err != nil {
			return nil, err
		}
		if e.Operator == filter.AND {
			return func(d map[string]any) bool { return l(d) && r(d) }, nil
		}
		return func(d map[string]any) bool { return l(d) || r(d) }, nil
	case *filter.NotExpression:
		p, err := compileExpr(e.Expression, urn, lookup, top)
		if err != nil {
			return nil, err
		}
		return func(d map[string]any) bool { return !p(d) }, nil
	case *filter.ValuePath:
		if !top {
			return nil, fmt.Errorf("value paths do not nest")
		}
		a, err := resolveAttr(e.AttributePath.URI(), e.AttributePath.AttributeName, urn, lookup)
		if err != nil {
			return nil, err
		}
		if e.AttributePath.SubAttribute != nil {
			return nil, fmt.Errorf("%s.%s[…]: a value path filters a complex attribute", a.Name, e.AttributePath.SubAttributeName())
		}
		if a.Type != tComplex || a.open {
			return nil, fmt.Errorf("%s is not a complex attribute", a.Name)
		}
		inner, err := compileExpr(e.ValueFilter, "", a.sub, false)
		if err != nil {
			return nil, err
		}
		name := a.Name
		return func(d map[string]any) bool {
			for _, el := range elements(d[name]) {
				if m, ok := el.(map[string]any); ok && inner(m) {
					return true
				}
			}
			return false
		}, nil
	case *filter.AttributeExpression:
		return compileAttrExp(e, urn, lookup, top)
	}
	return nil, fmt.Errorf("unsupported expression %T", e)
}

// resolveAttr finds an attribute named in a filter or a path. A URN prefix
// must be the resource's schema.
func resolveAttr(uri, name, urn string, lookup lookupFunc) (*attribute, error) {
	if uri != "" && !strings.EqualFold(uri, urn) {
		return nil, fmt.Errorf("unknown schema %q", uri)
	}
	a := lookup(name)
	if a == nil {
		return nil, fmt.Errorf("unknown attribute %q", name)
	}
	return a, nil
}

// elements returns a multi-valued attribute's values, or a single value as a
// one-element slice; nothing for an absent value.
func elements(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

func compileAttrExp(e *filter.AttributeExpression, urn string, lookup lookupFunc, top bool) (predicate, error) {
	a, err := resolveAttr(e.AttributePath.URI(), e.AttributePath.AttributeName, urn, lookup)
	if err != nil {
		return nil, err
	}
	leaf := a
	var subName string
	switch {
	case e.AttributePath.SubAttribute != nil:
		if a.Type != tComplex || a.open {
			return nil, fmt.Errorf("%s has no sub-attributes", a.Name)
		}
		leaf = a.sub(e.AttributePath.SubAttributeName())
		if leaf == nil {
			return nil, fmt.Errorf("unknown attribute %q", a.Name+"."+e.AttributePath.SubAttributeName())
		}
		subName = leaf.Name
	case a.Type == tComplex && e.Operator != filter.PR:
		// emails co "x" compares emails.value (RFC 7644 §3.4.2.2).
		leaf = a.sub("value")
		if leaf == nil {
			return nil, fmt.Errorf("%s is complex: name one of its sub-attributes", a.Name)
		}
		subName = leaf.Name
	}
	name := a.Name
	values := func(d map[string]any) []any {
		vs := elements(d[name])
		if subName == "" {
			return vs
		}
		var out []any
		for _, v := range vs {
			if m, ok := v.(map[string]any); ok {
				out = append(out, m[subName])
			}
		}
		return out
	}
	if e.Operator == filter.PR {
		return func(d map[string]any) bool {
			for _, v := range values(d) {
				if present(v) {
					return true
				}
			}
			return false
		}, nil
	}
	if e.CompareValue == nil {
		switch e.Operator {
		case filter.EQ:
			return func(d map[string]any) bool { return !anyPresent(values(d)) }, nil
		case filter.NE:
			return func(d map[string]any) bool { return anyPresent(values(d)) }, nil
		}
		return nil, fmt.Errorf("%s %s null: only eq and ne compare with null", a.Name, e.Operator)
	}
	cmp, err := comparator(leaf, e.Operator, e.CompareValue)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.AttributePath.String(), err)
	}
	if e.Operator == filter.NE {
		return func(d map[string]any) bool {
			for _, v := range values(d) {
				if v != nil && cmp(v) {
					return false
				}
			}
			return true
		}, nil
	}
	return func(d map[string]any) bool {
		for _, v := range values(d) {
			if v != nil && cmp(v) {
				return true
			}
		}
		return false
	}, nil
}

func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

func anyPresent(vs []any) bool {
	for _, v := range vs {
		if present(v) {
			return true
		}
	}
	return false
}

// comparator returns a test of one attribute value against the filter's
// compare value. For ne it returns the eq test; the caller negates.
func comparator(a *attribute, op filter.CompareOperator, want any) (func(v any) bool, error) {
	switch a.Type {
	case tBoolean:
		b, ok := want.(bool)
		if !ok {
			return nil, fmt.Errorf("compares a boolean with %v", want)
		}
		if op != filter.EQ && op != filter.NE {
			return nil, fmt.Errorf("operator %s does not apply to a boolean", op)
		}
		return func(v any) bool { got, ok := v.(bool); return ok && got == b }, nil
	case tInteger:
		w, ok := toFloat(want)
		if !ok {
			return nil, fmt.Errorf("compares an integer with %v", want)
		}
		return numberCmp(op, w)
	case tDateTime:
		s, ok := want.(string)
		if !ok {
			return nil, fmt.Errorf("compares a dateTime with %v", want)
		}
		s, err := unescape(s)
		if err != nil {
			return nil, err
		}
		w, err := parseTime(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an RFC 3339 dateTime", s)
		}
		return timeCmp(op, w)
	case tComplex:
		return nil, fmt.Errorf("cannot compare a complex attribute")
	}
	// string, reference
	s, ok := want.(string)
	if !ok {
		return nil, fmt.Errorf("compares a string with %v", want)
	}
	s, err := unescape(s)
	if err != nil {
		return nil, err
	}
	norm := func(x string) string { return x }
	if !a.CaseExact {
		norm = strings.ToLower
	}
	w := norm(s)
	var f func(string) bool
	switch op {
	case filter.EQ, filter.NE:
		if !a.CaseExact {
			// Equality compares as userNames, emails and names compare
			// everywhere (match.Name, match.Email's folding): in any
			// case, but a look-alike is another value.
			w = match.Name(s)
			return func(v any) bool {
				x, ok := v.(string)
				return ok && match.Name(x) == w
			}, nil
		}
		f = func(x string) bool { return x == w }
	case filter.CO:
		f = func(x string) bool { return strings.Contains(x, w) }
	case filter.SW:
		f = func(x string) bool { return strings.HasPrefix(x, w) }
	case filter.EW:
		f = func(x string) bool { return strings.HasSuffix(x, w) }
	case filter.GT:
		f = func(x string) bool { return x > w }
	case filter.GE:
		f = func(x string) bool { return x >= w }
	case filter.LT:
		f = func(x string) bool { return x < w }
	case filter.LE:
		f = func(x string) bool { return x <= w }
	default:
		return nil, fmt.Errorf("unknown operator %q", op)
	}
	return func(v any) bool {
		x, ok := v.(string)
		return ok && f(norm(x))
	}, nil
}

// unescape decodes the JSON escapes the filter parser leaves in a string.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return "", fmt.Errorf("bad string escape in %q", s)
	}
	return out, nil
}

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func timeCmp(op filter.CompareOperator, w time.Time) (func(v any) bool, error) {
	var f func(c int) bool
	switch op {
	case filter.EQ, filter.NE:
		f = func(c int) bool { return c == 0 }
	case filter.GT:
		f = func(c int) bool { return c > 0 }
	case filter.GE:
		f = func(c int) bool { return c >= 0 }
	case filter.LT:
		f = func(c int) bool { return c < 0 }
	case filter.LE:
		f = func(c int) bool { return c <= 0 }
	default:
		return nil, fmt.Errorf("operator %s does not apply to a dateTime", op)
	}
	return func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		t, err := parseTime(s)
		return err == nil && f(t.Compare(w))
	}, nil
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

func numberCmp(op filter.CompareOperator, w float64) (func(v any) bool, error) {
	var f func(x float64) bool
	switch op {
	case filter.EQ, filter.NE:
		f = func(x float64) bool { return x == w }
	case filter.GT:
		f = func(x float64) bool { return x > w }
	case filter.GE:
		f = func(x float64) bool { return x >= w }
	case filter.LT:
		f = func(x float64) bool { return x < w }
	case filter.LE:
		f = func(x float64) bool { return x <= w }
	default:
		return nil, fmt.Errorf("operator %s does not apply to a number", op)
	}
	return func(v any) bool { x, ok := toFloat(v); return ok && f(x) }, nil
}
