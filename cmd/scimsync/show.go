package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"

	"github.com/scimsync/scimsync/diff"
)

func init() {
	register(&command{
		name:    "show",
		summary: "render a saved plan again, in any format, after checking its hash",
		usage:   showUsage,
		run:     runShow,
	})
}

const showUsage = `Usage: scimsync show PLAN [--format text|json|markdown]

Render a plan saved with scimsync plan -o again, as plan printed it: the same
text, JSON or Markdown. The file's own hash is checked first: a plan that was
edited after it was written is refused, and nothing is shown. show reads
neither the spec nor the tenant.

Flags:
  --format text|json|markdown output format (default text)
  -h                          show this help

Environment:
  NO_COLOR                    set to disable colour (colour is used only when
                              stdout is a terminal)

Exit codes:
  0  the plan was shown
  1  the file is not a saved plan, was modified, or could not be read
`

// showOptions are the parsed flags of show.
type showOptions struct {
	plan   string
	format string
}

// parseShowArgs parses show's command line: the plan file, before or after
// the flags.
func parseShowArgs(fs *flag.FlagSet, args []string) (showOptions, error) {
	var opts showOptions
	fs.StringVar(&opts.format, "format", "text", "output format: text, json or markdown")
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return opts, err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(rest) {
	case 0:
		return opts, fmt.Errorf("missing the plan file: scimsync show PLAN (a file written by scimsync plan -o)")
	case 1:
		opts.plan = rest[0]
	default:
		return opts, fmt.Errorf("unexpected argument %q: show takes one plan file", rest[1])
	}
	switch opts.format {
	case "text", "json", "markdown":
	default:
		return opts, fmt.Errorf("flag --format: %q is not text, json or markdown", opts.format)
	}
	return opts, nil
}

func runShow(env *cmdEnv, args []string) int {
	opts, code, done := parseFlags(env, "show", showUsage, args, parseShowArgs)
	if done {
		return code
	}
	p, err := diff.ReadPlanFile(opts.plan)
	if err != nil {
		kind := errKindPlan
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			kind = errKindIO // missing or unreadable, not a bad plan
		}
		env.recordError(cliError{Kind: kind, Message: err.Error(), File: opts.plan})
		fmt.Fprintf(env.Stderr, "scimsync show: %v; nothing was shown\n", err)
		return exitError
	}
	// The hash and the spec's paths belong to the file, not to the plan
	// plan printed.
	p.PlanHash, p.SpecPaths = "", nil
	switch opts.format {
	case "json":
		err = diff.RenderJSON(env.Stdout, p)
	case "markdown":
		err = diff.RenderMarkdown(env.Stdout, p)
	default:
		err = diff.RenderText(env.Stdout, p, diff.TextOptions{Color: useColor(env, env.Stdout)})
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync show: %v\n", err)
		return exitError
	}
	return exitOK
}
