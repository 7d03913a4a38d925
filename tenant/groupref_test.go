package tenant

import (
	"errors"
	"slices"
	"testing"

	"github.com/scimsync/scimsync/scim"
)

func TestGroupIndex(t *testing.T) {
	x := IndexGroups([]scim.Group{
		{ID: "g1", DisplayName: "Claude-Users"},
		{ID: "g2", DisplayName: "admins"},
		{ID: "g3", DisplayName: " ADMINS "},
		{ID: "g4", DisplayName: "\u212aiosk"}, // a Kelvin sign, not a K
		{ID: "g5", DisplayName: "caf\u00e9"},
	})
	tests := []struct {
		name, groupID string
		want          string
		err           any
	}{
		{name: "claude-users", want: "g1"},
		{name: "  CLAUDE-USERS", want: "g1"},
		{name: "CAF\u00c9", want: "g5"},
		{name: "cafe\u0301", want: "g5"}, // decomposed é
		{name: "kiosk", err: new(*UnknownGroupError)},
		{name: "\u212aIOSK", want: "g4"},
		{name: "admins", err: new(*AmbiguousGroupError)},
		{name: "whatever", groupID: "g2", want: "g2"},
		{groupID: "g9", err: new(*UnknownGroupError)},
	}
	for _, tt := range tests {
		got, err := x.Resolve(tt.name, tt.groupID)
		switch {
		case tt.err == nil && (err != nil || got != tt.want):
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q", tt.name, tt.groupID, got, err, tt.want)
		case tt.err != nil:
			var ok bool
			switch target := tt.err.(type) {
			case **UnknownGroupError:
				ok = errors.As(err, target)
			case **AmbiguousGroupError:
				ok = errors.As(err, target) && slices.Equal((*target).IDs, []string{"g2", "g3"})
			}
			if !ok {
				t.Errorf("Resolve(%q, %q) = %q, %v; want a %T", tt.name, tt.groupID, got, err, tt.err)
			}
		}
	}
	if !x.Has("g4") || x.Has("kiosk") {
		t.Error("Has looks at names")
	}
}
