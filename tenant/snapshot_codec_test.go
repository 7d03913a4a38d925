package tenant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/scimsync/scimsync/scim"
)

// snapshotFileV1 and decodeSnapshotV1 are the snapshot decoder as it was
// before issue 18 (encoding/json into the whole document), kept as the
// oracle the streamed decoders are held to.
type snapshotFileV1 struct {
	Schemas       []string                              `json:"schemas"`
	Users         *scim.ListResponse[scim.User]         `json:"Users"`
	Groups        *scim.ListResponse[scim.Group]        `json:"Groups"`
	Organizations *scim.ListResponse[scim.Organization] `json:"Organizations"`
	Members       *scim.ListResponse[scim.Member]       `json:"Members"`
}

func decodeSnapshotV1(r io.Reader) (*Snapshot, error) {
	var f snapshotFileV1
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the document")
	}
	if !slices.Contains(f.Schemas, SchemaSnapshot) {
		return nil, errors.New("no schema")
	}
	s := &Snapshot{}
	for _, l := range []struct {
		present   bool
		total, n  int
		resources func()
	}{
		{f.Users != nil, total(f.Users), count(f.Users), func() { s.Users = f.Users.Resources }},
		{f.Groups != nil, total(f.Groups), count(f.Groups), func() { s.Groups = f.Groups.Resources }},
		{f.Organizations != nil, total(f.Organizations), count(f.Organizations), func() { s.Organizations = f.Organizations.Resources }},
		{f.Members != nil, total(f.Members), count(f.Members), func() { s.Members = f.Members.Resources }},
	} {
		if !l.present || l.total != l.n {
			return nil, errors.New("bad list")
		}
		l.resources()
	}
	return s, nil
}

func total[T any](l *scim.ListResponse[T]) int {
	if l == nil {
		return 0
	}
	return l.TotalResults
}

func count[T any](l *scim.ListResponse[T]) int {
	if l == nil {
		return 0
	}
	return len(l.Resources)
}

// equateEmpty: encoding/json and the streamed decoder may differ in
// whether an empty array gives a nil slice; nothing reads the difference.
var equateEmpty = cmpopts.EquateEmpty()

// snapshotTenant reads doc as a snapshot file target does.
func snapshotTenant(t testing.TB, doc []byte) (*Tenant, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tenant.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	return (&SnapshotSource{Path: path}).Read(context.Background(), ReadRequest{})
}

// checkAgainstV1 holds DecodeSnapshot and the plan's slim read of doc to
// the encoding/json decoder and FromSCIM.
func checkAgainstV1(t *testing.T, doc []byte) {
	t.Helper()
	want, wantErr := decodeSnapshotV1(bytes.NewReader(doc))
	got, err := DecodeSnapshot(bytes.NewReader(doc))
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("DecodeSnapshot: err = %v, encoding/json: err = %v", err, wantErr)
	}
	if err != nil {
		if _, err := snapshotTenant(t, doc); err == nil {
			t.Fatalf("the slim read accepts a document DecodeSnapshot refuses: %v", wantErr)
		}
		return
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Fatalf("DecodeSnapshot differs from encoding/json (-want +got):\n%s", diff)
	}
	wantT, wantErr := FromSCIM(want.Users, want.Groups, want.Organizations, want.Members)
	gotT, err := snapshotTenant(t, doc)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("slim read: err = %v, FromSCIM: err = %v", err, wantErr)
	}
	if err != nil {
		if !strings.HasSuffix(err.Error(), wantErr.Error()) {
			t.Fatalf("slim read: err = %v, want FromSCIM's %v", err, wantErr)
		}
		return
	}
	wantT.Kind = KindSnapshot
	if diff := cmp.Diff(wantT, gotT, equateEmpty); diff != "" {
		t.Fatalf("slim read differs from FromSCIM (-want +got):\n%s", diff)
	}
}

func TestSnapshotCodecMatchesEncodingJSONOnExamples(t *testing.T) {
	paths, err := filepath.Glob("../examples/*/tenant.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no example snapshots: %v", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(filepath.Dir(p)), func(t *testing.T) {
			doc, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstV1(t, doc)
			// Re-encoding what was decoded gives the file back.
			s, err := DecodeSnapshot(bytes.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := EncodeSnapshot(&buf, s); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), doc) {
				t.Error("re-encoding the example changed its bytes")
			}
		})
	}
	var buf bytes.Buffer
	if err := EncodeSnapshot(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	checkAgainstV1(t, buf.Bytes())
}

// TestSnapshotCodecQuirks covers what the SCIM client accepts from a server
// and encoding/json accepted from a file: names in any case, SCIM booleans
// as strings, null for absent, unknown attributes, and escapes.
func TestSnapshotCodecQuirks(t *testing.T) {
	doc := `{"schemas":["` + SchemaSnapshot + `"], "extra": {"x": [1, {"y": null}]},
	"users":{"totalresults":2,"resources":[
		{"ID":"u1","USERNAME":"a@x.gov","Active":"True","emails":[{"value":"a@x.gov","primary":"TRUE","type":"work"},{"value":"b\u0040x.gov"}],"name":{"givenName":"A"},"meta":null,"nick":3},
		{"id":"u\u00e9","userName":null,"active":false,"emails":null,"schemas":null}]},
	"GROUPS":{"totalResults":1,"Resources":[{"id":"g","displayName":"G","members":[{"value":"u1","type":"user","$ref":"x","display":"A"},{"value":"u\u00e9"},{"value":"g","type":"GROUP"}]}]},
	"organizations":{"totalResults":2,"Resources":[{"id":"p","name":"agency","mode":"jit"},{"id":"c","name":"hq","parent":"p","mappings":[{"group":"g","role":"member","seatTier":"standard"}],"seats":{"standard":3}}]},
	"members":{"totalResults":1,"Resources":[{"id":"m","organization":"c","email":"A@x.gov","userId":"u1","role":"member","seatTier":"standard","origin":"scim","meta":{"lastModified":"2026-01-02T03:04:05Z","created":"x"}}]},
	"Members": {"totalResults":1}}`
	checkAgainstV1(t, []byte(doc))
	s, err := DecodeSnapshot(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if s.Users[0].Emails[0].Primary != true || s.Users[1].ID != "ué" || s.Users[0].Emails[1].Value != "b@x.gov" {
		t.Errorf("users: %+v", s.Users)
	}
}

// TestSnapshotCodecNoDelimiterFolding: names match case-insensitively, but
// "_id" is not "id" nor "user_name" "userName" (JSON v2's default folding
// would match them).
func TestSnapshotCodecNoDelimiterFolding(t *testing.T) {
	doc := `{"schemas":["` + SchemaSnapshot + `"],
	"Users":{"totalResults":1,"Resources":[{"id":"u2","userName":"a@x.gov","_id":"u1","user_name":"x","Active":true}]},
	"Groups":{"totalResults":1,"Resources":[{"id":"g","members":[{"value":"u2","va-lue":"u9"}]}]},
	"Organizations":{"totalResults":1,"Resources":[{"id":"p","name":"agency","mode":"jit","mo_de":"full"}]},
	"Members":{"totalResults":0,"Resources":[]}}`
	checkAgainstV1(t, []byte(doc))
	s, err := DecodeSnapshot(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if u := s.Users[0]; u.ID != "u2" || u.UserName != "a@x.gov" {
		t.Errorf("user %+v: a name with '_' matched", u)
	}
	if o := s.Organizations[0]; o.Mode != "jit" {
		t.Errorf("organization %+v: a name with '_' matched", o)
	}
	tn, err := snapshotTenant(t, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"u2"}, tn.Groups[0].Members); diff != "" {
		t.Errorf("group members (-want +got):\n%s", diff)
	}
}

// TestSnapshotCodecErrors: both readers refuse what encoding/json refused,
// with DecodeSnapshot's messages.
func TestSnapshotCodecErrors(t *testing.T) {
	lists := func(users string) string {
		return `{"schemas":["` + SchemaSnapshot + `"],"Users":` + users + `,"Groups":{"totalResults":0,"Resources":[]},"Organizations":{"totalResults":1,"Resources":[{"id":"p","name":"agency","mode":"jit"}]},"Members":{"totalResults":0,"Resources":[]}}`
	}
	user := func(attrs string) string {
		return lists(`{"totalResults":1,"Resources":[{"id":"u1","userName":"a@x.gov",` + attrs + `}]}`)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"empty", ``, "decoding snapshot"},
		{"not json", `{"schemas":`, "decoding snapshot"},
		{"not an object", `[]`, "decoding snapshot"},
		{"no schema", `{"Users":{"totalResults":0,"Resources":[]}}`, "lacks " + SchemaSnapshot},
		{"null document", `null`, "lacks " + SchemaSnapshot},
		{"missing list", `{"schemas":["` + SchemaSnapshot + `"],"Users":{"totalResults":0,"Resources":[]},"Groups":{"totalResults":0,"Resources":[]},"Organizations":{"totalResults":0,"Resources":[]}}`, "no Members list"},
		{"null list", lists(`null`), "no Users list"},
		{"list is an array", lists(`[]`), "decoding snapshot"},
		{"short list", lists(`{"totalResults":2,"Resources":[{"id":"a"}]}`), "Users: totalResults is 2 but 1 resources follow"},
		{"long list", lists(`{"totalResults":0,"Resources":[{"id":"a"}]}`), "Users: totalResults is 0 but 1 resources follow"},
		{"total a string", lists(`{"totalResults":"1","Resources":[{"id":"a"}]}`), "decoding snapshot"},
		{"total a fraction", lists(`{"totalResults":1.0,"Resources":[{"id":"a"}]}`), "decoding snapshot"},
		{"resource not an object", lists(`{"totalResults":1,"Resources":["a"]}`), "decoding snapshot"},
		{"resources an object", lists(`{"totalResults":0,"Resources":{}}`), "decoding snapshot"},
		{"id a number", user(`"meta":{},"x":1,"emails":[],"name":null,"active":true,"displayName":null,"externalId":1`), "decoding snapshot"},
		{"name a number", user(`"name":5`), "decoding snapshot"},
		{"name part a number", user(`"name":{"givenName":5}`), "decoding snapshot"},
		{"meta part a number", user(`"meta":{"created":1}`), "decoding snapshot"},
		{"schemas a string", user(`"schemas":"x"`), "decoding snapshot"},
		{"email type a boolean", user(`"emails":[{"value":"a","type":true}]`), "decoding snapshot"},
		{"active a number", user(`"active":1`), "decoding snapshot"},
		{"trailing data", lists(`{"totalResults":0,"Resources":[]}`) + ` {}`, "data after the document"},
		{"trailing garbage", lists(`{"totalResults":0,"Resources":[]}`) + `]`, "data after the document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeSnapshotV1(strings.NewReader(tt.doc)); err == nil {
				t.Fatal("encoding/json accepts the document: the case is wrong")
			}
			s, err := DecodeSnapshot(strings.NewReader(tt.doc))
			if err == nil || s != nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeSnapshot: err = %v, want it to contain %q", err, tt.want)
			}
			tn, err := snapshotTenant(t, []byte(tt.doc))
			if err == nil || tn != nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "tenant.json: ") {
				t.Errorf("SnapshotSource.Read: err = %v, want it to contain the path and %q", err, tt.want)
			}
		})
	}
}

// TestSnapshotSourceReadConversionErrors: a document that decodes but is
// not a valid tenant is refused with FromSCIM's problems.
func TestSnapshotSourceReadConversionErrors(t *testing.T) {
	s := sample()
	s.Users = append(s.Users, scim.User{UserName: "noid@x.gov"}, s.Users[0])
	s.Members[0].Role = "boss"
	var buf bytes.Buffer
	if err := EncodeSnapshot(&buf, s); err != nil {
		t.Fatal(err)
	}
	_, err := snapshotTenant(t, buf.Bytes())
	for _, want := range []string{"snapshot ", `user 0 ("noid@x.gov"): no id`, "user u-ann: duplicate id", `role "boss" is not one of`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
	checkAgainstV1(t, buf.Bytes())
}

// TestSnapshotCodecRepeatedLists: a list given twice (by another case of
// its name) replaces the first one's resources, as in encoding/json, and
// the users converted early are converted again.
func TestSnapshotCodecRepeatedLists(t *testing.T) {
	doc := `{"schemas":["` + SchemaSnapshot + `"],
	"Users":{"totalResults":1,"Resources":[{"id":"u1","userName":"a@x.gov","active":true}]},
	"Groups":{"totalResults":0,"Resources":[]},
	"users":{"Resources":[{"id":"u2","userName":"b@x.gov","active":true}]},
	"Organizations":{"totalResults":1,"Resources":[{"id":"p","name":"agency","mode":"jit"}]},
	"Members":{"totalResults":0,"Resources":[]}}`
	checkAgainstV1(t, []byte(doc))
	tn, err := snapshotTenant(t, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(tn.Users) != 1 || tn.Users[0].ID != "u2" {
		t.Errorf("users %+v, want only u2", tn.Users)
	}
}
