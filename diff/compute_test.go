package diff

import (
	stdcmp "cmp"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scimsync/scimsync/internal/match"
	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

func assignBrief(a *Assignment) string {
	if a == nil {
		return ""
	}
	return a.Role + "/" + a.SeatTier + "/" + a.Origin
}

func briefMembers(p *Plan) []string {
	var out []string
	for _, m := range p.Members {
		s := m.Org + " " + symbols[m.Action] + " " + m.Email
		if m.Before != nil {
			s += " " + assignBrief(m.Before)
		}
		s += " -> " + assignBrief(m.After)
		if m.Reason != "" {
			s += ": " + m.Reason
		}
		if m.Via != "" {
			s += " via " + m.Via
		}
		out = append(out, s)
	}
	return out
}

func briefConfig(p *Plan) []string {
	var out []string
	for _, c := range p.ConfigChanges {
		s := c.Org + " " + c.Field
		if c.Key != "" {
			s += " " + c.Key
		}
		out = append(out, s+": "+c.Before+" -> "+c.After)
	}
	return out
}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			s := sc.load(t)
			p, err := Compute(s, sc.tenant, scenarioNow)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Verdict(); got != sc.exit {
				t.Errorf("ExitCode() = %d, want %d", got, sc.exit)
			}
			if diff := cmp.Diff(sc.members, briefMembers(p)); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(sc.config, briefConfig(p)); diff != "" {
				t.Errorf("config changes (-want +got):\n%s", diff)
			}
			var kinds []FindingKind
			for _, f := range p.Findings {
				if !slices.Contains(kinds, f.Kind) {
					kinds = append(kinds, f.Kind)
				}
			}
			if diff := cmp.Diff(sc.kinds, kinds); diff != "" {
				t.Errorf("finding kinds (-want +got):\n%s\nfindings: %+v", diff, p.Findings)
			}
			ready := map[string][]string{}
			for _, r := range p.Readiness {
				var xs []string
				for _, x := range r.WouldRemove {
					xs = append(xs, x.Email+": "+x.Reason)
				}
				ready[r.Org] = xs
			}
			if diff := cmp.Diff(sc.ready, ready); diff != "" {
				t.Errorf("readiness (-want +got):\n%s", diff)
			}
			wantSummary := Summary{Config: len(p.ConfigChanges)}
			for _, m := range p.Members {
				switch m.Action {
				case ActionAdd:
					wantSummary.Add++
				case ActionChange:
					wantSummary.Change++
				case ActionRemove:
					wantSummary.Remove++
				case ActionLink:
					wantSummary.Link++
				}
			}
			if p.Summary != wantSummary {
				t.Errorf("Summary = %+v, want %+v", p.Summary, wantSummary)
			}
			if (len(p.Writes) > 0) != (len(p.ConfigChanges) > 0) {
				t.Errorf("%d writes for %d config changes", len(p.Writes), len(p.ConfigChanges))
			}
			checkConverges(t, s, sc.tenant, p)
		})
	}
}

// checkConverges applies p's steps to a copy of tn the way a server does
// (configuration replaced, then members resolved), checks that the members
// are exactly those p predicted, and that planning again changes nothing.
// checkPredicted checks that the members tenant after holds in each org p
// predicts are exactly p's prediction.
func checkPredicted(t *testing.T, after *tenant.Tenant, p *Plan) {
	t.Helper()
	for _, pr := range p.Predicted {
		var ms []resolve.Member
		for _, m := range after.Members {
			if m.Org == pr.OrgID {
				ms = append(ms, m)
			}
		}
		if got := PredictMembers(pr.OrgID, pr.Org, ms); got != pr {
			t.Errorf("org %s: server holds %+v, plan predicted %+v", pr.Org, got, pr)
		}
	}
}

func checkConverges(t *testing.T, s *spec.Spec, tn *tenant.Tenant, p *Plan) {
	t.Helper()
	after := applySteps(t, tn, p.Steps)
	checkPredicted(t, after, p)
	again, err := Compute(s, after, scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	if again.HasChanges() || again.Summary.Link > 0 {
		t.Errorf("after applying, the plan still changes things:\nconfig %v\nmembers %v", briefConfig(again), briefMembers(again))
	}
	// Nothing is left to write; a policy break the spec itself holds is
	// still a pending problem (DESIGN §6).
	want := VerdictNoChanges
	if len(again.Blocking()) > 0 {
		want = VerdictDangerous
	}
	if again.Verdict() != want {
		t.Errorf("after applying, Verdict() = %v, want %v", again.Verdict(), want)
	}
}

// applySteps plays a plan's steps against a copy of tn like apply and the
// reference server: in their order, whole-attribute replaces, and the
// members resolved after each PATCH (the simulation resolves once after a
// run of child steps; this resolves after every one).
func applySteps(t *testing.T, tn *tenant.Tenant, steps []Step) *tenant.Tenant {
	t.Helper()
	c := *tn
	c.Orgs = slices.Clone(tn.Orgs)
	c.Members = slices.Clone(tn.Members)
	into := func(v any, dst any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	patch := func(w Step) {
		var o *resolve.Org
		if w.OrgID == c.Parent.ID {
			if !w.Parent {
				t.Errorf("write to the parent without parent: true")
			}
			o = &c.Parent
		} else {
			for i := range c.Orgs {
				if c.Orgs[i].ID == w.OrgID {
					o = &c.Orgs[i]
				}
			}
		}
		if o == nil {
			t.Fatalf("write to unknown org %s", w.OrgID)
		}
		for _, op := range w.Ops {
			if op.Op != "replace" {
				t.Fatalf("op %q", op.Op)
			}
			switch op.Path {
			case "mode":
				var m string
				into(op.Value, &m)
				o.Mode = resolve.Mode(m)
			case "loginDomains":
				into(op.Value, &o.LoginDomains)
			case "seatTiers":
				into(op.Value, &o.SeatTiers)
			case "mappings":
				var ms []scim.Mapping
				into(op.Value, &ms)
				o.Mappings = nil
				for _, m := range ms {
					o.Mappings = append(o.Mappings, resolve.Mapping{GroupID: m.Group, Role: resolve.Role(m.Role), SeatTier: m.SeatTier})
				}
			case "seats":
				o.Seats = nil
				into(op.Value, &o.Seats)
			case "exceptions":
				var xs []scim.Exception
				into(op.Value, &xs)
				o.Exceptions = nil
				for _, x := range xs {
					o.Exceptions = append(o.Exceptions, resolve.Exception{Email: x.Email, Until: x.Until, Reason: x.Reason})
				}
			default:
				t.Fatalf("unknown path %q", op.Path)
			}
		}
		o.Version += "+"
		res := resolve.Resolve(resolve.Input{Users: c.Users, Groups: c.Groups, Parent: c.Parent, Orgs: c.Orgs, Members: c.Members, Now: scenarioNow})
		c.Members = res.Members
	}
	for _, st := range steps {
		patch(st)
	}
	return &c
}

func TestComputeMismatch(t *testing.T) {
	tn := newTenant(resolve.ModeStaged).
		group("g1", "claude-hq-users").
		group("g2", "claude-hq-admins").
		group("g3", "Claude-Dup").
		group("g4", "claude-dup").
		org("o-hq", "hq", nil).t
	s := loadSpec(t, "agency", `version: 1
target: {file: tenant.json}
parent:
  name: other-agency
  seatTiers: [standard]
  mode: staged
organizations:
  - name: hq
    mappings:
      - {group: claude-hq-user, role: member, seatTier: standard}
      - {group: claude-dup, role: member, seatTier: standard}
      - {groupId: g9, role: member, seatTier: standard}
      - {group: CLAUDE-HQ-ADMINS, role: member, seatTier: standard}
      - {groupId: g2, role: admin, seatTier: standard}
  - name: regional-wset
`)
	_, err := Compute(s, tn, scenarioNow)
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want a *MismatchError", err)
	}
	var got []string
	for _, d := range me.Problems {
		got = append(got, d.Path+": "+d.Summary+"; "+d.Fix)
	}
	want := []string{
		`parent.name: "other-agency" is not the server's parent organization "example-agency"; set parent.name to "example-agency" if this is the right tenant`,
		`organizations[0].mappings[0].group: no group named "claude-hq-user" on the server; did you mean "claude-hq-users"?`,
		`organizations[0].mappings[1].group: 2 groups are named "claude-dup" (case-insensitively): ids g3, g4; name the group by groupId instead`,
		`organizations[0].mappings[2].groupId: no group with id "g9" on the server; `,
		`organizations[0].mappings[4]: group "claude-hq-admins" is mapped twice in hq (also at organizations[0].mappings[3]); merge the two mappings: a user gets the highest role and tier of its groups anyway`,
		`organizations[1].name: no child organization named "regional-wset" on the server; organizations are created by support, not through the API`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(err.Error(), "the spec does not match the server (6 problems):\n") {
		t.Errorf("Error() = %q", err.Error())
	}
	var pos []string
	for _, d := range me.Problems {
		pos = append(pos, d.Pos.String())
	}
	wantPos := []string{"agency.yaml:4:9", "agency.yaml:10:17", "agency.yaml:11:17", "agency.yaml:12:19", "agency.yaml:14:9", "agency.yaml:15:11"}
	if diff := cmp.Diff(wantPos, pos); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"claude-hq-users", "claude-hq-admins", "claude-west-users", "unrelated"}
	tests := []struct {
		in   string
		want []string
	}{
		{"claude-hq-user", []string{"claude-hq-users"}},
		{"claude-hq-admin", []string{"claude-hq-admins"}},
		{"CLAUDE-WEST-USRS", []string{"claude-west-users"}},
		{"zzzzzz", nil},
		{"west", []string{"claude-west-users"}},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, names); !slices.Equal(got, tt.want) {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// sortMembers sorts as slices.SortFunc with the changes' own comparison
// does, equal changes included.
func TestSortMembersAsSortFunc(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	orgs := []string{"hq", "field-ops", "research"}
	emails := []string{"a@x.gov", "ab@x.gov", "alexandra.b@x.gov", "alexandra.a@x.gov", "alexandra.a@x.gov.uk"}
	actions := []Action{ActionAdd, ActionChange, ActionRemove, ActionLink, ActionFlag}
	reasons := []string{"", string(resolve.ReasonInactive), string(resolve.ReasonNotProvisioned)}
	for _, n := range []int{0, 1, 5, 12, 13, 50, 200, 3000} {
		ms := make([]MemberChange, n)
		for i := range ms {
			// Via tells equal changes apart.
			ms[i] = MemberChange{Org: orgs[rng.IntN(len(orgs))], Email: emails[rng.IntN(len(emails))], Action: actions[rng.IntN(len(actions))],
				Reason: reasons[rng.IntN(len(reasons))], Via: strconv.Itoa(i)}
		}
		want := slices.Clone(ms)
		slices.SortFunc(want, func(a, b MemberChange) int {
			return stdcmp.Or(stdcmp.Compare(a.Org, b.Org), stdcmp.Compare(a.Email, b.Email), stdcmp.Compare(actionRank(a.Action), actionRank(b.Action)), stdcmp.Compare(a.Reason, b.Reason))
		})
		sortMembers(ms)
		if !slices.Equal(ms, want) {
			t.Errorf("%d changes: sortMembers differs from slices.SortFunc", n)
		}
	}
}

// Two groups share a displayName and the spec maps both, by groupId: each
// is named with its id, in the configuration changes and as a member's
// via, and the plan is the same every time it is computed (apply computes
// it again and compares).
func TestSharedDisplayNameIsDisambiguated(t *testing.T) {
	tn := newTenant(resolve.ModeStaged).
		user("u1", "ann@example.gov", true).
		group("g1", "staff", "u1").
		group("g2", "Staff", "u1").
		org("o-a", "alpha", map[string]int{"standard": 5, "premium": 5}).t
	s := loadSpec(t, "shared-name", specHead+`  mode: staged
organizations:
  - name: alpha
    seats: {standard: 5, premium: 5}
    mappings:
      - {groupId: g1, role: member, seatTier: standard}
      - {groupId: g2, role: admin, seatTier: premium}
`)
	var first *Plan
	for range 30 {
		p, err := Compute(s, tn, scenarioNow)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = p
			continue
		}
		if diff := cmp.Diff(first.ConfigChanges, p.ConfigChanges); diff != "" {
			t.Fatalf("the configuration changes differ from one computation to the next (-first +now):\n%s", diff)
		}
	}
	want := []string{"alpha mapping Staff (g2):  -> admin/premium", "alpha mapping staff (g1):  -> member/standard"}
	if diff := cmp.Diff(want, briefConfig(first)); diff != "" {
		t.Errorf("config changes (-want +got):\n%s", diff)
	}
	if len(first.Members) != 1 || first.Members[0].Via != "Staff (g2)" || first.Members[0].ViaTier != "" {
		t.Errorf("member changes %+v, want ann added via Staff (g2)", first.Members)
	}
}

// Orgs are named by the one name rule in the fingerprint and the
// predictions, as everywhere in the plan: a Kelvin-sign K-office and a
// k-office stay two names, and İzmir is not lower-cased into i̇zmir.
func TestFingerprintAndPredictionNameOrgsByTheNameRule(t *testing.T) {
	tn := newTenant(resolve.ModeStaged).
		org("o1", "\u212a-office", nil).org("o2", "k-office", nil).org("o3", "İzmir", nil).t
	var names []string
	for _, o := range FingerprintOf(tn).Orgs {
		names = append(names, o.Name)
	}
	want := []string{match.Name("example-agency"), match.Name("\u212a-office"), match.Name("k-office"), match.Name("İzmir")}
	slices.Sort(want)
	if diff := cmp.Diff(want, names); diff != "" || len(slices.Compact(slices.Clone(names))) != 4 {
		t.Errorf("fingerprint org names (-want +got):\n%s", diff)
	}
	if got := PredictMembers("o3", "İzmir", nil).Org; got != match.Name("İzmir") {
		t.Errorf("prediction names İzmir %q, want %q", got, match.Name("İzmir"))
	}
}
