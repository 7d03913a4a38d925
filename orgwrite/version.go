package orgwrite

import (
	"strconv"
	"strings"
)

// NextVersion returns the weak ETag that follows v: W/"n+1" when v is W/"n"
// or "n" with n a decimal number, else W/"1". Every write gives the
// resource it changes the next version.
func NextVersion(v string) string {
	s := strings.TrimPrefix(v, "W/")
	s = strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		n = 0
	}
	return `W/"` + strconv.FormatUint(n+1, 10) + `"`
}
