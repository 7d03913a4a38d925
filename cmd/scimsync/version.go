package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at release time by the linker (.goreleaser.yaml):
//
//	-X main.buildVersion={{.Version}} -X main.buildCommit={{.Commit}} -X main.buildDate={{.Date}}
//
// A binary built otherwise (go install, go build in a checkout) reads them
// from its build info: the module version, vcs.revision and vcs.time.
var (
	buildVersion string
	buildCommit  string
	buildDate    string
)

func init() {
	register(&command{
		name:    "version",
		summary: "print the version, commit, build date, Go version and platform",
		usage: `Usage: scimsync version [--json]

Prints the version, the commit and build date it was built from, the Go
version and the platform. Release binaries carry what the release stamped;
others what the Go toolchain recorded (module version, vcs.revision,
vcs.time).

Flags:
  --json   print one JSON object: version, commit, date, go, os, arch
`,
		run: runVersion,
	})
}

// versionInfo is what `scimsync version --json` prints.
type versionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	// Modified says the checkout had uncommitted changes (vcs.modified).
	Modified bool `json:"modified,omitempty"`
}

// readVersion combines the linker's stamps with the build info.
func readVersion() versionInfo {
	v := versionInfo{Version: buildVersion, Commit: buildCommit, Date: buildDate,
		Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && info.Main.Version != "" {
			v.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true" && buildCommit == ""
			}
		}
		if info.GoVersion != "" {
			v.Go = info.GoVersion
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	return v
}

// String is the one-line form: "scimsync v1.2.0 (commit 0123456789ab,
// 2026-12-01T10:00:00Z) go1.26.0 linux/amd64".
func (v versionInfo) String() string {
	var extra []string
	if v.Commit != "" {
		c := "commit " + v.Commit[:min(12, len(v.Commit))]
		if v.Modified {
			c += "+dirty"
		}
		extra = append(extra, c)
	}
	if v.Date != "" {
		extra = append(extra, v.Date)
	}
	s := "scimsync " + v.Version
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s + " " + v.Go + " " + v.OS + "/" + v.Arch
}

func parseVersionArgs(fs *flag.FlagSet, args []string) (bool, error) {
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return *asJSON, nil
}

func runVersion(env *cmdEnv, args []string) int {
	asJSON, code, done := parseFlags(env, "version", commands["version"].usage, args, parseVersionArgs)
	if done {
		return code
	}
	v := readVersion()
	if !asJSON {
		fmt.Fprintln(env.Stdout, v)
		return exitOK
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(env.Stderr, "scimsync version: %v\n", err)
		return exitError
	}
	fmt.Fprintf(env.Stdout, "%s\n", b)
	return exitOK
}
