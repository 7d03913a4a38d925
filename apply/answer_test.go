package apply

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// A server (or a proxy before it) that answers a PATCH 200 with a SCIM
// error body changed nothing: the client finds no new version (here it
// reads the organization back, at the If-Match version). The step is of
// unknown outcome, not done, and the apply does not complete (issue 14, #8).
func TestPatchAnswered200WithAnErrorBodyIsNotDone(t *testing.T) {
	sf := newServerFixture(t)
	p := sf.plan()
	up, _ := url.Parse(sf.ts.URL)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: up.Scheme, Host: up.Host})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"412","detail":"version mismatch"}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	// The front's URL keeps the server's path.
	c, err := scim.New(scim.Config{BaseURL: front.URL + up.Path, Token: secretToken, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o := sf.opts()
	o.Source, o.Writer = &tenant.SCIMSource{Client: c}, c
	rep, err := Run(context.Background(), p, o)
	var werr *WriteError
	if !errors.As(err, &werr) || werr.Step.Step != 1 {
		t.Fatalf("err = %v, want a *WriteError at step 1", err)
	}
	if rep.Steps[0].Status != StatusUnknown || rep.Result == ResultApplied {
		t.Errorf("step 1 %q, result %q: want unknown, not applied", rep.Steps[0].Status, rep.Result)
	}
	entries, err := ReadJournal(o.Journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Event == EventStep && e.Status == StepDone {
			t.Errorf("journal says done: %+v", e)
		}
	}
	if st := stateFor(entries, p.PlanHash); !slices.Contains(slicesKeys(st.Interrupted), 1) {
		t.Errorf("step 1 not of unknown outcome in the journal: %+v", st)
	}
}

func slicesKeys(m map[int]doneStep) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}

// answerWriter answers each write with version(ifMatch) and sends nothing.
type answerWriter struct{ version func(string) string }

func (a answerWriter) PatchOrganization(_ context.Context, _, ifMatch string, _ []scim.PatchOp) (string, error) {
	return a.version(ifMatch), nil
}

func TestAnswerWithoutANewVersionIsUnknown(t *testing.T) {
	for name, version := range map[string]func(string) string{
		"same version": func(v string) string { return v },
		"no version":   func(string) string { return "" },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, baseSpec, fixtureSnapshot(t))
			p := f.plan()
			o := f.opts()
			o.Writer = answerWriter{version}
			rep, err := Run(context.Background(), p, o)
			var uerr *UnconfirmedWriteError
			if !errors.As(err, &uerr) || rep.Steps[0].Status != StatusUnknown {
				t.Fatalf("err = %v, step 1 %q: want an *UnconfirmedWriteError, unknown", err, rep.Steps[0].Status)
			}
			if !strings.Contains(err.Error(), "unknown") {
				t.Errorf("error %q does not say the outcome is unknown", err)
			}
		})
	}
}

// ignoreSeats accepts west's seats write (a new version) without applying
// it: the members do not show it, the organization's configuration does.
type ignoreSeats struct{ f *fixture }

func (is ignoreSeats) PatchOrganization(ctx context.Context, id, version string, ops []scim.PatchOp) (string, error) {
	if id == "o-west" {
		// Bump the version only, as a server that lost the body would.
		snap, err := tenant.ReadSnapshot(is.f.snapPath)
		if err != nil {
			return "", err
		}
		for i := range snap.Organizations {
			if snap.Organizations[i].ID == id {
				snap.Organizations[i].Meta.Version = tenant.NextVersion(version)
			}
		}
		return tenant.NextVersion(version), tenant.WriteSnapshot(is.f.snapPath, snap)
	}
	return is.f.src.PatchOrganization(ctx, id, version, ops)
}

func TestVerifyComparesTheConfiguration(t *testing.T) {
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	p := f.plan()
	o := f.opts()
	o.Writer = ignoreSeats{f}
	rep, err := Run(context.Background(), p, o)
	var verr *VerifyError
	if !errors.As(err, &verr) || rep.Result != ResultMismatch {
		t.Fatalf("err = %v (%s), want a *VerifyError", err, rep.Result)
	}
	want := []string{`west: seats: planned {"standard":60}, is {"standard":50}`}
	if !slices.Equal(verr.Verification.Differences, want) {
		t.Errorf("differences %q, want %q", verr.Verification.Differences, want)
	}
}
