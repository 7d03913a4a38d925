package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/scimsync/scimsync/diff"
	"github.com/scimsync/scimsync/internal/match"
)

// EventAutoApplyStopped: --auto-apply stopped because another writer keeps
// undoing the agent's writes (DESIGN §8).
const EventAutoApplyStopped EventKind = "auto_apply_stopped"

// fightUndos is how many undos in a row of one org's configuration stop
// auto-apply.
const fightUndos = 2

// fightDetector notices an --auto-apply agent fighting another writer
// (issue 14 #10): a person applies an older spec, the agent puts its own
// back, the person applies again, for ever. It remembers, per org, the
// version its own write left (read back by the re-plan after the apply).
// When a later plan must write that org again and the version observed is
// not the one the agent left, someone else wrote in between: an undo.
// After fightUndos undos in a row for one org, auto-apply stops until the
// spec changes; detection, /status, /metrics and the webhook go on.
// (A write landing between the agent's apply and its re-plan leaves the
// re-plan with the same changes pending, and the appliedKey rule then
// leaves the next plan to a person.)
type fightDetector struct {
	mu sync.Mutex
	// left is the version each org held right after the agent's last
	// write to it, by orgKey.
	left map[string]string
	// undos counts undos in a row, by org.
	undos map[string]int
	// stopped says why auto-apply stopped; "" while it runs.
	stopped string
	// stoppedSpec is the spec hash auto-apply stopped under.
	stoppedSpec string
}

func (f *fightDetector) stoppedReason() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped
}

// check is called before an automatic apply of p, computed from the spec
// with hash specHash. It returns why the agent must not apply ("" when it
// may) and, the first time it stops, the reason it newly stopped for.
func (f *fightDetector) check(specHash string, p *diff.Plan) (reason string, newly bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped != "" {
		if specHash == f.stoppedSpec {
			return f.stopped, false
		}
		// A new spec is a person's new intention: try again, afresh.
		f.stopped, f.stoppedSpec = "", ""
		f.left, f.undos = nil, nil
	}
	type write struct{ name, version string }
	writes := map[string]write{}
	for _, w := range p.Writes {
		writes[orgKey(w.OrgID, w.Org)] = write{w.Org, w.Version}
	}
	for org := range f.undos {
		if _, again := writes[org]; !again {
			delete(f.undos, org) // not written again: the streak ends
		}
	}
	var fought []string
	for org, w := range writes {
		observed := w.version
		left, ok := f.left[org]
		if !ok {
			continue
		}
		if observed == left {
			delete(f.undos, org)
			continue
		}
		if f.undos == nil {
			f.undos = map[string]int{}
		}
		f.undos[org]++
		if f.undos[org] >= fightUndos {
			fought = append(fought, fmt.Sprintf("%s (its write left version %s, found %s)", w.name, left, observed))
		}
	}
	if len(fought) == 0 {
		return "", false
	}
	slices.Sort(fought)
	f.stopped = fmt.Sprintf("another writer undid the agent's writes %d times in a row: %s; auto-apply stopped until the spec changes or the agent restarts",
		fightUndos, strings.Join(fought, ", "))
	f.stoppedSpec = specHash
	return f.stopped, true
}

// wrote records the versions the agent's apply of p left, as the re-plan
// after observed them.
func (f *fightDetector) wrote(p, after *diff.Plan) {
	f.mu.Lock()
	defer f.mu.Unlock()
	versions := map[string]string{}
	for _, o := range after.Fingerprint.Orgs {
		versions[orgKey(o.ID, o.Name)] = o.Version
	}
	if f.left == nil {
		f.left = map[string]string{}
	}
	for _, w := range p.Writes {
		org := orgKey(w.OrgID, w.Org)
		if v, ok := versions[org]; ok {
			f.left[org] = v
		} else {
			delete(f.left, org)
		}
	}
}

// orgKey is how the detector tells orgs apart: by id, which every plan
// read from a server carries, else by the shared name rule (match.Name).
// Never by strings.ToLower: two orgs whose names differ only by a
// look-alike character (a Kelvin sign K and a k) are two orgs.
func orgKey(id, name string) string {
	if id != "" {
		return "id:" + id
	}
	return "name:" + match.Name(name)
}

// fightCheck is the agent's side of check: it returns the reason to leave
// the plan to a person, and alerts (metric and webhook) when auto-apply
// newly stops.
func (a *Agent) fightCheck(ctx context.Context, run *Run, p *diff.Plan) string {
	reason, newly := a.fights.check(run.SpecHash, p)
	a.metrics.autoApplyStopped.Set(boolGauge(reason != ""))
	if !newly {
		return reason
	}
	a.log.Error("auto-apply stopped: another writer keeps undoing the agent's writes", "reason", reason)
	a.mu.Lock()
	ev := Event{Kind: EventAutoApplyStopped, Tenant: a.tenant, Time: a.clock(),
		Text:  fmt.Sprintf("scimsync: auto-apply for %s stopped: %s. The agent keeps detecting drift; a person must settle which writer is right.", a.tenantName(), reason),
		Error: reason}
	a.mu.Unlock()
	a.send(ctx, ev)
	return reason
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
