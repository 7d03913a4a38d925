package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scimtest"
)

// selfSigned makes a fresh self-signed certificate for 127.0.0.1 and
// localhost, and returns it with its PEM form.
func selfSigned(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "scimsync e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// tlsSpec is the fixture spec with a caFile line under target.
func tlsSpec(caFile string) string {
	return strings.Replace(fixtureSpec, "  url: $SCIM_URL\n", "  url: $SCIM_URL\n  caFile: "+caFile+"\n", 1)
}

// TestCLITLS serves the fixture tenant over HTTPS with a self-signed
// certificate: plan refuses it by default, without sending the token
// anywhere it could be read, and accepts it once the spec's caFile names
// the certificate, or with --insecure-skip-tls-verify (which warns).
func TestCLITLS(t *testing.T) {
	srv, err := scimtest.New(readSnapshot(t, fixtureTenant), scimtest.Options{BasePath: scimtest.TestBasePath, Token: testToken, PageCap: pageCap})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	handshakes := 0
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		handshakes++
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	cert, certPEM := selfSigned(t)
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.StartTLS()
	t.Cleanup(hs.Close)
	url := hs.URL + scimtest.TestBasePath
	dir := t.TempDir()

	// By default: refused, and no request reached the handler (the
	// handshake failed before the token was sent).
	writeSpec(t, dir, fixtureSpec, url)
	r := runCLI(t, dir, cliEnv, "plan")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("self-signed certificate, no caFile: want exit 1 naming the certificate:\n%s", r)
	}
	if handshakes != 0 {
		t.Fatalf("%d requests reached the server through an unverified connection", handshakes)
	}
	if strings.Contains(r.stderr, testToken) {
		t.Fatal("the error holds the token")
	}

	// caFile naming the server's certificate: accepted.
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	writeSpec(t, dir, tlsSpec("ca.pem"), url)
	if r := runCLI(t, dir, cliEnv, "plan"); r.code != 2 || !regexp.MustCompile(`(?m)^Plan: 0 to add, 11 to change, 0 to remove[.;]`).MatchString(r.stdout) {
		t.Fatalf("with caFile: want the plan (exit 2):\n%s", r)
	}

	// A caFile holding another self-signed certificate: refused again.
	_, otherPEM := selfSigned(t)
	if err := os.WriteFile(ca, otherPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, dir, cliEnv, "plan"); r.code != 1 || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("caFile of another CA: want exit 1:\n%s", r)
	}

	// --insecure-skip-tls-verify: accepted, with a warning.
	writeSpec(t, dir, fixtureSpec, url)
	r = runCLI(t, dir, cliEnv, "plan", "--insecure-skip-tls-verify")
	if r.code != 2 || !strings.Contains(r.stderr, "TLS certificate verification is off") {
		t.Fatalf("--insecure-skip-tls-verify: want the plan and a warning:\n%s", r)
	}
}

// TestCLICrossHostRedirect: a server that redirects a request to another
// host (here localhost instead of 127.0.0.1, another port) does not get
// its redirect followed: the command fails with exit 1, and the other host
// never sees the token, nor any request at all.
func TestCLICrossHostRedirect(t *testing.T) {
	var mu sync.Mutex
	var seen []string // Authorization headers the other host received
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "gotcha", http.StatusOK)
	}))
	t.Cleanup(evil.Close)
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

	for _, where := range []string{"/Users", "/Members", "/Organizations"} {
		t.Run(where, func(t *testing.T) {
			ts := startServer(t, nil, scimtest.Options{})
			redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, scimtest.TestBasePath+where) {
					http.Redirect(w, r, evilURL+r.URL.RequestURI(), http.StatusFound)
					return
				}
				ts.ServeHTTP(w, r)
			}))
			t.Cleanup(redirecting.Close)
			dir := t.TempDir()
			writeSpec(t, dir, fixtureSpec, redirecting.URL+scimtest.TestBasePath)
			r := runCLI(t, dir, cliEnv, "plan", "-o", "plan.json")
			if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "refusing redirect to http://localhost:") {
				t.Fatalf("want exit 1, the redirect refused:\n%s", r)
			}
			if _, err := os.Stat(filepath.Join(dir, "plan.json")); err == nil {
				t.Error("a plan was saved")
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range seen {
		if strings.Contains(h, testToken) {
			t.Fatal("the other host received the token")
		}
	}
	if len(seen) > 0 {
		t.Errorf("the other host received %d requests", len(seen))
	}
}
