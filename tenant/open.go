package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/spec"
)

// OpenOptions says how Open builds a source from a spec's target.
type OpenOptions struct {
	// Getenv reads the token's environment variable; os.Getenv when nil.
	Getenv func(string) string
	// BaseDir is the directory that relative paths of the target (file,
	// tokenFile, caFile, membersCsv) resolve against: the spec file's
	// directory. The working directory when empty.
	BaseDir string
	// Insecure turns TLS certificate verification off
	// (--insecure-skip-tls-verify). Open warns every time it is set.
	Insecure bool
	// Logger receives the SCIM client's request lines and warnings;
	// discarded when nil.
	Logger *slog.Logger
	// Now is the clock of a snapshot-file writer (see SnapshotSource);
	// time.Now when nil.
	Now func() time.Time
	// Current and Parent are the spec's current: block and parent, which
	// the members-export source needs (OpenSpec sets them).
	Current *spec.Current
	Parent  spec.Parent
	// Client tunes the SCIM client (Concurrency, PageSize, retries…). Open
	// sets its BaseURL, Token, CAFile, InsecureSkipTLSVerify and Logger.
	Client scim.Config
}

// Open builds the Source a spec's target describes, and the Writer that
// changes it, if any:
//   - target.file: a SnapshotSource, which is its own Writer;
//   - target.url: a SCIMSource over a scim.Client, which is the Writer;
//   - target.url with target.membersCsv: a MembersExportSource and no
//     Writer (nil): apply must refuse.
//
// The bearer token comes from target.tokenFile or the environment variable
// target.tokenEnv (SCIMSYNC_TOKEN when neither is set); it is never part of
// an error or a warning. warnings are for the operator: a token file
// readable by others, TLS verification turned off. Open does no network
// I/O.
func Open(ctx context.Context, target spec.Target, opts OpenOptions) (Source, Writer, []string, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}
	var warnings []string
	path := func(p string) string {
		if p == "" || filepath.IsAbs(p) || opts.BaseDir == "" {
			return p
		}
		return filepath.Join(opts.BaseDir, p)
	}
	switch {
	case target.URL != "" && target.File != "":
		return nil, nil, nil, errors.New("opening target: set target.url or target.file, not both")
	case target.URL == "" && target.File == "":
		return nil, nil, nil, errors.New("opening target: set target.url (a SCIM server) or target.file (a snapshot)")
	case target.File != "":
		if target.MembersCSV != "" {
			return nil, nil, nil, errors.New("opening target: target.membersCsv goes with target.url, not target.file")
		}
		if opts.Insecure {
			warnings = append(warnings, "--insecure-skip-tls-verify has no effect: the target is a snapshot file")
		}
		src := &SnapshotSource{Path: path(target.File), Now: opts.Now}
		return src, src, warnings, nil
	}

	token, warn, err := ReadToken(target, opts)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opening target %s: %w", target.URL, err)
	}
	if warn != "" {
		warnings = append(warnings, warn)
	}
	if opts.Insecure {
		warnings = append(warnings, "TLS certificate verification is off (--insecure-skip-tls-verify): anyone between here and "+
			hostOf(target.URL)+" can read the token and the tenant; use target.caFile for a private CA instead")
	}
	if target.MembersCSV != "" && opts.Current == nil {
		return nil, nil, nil, errors.New("opening target: target.membersCsv needs the spec's current: block, which describes the organizations' configuration the server cannot report")
	}
	cfg := opts.Client
	cfg.BaseURL = target.URL
	cfg.Token = token
	cfg.CAFile = path(target.CAFile)
	cfg.InsecureSkipTLSVerify = opts.Insecure
	cfg.Logger = opts.Logger
	c, err := scim.New(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opening target: %w", err)
	}
	if target.MembersCSV != "" {
		return &MembersExportSource{Client: c, CSVPath: path(target.MembersCSV), Current: opts.Current, Parent: opts.Parent}, nil, warnings, nil
	}
	return &SCIMSource{Client: c}, c, warnings, nil
}

// OpenSpec is Open for a loaded spec: it passes the spec's current: block
// and parent and, unless opts.BaseDir is set, resolves the target's relative
// paths against the spec file that sets each of them (SpecTarget).
func OpenSpec(ctx context.Context, s *spec.Spec, opts OpenOptions) (Source, Writer, []string, error) {
	opts.Current = s.Current
	opts.Parent = s.Parent
	target := s.Target
	if opts.BaseDir == "" {
		target = SpecTarget(s)
	}
	return Open(ctx, target, opts)
}

// RequestFor returns the ReadRequest for a loaded spec: the members of
// every group the spec maps, by id (mappings[].groupId) or else by name
// (mappings[].group). Callers add Progress or AllGroupMembers as they need.
func RequestFor(s *spec.Spec) ReadRequest {
	var req ReadRequest
	for _, o := range s.Organizations {
		for _, m := range o.Mappings {
			if m.GroupID != "" {
				req.GroupIDs = append(req.GroupIDs, m.GroupID)
			} else if m.Group != "" {
				req.GroupNames = append(req.GroupNames, m.Group)
			}
		}
	}
	return req
}

// SpecTarget returns the spec's target with file, tokenFile, caFile and
// membersCsv resolved against the directory of the spec file that sets each
// (spec.Spec.ResolvePath); in a spec read from stdin they stay relative to
// the working directory.
func SpecTarget(s *spec.Spec) spec.Target {
	t := s.Target
	t.File = s.ResolvePath("target.file")
	t.TokenFile = s.ResolvePath("target.tokenFile")
	t.CAFile = s.ResolvePath("target.caFile")
	t.MembersCSV = s.ResolvePath("target.membersCsv")
	return t
}

// SpecDir returns the directory of a spec's first file, given
// spec.Spec.Source: the first file's directory, the directory itself when a
// directory was loaded, or "" (the working directory) for stdin. For the
// target's paths, which may be set in any file of a directory spec, use
// SpecTarget.
func SpecDir(source string) string {
	first, _, _ := strings.Cut(source, ",")
	if first == "" || first == "-" {
		return ""
	}
	if st, err := os.Stat(first); err == nil && st.IsDir() {
		return first
	}
	return filepath.Dir(first)
}

// ReadToken returns the bearer token of a URL target, from
// target.tokenFile (relative to opts.BaseDir) or the environment variable
// target.tokenEnv (SCIMSYNC_TOKEN when neither is set), read with
// opts.Getenv. warning is set when the token file is readable by others.
// The token is never part of the error. Callers use it to check that
// nothing they write holds it.
func ReadToken(target spec.Target, opts OpenOptions) (token, warning string, err error) {
	if target.TokenFile != "" && target.TokenEnv != "" {
		return "", "", errors.New("set target.tokenEnv or target.tokenFile, not both")
	}
	if target.TokenFile != "" {
		p := target.TokenFile
		if !filepath.IsAbs(p) && opts.BaseDir != "" {
			p = filepath.Join(opts.BaseDir, p)
		}
		return scim.TokenFromFile(p)
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	name := cmp.Or(target.TokenEnv, spec.DefaultTokenEnv)
	token = strings.TrimSpace(getenv(name))
	if token == "" {
		return "", "", fmt.Errorf("reading token: environment variable %s is not set or empty; put the SCIM bearer token in it, or name a file with target.tokenFile", name)
	}
	return token, "", nil
}

func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "the server"
}
