package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scimsync/scimsync/diff"
)

// Handler serves the agent's endpoints:
//
//	/healthz  200 while the process is up
//	/readyz   200 when a run succeeded within the last two scheduled
//	          intervals, 503 otherwise (also before the first run ends)
//	/status   the last run, drift, readiness for full enablement, the
//	          exceptions about to lapse and the last plan, as JSON
//	/metrics  Prometheus metrics (the agent's own registry)
//	/         the readiness page (HTML, no script; page.go), with /page.css
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ready, why := a.Ready()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(a.Status())
	})
	mux.HandleFunc("GET /{$}", a.servePage)
	mux.HandleFunc("GET /page.css", servePageCSS)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}

// Ready reports whether a run succeeded within the last two scheduled
// intervals (jitter and the last run's duration allowed for), and why.
func (a *Agent) Ready() (bool, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.readyLocked(a.clock())
}

func (a *Agent) readyLocked(now time.Time) (bool, string) {
	if a.lastOK == nil {
		if a.last != nil {
			return false, fmt.Sprintf("not ready: no successful run yet; last run %s", a.last.Result)
		}
		return false, "not ready: no run has finished yet"
	}
	slack := a.lastOK.Duration
	if a.last != nil {
		slack = max(slack, a.last.Duration)
	}
	deadline := readyDeadline(a.sched, a.lastOK.Finished, a.cfg.Jitter, slack)
	if now.After(deadline) {
		return false, fmt.Sprintf("not ready: last successful run finished at %s, two scheduled intervals ago; last run %s",
			a.lastOK.Finished.UTC().Format(time.RFC3339), a.last.Result)
	}
	return true, fmt.Sprintf("ready: last successful run finished at %s", a.lastOK.Finished.UTC().Format(time.RFC3339))
}

// Status is the document /status serves.
type Status struct {
	Tenant    string    `json:"tenant,omitempty"`
	Schedule  string    `json:"schedule"`
	AutoApply bool      `json:"auto_apply"`
	Webhook   bool      `json:"webhook_configured"`
	Started   time.Time `json:"agent_started"`
	Ready     bool      `json:"ready"`
	// ReadyReason is the /readyz text.
	ReadyReason string `json:"ready_reason"`
	// LastRun is the last finished run, whatever its result; nil before.
	LastRun *RunStatus `json:"last_run"`
	// LastSuccess is when the last successful run finished.
	LastSuccess         *time.Time `json:"last_success,omitempty"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	// Drift, Summary, SummaryLine, Orgs and Plan describe the last
	// successful plan; Drift is null before there is one.
	Drift       *bool       `json:"drift"`
	Summary     *Summary    `json:"summary,omitempty"`
	SummaryLine string      `json:"summary_line,omitempty"`
	Orgs        []OrgStatus `json:"orgs,omitempty"`
	// Expiring lists the exceptions within policy.exceptionNoticeDays of
	// lapsing, as the last plan does (by org, until, email): org, email,
	// until (YYYY-MM-DD, inclusive), days_left, reason, keeps_nobody (when
	// it keeps no member). Empty when none;
	// null before there is a plan.
	Expiring []diff.Expiring `json:"expiring"`
	// Plan is the last plan's JSON form (DESIGN §6).
	Plan json.RawMessage `json:"plan,omitempty"`
	// AutoApplyStopped says why --auto-apply stopped (another writer keeps
	// undoing its writes); absent while it runs.
	AutoApplyStopped string `json:"auto_apply_stopped,omitempty"`
}

// RunStatus is a Run with its duration in seconds.
type RunStatus struct {
	Run
	DurationSeconds float64 `json:"duration_seconds"`
}

// OrgStatus is one child org in /status: its drift by kind and its
// readiness for full enablement.
type OrgStatus struct {
	Org     string         `json:"org"`
	Changes map[string]int `json:"changes"`
	// Members counts current members, SCIMBacked those with origin scim.
	Members    int `json:"members"`
	SCIMBacked int `json:"scim_backed"`
	// ReadyForFull says whether switching to full now would remove nobody,
	// and WouldRemove who it would remove. Both are absent for an
	// organization the plan has no readiness for (the parent).
	ReadyForFull *bool         `json:"ready_for_full,omitempty"`
	WouldRemove  []WouldRemove `json:"would_remove,omitempty"`
}

// Status returns what /status serves.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := Status{
		Tenant:              a.tenant,
		Schedule:            a.cfg.Schedule,
		AutoApply:           a.cfg.Apply != nil,
		Webhook:             a.notify != nil,
		Started:             a.started,
		ConsecutiveFailures: a.failures,
	}
	st.Ready, st.ReadyReason = a.readyLocked(a.clock())
	st.AutoApplyStopped = a.fights.stoppedReason()
	if a.last != nil {
		st.LastRun = &RunStatus{Run: *a.last, DurationSeconds: a.last.Duration.Seconds()}
	}
	if a.lastOK != nil {
		t := a.lastOK.Finished
		st.LastSuccess = &t
	}
	if rep := a.rep; rep != nil {
		drift := rep.Drift()
		sum := rep.Summary
		st.Drift, st.Summary, st.SummaryLine, st.Plan = &drift, &sum, rep.Line, rep.Plan
		st.Expiring = rep.Expiring
		for _, o := range rep.Orgs {
			if !o.HasReadiness && o.Drift[KindConfig]+o.Drift[KindAdd]+o.Drift[KindChange]+o.Drift[KindRemove]+o.Drift[KindFlag]+o.Drift[KindPolicy] == 0 {
				continue
			}
			os := OrgStatus{
				Org:        o.Org,
				Changes:    o.Drift,
				Members:    o.Members,
				SCIMBacked: o.SCIMBacked,
			}
			if o.HasReadiness {
				ready := len(o.WouldRemove) == 0
				os.ReadyForFull, os.WouldRemove = &ready, o.WouldRemove
			}
			st.Orgs = append(st.Orgs, os)
		}
	}
	return st
}
