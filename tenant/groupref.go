package tenant

import (
	"fmt"
	"strings"

	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
)

// GroupIndex finds groups by the references a spec makes to them (DESIGN
// §5): a `group:` displayName, matched by match.Name (in any case, trimmed;
// a look-alike name is another group's), or a `groupId:`. It is the one
// place that matches a group's name to its id.
type GroupIndex struct {
	byID   map[string]bool
	byName map[string][]string // match.Name of the displayName → ids, in order added
}

// NewGroupIndex returns an empty index with room for n groups.
func NewGroupIndex(n int) *GroupIndex {
	return &GroupIndex{byID: make(map[string]bool, n), byName: make(map[string][]string, n)}
}

// IndexGroups indexes wire groups.
func IndexGroups(groups []scim.Group) *GroupIndex {
	x := NewGroupIndex(len(groups))
	for _, g := range groups {
		x.Add(g.ID, g.DisplayName)
	}
	return x
}

// IndexModelGroups indexes the model's groups.
func IndexModelGroups(groups []resolve.Group) *GroupIndex {
	x := NewGroupIndex(len(groups))
	for _, g := range groups {
		x.Add(g.ID, g.DisplayName)
	}
	return x
}

// Add indexes the group id with its displayName.
func (x *GroupIndex) Add(id, displayName string) {
	x.byID[id] = true
	k := match.Name(displayName)
	x.byName[k] = append(x.byName[k], id)
}

// Has reports whether a group has the id.
func (x *GroupIndex) Has(id string) bool { return x.byID[id] }

// Named returns the ids of the groups whose displayName matches name, in
// the order they were added.
func (x *GroupIndex) Named(name string) []string { return x.byName[match.Name(name)] }

// Resolve returns the id of the group a reference names: groupID when it
// is given (it must exist), else the one group whose displayName matches
// name. No group is an *UnknownGroupError, two or more an
// *AmbiguousGroupError.
func (x *GroupIndex) Resolve(name, groupID string) (string, error) {
	if groupID != "" {
		if !x.byID[groupID] {
			return "", &UnknownGroupError{ID: groupID}
		}
		return groupID, nil
	}
	switch ids := x.Named(name); len(ids) {
	case 0:
		return "", &UnknownGroupError{Name: name}
	case 1:
		return ids[0], nil
	default:
		return "", &AmbiguousGroupError{Name: name, IDs: ids}
	}
}

// UnknownGroupError is a reference to a group that does not exist: by id
// (ID set) or by displayName (Name set).
type UnknownGroupError struct{ Name, ID string }

func (e *UnknownGroupError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("no group has id %q", e.ID)
	}
	return fmt.Sprintf("no group is named %q", e.Name)
}

// AmbiguousGroupError is a displayName that two or more groups match.
type AmbiguousGroupError struct {
	Name string
	IDs  []string
}

func (e *AmbiguousGroupError) Error() string {
	return fmt.Sprintf("group %q matches %d groups (ids %s); name it by groupId", e.Name, len(e.IDs), strings.Join(e.IDs, ", "))
}
