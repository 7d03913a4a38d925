package agent

import "log/slog"

// cronLogger routes robfig/cron's logs to slog. Its routine messages
// (schedule, wake, run) go to debug; "skip" (a tick arriving while a run is
// still in flight) to info.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		l.log.Info("previous run still in flight; skipping this tick")
		return
	}
	l.log.Debug("cron: "+msg, kv...)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
