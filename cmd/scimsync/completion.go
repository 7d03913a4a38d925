package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

func init() {
	register(&command{
		name:    "completion",
		summary: "print a shell completion script: bash, zsh or fish",
		usage: `Usage: scimsync completion bash|zsh|fish

Prints a completion script for the shell: commands, their flags and file
arguments. Load it with

  bash:  source <(scimsync completion bash)       # or save it in
         ~/.local/share/bash-completion/completions/scimsync
  zsh:   source <(scimsync completion zsh)        # or save it as _scimsync
         in a directory of $fpath
  fish:  scimsync completion fish | source        # or save it in
         ~/.config/fish/completions/scimsync.fish

The flags are read from the commands' own flag sets, so the script always
matches the binary that printed it.
`,
		run: runCompletion,
	})
}

// complFlag is one flag of a command, as completion offers it.
type complFlag struct {
	name  string
	usage string
	// takesValue is false for a boolean flag; file says its value is a
	// path (its usage speaks of a file, directory or snapshot, or it is -o).
	takesValue, file bool
}

// fileFlag guesses from a flag's name and usage whether it takes a path.
func fileFlag(name, usage string) bool {
	if name == "o" {
		return true
	}
	for _, w := range []string{"file", "directory", "snapshot", "journal", "log file", "audit log"} {
		if strings.Contains(usage, w) {
			return true
		}
	}
	return false
}

// complCommand is one command, as completion offers it.
type complCommand struct {
	name    string
	summary string
	flags   []complFlag
}

// completionModel reads every registered command's flags: each command's
// run is called with -h and a probe that receives the FlagSet parseFlags
// built, before the command does anything.
func completionModel() []complCommand {
	var out []complCommand
	names := make([]string, 0, len(commands)+1)
	for n := range commands {
		names = append(names, n)
	}
	names = append(names, "help")
	sort.Strings(names)
	for _, n := range names {
		cc := complCommand{name: n}
		if n == "help" {
			cc.summary = "show help, or a command's: scimsync help <command>"
			out = append(out, cc)
			continue
		}
		c := commands[n]
		cc.summary = c.summary
		probe := &cmdEnv{
			Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard,
			Getenv: func(string) string { return "" },
			IsTTY:  func(any) bool { return false },
			flagProbe: func(fs *flag.FlagSet) {
				fs.VisitAll(func(f *flag.Flag) {
					b, ok := f.Value.(interface{ IsBoolFlag() bool })
					value := !ok || !b.IsBoolFlag()
					cc.flags = append(cc.flags, complFlag{name: f.Name, usage: f.Usage, takesValue: value, file: value && fileFlag(f.Name, f.Usage)})
				})
			},
		}
		probe.Now = time.Now // completion reads no date
		c.run(probe, []string{"-h"})
		out = append(out, cc)
	}
	return out
}

// dashed is how a flag is written: -f for one letter, --name otherwise
// (Go's flag package takes either).
func (f complFlag) dashed() string {
	if len(f.name) == 1 {
		return "-" + f.name
	}
	return "--" + f.name
}

var completionShells = []string{"bash", "zsh", "fish"}

func runCompletion(env *cmdEnv, args []string) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(env.Stdout, commands["completion"].usage)
		return exitOK
	}
	if len(args) != 1 || !slices.Contains(completionShells, args[0]) {
		fmt.Fprintf(env.Stderr, "scimsync completion: want one shell: bash, zsh or fish\nRun 'scimsync completion -h' for usage.\n")
		return exitError
	}
	model := completionModel()
	switch args[0] {
	case "bash":
		writeBashCompletion(env.Stdout, model)
	case "zsh":
		writeZshCompletion(env.Stdout, model)
	case "fish":
		writeFishCompletion(env.Stdout, model)
	}
	return exitOK
}

func complNames(model []complCommand) string {
	var names []string
	for _, c := range model {
		names = append(names, c.name)
	}
	return strings.Join(names, " ")
}

func writeBashCompletion(w io.Writer, model []complCommand) {
	fmt.Fprint(w, `# bash completion for scimsync (scimsync completion bash)
_scimsync() {
  local cur prev cmd flags files values
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "`+complNames(model)+`" -- "$cur") )
    return 0
  fi
  cmd="${COMP_WORDS[1]}"
  case "$cmd" in
`)
	for _, c := range model {
		var flags, files, values []string
		for _, f := range c.flags {
			flags = append(flags, f.dashed())
			both := []string{"-" + f.name, "--" + f.name}
			switch {
			case f.file:
				files = append(files, both...)
			case f.takesValue:
				values = append(values, both...)
			}
		}
		switch c.name {
		case "help":
			fmt.Fprintf(w, "    help)\n      COMPREPLY=( $(compgen -W %q -- \"$cur\") )\n      return 0 ;;\n", complNames(model))
			continue
		case "completion":
			fmt.Fprintf(w, "    completion)\n      COMPREPLY=( $(compgen -W %q -- \"$cur\") )\n      return 0 ;;\n", strings.Join(completionShells, " "))
			continue
		}
		fmt.Fprintf(w, "    %s) flags=%q; files=%q; values=%q ;;\n", c.name, strings.Join(flags, " "), strings.Join(files, " "), strings.Join(values, " "))
	}
	fmt.Fprint(w, `    *) return 0 ;;
  esac
  case " $files " in
    *" $prev "*)
      COMPREPLY=( $(compgen -f -- "$cur") )
      return 0 ;;
  esac
  case " $values " in
    *" $prev "*) return 0 ;; # a value that is not a path
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
    return 0
  fi
  COMPREPLY=( $(compgen -f -- "$cur") )
}
complete -o filenames -o bashdefault -F _scimsync scimsync
`)
}

// zshQuote escapes a description for an _arguments spec inside single
// quotes: brackets and colons are special there.
func zshQuote(s string) string {
	return strings.NewReplacer("'", `'\''`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}

func writeZshCompletion(w io.Writer, model []complCommand) {
	fmt.Fprint(w, `#compdef scimsync
# zsh completion for scimsync (scimsync completion zsh)
_scimsync() {
  local -a cmds
  cmds=(
`)
	for _, c := range model {
		fmt.Fprintf(w, "    '%s:%s'\n", c.name, zshQuote(c.summary))
	}
	fmt.Fprint(w, `  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'scimsync command' cmds
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
`)
	for _, c := range model {
		switch c.name {
		case "help":
			fmt.Fprint(w, "    help) _describe -t commands 'scimsync command' cmds ;;\n")
			continue
		case "completion":
			fmt.Fprintf(w, "    completion) _values 'shell' %s ;;\n", strings.Join(completionShells, " "))
			continue
		}
		fmt.Fprintf(w, "    %s)\n      _arguments -s \\\n", c.name)
		for _, f := range c.flags {
			spec := fmt.Sprintf("'*%s[%s]", f.dashed(), zshQuote(f.usage))
			switch {
			case f.file:
				spec += ":" + zshQuote(f.name) + ":_files"
			case f.takesValue:
				spec += ":" + zshQuote(f.name) + ": "
			}
			fmt.Fprintf(w, "        %s' \\\n", spec)
		}
		fmt.Fprint(w, "        '*:file:_files' ;;\n")
	}
	fmt.Fprint(w, `  esac
}
if [ "$funcstack[1]" = "_scimsync" ]; then
  _scimsync "$@"
else
  compdef _scimsync scimsync
fi
`)
}

// fishQuote quotes s for fish inside single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func writeFishCompletion(w io.Writer, model []complCommand) {
	fmt.Fprint(w, "# fish completion for scimsync (scimsync completion fish)\ncomplete -c scimsync -f\n")
	for _, c := range model {
		fmt.Fprintf(w, "complete -c scimsync -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	for _, c := range model {
		cond := fishQuote("__fish_seen_subcommand_from " + c.name)
		switch c.name {
		case "help":
			fmt.Fprintf(w, "complete -c scimsync -n %s -a %s\n", cond, fishQuote(complNames(model)))
			continue
		case "completion":
			fmt.Fprintf(w, "complete -c scimsync -n %s -a %s\n", cond, fishQuote(strings.Join(completionShells, " ")))
			continue
		}
		for _, f := range c.flags {
			opt := "-l " + f.name
			if len(f.name) == 1 {
				opt = "-s " + f.name
			}
			value := ""
			switch {
			case f.file:
				value = " -r -F"
			case f.takesValue:
				value = " -x"
			}
			fmt.Fprintf(w, "complete -c scimsync -n %s %s%s -d %s\n", cond, opt, value, fishQuote(f.usage))
		}
		fmt.Fprintf(w, "complete -c scimsync -n %s -F\n", cond)
	}
}
