package agent

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// driftKinds are the kind label values of scimsync_drift, each exported for
// every org so that an alert can tell "no drift" from "no data".
var driftKinds = []string{KindConfig, KindAdd, KindChange, KindRemove, KindFlag, KindPolicy}

// Drift kinds.
const (
	KindConfig = "config" // configuration changes: mode, mappings, seats, exceptions
	KindAdd    = "add"    // members to add
	KindChange = "change" // members re-roled or re-tiered
	KindRemove = "remove" // members to remove
	KindFlag   = "flag"   // flagged members: overcommit, policy
	KindPolicy = "policy" // error-level findings: a pending problem even with nothing to write
)

// metrics is the agent's own registry and collectors.
type metrics struct {
	reg          *prometheus.Registry
	runs         *prometheus.CounterVec
	duration     prometheus.Histogram
	drift        *prometheus.GaugeVec
	wouldRemove  *prometheus.GaugeVec
	members      *prometheus.GaugeVec
	seatsUsed    *prometheus.GaugeVec
	seatsBought  *prometheus.GaugeVec
	lastSuccess  prometheus.Gauge
	lastRun      prometheus.Gauge
	driftPresent prometheus.Gauge
	// expiring counts exceptions about to lapse, by org.
	expiring *prometheus.GaugeVec
	// mode is 1 for the parent's provisioning mode after the last plan.
	mode *prometheus.GaugeVec
	// autoApplyStopped is 1 when --auto-apply stopped (another writer).
	autoApplyStopped prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimsync_runs_total",
			Help: "Agent runs by result: in_sync, drift, applied, awaiting_approval, invalid_spec, failed.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scimsync_run_duration_seconds",
			Help:    "Duration of agent runs (git pull, spec load, tenant read, plan and any apply).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
		drift: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scimsync_drift",
			Help: "Changes the last plan found, by org and kind (config, add, change, remove, flag); 0 when in sync.",
		}, []string{"org", "kind"}),
		wouldRemove: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scimsync_would_remove",
			Help: "Members the last plan says would be removed if SCIM mode full were switched on now, by org.",
		}, []string{"org"}),
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scimsync_members",
			Help: "Current members by org, role and seat tier, as last read.",
		}, []string{"org", "role", "tier"}),
		seatsUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scimsync_seats_used",
			Help: "Seats in use now by org and tier, as last read.",
		}, []string{"org", "tier"}),
		seatsBought: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scimsync_seats_purchased",
			Help: "Seats purchased by org and tier, per the spec.",
		}, []string{"org", "tier"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimsync_last_success_timestamp_seconds",
			Help: "Unix time at which the last successful run finished.",
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimsync_last_run_timestamp_seconds",
			Help: "Unix time at which the last run finished, whatever its result.",
		}),
		driftPresent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimsync_drift_detected",
			Help: "1 when the last successful plan had changes pending, else 0.",
		}),
		expiring: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scimsync_exceptions_expiring",
			Help: "Exceptions within policy.exceptionNoticeDays of lapsing, by org, per the last plan (a lapsed one is a pending removal: scimsync_drift{kind=\"remove\"}).",
		}, []string{"org"}),
		mode: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scimsync_mode",
			Help: "1 for the parent's SCIM provisioning mode (jit, staged, full) the last plan leaves, 0 for the others.",
		}, []string{"mode"}),
		autoApplyStopped: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimsync_auto_apply_stopped",
			Help: "1 when --auto-apply stopped because another writer keeps undoing the agent's writes, else 0.",
		}),
	}
	m.reg.MustRegister(m.runs, m.duration, m.drift, m.wouldRemove, m.members,
		m.seatsUsed, m.seatsBought, m.lastSuccess, m.lastRun, m.driftPresent,
		m.expiring, m.mode, m.autoApplyStopped,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range allResults {
		m.runs.WithLabelValues(string(r))
	}
	return m
}

// observeRun counts a finished run.
func (m *metrics) observeRun(r *Run) {
	m.runs.WithLabelValues(string(r.Result)).Inc()
	m.duration.Observe(r.Duration.Seconds())
	m.lastRun.Set(float64(r.Finished.UnixNano()) / 1e9)
	if r.Result.Succeeded() {
		m.lastSuccess.Set(float64(r.Finished.UnixNano()) / 1e9)
	}
}

// setReport replaces every per-org gauge with rep's values. The vectors are
// reset first, so an org that left the spec or the tenant does not linger.
func (m *metrics) setReport(rep *report) {
	m.drift.Reset()
	m.wouldRemove.Reset()
	m.members.Reset()
	m.seatsUsed.Reset()
	m.seatsBought.Reset()
	m.expiring.Reset()
	for _, mode := range []string{"jit", "staged", "full"} {
		m.mode.WithLabelValues(mode).Set(boolGauge(rep.Mode.After == mode))
	}
	if rep.Drift() {
		m.driftPresent.Set(1)
	} else {
		m.driftPresent.Set(0)
	}
	for _, o := range rep.Orgs {
		for _, k := range driftKinds {
			m.drift.WithLabelValues(o.Org, k).Set(float64(o.Drift[k]))
		}
		m.expiring.WithLabelValues(o.Org).Set(float64(len(o.Expiring)))
		if o.HasReadiness {
			m.wouldRemove.WithLabelValues(o.Org).Set(float64(len(o.WouldRemove)))
		}
		for _, c := range o.MembersByRole {
			m.members.WithLabelValues(o.Org, c.Role, c.Tier).Set(float64(c.Count))
		}
		for _, s := range o.Seats {
			m.seatsUsed.WithLabelValues(o.Org, s.Tier).Set(float64(s.Used))
			m.seatsBought.WithLabelValues(o.Org, s.Tier).Set(float64(s.Purchased))
		}
	}
}
