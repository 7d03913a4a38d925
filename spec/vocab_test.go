package spec

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/scimsync/scimsync/schemas"
)

func TestModeAndRole(t *testing.T) {
	for _, m := range Modes() {
		if !m.Valid() {
			t.Errorf("%q not Valid", m)
		}
	}
	for _, m := range []Mode{"", "Full", "stagd"} {
		if m.Valid() {
			t.Errorf("%q Valid", m)
		}
	}
	if ModeJIT.Enforces() || !ModeStaged.Enforces() || !ModeFull.Enforces() {
		t.Error("Enforces: only staged and full enforce")
	}
	if DefaultMode != ModeJIT {
		t.Errorf("DefaultMode = %q, want jit", DefaultMode)
	}

	roles := Roles()
	for i, r := range roles {
		if !r.Valid() || r.Rank() != i+1 {
			t.Errorf("%q: Valid %v, Rank %d, want true, %d", r, r.Valid(), r.Rank(), i+1)
		}
	}
	for _, r := range []Role{"", "Owner", "viewer"} {
		if r.Valid() || r.Rank() != 0 || r.Grantable() {
			t.Errorf("%q: Valid %v, Rank %d, Grantable %v", r, r.Valid(), r.Rank(), r.Grantable())
		}
	}
	if got := slices.DeleteFunc(Roles(), func(r Role) bool { return !r.Grantable() }); !slices.Equal(got, GrantableRoles()) {
		t.Errorf("grantable roles %v, want %v", got, GrantableRoles())
	}
	if RoleMember.Privileged() || !RoleAdmin.Privileged() || !RoleOwner.Privileged() {
		t.Error("Privileged: admin and owner are, member is not")
	}
	if RoleMember.Compare(RoleAdmin) != -1 || RoleOwner.Compare(RoleAdmin) != 1 || RoleOwner.Compare(RoleOwner) != 0 || Role("x").Compare(RoleMember) != -1 {
		t.Error("Compare does not follow Rank")
	}
	shuffled := []Role{RoleOwner, "bogus", RolePrimaryOwner, RoleMember, RoleAdmin}
	slices.SortFunc(shuffled, Role.Compare)
	if want := []Role{"bogus", RoleMember, RoleAdmin, RoleOwner, RolePrimaryOwner}; !slices.Equal(shuffled, want) {
		t.Errorf("sorted %v, want %v", shuffled, want)
	}
	for _, tt := range []struct {
		in   []Role
		want Role
	}{
		{nil, ""},
		{[]Role{RoleMember}, RoleMember},
		{[]Role{RoleMember, RoleOwner, RoleAdmin}, RoleOwner},
		{[]Role{RoleAdmin, RoleMember}, RoleAdmin},
	} {
		if got := HighestRole(tt.in...); got != tt.want {
			t.Errorf("HighestRole(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The schema's enums are the vocabulary's words: mode is one of Modes, a
// mapping's role one of GrantableRoles.
func TestSchemaEnumsMatchVocabulary(t *testing.T) {
	var doc struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schemas.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wordsOf(Modes()), doc.Defs["parent"].Properties["mode"].Enum); diff != "" {
		t.Errorf("parent.mode enum (-vocabulary +schema):\n%s", diff)
	}
	if diff := cmp.Diff(wordsOf(GrantableRoles()), doc.Defs["mapping"].Properties["role"].Enum); diff != "" {
		t.Errorf("mapping.role enum (-vocabulary +schema):\n%s", diff)
	}
}

// A Mode and a Role encode as the plain strings they always were, in YAML
// and JSON alike.
func TestVocabularyEncoding(t *testing.T) {
	p := Parent{Name: "a", SeatTiers: []string{"s"}, Mode: ModeStaged}
	m := Mapping{Group: "g", Role: RoleOwner, SeatTier: "s"}
	j, err := json.Marshal(struct {
		P Parent
		M Mapping
	}{p, m})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"P":{"name":"a","seatTiers":["s"],"mode":"staged"},"M":{"group":"g","role":"owner","seatTier":"s"}}`; string(j) != want {
		t.Errorf("JSON %s, want %s", j, want)
	}
	y, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := "group: g\nrole: owner\nseatTier: s\n"; string(y) != want {
		t.Errorf("YAML %q, want %q", y, want)
	}
	var back Mapping
	if err := yaml.Unmarshal(y, &back); err != nil || back.Role != RoleOwner {
		t.Errorf("YAML round trip: %+v, %v", back, err)
	}
}

// Validate checks the mode and roles of a Spec built in code, which the
// schema never sees.
func TestValidateVocabularyInCode(t *testing.T) {
	s := &Spec{Version: 1, Source: "code", Target: Target{File: "t.json"},
		Parent: Parent{Name: "p", SeatTiers: []string{"standard"}, Mode: "fulll"},
		Organizations: []Organization{{Name: "hq", Seats: map[string]int{"standard": 1}, Mappings: []Mapping{
			{Group: "a", Role: RolePrimaryOwner, SeatTier: "standard"},
			{Group: "b", Role: "ownr", SeatTier: "standard"},
			{Group: "c", Role: RoleMember, SeatTier: "standard"},
		}}}}
	want := []string{
		`code: organizations[0].mappings[0].role: "primary-owner" is not one of [member admin owner]; primary-owner is never granted by a mapping: the server keeps each org's primary owner as it is; grant owner instead`,
		`code: organizations[0].mappings[1].role: "ownr" is not one of [member admin owner]; did you mean "owner"?`,
		`code: parent.mode: "fulll" is not one of [jit staged full]; did you mean "full"?`,
	}
	got := diagLines(s.Validate(testNow))
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}
