package apply

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/tenant"
)

// The token of the reference server in these tests: it must appear in no
// file an apply writes.
const secretToken = "scimsync-apply-test-token-3f9c1d"

// serverFixture is the fixture tenant served over HTTP by the reference
// server, read and written through the SCIM client.
type serverFixture struct {
	*fixture
	ts     *scimtest.TestServer
	client *scim.Client
}

func newServerFixture(t *testing.T) *serverFixture {
	t.Helper()
	f := newFixture(t, baseSpec, fixtureSnapshot(t))
	ts := scimtest.NewTestServer(t, fixtureSnapshot(t), scimtest.Options{Token: secretToken, Now: func() time.Time { return testNow }})
	c, err := scim.New(scim.Config{BaseURL: ts.URL, Token: secretToken, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.src = nil // the snapshot file is not the tenant here
	return &serverFixture{fixture: f, ts: ts, client: c}
}

func (sf *serverFixture) source() tenant.Source { return &tenant.SCIMSource{Client: sf.client} }

func (sf *serverFixture) plan() *diff.Plan {
	sf.t.Helper()
	tn, err := sf.source().Read(context.Background(), tenant.ReadRequest{GroupNames: []string{"users", "admins", "west"}})
	if err != nil {
		sf.t.Fatal(err)
	}
	p, err := diff.Compute(sf.spec, tn, testNow)
	if err != nil {
		sf.t.Fatal(err)
	}
	if err := diff.WritePlanFile(sf.planPath, p); err != nil {
		sf.t.Fatal(err)
	}
	saved, err := diff.ReadPlanFile(sf.planPath)
	if err != nil {
		sf.t.Fatal(err)
	}
	return saved
}

func (sf *serverFixture) opts() Options {
	o := sf.fixture.opts()
	o.Source, o.Writer = sf.source(), sf.client
	o.Target = sf.ts.URL
	o.LockPath = LockPath(sf.dir, sf.ts.URL)
	return o
}

func (sf *serverFixture) converged() {
	sf.t.Helper()
	if p := sf.plan(); p.HasChanges() {
		sf.t.Errorf("a fresh plan still has changes: %+v %+v", p.ConfigChanges, p.Summary)
	}
}

// noToken fails when any file under dir holds the token.
func noToken(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		if bytes.Contains(b, []byte(secretToken)) {
			t.Errorf("%s holds the token", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Errorf("only %d files written under %s; want the plan, its journal and the audit log", n, dir)
	}
}

func TestServer503MidApplyThenResume(t *testing.T) {
	sf := newServerFixture(t)
	p := sf.plan()
	// The second write (west) meets a 503; the hq write before it lands.
	sf.ts.SetFaults(scimtest.Faults{Unavailable: scimtest.Trigger{Path: "/Organizations/o-west", Always: true}})
	rep, err := Run(context.Background(), p, sf.opts())
	var werr *WriteError
	if !errors.As(err, &werr) || werr.Step.Step != 2 {
		t.Fatalf("err = %v, want a *WriteError at step 2", err)
	}
	var se *scim.Error
	if !errors.As(err, &se) || se.Status != 503 {
		t.Errorf("err = %v, want the server's 503", err)
	}
	if got, want := statuses(rep), "hq:done west:failed agency:not-run"; got != want {
		t.Errorf("steps %q, want %q", got, want)
	}
	for _, o := range sf.ts.Snapshot().Organizations {
		if o.ID == "p1" && o.Mode != "staged" {
			t.Errorf("parent mode %q: the switch to full ran after a failed step", o.Mode)
		}
	}

	sf.ts.SetFaults(scimtest.Faults{})
	rep, err = Run(context.Background(), p, sf.opts())
	if err != nil {
		t.Fatalf("resumed run: %v", err)
	}
	if got, want := statuses(rep), "hq:skipped west:done agency:done"; got != want || !rep.Verification.OK() {
		t.Errorf("resumed steps %q, want %q, verified (%v)", got, want, rep.Verification.Differences)
	}
	sf.converged()
	noToken(t, sf.dir)
}

func TestServerConcurrentApplies(t *testing.T) {
	sf := newServerFixture(t)
	raceTwoApplies(t, sf.plan(), sf.dir, sf.opts, sf.client)
	sf.converged()
	noToken(t, sf.dir)
}

func TestServerStalePlanWritesNothing(t *testing.T) {
	sf := newServerFixture(t)
	p := sf.plan()
	// Out of band: an administrator changes hq's seats.
	if _, err := sf.client.PatchOrganization(context.Background(), "o-hq", `W/"1"`, []scim.PatchOp{{Op: "replace", Path: "seats", Value: map[string]int{"standard": 99}}}); err != nil {
		t.Fatal(err)
	}
	before := encodeSnapshot(t, sf.ts.Snapshot())
	_, err := Run(context.Background(), p, sf.opts())
	var stale *StaleError
	if !errors.As(err, &stale) {
		t.Fatalf("err = %v, want stale", err)
	}
	if !bytes.Equal(before, encodeSnapshot(t, sf.ts.Snapshot())) {
		t.Error("the server's state changed")
	}
}

func encodeSnapshot(t *testing.T, s *tenant.Snapshot) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tenant.EncodeSnapshot(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
