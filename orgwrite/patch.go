package orgwrite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// PatchError is an operation that ApplyOrgPatch refuses. SCIMType is the
// RFC 7644 §3.12 scimType a server answers it with (status 400):
// invalidSyntax, invalidPath, invalidValue, noTarget or mutability.
type PatchError struct {
	Index    int // the operation's position in the request, from 0
	Op       string
	Path     string
	SCIMType string
	Detail   string
}

func (e *PatchError) Error() string {
	return fmt.Sprintf("operation %d (%s %q): %s: %s", e.Index, e.Op, e.Path, e.SCIMType, e.Detail)
}

// Patchable attributes of an Organization. Parent-only attributes are set
// on the parent organization, child-only ones on children.
var (
	parentAttrs = []string{"mode", "loginDomains", "seatTiers"}
	childAttrs  = []string{"mappings", "seats", "exceptions"}
	fixedAttrs  = []string{"id", "name", "parent", "meta", "schemas"}
)

// ApplyOrgPatch applies PATCH operations (RFC 7644 §3.5.2) to org, all or
// nothing: on error org is unchanged. It does not touch meta; the caller
// checks If-Match and bumps meta.version.
//
// Supported, as a subset of the RFC that covers whole attributes:
//   - op is add, replace or remove, in any case;
//   - path is one attribute name, case-insensitive, optionally prefixed by
//     the Organization schema URN and a colon: mode, loginDomains and
//     seatTiers on the parent; mappings, seats and exceptions on a child.
//     Sub-attributes and value filters (seats.premium, mappings[group eq
//     "x"]) are refused with invalidPath;
//   - add or replace without a path takes an object whose members are
//     attributes, each applied as if it were the path;
//   - replace sets the attribute to the value. add sets single-valued
//     attributes (mode) like replace, appends to the multi-valued ones
//     (mappings, exceptions, loginDomains, seatTiers; a value already present
//     is not added twice; a single value or an array) and merges the tiers
//     of seats;
//   - remove clears the attribute (mode cannot be removed). It takes no
//     value.
//
// Values are decoded from their JSON form, so both decoded JSON (maps and
// slices of any) and Go values such as []scim.Mapping or map[string]int are
// accepted, and checked: mode is jit, staged or full; a mapping has a group,
// a grantable role and a seat tier; seats have a tier name and are not
// negative; an exception has an email and an until date (YYYY-MM-DD);
// domains and tiers are non-empty and tiers unique.
func ApplyOrgPatch(org *scim.Organization, ops []scim.PatchOp) error {
	c := cloneOrg(*org)
	for i, op := range ops {
		if err := applyOp(&c, i, op); err != nil {
			return err
		}
	}
	*org = c
	return nil
}

func applyOp(o *scim.Organization, i int, op scim.PatchOp) error {
	fail := func(scimType, format string, args ...any) error {
		return &PatchError{Index: i, Op: op.Op, Path: op.Path, SCIMType: scimType, Detail: fmt.Sprintf(format, args...)}
	}
	kind := strings.ToLower(op.Op)
	switch kind {
	case "add", "replace", "remove":
	default:
		return fail("invalidSyntax", "op must be add, replace or remove")
	}
	if op.Path == "" {
		if kind == "remove" {
			return fail("noTarget", "remove needs a path")
		}
		raw, err := json.Marshal(op.Value)
		if err != nil {
			return fail("invalidValue", "encoding value: %v", err)
		}
		var attrs map[string]json.RawMessage
		if err := json.Unmarshal(raw, &attrs); err != nil || attrs == nil {
			return fail("invalidValue", "without a path the value must be an object of attributes")
		}
		// Apply in a fixed order so that errors are deterministic.
		for _, name := range slices.Sorted(maps.Keys(attrs)) {
			if err := applyAttr(o, kind, name, attrs[name], fail); err != nil {
				return err
			}
		}
		return nil
	}
	if kind == "remove" {
		if op.Value != nil {
			return fail("invalidSyntax", "remove takes no value: only whole attributes can be removed")
		}
		return applyAttr(o, kind, op.Path, nil, fail)
	}
	raw, err := json.Marshal(op.Value)
	if err != nil {
		return fail("invalidValue", "encoding value: %v", err)
	}
	return applyAttr(o, kind, op.Path, raw, fail)
}

type failFunc func(scimType, format string, args ...any) error

func applyAttr(o *scim.Organization, kind, path string, raw json.RawMessage, fail failFunc) error {
	attr := path
	if len(attr) > len(scim.SchemaOrganization) && strings.EqualFold(attr[:len(scim.SchemaOrganization)+1], scim.SchemaOrganization+":") {
		attr = attr[len(scim.SchemaOrganization)+1:]
	}
	if strings.ContainsAny(attr, "[]. ") {
		return fail("invalidPath", "%q: only whole attributes can be patched", path)
	}
	name := canonicalAttr(attr)
	isParent := o.Parent == ""
	switch {
	case slices.Contains(fixedAttrs, name):
		return fail("mutability", "%s cannot be changed", name)
	case slices.Contains(parentAttrs, name) && !isParent:
		return fail("invalidPath", "%s is an attribute of the parent organization, and %s is a child", name, o.ID)
	case slices.Contains(childAttrs, name) && isParent:
		return fail("invalidPath", "%s is an attribute of child organizations, and %s is the parent", name, o.ID)
	case name == "":
		return fail("invalidPath", "%q is not a patchable attribute of an Organization", attr)
	}
	if kind == "remove" {
		switch name {
		case "mode":
			return fail("mutability", "mode cannot be removed")
		case "loginDomains":
			o.LoginDomains = nil
		case "seatTiers":
			o.SeatTiers = nil
		case "mappings":
			o.Mappings = nil
		case "seats":
			o.Seats = nil
		case "exceptions":
			o.Exceptions = nil
		}
		return nil
	}
	add := kind == "add"
	switch name {
	case "mode":
		var mode string
		if err := decodeStrict(raw, &mode); err != nil {
			return fail("invalidValue", "mode: %v", err)
		}
		if !resolve.Mode(mode).Valid() {
			return fail("invalidValue", "mode %q is not one of jit, staged, full", mode)
		}
		o.Mode = mode
	case "loginDomains", "seatTiers":
		vals, err := decodeMulti[string](raw, add)
		if err != nil {
			return fail("invalidValue", "%s: %v", name, err)
		}
		for _, v := range vals {
			if strings.TrimSpace(v) == "" {
				return fail("invalidValue", "%s: empty value", name)
			}
		}
		dst := &o.LoginDomains
		if name == "seatTiers" {
			dst = &o.SeatTiers
		}
		if add {
			vals = appendNew(*dst, vals)
		}
		if name == "seatTiers" {
			for j, v := range vals {
				if slices.Index(vals, v) != j {
					return fail("invalidValue", "seatTiers: %q twice", v)
				}
			}
		}
		*dst = vals
	case "mappings":
		vals, err := decodeMulti[scim.Mapping](raw, add)
		if err != nil {
			return fail("invalidValue", "mappings: %v", err)
		}
		for j, m := range vals {
			switch {
			case m.Group == "":
				return fail("invalidValue", "mappings[%d]: no group", j)
			case !resolve.Role(m.Role).Grantable():
				return fail("invalidValue", "mappings[%d]: role %q is not one of member, admin, owner", j, m.Role)
			case m.SeatTier == "":
				return fail("invalidValue", "mappings[%d]: no seatTier", j)
			}
		}
		if add {
			vals = appendNew(o.Mappings, vals)
		}
		o.Mappings = vals
	case "exceptions":
		vals, err := decodeMulti[scim.Exception](raw, add)
		if err != nil {
			return fail("invalidValue", "exceptions: %v", err)
		}
		for j, x := range vals {
			if strings.TrimSpace(x.Email) == "" {
				return fail("invalidValue", "exceptions[%d]: no email", j)
			}
			if _, err := time.Parse(time.DateOnly, x.Until); err != nil {
				return fail("invalidValue", "exceptions[%d]: until %q is not a date (YYYY-MM-DD)", j, x.Until)
			}
		}
		if add {
			vals = appendNew(o.Exceptions, vals)
		}
		o.Exceptions = vals
	case "seats":
		var seats map[string]int
		if err := decodeStrict(raw, &seats); err != nil {
			return fail("invalidValue", "seats: %v", err)
		}
		for tier, n := range seats {
			if strings.TrimSpace(tier) == "" {
				return fail("invalidValue", "seats: a seat tier needs a name")
			}
			if n < 0 {
				return fail("invalidValue", "seats: %d %s seats", n, tier)
			}
		}
		if add && o.Seats != nil {
			merged := maps.Clone(o.Seats)
			maps.Copy(merged, seats)
			seats = merged
		}
		o.Seats = seats
	}
	return nil
}

// canonicalAttr returns the patchable attribute named by attr in any case,
// or attr itself for a fixed attribute, or "".
func canonicalAttr(attr string) string {
	for _, names := range [][]string{parentAttrs, childAttrs, fixedAttrs} {
		for _, n := range names {
			if strings.EqualFold(n, attr) {
				return n
			}
		}
	}
	return ""
}

// decodeMulti decodes a multi-valued attribute's value: an array, or, for
// add, also a single value.
func decodeMulti[T any](raw json.RawMessage, single bool) ([]T, error) {
	raw = bytes.TrimSpace(raw)
	if single && len(raw) > 0 && raw[0] != '[' {
		var v T
		if err := decodeStrict(raw, &v); err != nil {
			return nil, err
		}
		return []T{v}, nil
	}
	var vs []T
	if err := decodeStrict(raw, &vs); err != nil {
		return nil, err
	}
	return vs, nil
}

func decodeStrict(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return fmt.Errorf("no value")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func appendNew[T comparable](have, add []T) []T {
	out := slices.Clone(have)
	for _, v := range add {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// cloneOrg copies o deeply enough that changing the copy's attributes
// leaves o alone.
func cloneOrg(o scim.Organization) scim.Organization {
	o.Schemas = slices.Clone(o.Schemas)
	o.LoginDomains = slices.Clone(o.LoginDomains)
	o.SeatTiers = slices.Clone(o.SeatTiers)
	o.Mappings = slices.Clone(o.Mappings)
	o.Seats = maps.Clone(o.Seats)
	o.Exceptions = slices.Clone(o.Exceptions)
	return o
}
