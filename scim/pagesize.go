package scim

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// FallbackPageSize is the count a listing asks for once the server has
// refused its first page at Config.PageSize with 400 Bad Request: some
// servers refuse a count above their maximum (RFC 7644 §3.4.2.4 lets them
// return fewer; not all do), and 100 is the most common maximum.
const FallbackPageSize = 100

// pageSize is the count a listing asks for: Config.PageSize, or
// FallbackPageSize once the server refused it.
func (c *Client) pageSize() int { return int(c.size.Load()) }

// firstPage runs try, which requests the first page of a listing with the
// count it is given, at the client's page size. When the server answers
// 400 to a count above FallbackPageSize, try runs once more with
// FallbackPageSize (unless the error's scimType says the server refused
// something else, a filter say); if that succeeds, the client asks for that many from
// then on, in every listing, and says so once. Otherwise the first error
// is returned: the count was not what the server refused. firstPage
// returns the count that worked.
func (c *Client) firstPage(try func(count int) error) (int, error) {
	size := c.pageSize()
	err := try(size)
	var se *Error
	if err == nil || size <= FallbackPageSize || !errors.As(err, &se) || !countRefused(se) {
		return size, err
	}
	if try(FallbackPageSize) != nil {
		return size, err
	}
	if c.size.CompareAndSwap(int64(size), FallbackPageSize) {
		c.log.Warn("the server refused a page of "+strconv.Itoa(size)+" resources; reading "+strconv.Itoa(FallbackPageSize)+" at a time",
			"url", se.URL, "status", se.Status, "detail", se.Detail)
	}
	return FallbackPageSize, nil
}

// countRefused reports whether a 400 may be a refusal of the count asked
// for: one without a scimType, or with invalidValue or tooMany. A refused
// filter (invalidFilter) or syntax is not, and is not asked again.
func countRefused(se *Error) bool {
	if se.Status != http.StatusBadRequest {
		return false
	}
	switch strings.ToLower(se.SCIMType) {
	case "", "invalidvalue", "toomany":
		return true
	}
	return false
}
