package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/scimsync/scimsync/internal/match"
)

// envVars are the environment variables scimsync reads, for `scimsync
// help`. A command's own usage may say more of each.
var envVars = []struct{ name, what string }{
	{"SCIMSYNC_TOKEN", "the SCIM bearer token, unless the spec's target names\nanother source (tokenEnv, tokenFile)"},
	{"SCIMSYNC_NOW", "pin the clock exceptions are judged against (RFC 3339\nor YYYY-MM-DD); a value that does not parse is an error"},
	{"SCIMSYNC_WEBHOOK_URL", "the agent's webhook URL, when no flag gives one"},
	{"SCIMSYNC_CPUPROFILE", "write a CPU profile of the run to this file, for\ngo tool pprof"},
	{"NO_COLOR", "set to any value to disable colour"},
	{"TERM", "dumb disables colour"},
	{"GODEBUG", "Go runtime settings; http2debug is refused, since it would\nprint the bearer token"},
}

// useColor reports whether output to w may be coloured: only on a
// terminal, never with NO_COLOR set or TERM=dumb.
func useColor(env *cmdEnv, w any) bool {
	return env.IsTTY(w) && env.Getenv("NO_COLOR") == "" && env.Getenv("TERM") != "dumb"
}

// commandNames lists every command `scimsync help` shows.
func commandNames() []string {
	names := []string{"help"}
	for n := range commands {
		names = append(names, n)
	}
	return names
}

// didYouMean is a hint for a mistyped word, " (did you mean "x"?)", or "".
func didYouMean(word string, candidates []string) string {
	near := match.Closest(word, candidates, 1)
	if len(near) == 0 || near[0] == word {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", near[0])
}

// flagHint adds a did-you-mean to the flag package's "flag provided but not
// defined: -fromat" for the closest flag fs defines.
func flagHint(fs *flag.FlagSet, err error) string {
	const undefined = "flag provided but not defined: "
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, undefined)
	if !ok {
		return ""
	}
	dashes := name[:len(name)-len(strings.TrimLeft(name, "-"))]
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	near := match.Closest(strings.TrimLeft(name, "-"), names, 1)
	if len(near) == 0 {
		return ""
	}
	if dashes == "" {
		dashes = "--"
	}
	return fmt.Sprintf("; did you mean %s%s?", dashes, near[0])
}
