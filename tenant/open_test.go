package tenant

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
)

const secret = "s3cr3t-token-value"

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := writeSample(t, sample())
	if err := os.Rename(path, filepath.Join(dir, "tenant.json")); err != nil {
		t.Fatal(err)
	}
	src, w, warnings, err := Open(context.Background(), spec.Target{File: "tenant.json"}, OpenOptions{BaseDir: dir, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	ss, ok := src.(*SnapshotSource)
	if !ok || ss.Path != filepath.Join(dir, "tenant.json") || w != Writer(ss) {
		t.Fatalf("source %#v, writer %#v", src, w)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no effect") {
		t.Errorf("warnings %q", warnings)
	}
	if _, err := src.Read(context.Background(), ReadRequest{}); err != nil {
		t.Error(err)
	}
}

func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	src, w, warnings, err := Open(ctx, spec.Target{URL: "https://scim.example.gov/scim/v2", TokenEnv: "MY_TOKEN"}, OpenOptions{Getenv: env(map[string]string{"MY_TOKEN": " " + secret + "\n"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*SCIMSource); !ok || len(warnings) != 0 {
		t.Errorf("source %T, warnings %q", src, warnings)
	}
	if _, ok := w.(*scim.Client); !ok {
		t.Errorf("writer %T, want *scim.Client", w)
	}

	// A token file, relative to the spec's directory, readable by others;
	// TLS verification off.
	_, _, warnings, err = Open(ctx, spec.Target{URL: "https://scim.example.gov/scim/v2", TokenFile: "token"}, OpenOptions{BaseDir: dir, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "readable by its group or others") || !strings.Contains(warnings[1], "TLS certificate verification is off") || !strings.Contains(warnings[1], "scim.example.gov") {
		t.Errorf("warnings %q", warnings)
	}

	// The members export: a source, no writer.
	src, w, _, err = Open(ctx, spec.Target{URL: "https://scim.example.gov/scim/v2", MembersCSV: "members.csv"}, OpenOptions{BaseDir: dir, Getenv: env(map[string]string{"SCIMSYNC_TOKEN": secret}), Current: &spec.Current{}})
	if err != nil {
		t.Fatal(err)
	}
	if me, ok := src.(*MembersExportSource); !ok || me.CSVPath != filepath.Join(dir, "members.csv") || w != nil {
		t.Errorf("source %#v, writer %#v", src, w)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name   string
		target spec.Target
		opts   OpenOptions
		want   string
	}{
		{"nothing", spec.Target{}, OpenOptions{}, "set target.url (a SCIM server) or target.file"},
		{"both", spec.Target{URL: "https://a", File: "b"}, OpenOptions{}, "not both"},
		{"csv with file", spec.Target{File: "b", MembersCSV: "m.csv"}, OpenOptions{}, "target.membersCsv goes with target.url"},
		{"default env unset", spec.Target{URL: "https://scim.example.gov"}, OpenOptions{Getenv: env(nil)}, "environment variable SCIMSYNC_TOKEN is not set or empty"},
		{"named env empty", spec.Target{URL: "https://scim.example.gov", TokenEnv: "TOK"}, OpenOptions{Getenv: env(map[string]string{"TOK": "  "})}, "environment variable TOK is not set or empty"},
		{"token file missing", spec.Target{URL: "https://scim.example.gov", TokenFile: "/nonexistent/token"}, OpenOptions{}, "no such file"},
		{"both token sources", spec.Target{URL: "https://scim.example.gov", TokenFile: "t", TokenEnv: "E"}, OpenOptions{}, "not both"},
		{"csv without current", spec.Target{URL: "https://scim.example.gov", MembersCSV: "m.csv"}, OpenOptions{Getenv: env(map[string]string{"SCIMSYNC_TOKEN": secret})}, "needs the spec's current: block"},
		{"plain http", spec.Target{URL: "http://scim.example.gov"}, OpenOptions{Getenv: env(map[string]string{"SCIMSYNC_TOKEN": secret})}, "refusing to send the token over plain http"},
		{"bad CA file", spec.Target{URL: "https://scim.example.gov", CAFile: "/nonexistent/ca.pem"}, OpenOptions{Getenv: env(map[string]string{"SCIMSYNC_TOKEN": secret})}, "ca.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, w, _, err := Open(context.Background(), tt.target, tt.opts)
			if err == nil {
				t.Fatalf("no error; source %T, writer %T", src, w)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}

func TestOpenSpecAndSpecDir(t *testing.T) {
	dir := t.TempDir()
	specPath := filepath.Join(dir, "scimsync.yaml")
	if err := os.WriteFile(specPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for source, want := range map[string]string{
		specPath:                   dir,
		dir:                        dir,
		specPath + "," + "/other/": dir,
		"-":                        "",
		"":                         "",
	} {
		if got := SpecDir(source); got != want {
			t.Errorf("SpecDir(%q) = %q, want %q", source, got, want)
		}
	}

	// Two files in two directories: the target's paths are relative to the
	// file that sets them, not to the first one.
	base := filepath.Join(dir, "base.yaml")
	other := filepath.Join(dir, "sub", "target.yaml")
	if err := os.MkdirAll(filepath.Dir(other), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base, []byte("version: 1\nparent: {name: agency, seatTiers: [standard]}\norganizations: [{name: hq}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("version: 1\ntarget: {file: tenant.json}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, diags, err := spec.Load(base, other)
	if err != nil || diags.HasErrors() {
		t.Fatalf("loading: %v %v", err, diags)
	}
	src, _, _, err := OpenSpec(context.Background(), s, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := src.(*SnapshotSource).Path, filepath.Join(dir, "sub", "tenant.json"); got != want {
		t.Errorf("path %s, want %s", got, want)
	}
	// An explicit BaseDir wins.
	src, _, _, err = OpenSpec(context.Background(), s, OpenOptions{BaseDir: "/srv"})
	if err != nil {
		t.Fatal(err)
	}
	if got := src.(*SnapshotSource).Path; got != "/srv/tenant.json" {
		t.Errorf("path %s, want /srv/tenant.json", got)
	}
}

func TestRequestFor(t *testing.T) {
	s := &spec.Spec{Organizations: []spec.Organization{
		{Name: "hq", Mappings: []spec.Mapping{{Group: "hq-users"}, {GroupID: "g-42", Group: "ignored"}}},
		{Name: "west", Mappings: []spec.Mapping{{Group: "west-admins"}, {}}},
	}}
	want := ReadRequest{GroupNames: []string{"hq-users", "west-admins"}, GroupIDs: []string{"g-42"}}
	if diff := cmp.Diff(want, RequestFor(s)); diff != "" {
		t.Errorf("RequestFor (-want +got):\n%s", diff)
	}
}
