package scimtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// toDoc returns the JSON form of a wire resource as a map, numbers as
// json.Number. Filters, PATCH and attribute projection work on it.
func toDoc(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("scimtest: encoding %T: %v", v, err)) // wire types always encode
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		panic(fmt.Sprintf("scimtest: decoding %T: %v", v, err))
	}
	return m
}

// fromDoc decodes doc into the wire resource out; a value of the wrong type
// is an invalidValue error.
func fromDoc(doc map[string]any, out any) *scimError {
	b, err := json.Marshal(doc)
	if err != nil {
		return badRequest(typeInvalidValue, "encoding resource: %v", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return badRequest(typeInvalidValue, "%v", cleanJSONError(err))
	}
	return nil
}

// cleanJSONError drops encoding/json's Go type names from a decode error.
func cleanJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("attribute %s: a %s is not allowed here", te.Field, te.Value)
		}
		return fmt.Sprintf("a %s is not allowed here", te.Value)
	}
	return err.Error()
}

// splitAttrList splits an attributes or excludedAttributes parameter.
func splitAttrList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// attrRef is a name from an attributes parameter, resolved: an attribute and
// possibly one of its sub-attributes.
type attrRef struct {
	attr *attribute
	sub  string // canonical sub-attribute name, or ""
}

func resolveRefs(sch *schema, names []string) []attrRef {
	var out []attrRef
	for _, n := range names {
		if len(n) > len(sch.ID)+1 && strings.EqualFold(n[:len(sch.ID)+1], sch.ID+":") {
			n = n[len(sch.ID)+1:]
		}
		top, sub, _ := strings.Cut(n, ".")
		a := sch.attr(top)
		if a == nil {
			continue // unknown attributes are ignored
		}
		ref := attrRef{attr: a}
		if sub != "" {
			s := a.sub(sub)
			if s == nil {
				continue
			}
			ref.sub = s.Name
		}
		out = append(out, ref)
	}
	return out
}

// project applies attributes (when set) or excludedAttributes to doc
// (RFC 7644 §3.4.2.5). id and schemas are always returned.
func project(doc map[string]any, sch *schema, attrs, excluded []string) map[string]any {
	if len(attrs) > 0 {
		out := map[string]any{}
		for _, k := range []string{"id", "schemas"} {
			if v, ok := doc[k]; ok {
				out[k] = v
			}
		}
		for _, ref := range resolveRefs(sch, attrs) {
			v, ok := doc[ref.attr.Name]
			if !ok {
				continue
			}
			if ref.sub == "" {
				out[ref.attr.Name] = v
				continue
			}
			out[ref.attr.Name] = mergeSub(out[ref.attr.Name], v, ref.sub)
		}
		return out
	}
	if len(excluded) == 0 {
		return doc
	}
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		out[k] = v
	}
	for _, ref := range resolveRefs(sch, excluded) {
		if ref.attr.Name == "id" {
			continue
		}
		if ref.sub == "" {
			delete(out, ref.attr.Name)
			continue
		}
		out[ref.attr.Name] = dropSub(out[ref.attr.Name], ref.sub)
	}
	return out
}

// mergeSub copies sub-attribute sub of v (an object, or a list of objects)
// into cur, the projection built so far.
func mergeSub(cur, v any, sub string) any {
	switch v := v.(type) {
	case map[string]any:
		m, _ := cur.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		if x, ok := v[sub]; ok {
			m[sub] = x
		}
		return m
	case []any:
		list, _ := cur.([]any)
		if list == nil {
			list = make([]any, len(v))
			for i := range list {
				list[i] = map[string]any{}
			}
		}
		for i, el := range v {
			if em, ok := el.(map[string]any); ok {
				if x, ok := em[sub]; ok {
					list[i].(map[string]any)[sub] = x
				}
			}
		}
		return list
	}
	return cur
}

func dropSub(v any, sub string) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			if k != sub {
				m[k] = x
			}
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, el := range v {
			out[i] = dropSub(el, sub)
		}
		return out
	}
	return v
}
