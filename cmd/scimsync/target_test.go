package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	for name, fn := range map[string]func(*testscript.TestScript, bool, []string){
		"closedport": cmdClosedPort,
		"htmlserver": cmdHTMLServer,
	} {
		if _, dup := scriptCmds[name]; dup {
			panic("script command " + name + " registered twice")
		}
		scriptCmds[name] = fn
	}
}

// cmdClosedPort finds a loopback port where nothing listens:
//
//	closedport [FILE...]
//
// It sets $CLOSED_ADDR to host:port and $CLOSED_URL to a base URL there,
// and replaces the text $CLOSED_URL in each FILE with that URL.
func cmdClosedPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! closedport")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	addr := l.Addr().String()
	ts.Check(l.Close())
	url := "http://" + addr + "/scim/v2"
	ts.Setenv("CLOSED_ADDR", addr)
	ts.Setenv("CLOSED_URL", url)
	replaceInFiles(ts, "$CLOSED_URL", url, args)
}

// cmdHTMLServer starts a web server that answers every request with a
// sign-in page, 200 text/html, as a portal in front of the SCIM API does:
//
//	htmlserver [FILE...]
//
// It sets $HTML_URL to a base URL on it and $HTML_REQUESTS to a file
// holding one line per request, and replaces $HTML_URL in each FILE.
func cmdHTMLServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! htmlserver")
	}
	log := ts.MkAbs("html-requests.log")
	ts.Check(os.WriteFile(log, nil, 0o644))
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0); err == nil {
			io.WriteString(f, r.Method+" "+r.URL.Path+"\n")
			f.Close()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><head><title>Sign in</title></head><body><form>…</form></body></html>\n")
	}))
	ts.Defer(hs.Close)
	url := hs.URL + "/scim/v2"
	ts.Setenv("HTML_URL", url)
	ts.Setenv("HTML_REQUESTS", log)
	replaceInFiles(ts, "$HTML_URL", url, args)
}

func replaceInFiles(ts *testscript.TestScript, old, new string, files []string) {
	for _, f := range files {
		p := ts.MkAbs(f)
		data, err := os.ReadFile(p)
		ts.Check(err)
		ts.Check(os.WriteFile(p, []byte(strings.ReplaceAll(string(data), old, new)), 0o644))
	}
}
