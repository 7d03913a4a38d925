package orgwrite

import "testing"

func TestNextVersion(t *testing.T) {
	for in, want := range map[string]string{
		`W/"7"`: `W/"8"`, `"41"`: `W/"42"`, "": `W/"1"`, `W/"abc"`: `W/"1"`, `3`: `W/"4"`,
	} {
		if got := NextVersion(in); got != want {
			t.Errorf("NextVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
