package scimtest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/scim2/filter-parser/v2"

	"github.com/scimsync/scimsync/scim"
)

// patchOp is one operation of a PATCH request, its value left raw until the
// target attribute is known.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

// decodePatch reads a PatchOp message (RFC 7644 §3.5.2).
func decodePatch(body []byte) ([]patchOp, *scimError) {
	var req patchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest(typeInvalidSyntax, "decoding patch request: %v", err)
	}
	if !slices.ContainsFunc(req.Schemas, func(s string) bool { return strings.EqualFold(s, scim.SchemaPatchOp) }) {
		return nil, badRequest(typeInvalidSyntax, "patch request: schemas must hold %s", scim.SchemaPatchOp)
	}
	if len(req.Operations) == 0 {
		return nil, badRequest(typeInvalidSyntax, "patch request: no Operations")
	}
	return req.Operations, nil
}

// toPatchOps converts wire operations (scim.PatchOp, as package tenant takes
// them) from raw ones.
func toPatchOps(ops []patchOp) ([]scim.PatchOp, *scimError) {
	out := make([]scim.PatchOp, 0, len(ops))
	for i, op := range ops {
		var v any
		if len(op.Value) > 0 {
			var err error
			if v, err = decodeValue(op.Value); err != nil {
				return nil, badRequest(typeInvalidSyntax, "Operations[%d].value: %v", i, err)
			}
		}
		out = append(out, scim.PatchOp{Op: op.Op, Path: op.Path, Value: v})
	}
	return out, nil
}

func decodeValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// applyPatch applies ops, in order, to doc, the JSON form of a resource of
// schema sch. It stops at the first failing operation; the caller discards
// doc then, so a PATCH is atomic.
func applyPatch(doc map[string]any, sch *schema, ops []scim.PatchOp) *scimError {
	for i, op := range ops {
		if err := applyOp(doc, sch, op); err != nil {
			err.detail = "Operations[" + strconv.Itoa(i) + "]: " + err.detail
			return err
		}
	}
	return nil
}

func applyOp(doc map[string]any, sch *schema, op scim.PatchOp) *scimError {
	kind := strings.ToLower(op.Op)
	switch kind {
	case "add", "replace", "remove":
	default:
		return badRequest(typeInvalidSyntax, "op %q is not add, remove or replace", op.Op)
	}
	if kind != "remove" && op.Value == nil {
		return badRequest(typeInvalidValue, "%s needs a value", kind)
	}
	if op.Path == "" {
		if kind == "remove" {
			return badRequest(typeNoTarget, "remove needs a path")
		}
		obj, ok := op.Value.(map[string]any)
		if !ok {
			return badRequest(typeInvalidValue, "%s without a path needs an object value", kind)
		}
		return applyObject(doc, sch, kind, obj)
	}
	p, err := parsePath(op.Path)
	if err != nil {
		return badRequest(typeInvalidPath, "path %q: %v", op.Path, err)
	}
	a, err := resolveAttr(p.AttributePath.URI(), p.AttributePath.AttributeName, sch.ID, sch.attr)
	if err != nil {
		return badRequest(typeInvalidPath, "path %q: %v", op.Path, err)
	}
	if e := writable(a, op.Path); e != nil {
		return e
	}
	if p.ValueExpression != nil {
		return applyValuePath(doc, a, p, kind, op)
	}
	if p.AttributePath.SubAttribute != nil {
		return applySub(doc, a, p.AttributePath.SubAttributeName(), kind, op)
	}
	switch kind {
	case "remove":
		if op.Value != nil && a.MultiValued && a.Type == tComplex {
			// remove members with a value listing the ones to drop, as
			// Entra ID sends it.
			return removeListed(doc, a, op.Value)
		}
		delete(doc, a.Name)
		return nil
	case "add":
		return setAttr(doc, a, op.Value, true)
	default:
		return setAttr(doc, a, op.Value, false)
	}
}

func writable(a *attribute, path string) *scimError {
	if a.Mutability == readOnly {
		return badRequest(typeMutability, "path %q: %s is read-only", path, a.Name)
	}
	return nil
}

// applyObject handles add and replace without a path: every attribute of
// obj is added or replaced. Keys may be qualified by the schema URN, or an
// object under the schema URN.
func applyObject(doc map[string]any, sch *schema, kind string, obj map[string]any) *scimError {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := obj[k]
		if strings.EqualFold(k, "schemas") {
			continue
		}
		if strings.EqualFold(k, sch.ID) {
			inner, ok := v.(map[string]any)
			if !ok {
				return badRequest(typeInvalidValue, "%s: want an object", k)
			}
			if e := applyObject(doc, sch, kind, inner); e != nil {
				return e
			}
			continue
		}
		name := k
		if len(k) > len(sch.ID)+1 && strings.EqualFold(k[:len(sch.ID)+1], sch.ID+":") {
			name = k[len(sch.ID)+1:]
		}
		a := sch.attr(name)
		if a == nil {
			return badRequest(typeInvalidPath, "unknown attribute %q", k)
		}
		if e := writable(a, k); e != nil {
			return e
		}
		if e := setAttr(doc, a, v, kind == "add"); e != nil {
			return e
		}
	}
	return nil
}

// canon returns v with the attribute names of complex values in their
// schema spelling. elem says v is one element of a multi-valued attribute.
func canon(a *attribute, v any, elem bool) (any, *scimError) {
	if a.MultiValued && !elem {
		var out []any
		for _, x := range elements(v) {
			c, e := canon(a, x, true)
			if e != nil {
				return nil, e
			}
			out = append(out, c)
		}
		return out, nil
	}
	if a.Type != tComplex {
		if _, isObj := v.(map[string]any); isObj {
			return nil, badRequest(typeInvalidValue, "%s: want a %s, got an object", a.Name, a.Type)
		}
		if _, isArr := v.([]any); isArr {
			return nil, badRequest(typeInvalidValue, "%s: want a %s, got an array", a.Name, a.Type)
		}
		return v, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest(typeInvalidValue, "%s: want an object", a.Name)
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		if a.open {
			out[k] = x
			continue
		}
		s := a.sub(k)
		if s == nil {
			return nil, badRequest(typeInvalidValue, "%s: unknown sub-attribute %q", a.Name, k)
		}
		c, e := canon(s, x, false)
		if e != nil {
			return nil, e
		}
		out[s.Name] = c
	}
	return out, nil
}

// setAttr adds (add) or replaces a whole attribute. Adding to a
// multi-valued attribute appends the values not already there; a complex
// value's sub-attributes are merged into the existing ones either way
// (RFC 7644 §3.5.2.1 and §3.5.2.3).
func setAttr(doc map[string]any, a *attribute, v any, add bool) *scimError {
	cv, e := canon(a, v, false)
	if e != nil {
		return e
	}
	switch {
	case a.MultiValued && add:
		list := elements(doc[a.Name])
		for _, x := range cv.([]any) {
			if !slices.ContainsFunc(list, func(y any) bool { return sameElement(a, x, y) }) {
				list = append(list, x)
			}
		}
		doc[a.Name] = list
	case a.MultiValued:
		doc[a.Name] = dedupe(a, cv.([]any))
	case a.Type == tComplex:
		cur, _ := doc[a.Name].(map[string]any)
		if cur == nil {
			cur = map[string]any{}
		}
		for k, x := range cv.(map[string]any) {
			cur[k] = x
		}
		doc[a.Name] = cur
	default:
		doc[a.Name] = cv
	}
	return nil
}

// sameElement reports whether two values of a multi-valued attribute are
// the same: equal "value" sub-attributes for complex ones (a group member is
// a member once), equal values otherwise.
func sameElement(a *attribute, x, y any) bool {
	if a.Type == tComplex && a.sub("value") != nil {
		xm, _ := x.(map[string]any)
		ym, _ := y.(map[string]any)
		if xm != nil && ym != nil && xm["value"] != nil {
			return reflect.DeepEqual(xm["value"], ym["value"])
		}
	}
	return reflect.DeepEqual(x, y)
}

func dedupe(a *attribute, list []any) []any {
	var out []any
	for _, x := range list {
		if !slices.ContainsFunc(out, func(y any) bool { return sameElement(a, x, y) }) {
			out = append(out, x)
		}
	}
	return out
}

func removeListed(doc map[string]any, a *attribute, v any) *scimError {
	cv, e := canon(a, v, false)
	if e != nil {
		return e
	}
	drop := cv.([]any)
	list := slices.DeleteFunc(elements(doc[a.Name]), func(x any) bool {
		return slices.ContainsFunc(drop, func(y any) bool { return sameElement(a, x, y) })
	})
	if len(list) == 0 {
		delete(doc, a.Name)
	} else {
		doc[a.Name] = list
	}
	return nil
}

// applySub handles a path naming a sub-attribute of a single-valued complex
// attribute: name.givenName, seats.premium.
func applySub(doc map[string]any, a *attribute, subName, kind string, op scim.PatchOp) *scimError {
	if a.Type != tComplex {
		return badRequest(typeInvalidPath, "path %q: %s has no sub-attributes", op.Path, a.Name)
	}
	if a.MultiValued {
		return badRequest(typeInvalidPath, "path %q: select values of %s with a filter, as in %s[value eq \"…\"]", op.Path, a.Name, a.Name)
	}
	key := subName
	var s *attribute
	if !a.open {
		if s = a.sub(subName); s == nil {
			return badRequest(typeInvalidPath, "path %q: unknown attribute", op.Path)
		}
		if e := writable(s, op.Path); e != nil {
			return e
		}
		key = s.Name
	}
	cur, _ := doc[a.Name].(map[string]any)
	if kind == "remove" {
		if cur != nil {
			delete(cur, key)
			if len(cur) == 0 {
				delete(doc, a.Name)
			}
		}
		return nil
	}
	v := op.Value
	if s != nil {
		var e *scimError
		if v, e = canon(s, v, false); e != nil {
			return e
		}
	}
	if cur == nil {
		cur = map[string]any{}
		doc[a.Name] = cur
	}
	cur[key] = v
	return nil
}

// applyValuePath handles attr[filter] and attr[filter].sub: the operation
// applies to the values the filter selects, and selecting none is noTarget.
func applyValuePath(doc map[string]any, a *attribute, p filter.Path, kind string, op scim.PatchOp) *scimError {
	if a.Type != tComplex || !a.MultiValued {
		return badRequest(typeInvalidPath, "path %q: %s is not a multi-valued complex attribute", op.Path, a.Name)
	}
	pred, err := compileExpr(p.ValueExpression, "", a.sub, false)
	if err != nil {
		return badRequest(typeInvalidFilter, "path %q: %v", op.Path, err)
	}
	var s *attribute
	if p.SubAttribute != nil {
		if s = a.sub(p.SubAttributeName()); s == nil {
			return badRequest(typeInvalidPath, "path %q: unknown attribute", op.Path)
		}
		if e := writable(s, op.Path); e != nil {
			return e
		}
	}
	list := elements(doc[a.Name])
	var hits []int
	for i, x := range list {
		if m, ok := x.(map[string]any); ok && pred(m) {
			hits = append(hits, i)
		}
	}
	if len(hits) == 0 {
		return badRequest(typeNoTarget, "path %q matches no value", op.Path)
	}
	var nv any
	if kind != "remove" {
		var e *scimError
		if s != nil {
			nv, e = canon(s, op.Value, false)
		} else {
			nv, e = canon(a, op.Value, true)
		}
		if e != nil {
			return e
		}
	}
	switch {
	case kind == "remove" && s == nil:
		out := list[:0:0]
		for i, x := range list {
			if !slices.Contains(hits, i) {
				out = append(out, x)
			}
		}
		list = out
	case kind == "remove":
		for _, i := range hits {
			delete(list[i].(map[string]any), s.Name)
		}
	case s == nil:
		for _, i := range hits {
			list[i] = cloneValue(nv)
		}
		list = dedupe(a, list)
	default:
		for _, i := range hits {
			list[i].(map[string]any)[s.Name] = cloneValue(nv)
		}
	}
	if len(list) == 0 {
		delete(doc, a.Name)
	} else {
		doc[a.Name] = list
	}
	return nil
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = cloneValue(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cloneValue(x)
		}
		return out
	}
	return v
}
