package scimtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/tenant"
)

// TestRecomputeAgreesWithResolveOnLookAlikes is a property test of the
// server's recompute against resolve's prediction, on generated tenants
// where a tenth of the users have a look-alike address (a Kelvin sign K or
// İ) and a jit member holds the ASCII address each looks like: switching
// to staged and then full over the API, the members the server holds are
// those resolve predicts from the state before, and no look-alike user
// takes over the jit member (issue 14 #3): in staged mode it stays jit.
func TestRecomputeAgreesWithResolveOnLookAlikes(t *testing.T) {
	p := gen.Params{
		Users: 300, Groups: 30, BigGroups: 2, BigGroupSize: 60, Orgs: 2, Mappings: 8,
		Members: 300, NonSCIMFraction: 0.1, InactiveFraction: 0.1, SpecialFraction: 0.05,
		AliasFraction: 0.1, LookAlikeFraction: 0.1,
	}
	p.Memberships = p.Users + p.BigGroups*p.BigGroupSize + p.Orgs + (p.Groups-1-p.BigGroups)*6
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			snap, err := gen.Generate(p, seed)
			if err != nil {
				t.Fatal(err)
			}
			now := gen.Epoch.Add(time.Hour)
			ts := NewTestServer(t, snap, Options{Now: func() time.Time { return now }})
			var parent string
			for _, o := range snap.Organizations {
				if o.Parent == "" {
					parent = o.ID
				}
			}
			for _, mode := range []resolve.Mode{resolve.ModeStaged, resolve.ModeFull} {
				before := ts.Snapshot()
				want := predicted(t, before, mode, now)
				ts.call(t, "PATCH", "/Organizations/"+parent, patchBody(op("replace", "mode", string(mode)))).want(t, 200)
				got := ts.memberSet(t)
				if !slices.Equal(want, got) {
					t.Errorf("%s: the server's members differ from resolve's prediction:\nwant %d %q\ngot  %d %q", mode, len(want), lookAlikeLines(want), len(got), lookAlikeLines(got))
				}
				if mode == resolve.ModeStaged {
					// Each look-alike scim member's ASCII twin stays a jit
					// member of its own.
					twins := 0
					for _, l := range got {
						if f := strings.Fields(l); len(f) == 5 && f[4] == "scim" && strings.ContainsAny(f[1], "\u212a\u0130") {
							twin := f[0] + " " + strings.NewReplacer("\u212a", "k", "\u0130", "i").Replace(f[1]) + " member standard jit"
							if slices.Contains(got, twin) {
								twins++
							}
						}
					}
					if twins == 0 {
						t.Errorf("staged: no look-alike user beside the jit member at its ASCII address")
					}
				}
				if mode == resolve.ModeFull && !slices.ContainsFunc(got, func(s string) bool { return strings.ContainsAny(s, "\u212a\u0130") }) {
					t.Errorf("full: no look-alike user is a member")
				}
			}
		})
	}
}

// predicted is memberSet of what resolve gives snap under mode at now.
func predicted(t *testing.T, snap *tenant.Snapshot, mode resolve.Mode, now time.Time) []string {
	t.Helper()
	tn, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
	if err != nil {
		t.Fatal(err)
	}
	in := tn.ResolveInput(now)
	in.Parent.Mode = mode
	var out []string
	for _, m := range resolve.Resolve(in).Members {
		out = append(out, strings.Join([]string{m.Org, m.Email, string(m.Role), m.SeatTier, string(m.Origin)}, " "))
	}
	return out
}

// lookAlikeLines keeps the lines about look-alike addresses and their
// ASCII twins, to keep a failure readable.
func lookAlikeLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.ContainsAny(l, "\u212a\u0130") {
			out = append(out, l)
		}
	}
	return out
}
