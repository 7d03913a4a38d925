// Package retryafter reads an HTTP Retry-After header (RFC 9110 §10.2.3):
// the one parser the SCIM client and the agent's webhook share.
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxWait caps a delay: a server asking for more than a century is taken
// at a century, not overflowed.
const maxWait = 100 * 365 * 24 * time.Hour

// Parse reads a Retry-After value, delay seconds or an HTTP date, and
// returns how long to wait from now. A date in the past is a wait of 0. ok
// is false for an empty value, a negative number or anything else that is
// neither form.
func Parse(value string, now time.Time) (wait time.Duration, ok bool) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxWait.Seconds()) {
			secs = int64(maxWait.Seconds())
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
