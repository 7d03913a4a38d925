// Package apply executes a saved plan (a *diff.Plan) against a tenant,
// safely: exactly the reviewed writes, in a fixed order, or nothing.
//
// # Dry run lives in the writer
//
// Every write goes through a Guard, a tenant.Writer that refuses every
// PATCH until it is armed. Run arms it only when the apply was confirmed
// (Options.Confirmed) and every precondition passed; no code path above it
// decides alone whether to write.
//
// # Preconditions
//
// Before the first write, Run re-reads the tenant and checks all of these,
// reporting every one that fails (a *RefusedError holding one typed error
// each):
//
//   - StaleError: the fresh read's fingerprint differs from the plan's (see
//     the journal, below, for a resumed apply);
//   - SpecChangedError: the spec given now does not hash to the plan's
//     spec_hash;
//   - TooManyRemovalsError: the plan removes more than policy.maxRemovals
//     in all or policy.maxRemovalPercent of one org's members, unless
//     --allow-removals gives the plan's exact removal count (a count that
//     does not match is refused whatever the limits);
//   - ProtectedUserError: a member in policy.protectedUsers would be
//     removed; nothing overrides it;
//   - EmptyGroupError: a mapped group holds no active user, or less than
//     half the users it held when planned, unless --allow-empty-groups
//     (not checked when the plan leaves the tenant in jit mode);
//   - SeatOvercommitError: a tier has more entitled users than seats;
//   - PolicyError: another error-level finding of the plan (ownerGroups,
//     exclusiveOrgs);
//   - ReadOnlyError: the target cannot be written (a members export).
//
// The removal, empty-group and policy refusals are gates (exit code 3 in
// the command); the others are errors (exit code 1).
//
// # Order
//
// Run executes the plan's steps (diff.Plan.Steps) exactly as they are, in
// their order: diff computes the order once (DESIGN §7), and the plan's
// simulation replays the same steps to predict the members. When the mode
// moves towards enforcement (jit → staged → full), the parent's other
// settings go first, then the child organizations' mappings, seats and
// exceptions, and the mode switch last. When it moves away (full → staged
// → jit), the parent's write, mode switch included, goes first. Otherwise
// the parent goes first. Each PATCH carries If-Match: the version the plan
// recorded for the organization's first step, the version the previous
// step returned for its second. A 412 stops the apply (a *WriteError matching
// scim.ErrPrecondition).
//
// # Journal
//
// A confirmed apply appends to a journal file (by default <plan>.journal,
// next to the plan), one JSON object per line, each line written and
// fsync'd before Run goes on:
//
//	{"time":"…","event":"begin","plan_hash":"9f…","pid":4242,"operator":"alice","steps":3}
//	{"time":"…","event":"step","plan_hash":"9f…","step":1,"org_id":"o-hq","org":"hq","ops_hash":"1c…","status":"started","if_match":"W/\"3\""}
//	{"time":"…","event":"step","plan_hash":"9f…","step":1,"org_id":"o-hq","org":"hq","ops_hash":"1c…","status":"done","if_match":"W/\"3\"","version":"W/\"4\""}
//	{"time":"…","event":"step","plan_hash":"9f…","step":2,…,"status":"failed","if_match":"W/\"7\"","error":"…"}
//	{"time":"…","event":"end","plan_hash":"9f…","result":"failed","error":"…"}
//
// event is begin, step or end. A step is started just before its PATCH is
// sent and done (with the version the server returned) or failed (with the
// error) after; a started step with neither was cut off mid-flight. A write
// whose answer was lost after it was sent (a dropped connection, a body cut
// off, a timeout) is unknown (with the error): like a step cut off, the
// server may or may not have applied it. ops_hash
// identifies the step's operations; result is one of the Result* values.
// Lines of other plans (other plan_hash values) may share the file.
//
// A line cut off by a crash or a full disk stays alone on its line: the
// next writer first ends it with a newline. The reader makes of it an
// EventTorn entry of unknown outcome (with the plan hash and step it still
// shows), never an error and never silently dropped; a whole entry that an
// older scimsync appended right after a torn one, on the same line, is
// read too. The journal is never opened through a symbolic link.
//
// A write answered with success but without a new version of the
// organization (no version, or the If-Match it was sent: a 200 carrying an
// error body) is an *UnconfirmedWriteError, of unknown outcome, not done.
//
// Re-running the same plan resumes. The fresh read then differs from the
// plan's fingerprint, and Run accepts the difference only when the journal
// accounts for all of it: every organization whose version moved is one
// that a done step of this plan wrote, at exactly the version the last such
// step returned, and the only other change is to members (the server's
// consequence of those writes, which the verification at the end checks
// against the plan's prediction). The done steps are skipped, the rest run
// with If-Match from the journal, and the apply converges. Anything else (a
// user, a group, another organization, a version no step returned, a step
// cut off mid-flight whose write landed) makes the plan stale.
//
// # Audit log
//
// Every Run opens the audit log (scimsync-audit.jsonl by default in the
// command) for appending before it reads or writes anything, and refuses
// with an *AuditLogError when it cannot: an apply must leave its trace.
// Just before the first write it appends a record whose result is
// "started" (who, when, target, plan hash, the steps); after the last it
// appends the result: time, operator, target, plan hash, spec hash, steps
// and result, refusals included. Each line is fsync'd. A started record
// with no result after it is an apply that was killed. Neither the
// journal nor the audit log has a field for a token, and the errors they
// quote come from the scim client, which redacts it. The audit log is never
// opened through a symbolic link.
//
// # Locking
//
// A snapshot file target is locked on the file itself: every write holds
// ".<name>.lock" beside it from the If-Match version check to the rename
// (tenant.SnapshotSource), so that of two applies with the same version —
// from two processes, plans saved anywhere — one writes and the other gets
// a 412, or finds the plan stale, having written nothing.
//
// On one machine, Run also holds a lock file (LockPath: keyed by the
// tenant's target, in the journal's directory) for the whole apply. It
// holds the holder's PID and host name. Where flock(2) exists the file is
// also flock'ed; the kernel releases that lock when its process dies, so a
// lock file left by a crashed apply is stale and is replaced (Report.StaleLock
// names the dead holder), while one held by a running apply fails with a
// *LockedError naming its PID. Elsewhere a lock naming this host and a PID
// that is no longer running is replaced. Lock files are made by package
// fsafe: created exclusively, never through a symbolic link, never
// truncated or rewritten; a link, or a file that is not a lock scimsync
// made, at the path is refused.
//
// Across machines no lock file is shared: the If-Match versions are the
// guard. Two applies of the same plan run their steps in the same order,
// each with the plan's version of the organization, so only one of them can
// write the first step: the other gets 412 and stops having written nothing
// (or, if it reads the tenant after the first write, finds the plan stale).
// Two different plans of the same tenant are separated the same way, one
// organization version at a time.
package apply
