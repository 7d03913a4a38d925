package diff

import (
	"strconv"
	"testing"
	"time"

	"github.com/scimsync/scimsync/resolve"
	"github.com/scimsync/scimsync/spec"
	"github.com/scimsync/scimsync/tenant"
)

// tb builds a tenant in Go: a parent named example-agency with tiers
// standard < premium.
type tb struct {
	t *tenant.Tenant
	n int
}

func newTenant(mode resolve.Mode) *tb {
	return &tb{t: &tenant.Tenant{
		Parent: resolve.Org{ID: "p", Name: "example-agency", Version: `W/"p1"`, Mode: mode,
			LoginDomains: []string{"example.gov"}, SeatTiers: []string{"standard", "premium"}},
	}}
}

func (b *tb) user(id, userName string, active bool, emails ...string) *tb {
	b.t.Users = append(b.t.Users, resolve.User{ID: id, UserName: userName, Emails: emails, Active: active})
	return b
}

func (b *tb) group(id, name string, members ...string) *tb {
	b.t.Groups = append(b.t.Groups, resolve.Group{ID: id, DisplayName: name, Members: members})
	return b
}

func (b *tb) org(id, name string, seats map[string]int, mappings ...resolve.Mapping) *tb {
	b.t.Orgs = append(b.t.Orgs, resolve.Org{ID: id, Name: name, Parent: "p", Version: `W/"` + id + `1"`, Seats: seats, Mappings: mappings})
	return b
}

func (b *tb) exception(org, email, until, reason string) *tb {
	for i := range b.t.Orgs {
		if b.t.Orgs[i].ID == org {
			b.t.Orgs[i].Exceptions = append(b.t.Orgs[i].Exceptions, resolve.Exception{Email: email, Until: until, Reason: reason})
		}
	}
	return b
}

func (b *tb) member(org, email string, role resolve.Role, tier string, origin resolve.Origin, userID string) *tb {
	b.n++
	b.t.Members = append(b.t.Members, resolve.Member{ID: "m" + strconv.Itoa(b.n), Org: org, Email: email, Role: role, SeatTier: tier, Origin: origin, UserID: userID})
	return b
}

func mp(gid string, role resolve.Role, tier string) resolve.Mapping {
	return resolve.Mapping{GroupID: gid, Role: role, SeatTier: tier}
}

const (
	member = resolve.RoleMember
	admin  = resolve.RoleAdmin
	owner  = resolve.RoleOwner
	po     = resolve.RolePrimaryOwner
	scimO  = resolve.OriginSCIM
	jitO   = resolve.OriginJIT
	manO   = resolve.OriginManual
)

// scenarioNow is the instant every scenario is planned at.
var scenarioNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

type scenario struct {
	name   string
	spec   string // YAML
	tenant *tenant.Tenant
	// mutate, when set, changes the loaded spec: for specs Load would
	// refuse but a caller could still build.
	mutate func(*spec.Spec)
	// Expectations, checked by TestScenarios besides the goldens.
	exit    Verdict
	members []string      // brief(p) member lines
	config  []string      // brief config lines
	kinds   []FindingKind // finding kinds, in plan order
	ready   map[string][]string
}

const specHead = `version: 1
target: {file: tenant.json}
parent:
  name: example-agency
  loginDomains: [example.gov]
  seatTiers: [standard, premium]
`

func scenarios() []scenario {
	return []scenario{
		{
			name: "jit-to-full",
			spec: specHead + `  mode: full
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
`,
			tenant: newTenant(resolve.ModeJIT).
				user("u1", "alice@example.gov", true).
				user("u2", "carol@example.gov", true).
				user("u3", "dave@example.gov", true).
				group("g-users", "claude-hq-users", "u1", "u3").
				org("o-hq", "HQ", map[string]int{"standard": 10}, mp("g-users", member, "standard")).
				member("o-hq", "alice@example.gov", member, "standard", jitO, "").
				member("o-hq", "bob@example.gov", member, "standard", jitO, "").
				member("o-hq", "carol@example.gov", member, "standard", manO, "").
				member("o-hq", "po@example.gov", po, "standard", jitO, "").t,
			exit: VerdictDangerous,
			config: []string{
				"example-agency mode: jit -> full",
			},
			members: []string{
				"hq = alice@example.gov member/standard/jit -> member/standard/scim via claude-hq-users",
				"hq - bob@example.gov member/standard/jit -> : not provisioned via SCIM",
				"hq - carol@example.gov member/standard/manual -> : in no mapped group of this org",
				"hq + dave@example.gov -> member/standard/scim via claude-hq-users",
			},
			kinds: []FindingKind{FindingMaxRemovalPercent},
			ready: map[string][]string{"hq": {"bob@example.gov: not provisioned via SCIM", "carol@example.gov: in no mapped group of this org"}},
		},
		{
			name: "staged-inactive-user",
			// The IdP deactivated eve since the server last recomputed (a
			// snapshot can show that): the seat change makes the server
			// recompute, which removes her. gina's SCIM user is inactive too,
			// but she joined by SSO: staged keeps her, full would not.
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 12}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  maxRemovalPercent: 50
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				user("u2", "eve@example.gov", false).
				user("u3", "gina@example.gov", false).
				group("g-users", "claude-hq-users", "u1", "u2", "u3").
				org("o-hq", "hq", map[string]int{"standard": 10}, mp("g-users", member, "standard")).
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "eve@example.gov", member, "standard", scimO, "u2").
				member("o-hq", "frank@example.gov", member, "standard", jitO, "").
				member("o-hq", "gina@example.gov", member, "standard", jitO, "").t,
			exit: VerdictDangerous,
			config: []string{
				"hq seats standard: 10 -> 12",
			},
			members: []string{
				"hq - eve@example.gov member/standard/scim -> : SCIM user inactive",
			},
			ready: map[string][]string{"hq": {"eve@example.gov: SCIM user inactive", "frank@example.gov: not provisioned via SCIM", "gina@example.gov: SCIM user inactive"}},
		},
		{
			name: "case-variant-emails",
			spec: specHead + `  mode: staged
organizations:
  - name: HQ
    seats: {standard: 10}
    mappings:
      - {group: CLAUDE-HQ-USERS, role: member, seatTier: standard}
policy:
  exceptions:
    - {email: CONTRACTOR@Example.GOV, org: hq, until: 2026-12-31, reason: badge pending}
`,
			tenant: newTenant(resolve.ModeJIT).
				user("u1", "Alice.Smith@Example.GOV", true, "alice.smith@example.gov").
				user("u2", "BOB@example.gov", true).
				group("g-users", "claude-hq-users", "u1", "u2").
				org("o-hq", "hq", map[string]int{"standard": 10}, mp("g-users", member, "standard")).
				member("o-hq", "alice.smith@EXAMPLE.gov ", member, "standard", jitO, "").
				member("o-hq", "Bob@Example.gov", member, "standard", manO, "").
				member("o-hq", "contractor@example.gov", member, "standard", jitO, "").t,
			exit: VerdictChanges,
			config: []string{
				"example-agency mode: jit -> staged",
				"hq exception contractor@example.gov:  -> until 2026-12-31 (badge pending)",
			},
			members: []string{
				"hq = alice.smith@example.gov member/standard/jit -> member/standard/scim via claude-hq-users",
				"hq = bob@example.gov member/standard/manual -> member/standard/scim via claude-hq-users",
			},
			ready: map[string][]string{"hq": nil},
		},
		{
			name: "nested-groups-cycle",
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				user("u2", "bob@example.gov", true).
				user("u3", "carol@example.gov", true).
				group("g-a", "claude-hq-users", "u1", "g-b").
				group("g-b", "claude-hq-contractors", "u2", "g-c").
				group("g-c", "claude-hq-interns", "u3", "g-a").
				org("o-hq", "hq", map[string]int{"standard": 10}).t,
			exit: VerdictChanges,
			config: []string{
				"hq mapping claude-hq-users:  -> member/standard",
			},
			members: []string{
				"hq + alice@example.gov -> member/standard/scim via claude-hq-users",
				"hq + bob@example.gov -> member/standard/scim via claude-hq-users",
				"hq + carol@example.gov -> member/standard/scim via claude-hq-users",
			},
			ready: map[string][]string{"hq": nil},
		},
		{
			name: "primary-owner-in-no-group",
			spec: specHead + `  mode: full
organizations:
  - name: hq
    seats: {standard: 10, premium: 1}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  maxRemovalPercent: 50
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				user("u9", "chief@example.gov", true).
				group("g-users", "claude-hq-users", "u1").
				org("o-hq", "hq", map[string]int{"standard": 10, "premium": 1}, mp("g-users", member, "standard")).
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "chief@example.gov", po, "premium", manO, "").
				member("o-hq", "temp@example.gov", member, "standard", jitO, "").t,
			exit: VerdictDangerous,
			config: []string{
				"example-agency mode: staged -> full",
			},
			members: []string{
				"hq - temp@example.gov member/standard/jit -> : not provisioned via SCIM",
			},
			ready: map[string][]string{"hq": {"temp@example.gov: not provisioned via SCIM"}},
		},
		{
			name: "expired-exception",
			spec: specHead + `  mode: full
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  maxRemovalPercent: 50
  exceptions:
    - {email: old@example.gov, org: hq, until: 2026-03-14, reason: contract ended}
    - {email: live@example.gov, org: hq, until: 2026-03-15, reason: last day}
`,
			tenant: newTenant(resolve.ModeFull).
				user("u1", "alice@example.gov", true).
				group("g-users", "claude-hq-users", "u1").
				org("o-hq", "hq", map[string]int{"standard": 10}, mp("g-users", member, "standard")).
				exception("o-hq", "live@example.gov", "2026-03-15", "last day").
				exception("o-hq", "old@example.gov", "2026-12-31", "contract").
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "live@example.gov", admin, "premium", manO, "").
				member("o-hq", "old@example.gov", member, "standard", jitO, "").t,
			exit: VerdictDangerous,
			config: []string{
				// The spec's exception has lapsed: the plan writes hq's
				// exceptions without it (issue 15).
				"hq exception old@example.gov: until 2026-12-31 (contract) -> ",
			},
			members: []string{
				"hq - old@example.gov member/standard/jit -> : exception expired",
			},
			ready: map[string][]string{"hq": {"old@example.gov: exception expired"}},
		},
		{
			name: "lapse-in-full",
			// hq is already in full and nothing else changes, but old's
			// exception ended yesterday (until is inclusive): the server,
			// which recomputes members only after a write, still holds him.
			// The plan writes hq's exceptions without the lapsed one and
			// predicts his removal (issue 15).
			spec: specHead + `  mode: full
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  maxRemovalPercent: 50
  exceptions:
    - {email: old@example.gov, org: hq, until: 2026-03-14, reason: contract ended}
    - {email: live@example.gov, org: hq, until: 2026-03-15, reason: last day}
`,
			tenant: newTenant(resolve.ModeFull).
				user("u1", "alice@example.gov", true).
				group("g-users", "claude-hq-users", "u1").
				org("o-hq", "hq", map[string]int{"standard": 10}, mp("g-users", member, "standard")).
				exception("o-hq", "live@example.gov", "2026-03-15", "last day").
				exception("o-hq", "old@example.gov", "2026-03-14", "contract ended").
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "live@example.gov", admin, "premium", manO, "").
				member("o-hq", "old@example.gov", member, "standard", jitO, "").t,
			exit: VerdictDangerous,
			config: []string{
				"hq exception old@example.gov: until 2026-03-14 (contract ended) -> ",
			},
			members: []string{
				"hq - old@example.gov member/standard/jit -> : exception expired",
			},
			ready: map[string][]string{"hq": {"old@example.gov: exception expired"}},
		},
		{
			name: "lapse-in-staged",
			// The desired exceptions drop a lapsed one in every mode
			// (docs/DECISIONS.md): in staged mode the write removes nobody,
			// since exceptions keep nobody there, and the plan is a
			// configuration change (exit 2). Readiness, which plays the same
			// writes in full mode, names the lapse.
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  exceptions:
    - {email: old@example.gov, org: hq, until: 2026-03-14, reason: contract ended}
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				group("g-users", "claude-hq-users", "u1").
				org("o-hq", "hq", map[string]int{"standard": 10}, mp("g-users", member, "standard")).
				exception("o-hq", "old@example.gov", "2026-03-14", "contract ended").
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "old@example.gov", member, "standard", jitO, "").t,
			exit: VerdictChanges,
			config: []string{
				"hq exception old@example.gov: until 2026-03-14 (contract ended) -> ",
			},
			ready: map[string][]string{"hq": {"old@example.gov: exception expired"}},
		},
		{
			name: "lapse-held-only-on-the-server",
			// The spec no longer lists old's exception; the server still
			// holds it, lapsed. The removal's reason is the lapse, whichever
			// side holds the exception (DESIGN §5).
			spec: specHead + `  mode: full
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  maxRemovalPercent: 50
`,
			tenant: newTenant(resolve.ModeFull).
				user("u1", "alice@example.gov", true).
				group("g-users", "claude-hq-users", "u1").
				org("o-hq", "hq", map[string]int{"standard": 10}, mp("g-users", member, "standard")).
				exception("o-hq", "old@example.gov", "2026-03-14", "contract ended").
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "old@example.gov", member, "standard", jitO, "").t,
			exit: VerdictDangerous,
			config: []string{
				"hq exception old@example.gov: until 2026-03-14 (contract ended) -> ",
			},
			members: []string{
				"hq - old@example.gov member/standard/jit -> : exception expired",
			},
			ready: map[string][]string{"hq": {"old@example.gov: exception expired"}},
		},
		{
			name: "lapse-held-only-in-the-spec",
			// Switching to full with nothing to write to hq: the spec still
			// lists old's exception, lapsed, and the server never held it.
			// The plan writes nothing for it (the desired exceptions drop
			// it), and the removal's reason is still the lapse.
			spec: specHead + `  mode: full
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  maxRemovalPercent: 50
  exceptions:
    - {email: old@example.gov, org: hq, until: 2026-03-14, reason: contract ended}
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				group("g-users", "claude-hq-users", "u1").
				org("o-hq", "hq", map[string]int{"standard": 10}, mp("g-users", member, "standard")).
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "old@example.gov", member, "standard", jitO, "").t,
			exit: VerdictDangerous,
			config: []string{
				"example-agency mode: staged -> full",
			},
			members: []string{
				"hq - old@example.gov member/standard/jit -> : exception expired",
			},
			ready: map[string][]string{"hq": {"old@example.gov: exception expired"}},
		},
		{
			name: "exclusive-orgs",
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
  - name: regional-west
    seats: {standard: 10}
    mappings:
      - {group: claude-west-users, role: member, seatTier: standard}
policy:
  exclusiveOrgs: true
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				user("u2", "bob@example.gov", true).
				user("u3", "carol@example.gov", true).
				group("g-hq", "claude-hq-users", "u1", "u2").
				group("g-west", "claude-west-users", "u2", "u3").
				org("o-hq", "hq", map[string]int{"standard": 10}, mp("g-hq", member, "standard")).
				org("o-west", "regional-west", map[string]int{"standard": 10}).
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "bob@example.gov", member, "standard", scimO, "u2").t,
			exit: VerdictDangerous,
			config: []string{
				"regional-west mapping claude-west-users:  -> member/standard",
			},
			members: []string{
				"hq ! bob@example.gov -> : entitled in hq, regional-west under policy.exclusiveOrgs",
				"regional-west + bob@example.gov -> member/standard/scim via claude-west-users",
				"regional-west ! bob@example.gov -> : entitled in hq, regional-west under policy.exclusiveOrgs",
				"regional-west + carol@example.gov -> member/standard/scim via claude-west-users",
			},
			kinds: []FindingKind{FindingExclusiveOrgs},
			ready: map[string][]string{"hq": nil, "regional-west": nil},
		},
		{
			name: "overcommit",
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 10, premium: 1}
    mappings:
      - {group: claude-hq-it-admins, role: owner, seatTier: premium}
      - {group: claude-hq-users, role: member, seatTier: standard}
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				user("u2", "bob@example.gov", true).
				user("u3", "carol@example.gov", true).
				group("g-admins", "claude-hq-it-admins", "u1", "u2").
				group("g-users", "claude-hq-users", "u1", "u2", "u3").
				org("o-hq", "hq", map[string]int{"standard": 10, "premium": 2}, mp("g-admins", owner, "premium"), mp("g-users", member, "standard")).
				member("o-hq", "alice@example.gov", owner, "premium", scimO, "u1").
				member("o-hq", "bob@example.gov", owner, "premium", scimO, "u2").
				member("o-hq", "carol@example.gov", member, "standard", scimO, "u3").t,
			exit: VerdictDangerous,
			config: []string{
				"hq seats premium: 2 -> 1",
			},
			kinds: []FindingKind{FindingOvercommit},
			ready: map[string][]string{"hq": nil},
		},
		{
			name: "role-upgrade",
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 10, premium: 5}
    mappings:
      - {group: claude-hq-it-admins, role: admin, seatTier: premium}
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  ownerGroups: [claude-hq-it-admins]
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				user("u2", "bob@example.gov", true).
				group("g-admins", "claude-hq-it-admins", "u1").
				group("g-users", "claude-hq-users", "u1", "u2").
				org("o-hq", "hq", map[string]int{"standard": 10, "premium": 5}, mp("g-users", member, "standard")).
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "bob@example.gov", member, "standard", scimO, "u2").t,
			exit: VerdictChanges,
			config: []string{
				"hq mapping claude-hq-it-admins:  -> admin/premium",
			},
			members: []string{
				"hq ~ alice@example.gov member/standard/scim -> admin/premium/scim via claude-hq-it-admins",
			},
			ready: map[string][]string{"hq": nil},
		},
		{
			name: "owner-from-outside-group",
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 10, premium: 5}
    mappings:
      - {group: claude-hq-it-admins, role: owner, seatTier: premium}
      - {group: claude-hq-helpdesk, role: admin, seatTier: standard}
policy:
  ownerGroups: [claude-hq-it-admins, claude-hq-helpdesk]
`,
			// Load refuses a mapping granting admin from a group outside
			// ownerGroups; the plan must flag it all the same.
			mutate: func(s *spec.Spec) { s.Policy.OwnerGroups = []string{"claude-hq-it-admins"} },
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				user("u2", "bob@example.gov", true).
				group("g-admins", "claude-hq-it-admins", "u1").
				group("g-help", "claude-hq-helpdesk", "u1", "u2").
				org("o-hq", "hq", map[string]int{"standard": 10, "premium": 5}, mp("g-admins", owner, "premium")).
				member("o-hq", "alice@example.gov", owner, "premium", scimO, "u1").t,
			exit: VerdictDangerous,
			config: []string{
				"hq mapping claude-hq-helpdesk:  -> admin/standard",
			},
			members: []string{
				"hq + bob@example.gov -> admin/standard/scim via claude-hq-helpdesk",
				"hq ! bob@example.gov -> : admin from claude-hq-helpdesk, which is not in policy.ownerGroups",
			},
			kinds: []FindingKind{FindingOwnerGroups},
			ready: map[string][]string{"hq": nil},
		},
		{
			name: "order-of-writes",
			// Going staged → full, apply writes hq's mappings first and
			// switches the mode last. The first write makes the server, still
			// staged, drop xavier (a SCIM member no longer in a mapped group)
			// before his new exception could keep him under full: the plan
			// predicts what the server will do, not what the final
			// configuration alone would suggest.
			spec: specHead + `  mode: full
organizations:
  - name: hq
    seats: {standard: 10}
    mappings:
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  maxRemovalPercent: 50
  exceptions:
    - {email: xavier@example.gov, org: hq, until: 2026-12-31, reason: moving teams}
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				user("u2", "xavier@example.gov", true).
				group("g-users", "claude-hq-users", "u1").
				group("g-old", "claude-hq-legacy", "u2").
				org("o-hq", "hq", map[string]int{"standard": 10}, mp("g-users", member, "standard"), mp("g-old", member, "standard")).
				member("o-hq", "alice@example.gov", member, "standard", scimO, "u1").
				member("o-hq", "xavier@example.gov", member, "standard", scimO, "u2").t,
			exit: VerdictDangerous,
			config: []string{
				"example-agency mode: staged -> full",
				"hq mapping claude-hq-legacy: member/standard -> ",
				"hq exception xavier@example.gov:  -> until 2026-12-31 (moving teams)",
			},
			members: []string{
				"hq - xavier@example.gov member/standard/scim -> : in no mapped group of this org",
			},
			ready: map[string][]string{"hq": {"xavier@example.gov: in no mapped group of this org"}},
		},
		{
			name: "no-changes",
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 10, premium: 5}
    mappings:
      - {group: claude-hq-it-admins, role: owner, seatTier: premium}
      - {group: claude-hq-users, role: member, seatTier: standard}
policy:
  exceptions:
    - {email: contractor@example.gov, org: hq, until: 2027-06-30, reason: badge pending}
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "alice@example.gov", true).
				user("u2", "bob@example.gov", true).
				group("g-admins", "claude-hq-it-admins", "u1").
				group("g-users", "claude-hq-users", "u1", "u2").
				org("o-hq", "hq", map[string]int{"standard": 10, "premium": 5}, mp("g-users", member, "standard"), mp("g-admins", owner, "premium")).
				exception("o-hq", "contractor@example.gov", "2027-06-30", "badge pending").
				member("o-hq", "alice@example.gov", owner, "premium", scimO, "u1").
				member("o-hq", "bob@example.gov", member, "standard", scimO, "u2").
				member("o-hq", "contractor@example.gov", member, "standard", jitO, "").
				member("o-hq", "chief@example.gov", po, "premium", manO, "").t,
			exit:  VerdictNoChanges,
			ready: map[string][]string{"hq": nil},
		},
		{
			// bravo's exception lapsed yesterday on the server, which has
			// not recomputed bravo since; the spec renews it, but alpha is
			// written first, and the server recomputes every org after
			// each write: bravo, under the lapsed exception, loses the
			// contractor before the renewal arrives (an exception never
			// adds anyone). The plan must say so, and gate it.
			name: "lapsed-on-server-renewed-after-another-write",
			spec: specHead + `  mode: full
organizations:
  - name: alpha
    seats: {standard: 6}
    mappings:
      - {group: users, role: member, seatTier: standard}
  - name: bravo
    seats: {standard: 5}
policy:
  exceptions:
    - {email: contractor@example.gov, org: bravo, until: 2026-04-14, reason: badge renewed}
`,
			tenant: newTenant(resolve.ModeFull).
				user("u1", "ann@example.gov", true).
				group("g-users", "users", "u1").
				org("o-a", "alpha", map[string]int{"standard": 5}, mp("g-users", member, "standard")).
				org("o-b", "bravo", map[string]int{"standard": 5}).
				exception("o-b", "contractor@example.gov", "2026-03-14", "badge").
				member("o-a", "ann@example.gov", member, "standard", scimO, "u1").
				member("o-b", "contractor@example.gov", member, "standard", manO, "").t,
			exit: VerdictDangerous,
			config: []string{
				"alpha seats standard: 5 -> 6",
				"bravo exception contractor@example.gov: until 2026-03-14 (badge) -> until 2026-04-14 (badge renewed)",
			},
			members: []string{"bravo - contractor@example.gov member/standard/manual -> : exception expired"},
			kinds:   []FindingKind{FindingMaxRemovalPercent},
			ready:   map[string][]string{"alpha": nil, "bravo": {"contractor@example.gov: exception expired"}},
		},
		{
			// In jit SCIM entitles nobody (DESIGN §5): two users in a
			// mapped group are no overcommit of one purchased seat.
			name: "jit-seats-not-counted",
			spec: specHead + `  mode: jit
organizations:
  - name: hq
    seats: {standard: 1}
    mappings:
      - {group: users, role: member, seatTier: standard}
`,
			tenant: newTenant(resolve.ModeJIT).
				user("u1", "ann@example.gov", true).
				user("u2", "bob@example.gov", true).
				group("g-users", "users", "u1", "u2").
				org("o-hq", "hq", map[string]int{"standard": 1}, mp("g-users", member, "standard")).t,
			exit:  VerdictNoChanges,
			ready: map[string][]string{"hq": nil},
		},
		{
			// x@ is uA's userName and one of uB's emails; only uB is in a
			// mapped group, so the member is joined to uB, whose userName
			// is y@: the plan names the user it joins, since two hold the
			// address.
			name: "address-held-by-two-users",
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 5}
    mappings:
      - {group: users, role: member, seatTier: standard}
`,
			tenant: newTenant(resolve.ModeJIT).
				user("uA", "x@example.gov", true, "x@example.gov").
				user("uB", "y@example.gov", true, "y@example.gov", "x@example.gov").
				group("g1", "users", "uB").
				group("g0", "others", "uA").
				org("o-hq", "hq", map[string]int{"standard": 5}, mp("g1", member, "standard")).
				member("o-hq", "x@example.gov", admin, "premium", jitO, "").t,
			exit:    VerdictChanges,
			config:  []string{"example-agency mode: jit -> staged"},
			members: []string{"hq ~ x@example.gov admin/premium/jit -> member/standard/scim via users"},
			ready:   map[string][]string{"hq": nil},
		},
		{
			// The mapped group lists a user the server did not list, and
			// nests a team that lists another: they entitle nobody, and
			// the plan says so, as a warning, naming the group that lists
			// them. An unmapped group's unknown member is not its concern.
			name: "unresolved-group-members",
			spec: specHead + `  mode: staged
organizations:
  - name: hq
    seats: {standard: 5}
    mappings:
      - {group: users, role: member, seatTier: standard}
`,
			tenant: newTenant(resolve.ModeStaged).
				user("u1", "ann@example.gov", true).
				group("g-team", "team", "u-gone-2").
				group("g-users", "users", "u1", "u-gone-1", "g-team").
				group("g-other", "other", "u-gone-3").
				org("o-hq", "hq", map[string]int{"standard": 5}, mp("g-users", member, "standard")).
				member("o-hq", "ann@example.gov", member, "standard", scimO, "u1").t,
			exit:  VerdictNoChanges,
			kinds: []FindingKind{FindingUnresolvedMembers},
			ready: map[string][]string{"hq": nil},
		},
	}
}

func (sc scenario) load(t testing.TB) *spec.Spec {
	t.Helper()
	s := loadSpec(t, sc.name, sc.spec)
	if sc.mutate != nil {
		sc.mutate(s)
	}
	return s
}

func loadSpec(t testing.TB, name, yaml string) *spec.Spec {
	t.Helper()
	s, diags, err := spec.LoadBytes(name+".yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		t.Fatalf("spec %s:\n%v", name, diags.Errors())
	}
	return s
}
