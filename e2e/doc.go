// Package e2e holds scimsync's end-to-end reliability and security suite
// (issue 9). It has no code of its own: its tests drive the real pipeline —
// the scimsync binary, or tenant → diff → apply through their Go APIs —
// against the reference server of package scimtest with its faults turned
// on, and check the guarantees listed in RELIABILITY.md at the repository
// root:
//
//   - a plan is computed from a complete read or not at all: under every
//     fault the reference server can inject, plan either gives the plan the
//     fault-free server gives or fails with a typed error (exit 1);
//   - an apply cut off by a fault leaves a journal that says what was done;
//   - strings from a hostile server cannot drive the terminal or inject
//     Markdown;
//   - a saved plan edited after it was written is refused;
//   - the token and the webhook URL are written nowhere;
//   - TLS is verified, and the token never follows a redirect to another
//     host.
package e2e
