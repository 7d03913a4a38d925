package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/scimtest"
	"github.com/scimsync/scimsync/scimtest/gen"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// TestPredictionAgainstServer is the prediction and convergence test of
// issue 5: for seeded random tenants and random changes to their spec, the
// plan's steps are sent to the reference server (PATCH /Organizations, in
// their order, with If-Match, as apply sends them); the members the server then holds must be
// exactly those the plan predicted, and planning again must find nothing to
// do.
func TestPredictionAgainstServer(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			checkPrediction(t, seed)
		})
	}
}

func checkPrediction(t *testing.T, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	params := gen.Params{
		Users:            100 + rng.IntN(150),
		BigGroups:        2,
		BigGroupSize:     40,
		Orgs:             1 + rng.IntN(3),
		Members:          150,
		NonSCIMFraction:  0.1 + rng.Float64()*0.2,
		InactiveFraction: 0.1,
		SpecialFraction:  0.05,
		AliasFraction:    0.2,
	}.Fit(rng)
	snap, err := gen.Generate(params, seed)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gen.Spec(snap)
	if err != nil {
		t.Fatal(err)
	}
	s.Target.File = "tenant.json"
	now := gen.Epoch
	mutateSpec(rng, s, snap, now)

	srv := scimtest.NewTestServer(t, snap, scimtest.Options{Now: func() time.Time { return now }})
	before := serverTenant(t, srv)
	p, err := Compute(s, before, now)
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasChanges() {
		t.Logf("seed %d: the random changes change nothing", seed)
	}

	versions := map[string]string{}
	for _, st := range p.Steps {
		v, ok := versions[st.OrgID]
		if !ok {
			v = st.Version
		}
		versions[st.OrgID] = patchOrg(t, srv, st.OrgID, v, st.Ops)
	}

	after := serverTenant(t, srv)
	byOrg := map[string][]resolve.Member{}
	for _, m := range after.Members {
		byOrg[m.Org] = append(byOrg[m.Org], m)
	}
	if len(p.Predicted) != len(after.Orgs) {
		t.Errorf("%d predictions for %d child orgs", len(p.Predicted), len(after.Orgs))
	}
	for _, pr := range p.Predicted {
		if got := PredictMembers(pr.OrgID, pr.Org, byOrg[pr.OrgID]); got != pr {
			t.Errorf("org %s: the server holds %d members (%s), the plan predicted %d (%s)", pr.Org, got.Members, got.Hash[:12], pr.Members, pr.Hash[:12])
		}
	}
	// The plan's member changes, replayed on the observed members, give
	// the server's members too: what the plan shows is what happens.
	if diff := replay(before, p); !slices.Equal(diff, memberLines(after.Members, after)) {
		t.Errorf("the plan's member changes do not lead to the server's members:\n%s", lineDiff(diff, memberLines(after.Members, after)))
	}

	again, err := Compute(s, after, now)
	if err != nil {
		t.Fatal(err)
	}
	if again.HasChanges() || again.Summary.Link > 0 {
		t.Errorf("after the writes, the plan still has changes:\nconfig %v\nmembers %v", briefConfig(again), briefMembers(again))
	}
	if len(again.Writes) > 0 {
		t.Errorf("after the writes, the plan still writes %+v", again.Writes)
	}
}

// mutateSpec changes s at random: the mode, mappings dropped, changed and
// added, seats, and exceptions for existing members (some already expired,
// one ending today).
func mutateSpec(rng *rand.Rand, s *spec.Spec, snap *tenant.Snapshot, now time.Time) {
	modes := []spec.Mode{spec.ModeJIT, spec.ModeStaged, spec.ModeFull}
	s.Parent.Mode = modes[rng.IntN(len(modes))]
	roles := []spec.Role{"member", "member", "admin", "owner"}
	var groups []string
	groupID := map[string]string{}
	for _, g := range snap.Groups {
		groups = append(groups, g.DisplayName)
		groupID[g.DisplayName] = g.ID
	}
	orgID := map[string]string{}
	for _, o := range snap.Organizations {
		orgID[o.Name] = o.ID
	}
	for i := range s.Organizations {
		o := &s.Organizations[i]
		if len(o.Mappings) > 0 && rng.IntN(2) == 0 {
			k := rng.IntN(len(o.Mappings))
			o.Mappings = slices.Delete(o.Mappings, k, k+1)
		}
		for j := range o.Mappings {
			if rng.IntN(4) == 0 {
				o.Mappings[j].Role = roles[rng.IntN(len(roles))]
				o.Mappings[j].SeatTier = gen.SeatTiers[rng.IntN(len(gen.SeatTiers))]
			}
		}
		for n := rng.IntN(3); n > 0; n-- {
			g := groups[rng.IntN(len(groups))]
			if slices.ContainsFunc(o.Mappings, func(m spec.Mapping) bool {
				return strings.EqualFold(m.Group, g) || (m.GroupID != "" && m.GroupID == groupID[g])
			}) {
				continue
			}
			m := spec.Mapping{Group: g, Role: roles[rng.IntN(len(roles))], SeatTier: gen.SeatTiers[rng.IntN(len(gen.SeatTiers))]}
			if rng.IntN(3) == 0 {
				m.Group, m.GroupID = "", groupID[g]
			}
			o.Mappings = append(o.Mappings, m)
		}
		if rng.IntN(2) == 0 {
			o.Seats = map[string]int{}
			for _, tier := range gen.SeatTiers {
				if rng.IntN(4) > 0 {
					o.Seats[tier] = rng.IntN(200)
				}
			}
		}
		var emails []string
		for _, m := range snap.Members {
			if m.Organization == orgID[o.Name] {
				emails = append(emails, m.Email)
			}
		}
		for n := rng.IntN(6); n > 0 && len(emails) > 0; n-- {
			e := emails[rng.IntN(len(emails))]
			if slices.ContainsFunc(s.Policy.Exceptions, func(x spec.Exception) bool {
				return x.Org == o.Name && resolve.NormEmail(x.Email) == resolve.NormEmail(e)
			}) {
				continue
			}
			until := now.AddDate(0, 0, rng.IntN(7)-3).Format(time.DateOnly)
			if rng.IntN(2) == 0 {
				e = strings.ToUpper(e)
			}
			s.Policy.Exceptions = append(s.Policy.Exceptions, spec.Exception{Email: e, Org: o.Name, Until: until, Reason: "seeded"})
		}
	}
}

// serverTenant reads the server's state as a tenant.
func serverTenant(t *testing.T, srv *scimtest.TestServer) *tenant.Tenant {
	t.Helper()
	snap := srv.Snapshot()
	tn, err := tenant.FromSCIM(snap.Users, snap.Groups, snap.Organizations, snap.Members)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// patchOrg sends PATCH /Organizations/{id} with If-Match and returns the
// new version.
func patchOrg(t *testing.T, srv *scimtest.TestServer, id, version string, ops []scim.PatchOp) string {
	t.Helper()
	body, err := json.Marshal(scim.NewPatchRequest(ops...))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPatch, srv.URL+"/Organizations/"+id, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	req.Header.Set("If-Match", version)
	resp, err := srv.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH /Organizations/%s: %s\n%s\nbody: %s", id, resp.Status, data, body)
	}
	var o scim.Organization
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	return o.Meta.Version
}

// memberLines lists members canonically: org name, email, role, tier,
// origin.
func memberLines(ms []resolve.Member, tn *tenant.Tenant) []string {
	names := map[string]string{}
	for _, o := range tn.Orgs {
		names[o.ID] = strings.ToLower(o.Name)
	}
	var out []string
	for _, m := range ms {
		out = append(out, strings.Join([]string{names[m.Org], resolve.NormEmail(m.Email), string(m.Role), m.SeatTier, string(m.Origin)}, " "))
	}
	slices.Sort(out)
	return out
}

// replay applies p's member changes to the observed members.
func replay(tn *tenant.Tenant, p *Plan) []string {
	names := map[string]string{}
	for _, o := range tn.Orgs {
		names[o.ID] = strings.ToLower(o.Name)
	}
	cur := map[string]string{}
	for _, m := range tn.Members {
		k := names[m.Org] + " " + resolve.NormEmail(m.Email)
		cur[k] = strings.Join([]string{string(m.Role), m.SeatTier, string(m.Origin)}, " ")
	}
	for _, mc := range p.Members {
		k := mc.Org + " " + mc.Email
		switch mc.Action {
		case ActionRemove:
			delete(cur, k)
		case ActionAdd, ActionChange, ActionLink:
			cur[k] = strings.Join([]string{mc.After.Role, mc.After.SeatTier, mc.After.Origin}, " ")
		}
	}
	var out []string
	for k, v := range cur {
		out = append(out, k+" "+v)
	}
	slices.Sort(out)
	return out
}

func lineDiff(want, got []string) string {
	var b strings.Builder
	for _, l := range want {
		if !slices.Contains(got, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
