package resolve_test

import (
	"sync"
	"testing"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/tenant"
)

var (
	benchOnce   sync.Once
	benchTenant *tenant.Tenant
)

// tierM returns the M tier (gen, seed 1) as a tenant, generated once per
// test binary and only when a benchmark asks for it.
func tierM(b *testing.B) *tenant.Tenant {
	b.Helper()
	benchOnce.Do(func() {
		snap, err := gen.Generate(gen.M.Params(), 1)
		if err != nil {
			b.Fatal(err)
		}
		if benchTenant, err = tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members); err != nil {
			b.Fatal(err)
		}
	})
	if benchTenant == nil {
		b.Fatal("generating the M tier failed")
	}
	return benchTenant
}

func benchResolve(b *testing.B, mode resolve.Mode) {
	t := tierM(b)
	parent := t.Parent
	parent.Mode = mode
	in := resolve.Input{Users: t.Users, Groups: t.Groups, Parent: parent, Orgs: t.Orgs, Members: t.Members, Now: gen.Epoch}
	b.ReportAllocs()
	var res resolve.Result
	for b.Loop() {
		res = resolve.Resolve(in)
	}
	b.ReportMetric(float64(len(res.Outcomes)), "outcomes")
}

// BenchmarkResolveM resolves the M tier (100k users, 2k groups, 1M
// memberships, 100k members) as the server holds it: staged, nothing to do.
func BenchmarkResolveM(b *testing.B) { benchResolve(b, resolve.ModeStaged) }

// BenchmarkResolveFullM resolves the M tier switched to full provisioning:
// every jit and manual member is removed, with its reason.
func BenchmarkResolveFullM(b *testing.B) { benchResolve(b, resolve.ModeFull) }

// BenchmarkResolverFullM resolves the M tier under full provisioning with
// a Resolver that has already resolved it once, as a plan's simulation
// does in its last step: the entitlements are ready, only the members'
// side is left.
func BenchmarkResolverFullM(b *testing.B) {
	t := tierM(b)
	in := resolve.Input{Users: t.Users, Groups: t.Groups, Parent: t.Parent, Orgs: t.Orgs, Members: t.Members, Now: gen.Epoch}
	rv := resolve.NewResolver(in)
	rv.Resolve(resolve.ModeStaged, t.Members)
	b.ReportAllocs()
	var res resolve.Result
	for b.Loop() {
		res = rv.Resolve(resolve.ModeFull, t.Members)
	}
	b.ReportMetric(float64(len(res.Outcomes)), "outcomes")
}
