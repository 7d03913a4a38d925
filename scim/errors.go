package scim

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Sentinel errors. Test with errors.Is.
var (
	// ErrIncompleteRead means a listing or a body could not be read
	// completely and consistently: a page missing or cut off, an id seen
	// twice, totalResults changing between pages or disagreeing with what
	// was read. The data must not be used.
	ErrIncompleteRead = errors.New("incomplete read")
	// ErrPrecondition matches an *Error with status 412: the If-Match
	// version is stale and nothing changed. Re-read and re-plan.
	ErrPrecondition = errors.New("precondition failed")
	// ErrNotFound matches an *Error with status 404.
	ErrNotFound = errors.New("not found")
	// ErrInvalidResponse means a success response could not be used: its
	// body is not JSON, or not the resource or list response asked for.
	// Such errors print as their cause alone.
	ErrInvalidResponse = errors.New("invalid response")
	// ErrUnknownOutcome matches an *UnknownOutcomeError: a write was
	// answered 2xx, but the answer does not show it applied (a SCIM error
	// body, another resource, no new version). It may or may not have
	// changed the resource; re-read before writing again. It is never an
	// *Error, whose status proves that nothing changed.
	ErrUnknownOutcome = errors.New("outcome unknown")
)

// UnknownOutcomeError is a write answered with a success status whose
// answer does not prove the write applied. It matches ErrUnknownOutcome.
// Reason is sanitized, with the token redacted.
type UnknownOutcomeError struct {
	Method string
	URL    string // the path below the base URL
	Status int
	Reason string
}

func (e *UnknownOutcomeError) Error() string {
	status := "2xx"
	if e.Status != 0 {
		status = strconv.Itoa(e.Status)
	}
	return fmt.Sprintf("%s %s: outcome unknown: answered %s, but %s; it may or may not have been applied, re-read before writing again",
		e.Method, e.URL, status, e.Reason)
}

// Is makes errors.Is(err, ErrUnknownOutcome) match.
func (e *UnknownOutcomeError) Is(target error) bool { return target == ErrUnknownOutcome }

// invalidResponse marks err as an ErrInvalidResponse without changing
// its message.
type invalidResponse struct{ err error }

func (e *invalidResponse) Error() string        { return e.err.Error() }
func (e *invalidResponse) Unwrap() error        { return e.err }
func (e *invalidResponse) Is(target error) bool { return target == ErrInvalidResponse }

// invalid marks err as an ErrInvalidResponse.
func invalid(err error) error { return &invalidResponse{err} }

// Error is an HTTP error response from a SCIM server (RFC 7644 §3.12). It
// prints like
//
//	PATCH /Organizations/42: 412 precondition failed: version mismatch
//
// URL is the request path below the client's base URL, without the query.
// Detail is the server's detail (or, for a non-SCIM body such as an HTML
// error page, a short sanitized excerpt) with the token redacted.
type Error struct {
	Method   string
	URL      string
	Status   int
	SCIMType string
	Detail   string
}

func (e *Error) Error() string {
	return e.Method + " " + e.URL + ": " + e.statusText()
}

// statusText is the message of e after its method and URL.
func (e *Error) statusText() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Status))
	if text := http.StatusText(e.Status); text != "" {
		b.WriteByte(' ')
		b.WriteString(strings.ToLower(text))
	}
	if e.SCIMType != "" {
		b.WriteString(" (")
		b.WriteString(e.SCIMType)
		b.WriteByte(')')
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrPrecondition) and errors.Is(err, ErrNotFound)
// match by status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrPrecondition:
		return e.Status == http.StatusPreconditionFailed
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// wireError is the SCIM error body. status is a string by the RFC and a
// number in some servers, so it is kept raw.
type wireError struct {
	Schemas  []string       `json:"schemas"`
	Status   jsontext.Value `json:"status"`
	SCIMType string         `json:"scimType"`
	Detail   string         `json:"detail"`
}

const maxDetail = 300

// newError builds the *Error for a non-2xx response.
func (c *Client) newError(method, endpoint string, status int, body []byte) *Error {
	scimType, detail := decodeErrorBody(body)
	return &Error{
		Method:   method,
		URL:      pathOnly(endpoint),
		Status:   status,
		SCIMType: c.redact(scimType),
		Detail:   c.redact(detail),
	}
}

// errorBody reports whether a body is a SCIM error (RFC 7644 §3.12): its
// schemas name SchemaError, or it has a status with a detail or scimType.
// scimType and detail are sanitized.
func errorBody(body []byte) (scimType, detail string, ok bool) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return "", "", false
	}
	var w wireError
	if unmarshal(trimmed, &w) != nil {
		return "", "", false
	}
	isErr := len(w.Status) > 0 && string(w.Status) != "null" && (w.Detail != "" || w.SCIMType != "")
	for _, s := range w.Schemas {
		isErr = isErr || strings.EqualFold(strings.TrimSpace(s), SchemaError)
	}
	if !isErr {
		return "", "", false
	}
	return sanitize(w.SCIMType, 64), sanitize(w.Detail, maxDetail), true
}

// decodeErrorBody extracts scimType and a one-line detail from an error
// body: a SCIM error, other JSON, HTML or text. It never fails.
func decodeErrorBody(body []byte) (scimType, detail string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var w wireError
		if unmarshal(trimmed, &w) == nil && (w.Detail != "" || w.SCIMType != "") {
			return sanitize(w.SCIMType, 64), sanitize(w.Detail, maxDetail)
		}
	}
	return "", excerpt(trimmed)
}

var (
	htmlTitle   = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	htmlDrop    = regexp.MustCompile(`(?is)<(script|style|head)[^>]*>.*?</(script|style|head)>`)
	htmlTag     = regexp.MustCompile(`(?s)<[^>]*>`)
	looksLikeML = regexp.MustCompile(`(?i)^\s*(<!doctype|<html|<\?xml|<[a-z]+[\s>])`)
)

// excerpt turns a non-SCIM error body into a short line: the title of an
// HTML page, or its text without tags, or the start of a text body.
func excerpt(body []byte) string {
	if len(body) > 64<<10 {
		body = body[:64<<10]
	}
	s := string(body)
	if looksLikeML.MatchString(s) {
		if m := htmlTitle.FindStringSubmatch(s); m != nil && strings.TrimSpace(m[1]) != "" {
			s = m[1]
		} else {
			s = htmlDrop.ReplaceAllString(s, " ")
			s = htmlTag.ReplaceAllString(s, " ")
		}
		s = html.UnescapeString(s)
	}
	return sanitize(s, 200)
}

// sanitize makes s one printable line of at most n runes: invalid UTF-8 and
// control characters become spaces, runs of spaces collapse.
func sanitize(s string, n int) string {
	var b strings.Builder
	space, count := false, 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = b.Len() > 0
			continue
		}
		if count >= n {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			count++
			space = false
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}

// pathOnly drops a query from an endpoint.
func pathOnly(endpoint string) string {
	if i := strings.IndexByte(endpoint, '?'); i >= 0 {
		return endpoint[:i]
	}
	return endpoint
}
