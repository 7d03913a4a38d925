package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// stdinName names the spec read from "-" in positions.
const stdinName = "<stdin>"

// MaxFileSize is the largest spec file Load reads.
const MaxFileSize = 5 << 20

// LoadOptions tune Load.
type LoadOptions struct {
	// Now is the instant exceptions are judged against; time.Now when zero.
	Now time.Time
	// Stdin is read for the path "-"; os.Stdin when nil.
	Stdin io.Reader
	// TargetOnly loads a spec that may hold only version and target, for
	// the commands that read a tenant without planning it (snapshot,
	// import, doctor; DESIGN §8a): parent, organizations and policy become
	// optional. When present they are still checked as usual. Without it a
	// spec needs parent and organizations.
	TargetOnly bool
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
		src, err := readLimited(stdinName, stdin)
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

// aliasBudgetBase is added to the alias-expansion budget of every spec, on
// top of four times its parsed node count.
const aliasBudgetBase = 10000

func load(opts LoadOptions, name string, srcs []source) (*Spec, Diagnostics, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	idx := newIndex(srcs[0].name)

	// Layer 1a: YAML, file by file. A spec with a file that cannot be read
	// as YAML is not checked further: the rest would be checked out of context.
	var diags Diagnostics
	var files []parsedFile
	nodes := 0
	for _, src := range srcs {
		pf, d := parseFile(src, idx)
		diags = append(diags, d...)
		if pf.root != nil {
			files = append(files, pf)
			nodes += pf.nodes
		}
	}
	if diags.HasErrors() || len(files) == 0 {
		sortDiagnostics(diags)
		return nil, diags, nil
	}
	root, d := merge(files, idx)
	diags = append(diags, d...)

	conv := &converter{idx: idx, budget: 4*nodes + aliasBudgetBase}
	doc, err := conv.value(root, nil, "")
	if err != nil {
		at := root
		if conv.failed != nil {
			at = conv.failed
		}
		diags = append(diags, Diagnostic{Severity: Error, Pos: idx.nodePos(at),
			Summary: fmt.Sprintf("excessive aliasing: the document expands to more than %d values", 4*nodes+aliasBudgetBase),
			Fix:     "write the values out instead of nesting aliases"})
		sortDiagnostics(diags)
		return nil, diags, nil
	}

	// Layer 1b: the JSON Schema.
	s := &Spec{Source: name, idx: idx}
	c := &checker{s: s, idx: idx, now: now, targetOnly: opts.TargetOnly}
	if err := c.checkSchema(doc); err != nil {
		return nil, nil, err
	}
	if err := decode(doc, s); err != nil && len(c.bad) == 0 {
		c.layer1(Error, "", false, "", fmt.Sprintf("cannot be decoded: %v", err))
	}
	s.Source, s.idx = name, idx
	setPositions(s)

	// Layers 2 and 3.
	c.semantics()
	applyDefaults(s)
	diags = append(diags, c.diags...)
	sortDiagnostics(diags)
	return s, diags, nil
}

// decode fills s from the JSON form of the spec. Values of the wrong type
// are skipped (the schema has reported them).
func decode(doc any, s *Spec) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding spec: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return fmt.Errorf("decoding spec: %w", err)
	}
	return nil
}

func setPositions(s *Spec) {
	orgs := func(path string, os []Organization) {
		for i := range os {
			op := indexPath(path, i)
			os[i].Pos = s.PosOf(op)
			for j := range os[i].Mappings {
				os[i].Mappings[j].Pos = s.PosOf(indexPath(op+".mappings", j))
			}
		}
	}
	orgs("organizations", s.Organizations)
	if s.Current != nil {
		orgs("current.organizations", s.Current.Organizations)
	}
	exceptions := func(path string, xs []Exception) {
		for i := range xs {
			xs[i].Pos = s.PosOf(indexPath(path, i))
		}
	}
	exceptions("policy.exceptions", s.Policy.Exceptions)
	if s.Current != nil {
		exceptions("current.exceptions", s.Current.Exceptions)
	}
}

// sortDiagnostics orders diagnostics by file, line and column, errors first
// at the same place.
func sortDiagnostics(ds Diagnostics) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		if a.Severity != b.Severity {
			return a.Severity == Error
		}
		return a.Path < b.Path
	})
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
	c.Source, c.idx = "", nil
	c.Parent = canonicalParent(s.Parent)
	c.Organizations = canonicalOrgs(s.Organizations)
	p := s.Policy
	p.OwnerGroups = sortedCopy(p.OwnerGroups)
	p.ProtectedUsers = sortedCopy(p.ProtectedUsers)
	p.Exceptions = canonicalExceptions(p.Exceptions)
	c.Policy = p
	if s.Current != nil {
		cur := Current{Organizations: canonicalOrgs(s.Current.Organizations), Exceptions: canonicalExceptions(s.Current.Exceptions)}
		if s.Current.Parent != nil {
			cp := canonicalParent(*s.Current.Parent)
			cur.Parent = &cp
		}
		c.Current = &cur
	}
	applyDefaults(&c)
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
		o.Mappings = slices.Clone(o.Mappings)
		for j := range o.Mappings {
			o.Mappings[j].Pos = Pos{}
		}
		sort.Slice(o.Mappings, func(i, j int) bool {
			a, b := o.Mappings[i], o.Mappings[j]
			return key(a.Group, a.GroupID, string(a.Role), a.SeatTier) < key(b.Group, b.GroupID, string(b.Role), b.SeatTier)
		})
		out[i] = o
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func canonicalExceptions(xs []Exception) []Exception {
	xs = slices.Clone(xs)
	for i := range xs {
		xs[i].Pos = Pos{}
	}
	sort.Slice(xs, func(i, j int) bool {
		a, b := xs[i], xs[j]
		return key(a.Org, a.Email, a.Until, a.Reason) < key(b.Org, b.Email, b.Until, b.Reason)
	})
	return xs
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
