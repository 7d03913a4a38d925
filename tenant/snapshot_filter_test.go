package tenant

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scimsync/scimsync/resolve"
)

// TestPeopleClosure: People follows every address and link, in whatever
// order the users and members come, and keeps no one else.
func TestPeopleClosure(t *testing.T) {
	users := []resolve.User{
		{ID: "u-b", UserName: "B@x.gov"},                                  // holds ann's alias: competes for it
		{ID: "u-other", UserName: "other@x.gov"},                          // unrelated
		{ID: "u-ann", UserName: "ann@x.gov", Emails: []string{"b@x.gov"}}, // asked about
		{ID: "u-c", UserName: "EMP-7", Emails: []string{" c@X.gov "}},     // holds the address of a member linked to ann
		{ID: "u-d", UserName: "d@x.gov"},                                  // named by a member's link only
		{ID: "u-e", UserName: "e@x.gov"},                                  // unrelated
	}
	members := []resolve.Member{
		{ID: "m1", Org: "o", Email: "c@x.gov", UserID: "u-ann", Origin: resolve.OriginSCIM},
		{ID: "m2", Org: "o", Email: "other2@x.gov"},
		{ID: "m3", Org: "o2", Email: "c@x.gov", UserID: "u-d", Origin: resolve.OriginSCIM},
		{ID: "m4", Org: "o", Email: "e2@x.gov", UserID: "u-zzz", Origin: resolve.OriginSCIM},
	}
	keepU, keepM := People(users, members, []string{" ANN@x.gov"})
	var gotU, gotM []string
	for i, k := range keepU {
		if k {
			gotU = append(gotU, users[i].ID)
		}
	}
	for i, k := range keepM {
		if k {
			gotM = append(gotM, members[i].ID)
		}
	}
	if diff := cmp.Diff([]string{"u-b", "u-ann", "u-c", "u-d"}, gotU); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"m1", "m3"}, gotM); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}

	// A userName that is not an address matches as explain reports it.
	keepU, _ = People(users, members, []string{"emp-7"})
	if !keepU[3] {
		t.Errorf("the user whose userName is EMP-7 is not kept")
	}
}

// TestRestrictKeepsGroupsAndTheirGroupEdges: every group stays, with its
// nested groups and the kept users only.
func TestRestrictKeepsGroupsAndTheirGroupEdges(t *testing.T) {
	tn := sampleTenant(t)
	email := tn.Users[0].UserName
	r := Restrict(tn, []string{email})
	if len(r.Groups) != len(tn.Groups) {
		t.Fatalf("groups %d of %d", len(r.Groups), len(tn.Groups))
	}
	if diff := cmp.Diff(tn.Orgs, r.Orgs); diff != "" || len(r.Users) == 0 || len(r.Users) == len(tn.Users) {
		t.Fatalf("users %d of %d, orgs (-want +got):\n%s", len(r.Users), len(tn.Users), diff)
	}
	isGroup := map[string]bool{}
	for _, g := range tn.Groups {
		isGroup[g.ID] = true
	}
	kept := map[string]bool{}
	for _, u := range r.Users {
		kept[u.ID] = true
	}
	for i, g := range tn.Groups {
		var want []string
		for _, m := range g.Members {
			if isGroup[m] || kept[m] {
				want = append(want, m)
			}
		}
		if diff := cmp.Diff(want, r.Groups[i].Members); diff != "" {
			t.Errorf("group %s (-want +got):\n%s", g.ID, diff)
		}
	}
}

// checkFocused holds ReadFocused of the snapshot doc to Focus of the whole
// read, and its errors to Read's, byte for byte.
func checkFocused(t *testing.T, doc []byte, emails []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenant.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	src := &SnapshotSource{Path: path}
	whole, wantErr := src.Read(context.Background(), ReadRequest{})
	got, err := src.ReadFocused(context.Background(), ReadRequest{}, emails)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("ReadFocused: err = %v; Read: err = %v", err, wantErr)
	case err != nil:
		if err.Error() != wantErr.Error() {
			t.Fatalf("ReadFocused: err = %v; want Read's %v", err, wantErr)
		}
		if got != nil {
			t.Fatalf("a result and an error")
		}
		return
	}
	if diff := cmp.Diff(Focus(whole, emails), got); diff != "" {
		t.Fatalf("ReadFocused(%q) differs from Focus of Read (-want +got):\n%s", emails, diff)
	}
}

// emailsOf returns sets of addresses to focus on in doc: each user's and
// member's, some together, and one no one holds.
func emailsOf(t *testing.T, doc []byte) [][]string {
	s, err := DecodeSnapshot(bytes.NewReader(doc))
	if err != nil {
		return [][]string{{"nobody@example.gov"}}
	}
	var all []string
	for _, u := range s.Users {
		all = append(all, u.UserName)
		for _, e := range u.Emails {
			all = append(all, e.Value)
		}
	}
	for _, m := range s.Members {
		all = append(all, m.Email)
	}
	out := [][]string{{"nobody@example.gov"}, {strings.ToUpper(firstOr(all, "x"))}}
	for i, e := range all {
		if i%7 == 0 {
			out = append(out, []string{e})
		}
	}
	if len(all) > 3 {
		out = append(out, all[:3])
	}
	return out
}

func firstOr(ss []string, d string) string {
	if len(ss) > 0 {
		return ss[0]
	}
	return d
}

func TestReadFocusedMatchesFocusOfRead(t *testing.T) {
	paths, err := filepath.Glob("../examples/*/tenant.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no example snapshots: %v", err)
	}
	var small bytes.Buffer
	if err := EncodeSnapshot(&small, sample()); err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{"sample": small.Bytes()}
	for _, p := range paths {
		doc, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(filepath.Dir(p))] = doc
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			for _, emails := range emailsOf(t, doc) {
				checkFocused(t, doc, emails)
			}
		})
	}
}

// TestReadFocusedStrict: a snapshot Read refuses, ReadFocused refuses with
// the same error, whether the problem is in a group's members (which it
// reads another way) or elsewhere; what Read accepts in a group's members
// (null, names in any case, a repeated value), it reads the same.
func TestReadFocusedStrict(t *testing.T) {
	var buf bytes.Buffer
	if err := EncodeSnapshot(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	gm := `"members": [`
	if !strings.Contains(doc, gm) {
		t.Fatalf("the sample has no group members:\n%s", doc)
	}
	edits := map[string]string{
		"a number value":        `{"value": 7},`,
		"a number type":         `{"value": "u-ann", "type": 1},`,
		"an array element":      `[],`,
		"a string element":      `"u-ann",`,
		"a null element":        `null,`,
		"a null value":          `{"value": null, "display": null},`,
		"a repeated value":      `{"value": "zz", "VALUE": "u-ann", "extra": {"a": [1, "]"]}},`,
		"escapes":               `{"val\u0075e": "u-\u0061nn"},`,
		"unknown names":         `{"value": "u-ann", "x": [{"y": "}"}], "z": -1.5e3, "t": true},`,
		"a duplicate user id":   ``,
		"a truncated document":  ``,
		"a bad mode":            ``,
		"an unterminated array": ``,
	}
	for name, el := range edits {
		t.Run(name, func(t *testing.T) {
			d := strings.Replace(doc, gm, gm+el, 1)
			switch name {
			case "a duplicate user id":
				d = strings.Replace(doc, `"id": "u-bob"`, `"id": "u-ann"`, 1)
			case "a truncated document":
				d = doc[:len(doc)/2]
			case "a bad mode":
				d = strings.Replace(doc, `"mode": "`, `"mode": "x`, 1)
			case "an unterminated array":
				d = strings.Replace(doc, gm, gm+`{"value": "u-ann"`, 1)
			}
			if d == doc {
				t.Fatalf("the edit changed nothing")
			}
			for _, emails := range emailsOf(t, []byte(doc)) {
				checkFocused(t, []byte(d), emails)
			}
		})
	}
}

// FuzzReadFocused: whatever the document, the focused read of it gives
// Focus of the slim read, or the same error, or hands over to the whole
// read (errFocusFallback) for a group's members it does not read.
func FuzzReadFocused(f *testing.F) {
	paths, _ := filepath.Glob("../examples/*/tenant.json")
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		paths = nil // as FuzzDecodeSnapshot: the engine makes no progress from them
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "jordan.price@example.gov")
	}
	var small bytes.Buffer
	if err := EncodeSnapshot(&small, sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(small.Bytes(), "a@example.gov")
	f.Add([]byte(`{"schemas":["`+SchemaSnapshot+`"],"users":{"totalResults":1,"Resources":[{"ID":"u1","userName":"a@x.gov","Active":"True","emails":[{"value":"a@x.gov","primary":true}]}]},"Groups":{"totalResults":1,"Resources":[{"id":"g","members":[{"value":"u1","type":"user"},{"VALUE":"g"}]}]},"Organizations":{"totalResults":1,"Resources":[{"id":"p","name":"a","mode":"jit"}]},"Members":{"totalResults":0,"Resources":null}}`), "A@x.gov")
	f.Fuzz(func(t *testing.T, data []byte, email string) {
		emails := []string{email}
		got, decoded, err := decodeSnapshotFocused(bytes.NewReader(data), emails)
		if errors.Is(err, errFocusFallback) {
			return
		}
		whole, wantDecoded, wantErr := decodeSnapshotTenant(bytes.NewReader(data))
		switch {
		case (err == nil) != (wantErr == nil) || decoded != wantDecoded:
			t.Fatalf("focused: decoded %v, err = %v; whole: decoded %v, err = %v", decoded, err, wantDecoded, wantErr)
		case err != nil:
			if err.Error() != wantErr.Error() {
				t.Fatalf("focused: err = %v; whole: err = %v", err, wantErr)
			}
			return
		}
		if diff := cmp.Diff(Focus(whole, emails), got); diff != "" {
			t.Fatalf("focused read differs from Focus of the slim read (-want +got):\n%s", diff)
		}
	})
}
