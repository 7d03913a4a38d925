package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// A large listing is decoded straight into what its caller keeps (issue
// 18): the tenant source turns each page of users or members, and each
// group read, into its own model as the body arrives, without the wire
// resources of this package in between. The caller's decoder may decline
// any body, and then the body is decoded as usual, into the wire type,
// and converted: a declined body, and a body the wire decoding refuses,
// give exactly what they give without a decoder, errors included.

// Into says how a listing or a read turns resources of the wire type W
// into the T its caller keeps.
type Into[W, T any] struct {
	// Page decodes a whole list response body into totalResults, the
	// resources and their ids, or reports false to have the body decoded
	// into W and converted. It may report true only for a body that
	// decoding into W accepts, with a non-negative totalResults and an id
	// on every resource, and must then return what Convert gives of
	// those resources. The body is one JSON value (checkJSON passed), with
	// the token redacted from it.
	Page func(body []byte) (total int, items []T, ids []string, ok bool)
	// One decodes the body of a read of one resource into it and its
	// id, or reports false, as Page does for a list.
	One func(body []byte) (item T, id string, ok bool)
	// Convert converts a wire resource.
	Convert func(*W) T
}

// ListUsersInto is ListUsers decoding each page with into.
func ListUsersInto[T any](ctx context.Context, c *Client, into Into[User, T], opts ...ListOption) ([]T, error) {
	return listInto(ctx, c, "/Users", query(ListQuery{}, opts), into)
}

// ListMembersInto is ListMembers decoding each page with into; orgOf
// gives a decoded member's id and organization, which must be orgID when
// orgID is set.
func ListMembersInto[T any](ctx context.Context, c *Client, orgID string, into Into[Member, T], orgOf func(*T) (id, org string), opts ...ListOption) ([]T, error) {
	q := ListQuery{}
	if orgID != "" {
		q.Filter = Filter("organization", "eq", orgID)
	}
	members, err := listInto(ctx, c, "/Members", query(q, opts), into)
	if err != nil {
		return nil, err
	}
	if orgID != "" {
		for i := range members {
			if id, org := orgOf(&members[i]); org != orgID {
				return nil, fmt.Errorf("listing /Members: the server ignored the organization filter: member %s belongs to %q, not %q", id, org, orgID)
			}
		}
	}
	return members, nil
}

// GetGroupInto is GetGroup decoding the group with into.
func GetGroupInto[T any](ctx context.Context, c *Client, id string, into Into[Group, T]) (*T, error) {
	g, err := getInto(ctx, c, "/Groups", id, into)
	if err != nil {
		return nil, fmt.Errorf("reading group %s: %w", id, err)
	}
	return g, nil
}

func listInto[W, T any](ctx context.Context, c *Client, endpoint string, q ListQuery, into Into[W, T]) ([]T, error) {
	l := &lister[T]{c: c, endpoint: endpoint, q: q, decode: func(body []byte) (page[T], error) {
		if into.Page != nil {
			if total, items, ids, ok := into.Page(body); ok {
				return page[T]{total: total, items: items, ids: ids}, nil
			}
		}
		w, err := decodePage[W](body)
		if err != nil {
			return page[T]{}, err
		}
		p := page[T]{total: w.total, ids: w.ids, items: make([]T, len(w.items))}
		for i := range w.items {
			p.items[i] = into.Convert(&w.items[i])
		}
		return p, nil
	}}
	return l.list(ctx)
}

func getInto[W, T any](ctx context.Context, c *Client, collection, id string, into Into[W, T]) (*T, error) {
	if id == "" {
		return nil, errors.New("empty id")
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, endpoint: collection + "/" + url.PathEscape(id)})
	if err != nil {
		return nil, err
	}
	if into.One != nil {
		if v, got, ok := into.One(resp.body); ok && got == id {
			return &v, nil
		}
	}
	w, err := decodeResource[W](resp.body, id)
	if err != nil {
		return nil, err
	}
	v := into.Convert(w)
	return &v, nil
}

// DecodeListPage decodes a list response body into W as the client does
// without an Into: totalResults, the resources and their ids, or the
// error the listing would report. It lets a caller check its Into.Page
// against the wire decoding.
func DecodeListPage[W any](body []byte) (total int, items []W, ids []string, err error) {
	p, err := decodePage[W](body)
	return p.total, p.items, p.ids, err
}

// DecodeResource decodes the body of a read of the resource id into W as
// the client does without an Into, checking that it is that resource.
func DecodeResource[W any](body []byte, id string) (*W, error) {
	return decodeResource[W](body, id)
}
