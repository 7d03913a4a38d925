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
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

// stdinName names the spec read from "-" in positions.
const stdinName = "<stdin>"

// MaxSpecSize is the most bytes Load reads for one spec: one file, or every
// file of a directory and of several paths together. Beyond it the spec is
// refused unread, so that loading and validating any spec it accepts takes
// well under a second (BENCHMARKS.md, "Spec loading").
const MaxSpecSize = 2 << 20

// MaxFileSize is the largest spec file Load reads: MaxSpecSize, since the
// limit is on the whole spec.
const MaxFileSize = MaxSpecSize

// MaxSpecValues is the most YAML values (nodes, aliases not expanded) a spec
// may hold, across its files: a 2 MiB spec of realistic content holds about
// 200,000; the limit bounds the work on a file of tiny values.
const MaxSpecValues = 250_000

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
	r := &reader{stdin: opts.Stdin, left: MaxSpecSize, seen: map[string]string{}}
	var files []source
	for _, p := range paths {
		fs, err := r.readPath(p)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, fs...)
		if r.over != nil {
			return nil, Diagnostics{*r.over}, nil
		}
	}
	return load(opts, strings.Join(paths, ","), files)
}

// LoadBytesWith is LoadBytes with options.
func LoadBytesWith(opts LoadOptions, name string, data []byte) (*Spec, Diagnostics, error) {
	if len(data) > MaxSpecSize {
		return nil, Diagnostics{tooLarge(name, false)}, nil
	}
	return load(opts, name, []source{{name: name, data: data}})
}

type source struct {
	name string
	data []byte
}

// reader reads a spec's files within one MaxSpecSize budget.
type reader struct {
	stdin io.Reader
	left  int64       // bytes the spec may still hold
	files int         // files read so far
	over  *Diagnostic // set when the budget ran out; nothing more is read
	// seen maps each file read, by absolute path, to the path it was
	// named by: a file named twice (-f x -f x, or a file and its
	// directory) would merge with itself into a pile of duplicates.
	seen map[string]string
}

func tooLarge(name string, together bool) Diagnostic {
	d := Diagnostic{Severity: Error, Pos: Pos{File: name, Line: 1, Col: 1},
		Summary: fmt.Sprintf("file is larger than the %d MiB limit for a spec", MaxSpecSize>>20),
		Fix:     "check the path: a scimsync spec is its target, organizations, mappings and policy, far smaller than this"}
	if together {
		d.Summary = fmt.Sprintf("the spec's files add up to more than the %d MiB limit for a spec", MaxSpecSize>>20)
		d.Fix = "check that the paths and directories given hold only the spec's files"
	}
	return d
}

func (r *reader) readPath(p string) ([]source, error) {
	if p == "-" {
		stdin := r.stdin
		if stdin == nil {
			stdin = os.Stdin
		}
		src, err := r.read(stdinName, stdin)
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
		src, err := r.readFile(p)
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
		// *.yaml and *.yml, in any case; not a hidden file (an editor's
		// backup or lock file, .#scimsync.yaml), nor a directory.
		name := strings.ToLower(e.Name())
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		src, err := r.readFile(filepath.Join(p, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, src)
		if r.over != nil {
			return out, nil
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loading spec: no *.yaml files in directory %s", p)
	}
	return out, nil
}

// readFile reads one spec file. Only a regular file, or a symlink to one, is
// read: a FIFO, a device or a socket could block the read for ever or never
// end, so it is refused before it is opened, and the file is opened
// non-blocking and checked again, in case it was swapped in between.
func (r *reader) readFile(p string) (source, error) {
	if err := regular(p, os.Stat); err != nil {
		return source{}, err
	}
	if abs, err := filepath.Abs(p); err == nil {
		if first, dup := r.seen[abs]; dup {
			return source{}, fmt.Errorf("loading spec: %s is given twice (as %s and as %s); name each file once", abs, first, p)
		}
		r.seen[abs] = p
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return source{}, fmt.Errorf("loading spec: %w", err)
	}
	defer f.Close()
	if err := regular(p, func(string) (os.FileInfo, error) { return f.Stat() }); err != nil {
		return source{}, err
	}
	src, err := r.read(p, f)
	if err != nil {
		return source{}, fmt.Errorf("reading %s: %w", p, err)
	}
	return src, nil
}

// regular returns an error naming p unless stat says it is a regular file.
func regular(p string, stat func(string) (os.FileInfo, error)) error {
	fi, err := stat(p)
	if err != nil {
		return fmt.Errorf("loading spec: %w", err)
	}
	if fi.Mode().IsRegular() {
		return nil
	}
	kind := "not a regular file"
	switch m := fi.Mode(); {
	case m.IsDir():
		kind = "a directory"
	case m&os.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		kind = "a socket"
	case m&os.ModeDevice != 0:
		kind = "a device"
	}
	return fmt.Errorf("loading spec: %s is %s, not a regular file; a spec is read from files only (use - for standard input)", p, kind)
}

// read reads at most the bytes left in the budget plus one, enough to tell
// a spec that is too large; past the budget it records r.over.
func (r *reader) read(name string, in io.Reader) (source, error) {
	data, err := io.ReadAll(io.LimitReader(in, r.left+1))
	if err != nil {
		return source{}, err
	}
	r.files++
	if int64(len(data)) > r.left {
		d := tooLarge(name, r.files > 1)
		r.over = &d
		return source{name: name}, nil
	}
	r.left -= int64(len(data))
	return source{name: name, data: data}, nil
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
	// as YAML is not checked further: the rest would be checked out of
	// context. A file the YAML layer refused only parts of (parseFile) is
	// checked further, those parts made quiet.
	var diags Diagnostics
	var files []parsedFile
	nodes, unusable := 0, false
	for _, src := range srcs {
		pf, d := parseFile(src, idx)
		diags = append(diags, d...)
		if pf.root != nil {
			files = append(files, pf)
			nodes += pf.nodes
		} else {
			unusable = true
		}
	}
	if unusable || len(files) == 0 {
		sortDiagnostics(diags)
		return nil, diags, nil
	}
	if nodes > MaxSpecValues {
		return nil, Diagnostics{{Severity: Error, Pos: Pos{File: files[0].name, Line: 1, Col: 1},
			Summary: fmt.Sprintf("the spec holds %d YAML values, more than the limit of %d", nodes, MaxSpecValues),
			Fix:     "check the path: a scimsync spec is its target, organizations, mappings and policy, far smaller than this"}}, nil
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
	c := &checker{s: s, idx: idx, now: now, targetOnly: opts.TargetOnly, odd: conv.odd}
	c.quiet = quietPaths(files, idx)
	c.bad = append(c.bad, c.quiet...)
	if err := c.checkSchema(doc); err != nil {
		return nil, nil, err
	}
	c.numbers()
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

// quietPaths are the merged paths of what the YAML layer refused in files
// that are still checked (parsedFile.quiet): the paths of the quiet nodes,
// aliases included, and of the fields of the quiet keys.
func quietPaths(files []parsedFile, idx *index) []string {
	nodes, keys := map[*yaml.Node]bool{}, map[*yaml.Node]bool{}
	for _, f := range files {
		for _, n := range f.quiet {
			nodes[n] = true
		}
		for _, k := range f.quietKeys {
			keys[k] = true
		}
	}
	if len(nodes) == 0 && len(keys) == 0 {
		return nil
	}
	var out []string
	for p, n := range idx.nodes {
		if nodes[n] {
			out = append(out, p)
		}
	}
	for p, k := range idx.keys {
		if keys[k] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
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
	if s.Policy.ExceptionNoticeDays == nil {
		n := DefaultExceptionNoticeDays
		s.Policy.ExceptionNoticeDays = &n
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
	if *c.Policy.ExceptionNoticeDays == DefaultExceptionNoticeDays {
		// The field came after the hash: a spec that leaves it at its
		// default hashes as it did before, so that its saved plans still
		// apply.
		c.Policy.ExceptionNoticeDays = nil
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
