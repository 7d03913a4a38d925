package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// scheduleParser accepts five-field cron expressions (minute hour dom month
// dow), descriptors (@hourly, @every 10m) and a CRON_TZ=<zone> or TZ=<zone>
// prefix.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSchedule parses a schedule as --schedule takes it.
func parseSchedule(s string) (cron.Schedule, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("parsing schedule: empty")
	}
	sched, err := scheduleParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("parsing schedule %q: %w", s, err)
	}
	// Next returns the zero time for an expression that never fires, such
	// as February 30th.
	if sched.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("parsing schedule %q: it never fires", s)
	}
	return sched, nil
}

// readyDeadline is when an agent whose last successful run ended at last
// stops being ready: two scheduled runs after it have had their chance
// (jitter and a run's duration included) without succeeding.
func readyDeadline(sched cron.Schedule, last time.Time, jitter, runTime time.Duration) time.Time {
	second := sched.Next(sched.Next(last))
	return second.Add(jitter + runTime)
}
