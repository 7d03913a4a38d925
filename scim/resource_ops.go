package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// GetUser reads one user.
func (c *Client) GetUser(ctx context.Context, id string) (*User, error) {
	u, _, err := get[User](ctx, c, "/Users", id)
	if err != nil {
		return nil, fmt.Errorf("reading user %s: %w", id, err)
	}
	return u, nil
}

// GetGroup reads one group with its members.
func (c *Client) GetGroup(ctx context.Context, id string) (*Group, error) {
	g, _, err := get[Group](ctx, c, "/Groups", id)
	if err != nil {
		return nil, fmt.Errorf("reading group %s: %w", id, err)
	}
	return g, nil
}

// GetOrganization reads one organization. Meta.Version falls back to the
// ETag header when the body has none.
func (c *Client) GetOrganization(ctx context.Context, id string) (*Organization, error) {
	o, hdr, err := get[Organization](ctx, c, "/Organizations", id)
	if err != nil {
		return nil, fmt.Errorf("reading organization %s: %w", id, err)
	}
	if o.Meta.Version == "" {
		o.Meta.Version = hdr.Get("ETag")
	}
	return o, nil
}

// get reads collection/id into a T and checks that the server answered
// with the resource asked for.
func get[T any](ctx context.Context, c *Client, collection, id string) (*T, http.Header, error) {
	if id == "" {
		return nil, nil, errors.New("empty id")
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, endpoint: collection + "/" + url.PathEscape(id)})
	if err != nil {
		return nil, nil, err
	}
	// One pass for the resource types this package defines (a group can
	// hold 100k members); the id first, then the resource, otherwise or
	// when that fails, so that errors say which.
	if _, known := resourceID(new(T)); known {
		var fast T
		if err := unmarshal(resp.body, &fast); err == nil {
			if got, _ := resourceID(&fast); got == id {
				return &fast, resp.header, nil
			}
		}
	}
	var got struct {
		ID string `json:"id"`
	}
	if err := unmarshal(resp.body, &got); err != nil {
		return nil, nil, invalid(fmt.Errorf("decoding: %w", err))
	}
	if got.ID != id {
		return nil, nil, invalid(fmt.Errorf("the server answered with resource %q", got.ID))
	}
	var v T
	if err := unmarshal(resp.body, &v); err != nil {
		return nil, nil, invalid(fmt.Errorf("decoding: %w", err))
	}
	return &v, resp.header, nil
}

// FindGroupsByDisplayName returns the groups whose displayName equals name,
// compared case-insensitively, without their members (read those with
// GetGroup). It asks the server with the filter displayName eq "name" and
// checks every answer locally. When the server rejects the filter (400
// invalidFilter, or 501) or finds nothing — many servers compare
// case-sensitively although the attribute is caseExact false — it lists
// every group and matches locally.
//
// On a server that filters case-sensitively, a group whose name differs
// from an exact match only in case is not seen; to detect such ambiguity
// over the whole tenant, match over ListGroups instead.
func (c *Client) FindGroupsByDisplayName(ctx context.Context, name string) ([]Group, error) {
	q := ListQuery{Filter: Filter("displayName", "eq", name), ExcludedAttributes: []string{"members"}}
	groups, err := List[Group](ctx, c, "/Groups", q)
	if err != nil && !filterRejected(err) {
		return nil, fmt.Errorf("finding groups named %q: %w", name, err)
	}
	if found := matchDisplayName(groups, name); len(found) > 0 {
		return found, nil
	}
	if err != nil {
		c.log.Debug("scim server rejected a displayName filter; matching locally", "error", err.Error())
	}
	all, err := c.ListGroups(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("finding groups named %q: %w", name, err)
	}
	return matchDisplayName(all, name), nil
}

func matchDisplayName(groups []Group, name string) []Group {
	var out []Group
	for _, g := range groups {
		if strings.EqualFold(g.DisplayName, name) {
			g.Members = nil
			out = append(out, g)
		}
	}
	return out
}

// filterRejected tells whether err is a server's refusal of a filter.
func filterRejected(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusBadRequest:
		return e.SCIMType == "" || strings.EqualFold(e.SCIMType, "invalidFilter")
	case http.StatusNotImplemented:
		return true
	}
	return false
}

// PatchOrganization applies ops to an organization with If-Match: version
// and returns the new version: the response's meta.version, else its ETag
// header, else that of a fresh read. A stale version fails with an error
// matching ErrPrecondition and changes nothing. An empty version is
// refused: organizations are never written without a precondition.
func (c *Client) PatchOrganization(ctx context.Context, id, version string, ops []PatchOp) (newVersion string, err error) {
	switch {
	case id == "":
		return "", errors.New("patching organization: empty id")
	case version == "":
		return "", fmt.Errorf("patching organization %s: no version to send as If-Match", id)
	case len(ops) == 0:
		return "", fmt.Errorf("patching organization %s: no operations", id)
	}
	resp, err := c.do(ctx, request{
		method:   http.MethodPatch,
		endpoint: "/Organizations/" + url.PathEscape(id),
		body:     NewPatchRequest(ops...),
		ifMatch:  version,
	})
	if err != nil {
		return "", fmt.Errorf("patching organization %s: %w", id, err)
	}
	if resp.status != http.StatusNoContent && len(strings.TrimSpace(string(resp.body))) > 0 {
		var o Organization
		if err := unmarshal(resp.body, &o); err != nil {
			return "", fmt.Errorf("patching organization %s: decoding response: %w", id, invalid(err))
		}
		if o.Meta.Version != "" {
			return o.Meta.Version, nil
		}
	}
	if etag := resp.header.Get("ETag"); etag != "" {
		return etag, nil
	}
	o, err := c.GetOrganization(ctx, id)
	if err != nil {
		return "", fmt.Errorf("patching organization %s: the server returned no version: %w", id, err)
	}
	if o.Meta.Version == "" {
		return "", fmt.Errorf("patching organization %s: the server returned no version, and a read has none", id)
	}
	return o.Meta.Version, nil
}
