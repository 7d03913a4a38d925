// Package scim is scimsync's SCIM 2.0 client (RFC 7643, RFC 7644): discovery,
// complete and consistent listings, single-resource reads, and PATCH of the
// organization extension with If-Match.
//
// # Reads are complete or they fail
//
// List and the typed List* methods read every page of a collection. Index
// pagination is 1-based and advances by the number of resources a page
// actually returned, so a server that caps pages below the requested count
// is read completely. Once the first page has told the total and the
// server's effective page length, the remaining pages are fetched
// concurrently (Config.Concurrency). A listing that cannot be proven
// complete — totalResults changing between pages, an id seen twice, a page
// that makes no progress, a final count that differs from totalResults, a
// truncated body — fails with an error matching ErrIncompleteRead. It never
// returns a short list: a reconciler would read unread users as users to
// remove.
//
// # Decoding
//
// Bodies are decoded with the JSON v2 implementation
// (github.com/go-json-experiment/json), in one pass, with attribute names
// matched exactly or case-insensitively, and nothing looser: "_id" is not
// id, and "act_ive" is not active. A success body that is not JSON, or not the
// list or resource asked for (no totalResults, a resource without an id),
// fails with an error matching ErrInvalidResponse.
//
// # Retries
//
// Requests go through github.com/hashicorp/go-retryablehttp with this policy:
//
//   - 429 and 503 are retried for every method. They mean the server did not
//     process the request; Retry-After (seconds or an HTTP date) is honoured,
//     and the sum of all waits of one request is capped by
//     Config.MaxRetryWait: a server asking for more gets its error returned
//     at once instead of a wait.
//   - Other 5xx (except 501), transport failures and truncated bodies are
//     retried for GET only, with exponential backoff.
//   - A server that cannot be reached at all (connection refused, no route,
//     a host name that does not resolve) gets one quick retry. TLS on one
//     side only, an untrusted certificate, a 404 on a standard endpoint, a
//     success answer that is not JSON (a web page), a 401 or a 403 get none.
//     Each fails with a *TargetError that names the full URL and the likely
//     fix, such as "the SCIM base URL usually ends in /scim/v2".
//   - Config.OnRetry sees every retry, so that it can be shown: "retrying in
//     2s (503 from https://…/Users)".
//   - PATCH is otherwise retried only when the connection could not be
//     established at all (the request never left). A PATCH whose outcome is
//     unknown is not repeated. Every PATCH carries If-Match, so even a retried
//     PATCH that the server had in fact applied cannot apply twice: it fails
//     with 412 and the caller re-reads.
//
// # Writes prove their outcome
//
// A PATCH answered 2xx is a success only when the answer shows the
// organization at a new version. A SCIM error body under a 2xx status,
// another resource, no id, no version, or the version sent as If-Match is an
// error matching ErrUnknownOutcome, never an *Error: the server processed
// the request, and whether it changed anything is not known.
//
// # Secrets
//
// The bearer token is sent only to the host of Config.BaseURL: redirects to
// another host or scheme are refused, and plain http is accepted only for
// loopback hosts. The token never appears in a log line or an error string;
// *Error redacts it even from a server-supplied detail.
package scim
