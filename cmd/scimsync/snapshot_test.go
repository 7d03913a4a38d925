package main

import (
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

func init() {
	if _, dup := scriptCmds["scimserver"]; dup {
		panic("script command scimserver registered twice")
	}
	scriptCmds["scimserver"] = cmdSCIMServer
}

// scriptToken is the bearer token of the servers scimserver starts.
const scriptToken = "script-token-0123456789"

// cmdSCIMServer starts the reference SCIM server for the rest of the script:
//
//	scimserver SNAPSHOT [FILE...]
//
// It serves the tenant in SNAPSHOT (a snapshot file; "-" for a server
// without the organization extension, holding nothing: /Organizations and
// /Members answer 404) under /scim/v2 on a loopback port, at most 7
// resources a page, sets $SCIM_URL to its base URL and $SCIM_TOKEN to its
// token, and replaces the text $SCIM_URL in each FILE with the URL, so specs
// in the archive can target it.
func cmdSCIMServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! scimserver")
	}
	if len(args) < 1 {
		ts.Fatalf("usage: scimserver SNAPSHOT [FILE...]")
	}
	snap := &tenant.Snapshot{}
	if args[0] != "-" {
		var err error
		snap, err = tenant.ReadSnapshot(ts.MkAbs(args[0]))
		ts.Check(err)
	}
	srv, err := scimtest.New(snap, scimtest.Options{BasePath: "/scim/v2", Token: scriptToken, PageCap: 7})
	ts.Check(err)
	var h http.Handler = srv
	if args[0] == "-" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/scim/v2/Organizations") || strings.HasPrefix(r.URL.Path, "/scim/v2/Members") {
				w.Header().Set("Content-Type", "application/scim+json")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"no such resource type"}`)
				return
			}
			srv.ServeHTTP(w, r)
		})
	}
	hs := httptest.NewServer(h)
	ts.Defer(hs.Close)
	url := hs.URL + "/scim/v2"
	ts.Setenv("SCIM_URL", url)
	ts.Setenv("SCIM_TOKEN", scriptToken)
	for _, f := range args[1:] {
		p := ts.MkAbs(f)
		data, err := os.ReadFile(p)
		ts.Check(err)
		ts.Check(os.WriteFile(p, []byte(strings.ReplaceAll(string(data), "$SCIM_URL", url)), 0o644))
	}
}

func TestParseSnapshotArgs(t *testing.T) {
	tests := []struct {
		args    []string
		want    snapshotOptions
		wantErr string
	}{
		{[]string{"-o", "t.json"}, snapshotOptions{files: []string{"scimsync.yaml"}, out: "t.json"}, ""},
		{[]string{"-f", "a.yaml", "-f", "dir", "-o", "-", "--insecure-skip-tls-verify", "-v"}, snapshotOptions{files: []string{"a.yaml", "dir"}, out: "-", insecure: true, verbose: true}, ""},
		{[]string{"-f", "a.yaml"}, snapshotOptions{}, "flag -o: say where to write the snapshot"},
		{[]string{"-o", "t.json", "extra"}, snapshotOptions{}, `unexpected argument "extra"`},
		{[]string{"-f", "", "-o", "t.json"}, snapshotOptions{}, "flag -f: empty path"},
		{[]string{"-f", "-", "-o", "-"}, snapshotOptions{}, "the spec comes from stdin"},
		{[]string{"--bogus"}, snapshotOptions{}, "flag provided but not defined: -bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			checkParse(t, parseSnapshotArgs, tt.args, tt.want, tt.wantErr, strings.Contains)
		})
	}
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseSnapshotArgs(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v", err)
	}
}

// TestTokenGuard checks that the guard refuses the token however the
// writes split it, and passes on everything else unchanged.
func TestTokenGuard(t *testing.T) {
	const token = "tok-12345"
	doc := `{"a": "x` + token + `y", "b": 1}`
	for cut1 := 0; cut1 <= len(doc); cut1++ {
		for cut2 := cut1; cut2 <= len(doc); cut2++ {
			var out strings.Builder
			g := &tokenGuard{w: &out, token: []byte(token)}
			var err error
			for _, p := range []string{doc[:cut1], doc[cut1:cut2], doc[cut2:]} {
				if _, err = g.Write([]byte(p)); err != nil {
					break
				}
			}
			if !errors.Is(err, errTokenInData) {
				t.Fatalf("writes cut at %d and %d: error %v", cut1, cut2, err)
			}
			if strings.Contains(out.String(), token) {
				t.Fatalf("writes cut at %d and %d: the token went out", cut1, cut2)
			}
		}
	}
	clean := strings.Repeat(token[:len(token)-1]+" ", 50)
	var out strings.Builder
	g := &tokenGuard{w: &out, token: []byte(token)}
	for i := 0; i < len(clean); i += 7 {
		if _, err := g.Write([]byte(clean[i:min(len(clean), i+7)])); err != nil {
			t.Fatal(err)
		}
	}
	if out.String() != clean {
		t.Errorf("a clean document changed")
	}
}
