package scim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/scimsync/scimsync/internal/match"
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
	v, err := decodeResource[T](resp.body, id)
	if err != nil {
		return nil, nil, err
	}
	return v, resp.header, nil
}

// decodeResource decodes the body of a read of the resource id into a T
// and checks that the server answered with the resource asked for.
func decodeResource[T any](body []byte, id string) (*T, error) {
	// One pass for the resource types this package defines (a group can
	// hold 100k members); the id first, then the resource, otherwise or
	// when that fails, so that errors say which.
	if _, known := resourceID(new(T)); known {
		var fast T
		if err := unmarshal(body, &fast); err == nil {
			if got, _ := resourceID(&fast); got == id {
				return &fast, nil
			}
		}
	}
	var got struct {
		ID string `json:"id"`
	}
	if err := unmarshal(body, &got); err != nil {
		return nil, invalid(fmt.Errorf("decoding: %w", err))
	}
	if got.ID != id {
		return nil, invalid(fmt.Errorf("the server answered with resource %q", got.ID))
	}
	var v T
	if err := unmarshal(body, &v); err != nil {
		return nil, invalid(fmt.Errorf("decoding: %w", err))
	}
	return &v, nil
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
		if match.SameName(g.DisplayName, name) {
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
// header, else (for an answer without a body, such as a 204) that of a
// fresh read. A stale version fails with an error matching ErrPrecondition
// and changes nothing. An empty version is refused: organizations are
// never written without a precondition.
//
// A 2xx answer counts as the write applied only when it shows the
// organization at a new version. A body that is a SCIM error, or is not
// this organization (no id, another id, not JSON), or an answer whose
// version is missing or still the one sent as If-Match, fails with an
// error matching ErrUnknownOutcome: the request was processed, but
// whether it changed anything is not known. Re-read before writing again.
func (c *Client) PatchOrganization(ctx context.Context, id, version string, ops []PatchOp) (newVersion string, err error) {
	switch {
	case id == "":
		return "", errors.New("patching organization: empty id")
	case version == "":
		return "", fmt.Errorf("patching organization %s: no version to send as If-Match", id)
	case len(ops) == 0:
		return "", fmt.Errorf("patching organization %s: no operations", id)
	}
	endpoint := "/Organizations/" + url.PathEscape(id)
	resp, err := c.do(ctx, request{
		method:   http.MethodPatch,
		endpoint: endpoint,
		body:     NewPatchRequest(ops...),
		ifMatch:  version,
	})
	if errors.Is(err, ErrInvalidResponse) {
		// Only a success body is checked for JSON: the server processed
		// the request, and what it did is unreadable.
		err = &UnknownOutcomeError{Method: http.MethodPatch, URL: endpoint, Reason: "the body is not JSON"}
	}
	if err != nil {
		return "", fmt.Errorf("patching organization %s: %w", id, err)
	}
	unknown := func(format string, args ...any) error {
		return fmt.Errorf("patching organization %s: %w", id, &UnknownOutcomeError{
			Method: http.MethodPatch, URL: endpoint, Status: resp.status,
			Reason: c.redact(fmt.Sprintf(format, args...)),
		})
	}
	newer := func(v, from string) (string, error) {
		switch {
		case v == "":
			return "", unknown("%s carries no version", from)
		case sameVersion(v, version):
			return "", unknown("%s is still at version %s, the one sent as If-Match", from, sanitize(v, 64))
		}
		return v, nil
	}
	if len(bytes.TrimSpace(resp.body)) > 0 {
		if scimType, detail, ok := errorBody(resp.body); ok {
			return "", unknown("the body is a SCIM error (%s)", strings.TrimSpace(scimType+" "+detail))
		}
		var o Organization
		if err := unmarshal(resp.body, &o); err != nil {
			return "", unknown("the body is not an organization: %v", err)
		}
		switch {
		case o.ID == "":
			return "", unknown("the organization in the body has no id")
		case o.ID != id:
			return "", unknown("the body is organization %q, not %q", sanitize(o.ID, 64), id)
		}
		v := o.Meta.Version
		from := "the organization in the body"
		if v == "" {
			v, from = resp.header.Get("ETag"), "the answer (neither meta.version nor ETag)"
		}
		return newer(v, from)
	}
	if etag := resp.header.Get("ETag"); etag != "" {
		return newer(etag, "the ETag of the answer")
	}
	o, err := c.GetOrganization(ctx, id)
	if err != nil {
		// Not wrapped: the PATCH was answered 2xx, so a failed read says
		// nothing about whether it was applied.
		return "", unknown("the answer carries no version, and reading the organization failed: %v", err)
	}
	return newer(o.Meta.Version, "the organization read after the answer")
}

// sameVersion compares two entity tags, weak or strong alike.
func sameVersion(a, b string) bool {
	return strings.TrimPrefix(strings.TrimSpace(a), "W/") == strings.TrimPrefix(strings.TrimSpace(b), "W/")
}
