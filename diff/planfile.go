package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scimsync/scimsync/internal/fsafe"
	"github.com/scimsync/scimsync/scim"
	"io"
	"os"
	"path/filepath"

	"github.com/scimsync/scimsync/internal/canonjson"
)

// MaxPlanFileSize is the largest plan file ReadPlanFile reads.
const MaxPlanFileSize = 512 << 20

// Errors of ReadPlanFile, matched with errors.Is.
var (
	// ErrPlanModified: the file's content does not match its plan_hash.
	ErrPlanModified = errors.New("plan file was modified after it was written")
	// ErrNotSavedPlan: the file has no plan_hash (for example the output of
	// plan --format json rather than plan -o).
	ErrNotSavedPlan = errors.New("not a saved plan file (no plan_hash); write one with scimsync plan -o")
	// ErrPlanFormat: the file's format_version is missing or not
	// FormatVersion, or it was saved before plans held their steps.
	ErrPlanFormat = errors.New("unsupported plan format")
	// ErrOverwrite: WritePlanFile's path holds a file that is not a saved
	// plan; it is left as it is.
	ErrOverwrite = errors.New("the file exists and is not a saved plan, so it was not overwritten; choose another path, or remove the file first")
)

// WritePlanFile writes p to path as a saved plan: the plan's JSON with
// plan_hash set to PlanHash's value, indented, written to a temporary file in
// the same directory and renamed into place, mode 0600 (a plan holds emails).
// p itself is not modified. It never replaces a file that is not a saved
// plan (ErrOverwrite, see CheckOverwrite).
func WritePlanFile(path string, p *Plan) error {
	if err := CheckOverwrite(path); err != nil {
		return err
	}
	data, err := MarshalPlanFile(p)
	if err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	ok = true
	return nil
}

// MarshalPlanFile returns the saved-plan form of p: its JSON, indented, with
// plan_hash set. WritePlanFile writes exactly these bytes.
func MarshalPlanFile(p *Plan) ([]byte, error) {
	c := *p
	c.PlanHash = ""
	raw, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encoding plan: %w", err)
	}
	sum, err := canonicalHash(raw)
	if err != nil {
		return nil, fmt.Errorf("encoding plan: %w", err)
	}
	c.PlanHash = sum
	out, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding plan: %w", err)
	}
	return append(out, '\n'), nil
}

// ReadPlanFile reads a saved plan written by WritePlanFile. It refuses a file
// whose format_version is not FormatVersion (ErrPlanFormat), one without a
// plan_hash (ErrNotSavedPlan), one saved before plans held their steps
// (ErrPlanFormat), one whose content does not hash to its plan_hash
// (ErrPlanModified), and one whose steps are not its writes in apply's
// order.
func ReadPlanFile(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading plan: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPlanFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading plan %s: %w", path, err)
	}
	if len(data) > MaxPlanFileSize {
		return nil, fmt.Errorf("reading plan %s: larger than %d bytes", path, MaxPlanFileSize)
	}
	p, err := UnmarshalPlanFile(data)
	if err != nil {
		return nil, fmt.Errorf("reading plan %s: %w", path, err)
	}
	return p, nil
}

// UnmarshalPlanFile is ReadPlanFile on bytes held in memory.
func UnmarshalPlanFile(data []byte) (*Plan, error) {
	doc, err := decodeGeneric(data)
	if err != nil {
		// Not JSON at all, a spec given where a plan goes, say: say what
		// the file is not, and what the JSON error was.
		return nil, fmt.Errorf("not a saved plan file, which is JSON (%w); write one with scimsync plan -o, or give a spec with -f", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a saved plan file: not a JSON object; write one with scimsync plan -o")
	}
	v, ok := obj["format_version"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: no format_version", ErrPlanFormat)
	}
	if v != FormatVersion {
		return nil, fmt.Errorf("%w: format_version %q, this scimsync reads %q", ErrPlanFormat, v, FormatVersion)
	}
	want, ok := obj["plan_hash"].(string)
	if !ok || want == "" {
		return nil, ErrNotSavedPlan
	}
	if _, ok := obj["steps"]; !ok {
		// Saved before plans held their steps, and hashed otherwise.
		return nil, fmt.Errorf("%w: the plan has no steps (saved by an earlier scimsync); run scimsync plan -o again", ErrPlanFormat)
	}
	got, err := hashWithout(data, "plan_hash")
	if err != nil {
		return nil, fmt.Errorf("decoding plan: %w", err)
	}
	if got != want {
		return nil, ErrPlanModified
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decoding plan: %w", err)
	}
	if err := p.typeOps(); err != nil {
		return nil, fmt.Errorf("decoding plan: %w", err)
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("decoding plan: %w", err)
	}
	return &p, nil
}

// typeOps gives each operation's value of a plan read back the type
// Compute gives it (an exception a scim.Exception, not a map), so that
// the plan renders as it did when computed, its keys in the same order
// (`show` of a saved plan is byte for byte what `plan` printed), and a
// value of the wrong shape is refused before apply sends it.
func (p *Plan) typeOps() error {
	for i := range p.Writes {
		if err := typeOpValues(p.Writes[i].Ops); err != nil {
			return fmt.Errorf("writes[%d]: %w", i, err)
		}
	}
	for i := range p.Steps {
		if err := typeOpValues(p.Steps[i].Ops); err != nil {
			return fmt.Errorf("steps[%d]: %w", i, err)
		}
	}
	return nil
}

func typeOpValues(ops []scim.PatchOp) error {
	for j := range ops {
		op := &ops[j]
		if op.Value == nil {
			continue
		}
		var err error
		switch op.Path {
		case FieldMode:
			op.Value, err = decodeAs[string](op.Value)
		case FieldLoginDomains, FieldSeatTiers:
			op.Value, err = decodeAs[[]string](op.Value)
		case "mappings":
			op.Value, err = decodeAs[[]scim.Mapping](op.Value)
		case "seats":
			op.Value, err = decodeAs[map[string]int](op.Value)
		case "exceptions":
			op.Value, err = decodeAs[[]scim.Exception](op.Value)
		}
		if err != nil {
			return fmt.Errorf("ops[%d] (%s): %w", j, op.Path, err)
		}
	}
	return nil
}

// decodeAs is v, as decoded JSON, decoded again into a T, strictly.
func decodeAs[T any](v any) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err = dec.Decode(&out)
	return out, err
}

// check rejects a plan whose writes could not be executed as they are, or
// whose steps are not its writes in apply's order.
func (p *Plan) check() error {
	for i, w := range p.Writes {
		if w.OrgID == "" {
			return fmt.Errorf("writes[%d]: no org_id", i)
		}
		if len(w.Ops) == 0 {
			return fmt.Errorf("writes[%d]: no ops", i)
		}
		for j, op := range w.Ops {
			switch op.Op {
			case "add", "replace", "remove":
			default:
				return fmt.Errorf("writes[%d].ops[%d]: op %q is not add, replace or remove", i, j, op.Op)
			}
			if op.Path == "" {
				return fmt.Errorf("writes[%d].ops[%d]: no path", i, j)
			}
		}
	}
	return p.checkSteps()
}

// decodeGeneric decodes one JSON value, keeping numbers as written.
func decodeGeneric(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the plan")
	}
	return v, nil
}

// canonicalHash is the sha256 (hex) of the JSON text data in its canonical
// form (RFC 8785, canonjson): object members sorted, no white space, one
// form for every string and number.
func canonicalHash(data []byte) (string, error) {
	b, err := canonjson.Canonical(data)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// planPeek is how much of each end of an existing file CheckOverwrite reads.
const planPeek = 4096

// CheckOverwrite returns nil when path does not exist or holds a saved plan
// as WritePlanFile writes one (a JSON object opening with its
// format_version and closing with its plan_hash; the hash itself is not
// checked, so a tampered plan may be replaced), and an error wrapping
// ErrOverwrite otherwise: a directory, a spec, any other file. Only the two
// ends of the file are read.
func CheckOverwrite(path string) error {
	head, tail, exists, err := fsafe.PeekEnds(path, planPeek)
	switch {
	case !exists:
		return nil
	case errors.Is(err, fsafe.ErrNotRegular):
		if fi, serr := os.Lstat(path); serr == nil && fi.IsDir() {
			return dirOverwriteError(path)
		}
		return fmt.Errorf("writing plan %s: %w", path, ErrOverwrite)
	case err != nil:
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	h := bytes.TrimSpace(head)
	if !bytes.HasPrefix(h, []byte("{")) || !bytes.Contains(h, []byte(`"format_version":`)) ||
		!bytes.HasSuffix(bytes.TrimSpace(tail), []byte("}")) || !bytes.Contains(tail, []byte(`"plan_hash":`)) {
		return fmt.Errorf("writing plan %s: %w", path, ErrOverwrite)
	}
	return nil
}

// dirOverwriteError is ErrOverwrite for a directory, said as such.
type dirOverwriteError string

func (e dirOverwriteError) Error() string {
	return "writing plan " + string(e) + ": it is a directory; give the path of a file to save the plan in"
}

func (e dirOverwriteError) Is(target error) bool { return target == ErrOverwrite }

// SpecPathsFor returns the SpecPaths a plan saved at planPath records for
// the spec paths specs as given on the command line: each absolute and
// cleaned, and relative to the plan's directory. It returns nil when a spec
// came from stdin ("-"): no path names it.
func SpecPathsFor(planPath string, specs []string) ([]SpecPath, error) {
	dir, err := filepath.Abs(filepath.Dir(planPath))
	if err != nil {
		return nil, fmt.Errorf("recording the spec's path: %w", err)
	}
	var out []SpecPath
	for _, s := range specs {
		if s == "-" {
			return nil, nil
		}
		abs, err := filepath.Abs(s)
		if err != nil {
			return nil, fmt.Errorf("recording the spec's path: %w", err)
		}
		sp := SpecPath{Path: abs}
		if rel, err := filepath.Rel(dir, abs); err == nil {
			sp.FromPlan = filepath.ToSlash(rel)
		}
		out = append(out, sp)
	}
	return out, nil
}

// Resolve returns where the spec path sp is found for a plan read from
// planPath: Path when it exists, else FromPlan joined to the plan's
// directory when that exists, else an error naming both.
func (sp SpecPath) Resolve(planPath string) (string, error) {
	if _, err := os.Stat(sp.Path); err == nil {
		return sp.Path, nil
	}
	if sp.FromPlan != "" {
		dir, err := filepath.Abs(filepath.Dir(planPath))
		if err == nil {
			alt := filepath.Join(dir, filepath.FromSlash(sp.FromPlan))
			if _, err := os.Stat(alt); err == nil {
				return alt, nil
			}
			if alt != sp.Path {
				return "", fmt.Errorf("the plan's spec %s is not there, nor at %s next to the plan", sp.Path, alt)
			}
		}
	}
	return "", fmt.Errorf("the plan's spec %s is not there", sp.Path)
}

// hashWithout is canonicalHash of the JSON object data without its member
// named field. The other members' values are hashed as written, never
// decoded.
func hashWithout(data []byte, field string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return "", err
	}
	delete(obj, field)
	b, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	return canonicalHash(b)
}
