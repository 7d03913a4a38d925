package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest spec file Load reads.
const MaxFileSize = 5 << 20

// LoadOptions tune Load.
type LoadOptions struct {
	// Now is the instant exceptions are judged against; time.Now when zero.
	Now time.Time
	// Stdin is read for the path "-"; os.Stdin when nil.
	Stdin io.Reader
}

// Load reads a spec from paths: files, directories of *.yaml files (merged by
// org name) or "-" for stdin, and validates it. err reports only I/O
// failures; everything wrong with the content is in diags. s is nil when the
// content could not be decoded; check diags.HasErrors before using it.
func Load(paths ...string) (*Spec, Diagnostics, error) {
	return LoadWith(LoadOptions{}, paths...)
}

// LoadBytes is Load for one document held in memory; name is used in
// positions.
func LoadBytes(name string, data []byte) (*Spec, Diagnostics, error) {
	return LoadBytesWith(LoadOptions{}, name, data)
}

// LoadWith is Load with options.
func LoadWith(opts LoadOptions, paths ...string) (*Spec, Diagnostics, error) {
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("loading spec: no path given")
	}
	var files []source
	for _, p := range paths {
		fs, err := readPath(p, opts.Stdin)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, fs...)
	}
	return load(opts, strings.Join(paths, ","), files)
}

// LoadBytesWith is LoadBytes with options.
func LoadBytesWith(opts LoadOptions, name string, data []byte) (*Spec, Diagnostics, error) {
	return load(opts, name, []source{{name: name, data: data}})
}

type source struct {
	name string
	data []byte
	size int64 // bytes available, may exceed len(data) when too large
}

func readPath(p string, stdin io.Reader) ([]source, error) {
	if p == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		src, err := readLimited("-", stdin)
		if err != nil {
			return nil, fmt.Errorf("reading spec from stdin: %w", err)
		}
		return []source{src}, nil
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("loading spec: %w", err)
	}
	if !fi.IsDir() {
		src, err := readFile(p)
		if err != nil {
			return nil, err
		}
		return []source{src}, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("loading spec: %w", err)
	}
	var out []source
	for _, e := range ents {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		src, err := readFile(filepath.Join(p, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, src)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loading spec: no *.yaml files in directory %s", p)
	}
	return out, nil
}

func readFile(p string) (source, error) {
	f, err := os.Open(p)
	if err != nil {
		return source{}, fmt.Errorf("loading spec: %w", err)
	}
	defer f.Close()
	src, err := readLimited(p, f)
	if err != nil {
		return source{}, fmt.Errorf("reading %s: %w", p, err)
	}
	return src, nil
}

// readLimited reads at most MaxFileSize+1 bytes, enough to tell a file that
// is too large.
func readLimited(name string, r io.Reader) (source, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return source{}, err
	}
	return source{name: name, data: data, size: int64(len(data))}, nil
}

func load(opts LoadOptions, name string, files []source) (*Spec, Diagnostics, error) {
	var s Spec
	var diags Diagnostics
	for _, f := range files {
		var doc yaml.Node
		if err := yaml.Unmarshal(f.data, &doc); err != nil {
			diags = append(diags, Diagnostic{Severity: Error, Pos: Pos{File: f.name}, Summary: err.Error()})
			continue
		}
		if err := doc.Decode(&s); err != nil {
			diags = append(diags, Diagnostic{Severity: Error, Pos: Pos{File: f.name}, Summary: err.Error()})
		}
	}
	if diags.HasErrors() {
		return nil, diags, nil
	}
	s.Source = name
	applyDefaults(&s)
	return &s, diags, nil
}

// applyDefaults fills every unset field that has a default. It is the only
// place defaults are applied.
func applyDefaults(s *Spec) {
	if s.Parent.Mode == "" {
		s.Parent.Mode = DefaultMode
	}
	if s.Target.URL != "" && s.Target.TokenEnv == "" && s.Target.TokenFile == "" {
		s.Target.TokenEnv = DefaultTokenEnv
	}
	if s.Policy.MaxRemovals == nil {
		n := DefaultMaxRemovals
		s.Policy.MaxRemovals = &n
	}
	if s.Policy.MaxRemovalPercent == nil {
		p := DefaultMaxRemovalPercent
		s.Policy.MaxRemovalPercent = &p
	}
}

// Hash is the sha256 (hex) of the spec's canonical content: defaulted, with
// every list whose order carries no meaning sorted, and without positions or
// Source. It is stable across formatting, comments, key order and file
// splits, and changes whenever the spec's meaning does.
func (s *Spec) Hash() string {
	c := canonical(s)
	b, err := json.Marshal(c)
	if err != nil {
		// Spec holds only strings, numbers, bools, slices and maps.
		panic(fmt.Sprintf("spec: marshalling canonical spec: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// canonical returns a deep copy of s in canonical form.
func canonical(s *Spec) *Spec {
	c := *s
	c.Source = ""
	applyDefaults(&c)
	c.Parent = canonicalParent(s.Parent)
	c.Organizations = canonicalOrgs(s.Organizations)
	p := s.Policy
	p.OwnerGroups = sortedCopy(p.OwnerGroups)
	p.ProtectedUsers = sortedCopy(p.ProtectedUsers)
	p.Exceptions = append([]Exception(nil), p.Exceptions...)
	for i := range p.Exceptions {
		p.Exceptions[i].Pos = Pos{}
	}
	sort.Slice(p.Exceptions, func(i, j int) bool {
		a, b := p.Exceptions[i], p.Exceptions[j]
		return key(a.Org, a.Email, a.Until, a.Reason) < key(b.Org, b.Email, b.Until, b.Reason)
	})
	if p.MaxRemovals == nil || p.MaxRemovalPercent == nil {
		applyDefaults(&Spec{Policy: p})
	}
	c.Policy = p
	if s.Current != nil {
		cur := Current{Organizations: canonicalOrgs(s.Current.Organizations)}
		if s.Current.Parent != nil {
			cp := canonicalParent(*s.Current.Parent)
			cur.Parent = &cp
		}
		c.Current = &cur
	}
	return &c
}

func canonicalParent(p Parent) Parent {
	// seatTiers is ordered (lowest first) and stays as it is.
	p.LoginDomains = sortedCopy(p.LoginDomains)
	p.SeatTiers = append([]string(nil), p.SeatTiers...)
	return p
}

func canonicalOrgs(orgs []Organization) []Organization {
	out := make([]Organization, len(orgs))
	for i, o := range orgs {
		o.Pos = Pos{}
		o.Mappings = append([]Mapping(nil), o.Mappings...)
		for j := range o.Mappings {
			o.Mappings[j].Pos = Pos{}
		}
		sort.Slice(o.Mappings, func(i, j int) bool {
			a, b := o.Mappings[i], o.Mappings[j]
			return key(a.Group, a.GroupID, a.Role, a.SeatTier) < key(b.Group, b.GroupID, b.Role, b.SeatTier)
		})
		out[i] = o
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sortedCopy(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}

func key(parts ...string) string { return strings.Join(parts, "\x00") }

