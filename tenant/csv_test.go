package tenant

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/resolve"
)

func TestParseMembersCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []MemberRow
	}{
		{
			name: "plain",
			in:   "email,role,seatTier,org\nann@x.gov,member,standard,hq\n",
			want: []MemberRow{{Line: 2, Email: "ann@x.gov", Role: resolve.RoleMember, SeatTier: "standard", Org: "hq", Origin: resolve.OriginJIT}},
		},
		{
			name: "BOM, CRLF, header case and spelling, other columns, column order",
			in:   "\uFEFFName,ORG,Seat Tier,E-Mail,Role,Last Active\r\n\"Doe, Ann\",hq,premium,Ann@X.gov,Owner,2026-01-01\r\n",
			want: []MemberRow{{Line: 2, Email: "Ann@X.gov", Role: resolve.RoleOwner, SeatTier: "premium", Org: "hq", Origin: resolve.OriginJIT}},
		},
		{
			name: "seat_tier, organization, quoted fields with quotes and line breaks",
			in:   "\"email\",\"role\",\"seat_tier\",\"organization\"\n\"a@x.gov\",\"admin\",\"standard\",\"h\"\"q\"\n\"b@x.gov\",\"Primary Owner\",\"standard\",\"multi\nline\"\nc@x.gov,primary_owner,standard,hq\n",
			want: []MemberRow{
				{Line: 2, Email: "a@x.gov", Role: resolve.RoleAdmin, SeatTier: "standard", Org: `h"q`, Origin: resolve.OriginJIT},
				{Line: 3, Email: "b@x.gov", Role: resolve.RolePrimaryOwner, SeatTier: "standard", Org: "multi\nline", Origin: resolve.OriginJIT},
				{Line: 5, Email: "c@x.gov", Role: resolve.RolePrimaryOwner, SeatTier: "standard", Org: "hq", Origin: resolve.OriginJIT},
			},
		},
		{
			name: "origin column, empty cell defaults to jit, spaces trimmed",
			in:   "email, role, tier, org, origin\n a@x.gov , member , standard , hq , SCIM \nb@x.gov,member,standard,hq,\nc@x.gov,member,standard,hq,manual\n",
			want: []MemberRow{
				{Line: 2, Email: "a@x.gov", Role: resolve.RoleMember, SeatTier: "standard", Org: "hq", Origin: resolve.OriginSCIM},
				{Line: 3, Email: "b@x.gov", Role: resolve.RoleMember, SeatTier: "standard", Org: "hq", Origin: resolve.OriginJIT},
				{Line: 4, Email: "c@x.gov", Role: resolve.RoleMember, SeatTier: "standard", Org: "hq", Origin: resolve.OriginManual},
			},
		},
		{
			name: "semicolons",
			in:   "Email;Role;Seat Tier;Org\r\na@x.gov;admin;standard;\"h;q\"\r\n",
			want: []MemberRow{{Line: 2, Email: "a@x.gov", Role: resolve.RoleAdmin, SeatTier: "standard", Org: "h;q", Origin: resolve.OriginJIT}},
		},
		{
			name: "tabs",
			in:   "email\trole\tseat tier\torigin\torg\na@x.gov\tmember\tstandard\t\thq\n",
			want: []MemberRow{{Line: 2, Email: "a@x.gov", Role: resolve.RoleMember, SeatTier: "standard", Org: "hq", Origin: resolve.OriginJIT}},
		},
		{
			name: "header only, blank lines",
			in:   "email,role,seat tier,org\n\n\n",
			want: nil,
		},
		{
			name: "the same email in two orgs",
			in:   "email,role,seat tier,org\na@x.gov,member,standard,hq\nA@x.gov,member,standard,west\n",
			want: []MemberRow{
				{Line: 2, Email: "a@x.gov", Role: resolve.RoleMember, SeatTier: "standard", Org: "hq", Origin: resolve.OriginJIT},
				{Line: 3, Email: "A@x.gov", Role: resolve.RoleMember, SeatTier: "standard", Org: "west", Origin: resolve.OriginJIT},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMembersCSV(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMembersCSVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", []string{"empty file"}},
		{"only a BOM", "\uFEFF", []string{"empty file"}},
		{"missing column", "email,role,org\na@x.gov,member,hq\n", []string{`header lacks the seat tier column (have "email", "role", "org")`}},
		{"missing columns", "Email,Rolle,Stufe\n", []string{"header lacks the role, seat tier, org columns"}},
		{"column twice", "email,role,tier,seat tier,org\n", []string{`columns 3 ("tier") and 4 ("seat tier") both give the seat tier`}},
		{"bad role", "email,role,seat tier,org\na@x.gov,member,standard,hq\nb@x.gov,superuser,standard,hq\n", []string{`line 3: role "superuser" is not one of member, admin, owner, primary-owner`}},
		{"bad origin", "email,role,seat tier,org,origin\n\nb@x.gov,member,standard,hq,ldap\n", []string{`line 3: origin "ldap" is not one of scim, jit, manual`}},
		{"several problems, all reported", "email,role,seat tier,org\r\nnot-an-email,member,standard,hq\r\nb@x.gov,admin,,\r\nc@x.gov,admin,standard,hq\r\nC@x.gov,owner,standard,hq\r\n", []string{
			`line 2: email "not-an-email" is not an email address`,
			"line 3: no seat tier; no org",
			"line 5: C@x.gov is already a member of hq on line 4",
		}},
		{"wrong field count", "email,role,seat tier,org\na@x.gov,member,standard\nb@x.gov,member,standard,hq\nc@x.gov,member,standard,hq,extra\n", []string{"line 2: 3 fields, want 4", "line 4: 5 fields, want 4"}},
		{"bad quoting", "email,role,seat tier,org\n\"a@x.gov,member,standard,hq\n", []string{"extraneous or missing \" in quoted-field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ParseMembersCSV(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("no error; rows %+v", rows)
			}
			if rows != nil {
				t.Errorf("rows %+v returned with an error", rows)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseMembersCSVErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("email,role,seat tier,org\n")
	for range 100 {
		b.WriteString("bad,member,standard,hq\n")
	}
	_, err := ParseMembersCSV(strings.NewReader(b.String()))
	if err == nil {
		t.Fatal("no error")
	}
	if n := strings.Count(err.Error(), "is not an email address"); n != maxCSVErrors {
		t.Errorf("%d row errors reported, want %d", n, maxCSVErrors)
	}
	if !strings.Contains(err.Error(), "too many errors") {
		t.Errorf("error %q does not say it stopped", err)
	}
}

func FuzzParseMembersCSV(f *testing.F) {
	f.Add("email,role,seatTier,org\nann@x.gov,member,standard,hq\n")
	f.Add("\uFEFFEmail,Role,Seat Tier,Org,Origin\r\n\"a@x.gov\",\"Primary Owner\",\"std\",\"h\"\"q\",scim\r\n")
	f.Add("email,role,seat_tier,organization\n\"a\nb@x\",admin,x,y\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ParseMembersCSV(strings.NewReader(in))
		if err != nil {
			if rows != nil {
				t.Fatalf("rows and an error: %v", err)
			}
			if !utf8.ValidString(err.Error()) && utf8.ValidString(in) {
				t.Fatalf("invalid UTF-8 in error %q", err)
			}
			return
		}
		seen := map[[2]string]bool{}
		last := 1
		for _, r := range rows {
			if !strings.Contains(r.Email, "@") || r.SeatTier == "" || r.Org == "" {
				t.Fatalf("invalid row accepted: %+v", r)
			}
			if !r.Role.Grantable() && r.Role != resolve.RolePrimaryOwner {
				t.Fatalf("bad role accepted: %+v", r)
			}
			if r.Origin != resolve.OriginSCIM && r.Origin != resolve.OriginJIT && r.Origin != resolve.OriginManual {
				t.Fatalf("bad origin accepted: %+v", r)
			}
			if r.Line <= last {
				t.Fatalf("line %d after line %d", r.Line, last)
			}
			last = r.Line
			k := [2]string{r.Org, resolve.NormEmail(r.Email)}
			if seen[k] {
				t.Fatalf("duplicate accepted: %+v", r)
			}
			seen[k] = true
			if r.Email != strings.TrimSpace(r.Email) || r.Org != strings.TrimSpace(r.Org) {
				t.Fatalf("untrimmed cell: %+v", r)
			}
		}
	})
}
